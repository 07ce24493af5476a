//! The original four paths over HTTP: the same [`Query`] and JSON as `wallwatch query`, asked of
//! the live site's [`Projection`] — days worked as they happened, later days as the site would
//! work them with its crews now ([`crate::wall::Book::projection`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;

use super::Api;
use super::error::ApiError;
use super::json::Json;
use crate::wall::Projection;
use crate::wall::query::{Answer, Query, QueryError};

/// `/profiles/{p}/days/{d}`, `/profiles/{p}/overview/{d}`, `/profiles/overview/{d}`,
/// `/profiles/overview`: the path itself is parsed as the CLI parses it, so a malformed number
/// gets the CLI's words.
pub async fn answer(State(api): State<Arc<Api>>, uri: Uri) -> Result<Json<Answer>, ApiError> {
    let query = Query::parse(uri.path()).map_err(|e| ApiError::of_query(&e))?;
    query
        .answer_projection(&api.projection())
        .map(Json)
        .map_err(|e| ApiError::of_query(&e))
}

/// Any other path: one the CLI accepts (a trailing `/`) is answered as the CLI answers it;
/// anything else is 404 with the CLI's words.
pub async fn fallback(State(api): State<Arc<Api>>, uri: Uri) -> Result<Json<Answer>, ApiError> {
    match Query::parse(uri.path()) {
        Ok(query) => query
            .answer_projection(&api.projection())
            .map(Json)
            .map_err(|e| ApiError::of_query(&e)),
        Err(e @ QueryError::UnknownPath(_)) => Err(ApiError::not_found(e.to_string())),
        Err(e) => Err(ApiError::of_query(&e)),
    }
}

impl Api {
    /// The wall's days as they happened and as projected, computed again only when the site
    /// changed (a day worked, a crew added or removed).
    pub fn projection(&self) -> Arc<Projection> {
        let version = self.gauges.book_version();
        let mut cache = self.projection.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((v, h)) if *v == version => h.clone(),
            _ => {
                let book = self.gauges.book();
                let projection = Arc::new(book.projection());
                *cache = Some((book.version(), projection.clone()));
                projection
            }
        }
    }
}

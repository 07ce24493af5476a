//! The original four paths over HTTP: the same [`Query`] and JSON as `wallwatch query`, asked of
//! the live site's [`History`] — days worked as they happened, later days as the site would work
//! them with its crews now ([`crate::wall::Book::projected`]).

use std::sync::Arc;

use super::json::Json;
use axum::extract::State;
use axum::http::Uri;

use super::Api;
use super::error::ApiError;
use crate::query::{Answer, Query, QueryError};
use crate::wall::History;

/// `/profiles/{p}/days/{d}`, `/profiles/{p}/overview/{d}`, `/profiles/overview/{d}`,
/// `/profiles/overview`: the path itself is parsed as the CLI parses it, so a malformed number
/// gets the CLI's words.
pub async fn answer(State(api): State<Arc<Api>>, uri: Uri) -> Result<Json<Answer>, ApiError> {
    let query = Query::parse(uri.path()).map_err(|e| ApiError::of_query(&e))?;
    let history = api.history();
    query
        .answer_history(&history)
        .map(Json)
        .map_err(|e| ApiError::of_query(&e))
}

/// Any other path: one the CLI accepts (a trailing `/`) is answered as the CLI answers it;
/// anything else is 404 with the CLI's words.
pub async fn fallback(State(api): State<Arc<Api>>, uri: Uri) -> Result<Json<Answer>, ApiError> {
    match Query::parse(uri.path()) {
        Ok(query) => query
            .answer_history(&api.history())
            .map(Json)
            .map_err(|e| ApiError::of_query(&e)),
        Err(e @ QueryError::UnknownPath(_)) => Err(ApiError::not_found(e.to_string())),
        Err(e) => Err(ApiError::of_query(&e)),
    }
}

impl Api {
    /// The wall's history with its projection, computed again only when the site changed (a day
    /// worked, a crew added or removed).
    pub fn history(&self) -> Arc<History> {
        let version = self.gauges.book_version();
        let mut cache = self.projection.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((v, h)) if *v == version => h.clone(),
            _ => {
                let book = self.gauges.book();
                let history = Arc::new(book.projected());
                *cache = Some((book.version(), history.clone()));
                history
            }
        }
    }
}

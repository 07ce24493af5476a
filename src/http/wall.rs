//! The original four paths over HTTP: the same [`Query`] and JSON as `wallwatch query`, asked of
//! the live site's [`Projection`] — days worked as they happened, later days as the site would
//! work them with its crews now ([`crate::wall::Book::projection`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use super::Api;
use super::error::ApiError;
use super::json::Json;
use super::routes;
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

/// Any other path: one the CLI accepts (a trailing `/`) is answered as the CLI answers it; a
/// malformed number in a wall path gets the CLI's words; anything else is a 404 naming every
/// route the API answers (in its words and as `routes`, as `GET /` lists them for programs).
pub async fn fallback(State(api): State<Arc<Api>>, uri: Uri) -> Response {
    match Query::parse(uri.path()) {
        Ok(query) => query
            .answer_projection(&api.projection())
            .map(Json)
            .map_err(|e| ApiError::of_query(&e))
            .into_response(),
        Err(QueryError::UnknownPath(path)) => {
            let e = ApiError::not_found(format!(
                "unknown path '{path}' (the API answers {})",
                routes::in_words()
            ));
            let body = serde_json::json!({ "error": e.message, "routes": routes::listing() });
            (e.status, Json(body)).into_response()
        }
        Err(e) => ApiError::of_query(&e).into_response(),
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

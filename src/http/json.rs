//! JSON answers with no raw control character: serde_json leaves DEL and C1 raw inside
//! strings, and names or lines from a store could hold them; a terminal showing the answer
//! (`curl`) could take them as commands. They are written as `\u00XX` escapes instead, the same
//! JSON value ([`crate::text::json_without_controls`]).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_string(&self.0) {
            Ok(text) => (
                [(header::CONTENT_TYPE, "application/json")],
                crate::text::json_without_controls(text),
            )
                .into_response(),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({ "error": format!("the answer could not be written: {e}") })
                    .to_string(),
            )
                .into_response(),
        }
    }
}

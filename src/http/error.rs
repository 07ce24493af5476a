//! The API's errors: a status and `{"error": "…"}`, one line, the same words as the CLI's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::json::Json;
use crate::wall::query::QueryError;

/// An answer that is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: crate::text::sanitize(&message.into()).into_owned(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A wall query's error. A path a route matched but `query` refuses (a malformed number)
    /// is a bad request; a profile the wall does not have is not found; day 0 a bad request.
    pub fn of_query(e: &QueryError) -> ApiError {
        let status = match e {
            QueryError::NoSuchProfile { .. } => StatusCode::NOT_FOUND,
            QueryError::UnknownPath(_) | QueryError::DayZero => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

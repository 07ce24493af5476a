//! What every request passes before its route: a write with `--http-read-only` is refused
//! (405), a guarded request needs the bearer token (401 without, 403 wrong), and a read (GET
//! or HEAD on a read route) may carry no body (413, as when the whole API was read-only). A
//! method the path does not answer goes on to the router's 405 (an unknown path to its 404),
//! body or not: what is wrong with it is the method.

use std::path::PathBuf;

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::routes::{is_read_route, write_route};
use super::token::Token;

/// Who may do what over HTTP.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Writes are answered (false with `--http-read-only`: every write is a 405).
    pub writes: bool,
    /// Reads need the token too (`--http-auth all`).
    pub guard_reads: bool,
    /// The token guarded requests need; none when nothing is guarded.
    pub token: Option<Token>,
    /// Where the token is (said at start, never the token itself).
    pub token_file: Option<PathBuf>,
}

/// The words of a 405 for a write when the API is read-only (today's words).
pub const READ_ONLY: &str = "only GET is answered (the API is read-only)";

/// The answer refusing `request` (see the module's notes), or none when it may go on to its
/// route. The cheap tests first: a GET without a body is matched against no route at all.
pub fn refusal(access: &Access, request: &Request) -> Option<Response> {
    let (method, path) = (request.method(), request.uri().path());
    let read_method = *method == Method::GET || *method == Method::HEAD;
    let write = !read_method && write_route(path).is_some();
    if write && !access.writes {
        return Some(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, READ_ONLY).into_response());
    }
    if (write || access.guard_reads)
        && let Some(refused) = token_refusal(access.token.as_ref(), request.headers())
    {
        return Some(refused);
    }
    if read_method && has_body(request.headers()) && is_read_route(path) {
        return Some(
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request bodies are refused here (only writes take one)",
            )
            .into_response(),
        );
    }
    None
}

/// The request carries a body (a length above zero, or chunks).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// `Authorization: Bearer TOKEN` against `token`: nothing when it is the site's, else 401
/// (with `WWW-Authenticate`) when there is none, 403 when it is another.
fn token_refusal(token: Option<&Token>, headers: &HeaderMap) -> Option<Response> {
    let unauthorized = |why: &str| {
        let mut r = ApiError::new(StatusCode::UNAUTHORIZED, why).into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        r
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Some(unauthorized(
            "this needs the site's token: Authorization: Bearer TOKEN (see --http-token-file)",
        ));
    };
    let value = value.as_bytes();
    let given = match value.split_at_checked(7) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
        _ => return Some(unauthorized("the Authorization header is not Bearer TOKEN")),
    };
    match token {
        Some(t) if t.matches(given) => None,
        _ => Some(ApiError::new(StatusCode::FORBIDDEN, "wrong token").into_response()),
    }
}

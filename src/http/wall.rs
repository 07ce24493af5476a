//! The original four paths over HTTP: the same [`Query`] and JSON as `wallwatch query`, asked of
//! the live site's [`Projection`] — days worked as they happened, later days as the site would
//! work them with its crews now ([`crate::wall::Book::projection`]).

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use super::Api;
use super::error::ApiError;
use super::json::Json;
use super::model::NoParams;
use super::routes;
use crate::wall::Projection;
use crate::wall::query::{Answer, Query, QueryError};

/// `/profiles/{p}/days/{d}`, `/profiles/{p}/overview/{d}`, `/profiles/overview/{d}`,
/// `/profiles/overview`: the path itself is parsed as the CLI parses it, so a malformed number
/// gets the CLI's words.
pub async fn answer(
    State(api): State<Arc<Api>>,
    uri: Uri,
    _: NoParams,
) -> Result<Json<Answer>, ApiError> {
    let query = Query::parse(&decoded(uri.path())?).map_err(|e| ApiError::of_query(&e))?;
    query
        .answer_projection(&api.projection())
        .map(Json)
        .map_err(|e| ApiError::of_query(&e))
}

/// Any other path: one the CLI accepts (a trailing `/`) is answered as the CLI answers it; a
/// malformed number in a wall path gets the CLI's words; anything else is a 404 naming every
/// route the API answers (in its words and as `routes`, as `GET /` lists them for programs).
pub async fn fallback(State(api): State<Arc<Api>>, uri: Uri) -> Response {
    let path = match decoded(uri.path()) {
        Ok(path) => path,
        Err(e) => return e.into_response(),
    };
    match Query::parse(&path) {
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

/// The path with its `%XX` escapes decoded, segment by segment (`/profiles/%31/days/1` is
/// `/profiles/1/days/1`, as a client that escapes every digit means it). An escape that is not
/// two hex digits, one that decodes to `/` (it would make a segment of two), or bytes that are
/// not UTF-8 are a 400.
fn decoded(path: &str) -> Result<Cow<'_, str>, ApiError> {
    if !path.contains('%') {
        return Ok(Cow::Borrowed(path));
    }
    let bad = || ApiError::bad_request(format!("path '{path}' has a malformed %-escape"));
    let mut segments = Vec::new();
    for segment in path.split('/') {
        let mut bytes = Vec::with_capacity(segment.len());
        let mut rest = segment.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b != b'%' {
                bytes.push(b);
                rest = tail;
                continue;
            }
            let hex = tail.get(..2).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
            if byte == b'/' || !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return Err(bad());
            }
            bytes.push(byte);
            rest = &tail[2..];
        }
        segments.push(String::from_utf8(bytes).map_err(|_| bad())?);
    }
    Ok(Cow::Owned(segments.join("/")))
}

impl Api {
    /// The wall's days as they happened and as projected, computed again only when the plan
    /// changed (a crew added or removed, another wall loaded): a day worked as planned leaves
    /// every answer as it was, and making it again for a wall of 10,000,000 sections took a
    /// second or two of every day.
    pub fn projection(&self) -> Arc<Projection> {
        let plan = self.gauges.book_plan();
        let mut cache = self.projection.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((p, h)) if *p == plan => h.clone(),
            _ => {
                let book = self.gauges.book();
                let projection = Arc::new(book.projection());
                *cache = Some((book.plan(), projection.clone()));
                projection
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded_per_segment() {
        assert_eq!(decoded("/profiles/1/days/1").unwrap(), "/profiles/1/days/1");
        assert_eq!(
            decoded("/profiles/%31/days/%31").unwrap(),
            "/profiles/1/days/1"
        );
        assert_eq!(
            decoded("/profiles/%6Fverview").unwrap(),
            "/profiles/overview"
        );
        for bad in [
            "/profiles/%3",
            "/profiles/%zz/days/1",
            "/a%2Fb",
            "/%ff",
            "/%+1",
        ] {
            let e = decoded(bad).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}

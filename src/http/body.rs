//! A write's JSON body: at most [`MAX_BODY`] bytes (413), `application/json` when it has one
//! (415), one object of known fields (400 naming the field otherwise). A write with no body
//! takes its fields' defaults.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use super::error::ApiError;

/// The most a write's body may hold (but `PUT /wall`'s, [`crate::engine::MAX_WALL_TEXT`]).
pub const MAX_BODY: usize = 16 * 1024;

/// A body's bytes, at most `limit` (413 over it).
pub async fn bytes(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {} KB", limit / 1024),
        )
    })
}

/// The fields of a write's body.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Reads and checks the body: `known` are the fields it may have.
    pub async fn read(headers: &HeaderMap, body: Body, known: &[&str]) -> Result<Fields, ApiError> {
        let bytes = bytes(body, MAX_BODY).await?;
        if bytes.is_empty() {
            return Ok(Fields::default());
        }
        if !is_json(headers) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        Fields::parse(&bytes, known)
    }

    /// A JSON object of the fields `known`.
    pub fn parse(bytes: &[u8], known: &[&str]) -> Result<Fields, ApiError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        };
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            let expected = match known {
                [] => "none".to_string(),
                _ => known.join(", "),
            };
            return Err(ApiError::bad_request(format!(
                "unknown field '{k}' (expected {expected})"
            )));
        }
        Ok(Fields(map))
    }

    /// A field's value; `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A whole-number field (its range is the caller's to check: out of range is a 422).
    pub fn whole(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.as_i64().ok_or_else(|| {
                    ApiError::bad_request(format!("{key}: {v} is not a whole number"))
                })
            })
            .transpose()
    }

    /// A string field.
    pub fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad_request(format!("{key}: {v} is not a string")))
            })
            .transpose()
    }
}

/// `Content-Type: application/json` (parameters such as `charset` allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    is_type(headers, "application/json")
}

/// The body's type is `mime` (parameters such as `charset` allowed).
pub fn is_type(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Fields, String> {
        Fields::parse(text.as_bytes(), &["count", "kind"]).map_err(|e| e.message)
    }

    #[test]
    fn fields_are_named_in_errors() {
        let f = parse(r#"{"count": 3, "kind": null}"#).unwrap();
        assert_eq!(f.whole("count").unwrap(), Some(3));
        assert_eq!(f.string("kind").unwrap(), None);
        let e = parse(r#"{"count": "x"}"#)
            .unwrap()
            .whole("count")
            .unwrap_err();
        assert_eq!(e.message, r#"count: "x" is not a whole number"#);
        let e = parse(r#"{"count": 1.5}"#)
            .unwrap()
            .whole("count")
            .unwrap_err();
        assert_eq!(e.message, "count: 1.5 is not a whole number");
        assert_eq!(
            parse(r#"{"cout": 1}"#).unwrap_err(),
            "unknown field 'cout' (expected count, kind)"
        );
        assert_eq!(parse("[1]").unwrap_err(), "the body must be a JSON object");
        assert!(
            parse("{")
                .unwrap_err()
                .starts_with("the body is not JSON: ")
        );
    }
}

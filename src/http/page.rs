//! `GET /`: the page that watches the site in a browser, or for a program that asks for JSON
//! (`Accept: application/json`) every route. `GET /web/{file}`: the page's style sheet, its
//! scripts (JavaScript modules) and its icon. All of it is in the binary (`assets/web/`, plain
//! files, no build step), so the page needs no network but the site's.
//!
//! The page and its files go out with a Content-Security-Policy that lets the page load only the
//! site's own files (no inline script or style, no other origin, no framing) and with `nosniff`,
//! so each is taken only as the content type it is sent with.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::json::Json;
use super::routes;

/// The page's and its files' Content-Security-Policy.
pub const CSP: &str = "default-src 'self'; frame-ancestors 'none'";

/// One file of the page.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/web/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// The page itself.
pub const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// The files under `/web/`.
pub const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("control.js", JS),
    asset!("feed.js", JS),
    asset!("format.js", JS),
    asset!("log.js", JS),
    asset!("network.js", JS),
    asset!("replica.js", JS),
    asset!("sensors.js", JS),
    asset!("site.js", JS),
    asset!("status.js", JS),
    asset!("wall.js", JS),
];

/// `GET /` (see the module's notes).
pub async fn root(headers: HeaderMap) -> Response {
    let mut r = if wants_json(&headers) {
        Json(serde_json::json!({ "routes": routes::listing() })).into_response()
    } else {
        served(&INDEX)
    };
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    r
}

/// `GET /web/{file}`: one of [`ASSETS`], else 404 naming them.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => served(a),
        None => {
            let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "no file '{file}' under /web/ (the page's files: {})",
                    names.join(", ")
                ),
            )
            .into_response()
        }
    }
}

/// A program asking for JSON and not for HTML (a browser asks for HTML first).
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|range| {
            let media = range.split(';').next().unwrap_or("");
            media.trim().to_ascii_lowercase()
        })
        .collect::<Vec<_>>();
    accept.iter().any(|m| m == "application/json") && !accept.iter().any(|m| m == "text/html")
}

/// A file of the page with its type and the page's headers. Not cached without asking again:
/// another version of the site serves other files at the same names.
fn served(asset: &Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        h
    }

    #[test]
    fn only_a_program_that_asks_for_json_gets_json() {
        assert!(wants_json(&accept("application/json")));
        assert!(wants_json(&accept(
            "application/json; charset=utf-8, */*;q=0.1"
        )));
        assert!(wants_json(&accept("Application/JSON")));
        // A browser's, curl's, none.
        assert!(!wants_json(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_json(&accept("text/html, application/json")));
        assert!(!wants_json(&accept("*/*")));
        assert!(!wants_json(&HeaderMap::new()));
    }

    #[test]
    fn every_file_of_the_page_is_served_and_every_module_it_imports_is_one() {
        let served: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        let text = |a: &Asset| std::str::from_utf8(a.body).unwrap().to_string();
        let mut referenced = Vec::new();
        for a in ASSETS.iter().chain([&INDEX]) {
            let t = text(a);
            for quote in ['"', '\''] {
                for part in t.split(quote) {
                    if let Some(name) = part.strip_prefix("/web/").or(part.strip_prefix("./"))
                        && !name.is_empty()
                        && !name.contains(char::is_whitespace)
                    {
                        referenced.push(name.to_string());
                    }
                }
            }
        }
        for name in &referenced {
            assert!(served.contains(&name.as_str()), "{name} is not served");
        }
        for name in &served {
            assert!(
                referenced.iter().any(|r| r == name),
                "{name} is served and never used"
            );
        }
    }
}

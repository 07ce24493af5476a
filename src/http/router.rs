//! The routes (one list, [`ROUTES`], builds the router and is checked against
//! `assets/openapi.yaml` by the tests) and the limits every request goes through.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tower_http::timeout::TimeoutLayer;

use super::error::ApiError;
use super::{Api, metrics, model, wall};

/// How long a request may take once read (then 503).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests being answered at once; more wait.
pub const MAX_IN_FLIGHT: usize = 256;

/// Every route: its path (axum's syntax, which is OpenAPI's) and what answers it. All are GET.
pub const ROUTES: &[&str] = &[
    "/profiles/{p}/days/{d}",
    "/profiles/{p}/overview/{d}",
    "/profiles/overview/{d}",
    "/profiles/overview",
    "/status",
    "/sensors",
    "/readings",
    "/crews/log",
    "/config",
    "/healthz",
    "/metrics",
];

fn handler(path: &str) -> MethodRouter<Arc<Api>> {
    match path {
        "/status" => get(model::status),
        "/sensors" => get(model::sensors),
        "/readings" => get(model::readings),
        "/crews/log" => get(model::crews_log),
        "/config" => get(model::config),
        "/healthz" => get(model::healthz),
        "/metrics" => get(metrics::metrics),
        // The four wall paths.
        _ => get(wall::answer),
    }
}

/// The API's router over `api`.
pub fn router(api: Arc<Api>) -> Router {
    let mut router = Router::new();
    for path in ROUTES {
        router = router.route(path, handler(path));
    }
    router
        .fallback(wall::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(refuse_bodies))
        // One semaphore for every route (the plain layer would make one per route).
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            MAX_IN_FLIGHT,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .with_state(api)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "only GET is answered (the API is read-only)",
    )
}

/// A request with a body is refused before any handler runs: the API is read-only.
async fn refuse_bodies(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request bodies are refused (the API is read-only)",
        )
        .into_response();
    }
    next.run(request).await
}

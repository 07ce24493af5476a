//! The routes (two lists, [`ROUTES`] read and [`WRITE_ROUTES`] written, build the router and
//! are checked against `assets/openapi.yaml` by the tests) and the limits every request goes
//! through ([`Guarded`]).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::error::ApiError;
use super::{Api, control, events, gate, metrics, model, page, wall};

/// How long a request may take once read (then 503, in the API's error shape).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests being answered at once; more wait.
pub const MAX_IN_FLIGHT: usize = 256;

pub use super::routes::{ROUTES, WRITE_ROUTES};
use super::routes::{is_read_route, matches_template};

fn handler(path: &str) -> MethodRouter<Arc<Api>> {
    match path {
        "/" => get(page::root),
        "/web/{file}" => get(page::asset),
        "/status" => get(model::status),
        "/sensors" => get(model::sensors),
        "/readings" => get(model::readings),
        "/crews/log" => get(model::crews_log),
        "/config" => get(model::config),
        "/healthz" => get(model::healthz),
        "/metrics" => get(metrics::metrics),
        "/events" => get(events::events),
        // The four wall paths.
        _ => get(wall::answer),
    }
}

fn write_handler(method: &str, path: &str) -> MethodRouter<Arc<Api>> {
    match (method, path) {
        ("POST", "/crews") => post(control::add_crews),
        ("DELETE", "/crews") => delete(control::remove_crews),
        ("POST", "/sensors") => post(control::add_sensors),
        ("DELETE", "/sensors/{name}") => delete(control::remove_sensor),
        ("PUT", "/speed") => put(control::set_speed),
        ("POST", "/pause") => post(control::pause),
        ("POST", "/resume") => post(control::resume),
        ("PUT", "/wall") => put(control::load_wall),
        // Not in the table: never asked for.
        _ => MethodRouter::new(),
    }
}

/// The methods answered on `path`, GET first.
fn methods_of(path: &str) -> Vec<&'static str> {
    let read = is_read_route(path);
    let writes = WRITE_ROUTES
        .iter()
        .filter(|(_, t)| matches_template(t, path))
        .map(|(m, _)| *m);
    read.then_some("GET").into_iter().chain(writes).collect()
}

/// The API's router over `api`.
pub fn router(api: Arc<Api>) -> Router {
    let mut router = Router::new();
    let mut paths: Vec<&str> = ROUTES.to_vec();
    for (_, path) in WRITE_ROUTES {
        if !paths.contains(path) {
            paths.push(path);
        }
    }
    for path in paths {
        let mut methods = if ROUTES.contains(&path) {
            handler(path)
        } else {
            MethodRouter::new()
        };
        for (method, _) in WRITE_ROUTES.iter().filter(|(_, p)| *p == path) {
            methods = methods.merge(write_handler(method, path));
        }
        router = router.route(path, methods);
    }
    router
        .fallback(wall::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(api)
}

/// The API's router behind what every request goes through, in this order: an answer within
/// [`REQUEST_TIMEOUT`], at most [`MAX_IN_FLIGHT`] requests being answered at once (more wait),
/// and the [`gate`]. One function where there were three tower layers: axum wraps every route
/// in each layer and clones the whole stack on every request, which with the kernel's share
/// was most of what the API's path cost above a bare handler's.
#[derive(Clone)]
pub struct Guarded {
    router: Router,
    access: Arc<gate::Access>,
    in_flight: Arc<Semaphore>,
}

impl Guarded {
    /// The API's [`router`] over `api`, guarded.
    pub fn new(api: Arc<Api>) -> Guarded {
        let access = api.access.clone();
        Guarded::over(router(api), access)
    }

    /// Any router, guarded as the API's is for `access`.
    pub fn over(router: Router, access: gate::Access) -> Guarded {
        Guarded {
            router,
            access: Arc::new(access),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// The answer to `request`.
    pub async fn answer(self, request: Request) -> Response {
        let answered = async {
            let _permit = self.in_flight.acquire().await;
            if let Some(refused) = gate::refusal(&self.access, &request) {
                return refused;
            }
            match self.router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        };
        // A request not answered within the limit (the answer's head; a stream's body may go
        // on) is a 503 `{"error": …}` like every other error.
        match tokio::time::timeout(REQUEST_TIMEOUT, answered).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "not answered within {} s (the site is busy); ask again",
                    REQUEST_TIMEOUT.as_secs()
                ),
            )
            .into_response(),
        }
    }
}

/// 405 naming the methods the path answers (today's words when the API is read-only).
async fn method_not_allowed(State(api): State<Arc<Api>>, uri: Uri) -> Response {
    let methods = if api.access.writes {
        methods_of(uri.path())
    } else {
        vec!["GET"]
    };
    let message = if api.access.writes {
        let verb = if methods.len() == 1 { "is" } else { "are" };
        format!(
            "only {} {verb} answered on this path",
            methods.join(" and ")
        )
    } else {
        gate::READ_ONLY.to_string()
    };
    let mut r = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_response();
    if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
        r.headers_mut().insert(header::ALLOW, allow);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::write_route;

    #[test]
    fn paths_are_matched_to_their_routes() {
        assert_eq!(write_route("/crews"), Some("/crews"));
        assert_eq!(write_route("/sensors/default-1"), Some("/sensors/{name}"));
        assert_eq!(write_route("/sensors/"), None);
        assert_eq!(write_route("/sensors/a/b"), None);
        assert_eq!(write_route("/crews/log"), None);
        assert_eq!(write_route("/status"), None);
        assert_eq!(methods_of("/sensors"), ["GET", "POST"]);
        assert_eq!(methods_of("/crews"), ["POST", "DELETE"]);
        assert_eq!(methods_of("/status"), ["GET"]);
    }
}

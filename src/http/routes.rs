//! What the API answers: every GET route and every write, by method and path (axum's syntax,
//! which is OpenAPI's), and which write a request's path is of. The router serves these; the
//! gate guards the writes.

/// Every GET route: its path (axum's syntax, which is OpenAPI's).
pub const ROUTES: &[&str] = &[
    "/",
    "/web/{file}",
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
    "/events",
];

/// Every write: its method and path. Each needs the token (see `gate`).
pub const WRITE_ROUTES: &[(&str, &str)] = &[
    ("POST", "/crews"),
    ("DELETE", "/crews"),
    ("POST", "/sensors"),
    ("DELETE", "/sensors/{name}"),
    ("PUT", "/speed"),
    ("POST", "/pause"),
    ("POST", "/resume"),
    ("PUT", "/wall"),
];

/// Every route as `(method, path)`: the GET routes, then the writes.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
    ROUTES
        .iter()
        .map(|path| ("GET", *path))
        .chain(WRITE_ROUTES.iter().copied())
}

/// Every route as JSON, for `GET /` with `Accept: application/json` and a 404:
/// `[{"method": "GET", "path": "/"}, …]`.
pub fn listing() -> serde_json::Value {
    all()
        .map(|(method, path)| serde_json::json!({ "method": method, "path": path }))
        .collect()
}

/// Every route in words, for a 404's message: `GET /, GET /web/{file}, …, PUT /wall`.
pub fn in_words() -> String {
    all()
        .map(|(method, path)| format!("{method} {path}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `path` is one of the GET routes' (the wall's four with any segments in their `{…}`).
pub fn is_read_route(path: &str) -> bool {
    ROUTES
        .iter()
        .any(|template| matches_template(template, path))
}

/// The write route `path` is of (its template), if any.
pub fn write_route(path: &str) -> Option<&'static str> {
    WRITE_ROUTES
        .iter()
        .map(|(_, template)| *template)
        .find(|template| matches_template(template, path))
}

/// `path` has `template`'s segments, a `{…}` segment standing for any non-empty one.
pub fn matches_template(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) if ts.starts_with('{') && !ps.is_empty() => {}
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return false,
        }
    }
}

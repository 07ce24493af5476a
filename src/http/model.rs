//! The site's own routes: status, sensors, readings, the crews' log, the settings and health.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Api;
use super::error::ApiError;
use super::json::Json;
use crate::sensors::Reading;
use crate::site::status::Status;
use crate::store::ReadingFilter;

/// Most readings one `/readings` answer holds, and how many unless `limit` says.
pub const READINGS_MAX: usize = 10_000;
pub const READINGS_DEFAULT: usize = 1_000;
/// Most crew reports one `/crews/log` answer holds.
pub const CREW_LOG_MAX: usize = 10_000;
/// How long a store read may take before the answer is a 503.
pub const STORE_READ_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A store read, or a 503 with the reason when it fails or takes too long.
async fn store_read<T>(
    read: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
) -> Result<T, ApiError> {
    let unavailable = |m: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m);
    match tokio::time::timeout(STORE_READ_WITHIN, read).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(unavailable(e.to_string())),
        Err(_) => Err(unavailable(format!(
            "the store did not answer within {} s",
            STORE_READ_WITHIN.as_secs()
        ))),
    }
}

/// `GET /status`: what `wallwatch status --json` prints.
pub async fn status(State(api): State<Arc<Api>>, _: NoParams) -> Json<Status> {
    Json(Status::now(&api.gauges, &api.hub, api.started))
}

#[derive(Debug, Serialize)]
pub struct SensorFigures {
    pub name: String,
    pub kind: String,
    pub last: Option<i32>,
    pub min: Option<i32>,
    pub avg: Option<i32>,
    pub max: Option<i32>,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Sensors {
    pub sensors: Vec<SensorFigures>,
}

/// `GET /sensors`: every sensor's figures as the dashboard's table has them.
pub async fn sensors(State(api): State<Arc<Api>>, _: NoParams) -> Json<Sensors> {
    let sensors = api.hub.with_model(|m| {
        m.sensors
            .iter()
            .map(|s| {
                let seen = s.count > 0;
                SensorFigures {
                    name: s.info.name.clone(),
                    kind: s.info.kind.clone(),
                    last: s.last,
                    min: seen.then_some(s.min),
                    avg: s.avg(),
                    max: seen.then_some(s.max),
                    count: s.count,
                }
            })
            .collect()
    });
    Json(Sensors { sensors })
}

/// Only the parameters a route knows, each at most once: anything else is a bad request
/// (a misspelt `after_id` would otherwise silently page from the start).
pub(super) fn params(
    raw: &[(String, String)],
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for (k, v) in raw {
        if !known.contains(&k.as_str()) {
            let expected = if known.is_empty() {
                "this path takes none".to_string()
            } else {
                format!("expected {}", known.join(", "))
            };
            return Err(ApiError::bad_request(format!(
                "unknown parameter '{k}' ({expected})"
            )));
        }
        if out.insert(k.clone(), v.clone()).is_some() {
            return Err(ApiError::bad_request(format!(
                "parameter '{k}' given twice"
            )));
        }
    }
    Ok(out)
}

/// A route that takes no query parameters: any given is a 400 (as on the routes that take
/// some), so `/status?verbose=1` is not answered as if it meant something.
pub struct NoParams;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for NoParams {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<NoParams, ApiError> {
        if parts.uri.query().is_none_or(str::is_empty) {
            return Ok(NoParams);
        }
        let raw: Query<Vec<(String, String)>> = Query::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
        params(&raw.0, &[]).map(|_| NoParams)
    }
}

/// A whole number in `min..=max`, or `default` when absent.
fn number(
    params: &HashMap<String, String>,
    key: &str,
    min: u64,
    max: u64,
    default: u64,
) -> Result<u64, ApiError> {
    let Some(v) = params.get(key) else {
        return Ok(default);
    };
    v.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| v.parse::<u64>().ok())
        .flatten()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{key}: '{v}' is not a number in range ({min}..={max})"
            ))
        })
}

#[derive(Debug, Serialize)]
pub struct ReadingsPage {
    pub readings: Vec<Reading>,
    /// Where the next page starts: the last id here, or `after_id` when there is none.
    pub next_after_id: u64,
}

/// `GET /readings?sensor=&after_id=&limit=`: stored readings with ids above `after_id`, oldest
/// first, at most `limit`; page on with `next_after_id`.
pub async fn readings(
    State(api): State<Arc<Api>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Result<Json<ReadingsPage>, ApiError> {
    let p = params(&raw, &["sensor", "after_id", "limit"])?;
    let after_id = number(&p, "after_id", 0, u64::MAX, 0)?;
    let limit = number(&p, "limit", 1, READINGS_MAX as u64, READINGS_DEFAULT as u64)? as usize;
    let filter = ReadingFilter {
        sensor: p.get("sensor").filter(|s| !s.is_empty()).cloned(),
        ..ReadingFilter::default()
    };
    let reader = api.gauges.store_reader();
    let readings = store_read(reader.readings_after(filter, after_id, limit)).await?;
    let next_after_id = readings.last().map_or(after_id, |r| r.id);
    Ok(Json(ReadingsPage {
        readings,
        next_after_id,
    }))
}

#[derive(Debug, Serialize)]
pub struct CrewLogEntry {
    pub id: u64,
    pub day: u64,
    pub crew: u32,
    pub profile: Option<u32>,
    pub section: Option<u32>,
    /// The section's height after the day's work.
    pub height: Option<u8>,
    /// The crew log line (DESIGN §1).
    pub line: String,
}

#[derive(Debug, Serialize)]
pub struct CrewLog {
    pub from_day: u64,
    pub to_day: u64,
    pub reports: Vec<CrewLogEntry>,
    /// More reports of these days are stored than one answer holds (ask for fewer days).
    pub truncated: bool,
}

/// `GET /crews/log?from_day=&to_day=`: the stored crew reports of those days (default: every
/// day so far), in id order, each with its log line; none when `to_day` is before `from_day`.
pub async fn crews_log(
    State(api): State<Arc<Api>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Result<Json<CrewLog>, ApiError> {
    let p = params(&raw, &["from_day", "to_day"])?;
    let from_day = number(&p, "from_day", 1, u64::MAX, 1)?;
    let today = api.gauges.progress().day.max(1);
    let to_day = number(&p, "to_day", 1, u64::MAX, today)?;
    let reader = api.gauges.store_reader();
    let mut reports = store_read(reader.crew_reports(from_day, to_day, CREW_LOG_MAX + 1)).await?;
    let truncated = reports.len() > CREW_LOG_MAX;
    reports.truncate(CREW_LOG_MAX);
    let reports = reports
        .into_iter()
        .map(|r| CrewLogEntry {
            id: r.id,
            day: r.day,
            crew: r.crew,
            profile: r.profile,
            section: r.section,
            height: r.height,
            line: r.work().to_string(),
        })
        .collect();
    Ok(Json(CrewLog {
        from_day,
        to_day,
        reports,
        truncated,
    }))
}

/// `GET /config`: the effective settings (a store password shown as `***`), with the live
/// crews, sensors, speed and pause state in place of the start-up ones, and the wall worked
/// now (its run, fingerprint and size: another may have been loaded since the start).
pub async fn config(State(api): State<Arc<Api>>, _: NoParams) -> Json<serde_json::Value> {
    let mut shown = api.settings.clone();
    let live = api.hub.with_model(|m| {
        serde_json::json!({
            "crews": m.crews,
            "sensors": m.sensors.len(),
            "speed": speed_json(m.speed),
            "paused": m.paused,
        })
    });
    let (run, fingerprint) = api.gauges.run();
    let wall = api.gauges.with_book(|book| {
        let wall = book.works().wall();
        serde_json::json!({
            "run": run,
            "wall_fingerprint": fingerprint,
            "profiles_count": wall.profiles(),
            "sections": wall.sections(),
        })
    });
    if let (Some(map), serde_json::Value::Object(live), serde_json::Value::Object(wall)) =
        (shown.as_object_mut(), live, wall)
    {
        map.extend(live);
        map.extend(wall);
    }
    Json(shown)
}

/// `GET /healthz`: `ok` while the engine runs, the store takes writes and (with a broker) the
/// link to the broker works; 503 and the reason otherwise.
pub async fn healthz(State(api): State<Arc<Api>>, _: NoParams) -> Response {
    if !api.running.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the site is stopping\n".to_string(),
        )
            .into_response();
    }
    let writes = api.gauges.store_writes();
    if writes.failing {
        let why = writes
            .last_error
            .unwrap_or_else(|| "writes are failing".to_string());
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store writes failing: {}\n", crate::text::sanitize(&why)),
        )
            .into_response();
    }
    if let Some(why) = api.gauges.broker_failing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("agents cut off: {}\n", crate::text::sanitize(&why)),
        )
            .into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

/// A speed as `/config` shows it: the factor, or `"max"`.
pub fn speed_json(speed: crate::units::Speed) -> serde_json::Value {
    match speed {
        crate::units::Speed::Max => serde_json::json!("max"),
        crate::units::Speed::Factor(f) => serde_json::json!(f),
    }
}

//! The write routes: each a [`Command`] to the site's engine, asked as `http PEER`, with the
//! request's `Idempotency-Key` when it has one. An accepted command answers 200 with the
//! [`Outcome`] as JSON plus its words (`message`); a refusal answers its status (see
//! [`refusal_status`]) and `{"error": …}`. Counts are checked before asking (422).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use super::Api;
use super::body::{self, Fields};
use super::error::ApiError;
use super::json::Json;
use super::listener::Peer;
use crate::engine::{
    Asker, COUNT_RANGE, Command, MAX_KEY_LEN, MAX_WALL_TEXT, Outcome, Refusal, Reply,
};
use crate::units::{CREWS_RANGE, Speed};
use crate::wall::Crews;

/// An accepted command's answer.
type Answer = Result<Json<serde_json::Value>, ApiError>;

/// The `Idempotency-Key` header's name.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's `Idempotency-Key`: printable ASCII, 1 to [`MAX_KEY_LEN`] bytes (else 400).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    // A header value may hold a tab too (`to_str` takes it); a key may not.
    let printable = |k: &str| k.bytes().all(|b| (b' '..=b'~').contains(&b));
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN && printable(k) => Ok(Some(k.to_string())),
        _ => Err(ApiError::bad_request(format!(
            "Idempotency-Key: expected 1 to {MAX_KEY_LEN} printable ASCII characters"
        ))),
    }
}

/// What every write takes from its request: the API, who asks, and the headers (the body's
/// type, the `Idempotency-Key`).
pub struct Write {
    api: Arc<Api>,
    peer: Peer,
    headers: HeaderMap,
}

impl FromRequestParts<Arc<Api>> for Write {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api>) -> Result<Write, ApiError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .copied()
            .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no peer address"))?;
        Ok(Write {
            api: api.clone(),
            peer,
            headers: parts.headers.clone(),
        })
    }
}

impl Write {
    /// The JSON body's fields, only those of `known`.
    async fn fields(&self, body: Body, known: &[&str]) -> Result<Fields, ApiError> {
        Fields::read(&self.headers, body, known).await
    }

    /// Asks the engine and words its answer.
    async fn ask(&self, command: Command) -> Answer {
        let key = idempotency_key(&self.headers)?;
        let asker = Asker::http(self.peer.0);
        answer(self.api.commands.ask_keyed(command, asker, key).await)
    }
}

/// A reply as the API answers it: the outcome's JSON with `message`, or the refusal's error.
pub fn answer(reply: Reply) -> Answer {
    match reply {
        Ok(outcome) => Ok(Json(outcome_json(&outcome))),
        Err(why) => Err(ApiError::new(refusal_status(&why), why.to_string())),
    }
}

fn outcome_json(outcome: &Outcome) -> serde_json::Value {
    let mut v = serde_json::to_value(outcome).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(map) = v.as_object_mut() {
        // A speed as `/config` shows it (`10` or `"max"`), not serde's `{"Factor": 10}`.
        if let Outcome::Speed { speed } = outcome {
            map.insert("speed".into(), super::model::speed_json(*speed));
        }
        map.insert("message".into(), outcome.to_string().into());
    }
    v
}

/// The status of a refusal: 422 out of range or an unknown kind, 404 an unknown sensor, 409
/// what the site's state refuses, 503 a site stopping or a store that could not record it.
pub fn refusal_status(why: &Refusal) -> StatusCode {
    match why {
        Refusal::OutOfRange(_) | Refusal::UnknownKind(_) | Refusal::BadWall(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Refusal::UnknownSensor(_) => StatusCode::NOT_FOUND,
        Refusal::UnlimitedCrews
        | Refusal::LastCrew { .. }
        | Refusal::TooManyCrews { .. }
        | Refusal::WallComplete
        | Refusal::TooManySensors { .. }
        | Refusal::NoSensor => StatusCode::CONFLICT,
        Refusal::ReadOnly => StatusCode::FORBIDDEN,
        Refusal::Store(_) | Refusal::Stopping | Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A count in [`COUNT_RANGE`], 1 when absent (422 outside it).
fn count(key: &str, n: Option<i64>) -> Result<u32, ApiError> {
    let n = n.unwrap_or(1);
    u32::try_from(n)
        .ok()
        .filter(|n| COUNT_RANGE.contains(n))
        .ok_or_else(|| {
            let why = crate::units::OutOfRange::new(n, &COUNT_RANGE);
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{key}: {why}"))
        })
}

/// `POST /crews` `{"count": n}`: more crews (1 unless `count`).
pub async fn add_crews(w: Write, body: Body) -> Answer {
    let fields = w.fields(body, &["count"]).await?;
    let n = count("count", fields.whole("count")?)?;
    w.ask(Command::AddCrews(n)).await
}

/// `DELETE /crews?count=n`: fewer crews (1 unless `count`).
pub async fn remove_crews(w: Write, Query(raw): Query<Vec<(String, String)>>) -> Answer {
    let p = super::model::params(&raw, &["count"])?;
    let n = p
        .get("count")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("count: '{v}' is not a whole number")))
        })
        .transpose()?;
    let n = count("count", n)?;
    w.ask(Command::RemoveCrews(n)).await
}

/// `POST /sensors` `{"kind": K, "count": n}`: more sensors (1, of the kinds in turn, unless
/// said).
pub async fn add_sensors(w: Write, body: Body) -> Answer {
    let fields = w.fields(body, &["kind", "count"]).await?;
    let kind = fields.string("kind")?;
    let count = count("count", fields.whole("count")?)?;
    w.ask(Command::AddSensors { kind, count }).await
}

/// `DELETE /sensors/{name}`.
pub async fn remove_sensor(w: Write, name: Result<Path<String>, PathRejection>) -> Answer {
    let Path(name) = name.map_err(|e| ApiError::bad_request(e.body_text()))?;
    w.ask(Command::RemoveSensors(vec![name])).await
}

/// `PUT /speed` `{"speed": X}` or `{"speed": "max"}`.
pub async fn set_speed(w: Write, body: Body) -> Answer {
    let fields = w.fields(body, &["speed"]).await?;
    let speed = match fields.get("speed") {
        None => {
            return Err(ApiError::bad_request(
                "speed: missing (a number or \"max\")",
            ));
        }
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("max") => Speed::Max,
        Some(v) => Speed::Factor(v.as_f64().ok_or_else(|| {
            ApiError::bad_request(format!("speed: {v} is not a number or \"max\""))
        })?),
    };
    w.ask(Command::SetSpeed(speed)).await
}

/// `POST /pause`: no body, or an empty JSON object.
pub async fn pause(w: Write, body: Body) -> Answer {
    w.fields(body, &[]).await?;
    w.ask(Command::Pause).await
}

/// `POST /resume`: no body, or an empty JSON object.
pub async fn resume(w: Write, body: Body) -> Answer {
    w.fields(body, &[]).await?;
    w.ask(Command::Resume).await
}

/// `PUT /wall`: a profiles file as `text/plain` (crews from `?crews=N|unlimited`), or JSON
/// `{"profiles": ["21 25 28", "17"], "crews": 3}`, at most [`MAX_WALL_TEXT`] bytes. 202 with the
/// new run's outcome; a text that is no wall gets 422 with its `line:col` (the engine's parse).
pub async fn load_wall(
    w: Write,
    Query(raw): Query<Vec<(String, String)>>,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let query = super::model::params(&raw, &["crews"])?;
    let bytes = body::bytes(body, MAX_WALL_TEXT).await?;
    let (profiles, crews) = if body::is_json(&w.headers) {
        let fields = Fields::parse(&bytes, &["profiles", "crews"])?;
        (json_profiles(&fields)?, crews_of(fields.get("crews"))?)
    } else if body::is_type(&w.headers, "text/plain") || !w.headers.contains_key(CONTENT_TYPE) {
        let crews = query
            .get("crews")
            .map(|c| serde_json::Value::String(c.to_string()));
        (
            String::from_utf8_lossy(&bytes).into_owned(),
            crews_of(crews.as_ref())?,
        )
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be a profiles file (Content-Type: text/plain) or JSON \
             (application/json)",
        ));
    };
    let Json(outcome) = w.ask(Command::LoadWall { profiles, crews }).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}

/// The JSON body's `profiles`: one line each (400 naming the one that is not).
fn json_profiles(fields: &Fields) -> Result<String, ApiError> {
    let Some(serde_json::Value::Array(lines)) = fields.get("profiles") else {
        return Err(ApiError::bad_request(
            "profiles: missing (an array of profiles, each a line of heights)",
        ));
    };
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        match line.as_str() {
            Some(l) if !l.contains(['\n', '\r']) => {
                text.push_str(l);
                text.push('\n');
            }
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "profiles[{i}]: a profile is one line"
                )));
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "profiles[{i}]: {line} is not a string"
                )));
            }
        }
    }
    Ok(text)
}

/// Crews as `crews` gives them: a number in [`CREWS_RANGE`] (422 outside it) or `"unlimited"`;
/// absent, as many as work now.
fn crews_of(v: Option<&serde_json::Value>) -> Result<Option<Crews>, ApiError> {
    let out_of_range = |n: i64| {
        let why = crate::units::OutOfRange::new(n, &CREWS_RANGE);
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("crews: {why}"))
    };
    let n = match v {
        None => return Ok(None),
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("unlimited") => {
            return Ok(Some(Crews::Unlimited));
        }
        Some(serde_json::Value::String(s)) => s.parse::<i64>().ok(),
        Some(v) => v.as_i64(),
    };
    let Some(n) = n else {
        return Err(ApiError::bad_request(format!(
            "crews: {} is not a whole number or \"unlimited\"",
            v.map(|v| v.to_string()).unwrap_or_default()
        )));
    };
    u32::try_from(n)
        .ok()
        .filter(|n| CREWS_RANGE.contains(n))
        .map(|n| Some(Crews::Limited(n)))
        .ok_or_else(|| out_of_range(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_out_of_range_are_422() {
        assert_eq!(count("count", None).unwrap(), 1);
        assert_eq!(count("count", Some(1000)).unwrap(), 1000);
        for n in [0, -1, 1001, i64::MAX] {
            let e = count("count", Some(n)).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(e.message, format!("count: {n} is out of range (1..=1000)"));
        }
    }

    #[test]
    fn refusals_have_their_statuses() {
        let cases = [
            (Refusal::LastCrew { crews: 1 }, 409),
            (Refusal::UnlimitedCrews, 409),
            (Refusal::WallComplete, 409),
            (Refusal::NoSensor, 409),
            (Refusal::UnknownSensor("x".into()), 404),
            (Refusal::UnknownKind("k".into()), 422),
            (Refusal::OutOfRange("r".into()), 422),
            (Refusal::Stopping, 503),
            (Refusal::Store("s".into()), 503),
        ];
        for (why, status) in cases {
            assert_eq!(refusal_status(&why).as_u16(), status, "{why:?}");
        }
        let fast = answer(Ok(Outcome::Speed { speed: Speed::Max })).unwrap();
        assert_eq!(
            fast.0,
            serde_json::json!({"outcome": "speed", "speed": "max", "message": "speed max"})
        );
        let ok = answer(Ok(Outcome::Paused { paused: true })).unwrap();
        assert_eq!(
            ok.0,
            serde_json::json!({"outcome": "paused", "paused": true, "message": "paused"})
        );
    }
}

//! Durations and speeds as they are written on the command line and in the config file, for
//! both the command line's `Config` and the engine's own parsing (latency ranges).

use std::time::Duration;

use crate::engine::Speed;
use crate::text::sanitize;

/// Parses `500ms`, `30s`, `2m`, `1h` (also `1.5s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "'{}' is not a duration (e.g. 500ms, 30s, 2m, 1h)",
            sanitize(s)
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// Parses `max` or a positive simulated-seconds-per-second factor.
pub fn parse_speed(s: &str) -> Result<Speed, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
        _ => Err(format!(
            "'{}' is not a speed (a positive number or 'max')",
            sanitize(s)
        )),
    }
}

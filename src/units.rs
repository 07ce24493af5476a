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

/// Parses `max` or a simulated-seconds-per-second factor in
/// [`SPEED_RANGE`](crate::engine::SPEED_RANGE).
pub fn parse_speed(s: &str) -> Result<Speed, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    let range = &crate::engine::SPEED_RANGE;
    match s.parse::<f64>() {
        Ok(f) if range.contains(&f) => Ok(Speed::Factor(f)),
        _ => Err(format!(
            "'{}' is not a speed (a number from {} to {}, or 'max')",
            sanitize(s),
            range.start(),
            range.end()
        )),
    }
}

/// Parses a duration as [`parse_duration`] does and checks it is in
/// [`DURATION_RANGE`](crate::engine::DURATION_RANGE) (1ms to 366 days).
pub fn parse_run_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    let range = &crate::engine::DURATION_RANGE;
    if range.contains(&d) {
        Ok(d)
    } else {
        Err(format!(
            "'{}' is out of range (1ms..=366 days, e.g. 8784h)",
            sanitize(s.trim())
        ))
    }
}

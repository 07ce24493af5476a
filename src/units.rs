//! The units every layer shares: the speed of simulated time, the range of every number a run
//! takes (checked in one place, named by the caller), and durations and speeds as they are
//! written on the command line and in the config file.
//!
//! The ranges keep every piece of time arithmetic in range: simulated time is at most a year of
//! real time × the highest speed (3.2 × 10¹³ s, far inside `std::time::Duration`), real sleeps are
//! at most a simulated interval ÷ the lowest speed, and the sizes of what the engine allocates per
//! sensor, crew and permit stay within what one machine holds.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::text::sanitize;
use serde::{Deserialize, Serialize};

/// How fast simulated time runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Speed {
    /// Simulated seconds per real second.
    Factor(f64),
    /// As fast as possible.
    Max,
}

/// Simulated seconds per real second (`Speed::Factor`), besides `Speed::Max`.
pub const SPEED_RANGE: RangeInclusive<f64> = 0.001..=1_000_000.0;
/// Messages the network carries at once (permits of its semaphore).
pub const NETWORK_LIMIT_RANGE: RangeInclusive<usize> = 1..=65_536;
/// Sensors at start, and at most while the run lasts.
pub const SENSORS_RANGE: RangeInclusive<usize> = 0..=100_000;
/// Crews when limited, at start and at most while the run lasts.
pub const CREWS_RANGE: RangeInclusive<u32> = 1..=1_000_000;
/// Simulated seconds in a wall day: a millisecond to a real day.
pub const DAY_SECONDS_RANGE: RangeInclusive<f64> = 0.001..=86_400.0;
/// Real time a run may be given (`--duration`): up to 366 days.
pub const DURATION_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(366 * 86_400);
/// The wall day a run stops after (`--days`).
pub const DAYS_RANGE: RangeInclusive<u64> = 1..=1_000_000_000;
/// Sections one profile may have (`--max-sections`): at 10 million a profile's line is already
/// some 30 MB of text.
pub const MAX_SECTIONS_RANGE: RangeInclusive<usize> = 1..=10_000_000;

/// `value` if it is in `range`, else why not (one line, without the flag's name).
pub fn in_range<T: PartialOrd + std::fmt::Display>(
    value: T,
    range: &RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{value} is out of range ({}..={})",
            range.start(),
            range.end()
        ))
    }
}

/// A speed the engine accepts: `max`, or a factor in [`SPEED_RANGE`].
pub fn check_speed(speed: Speed) -> Result<Speed, String> {
    match speed {
        Speed::Max => Ok(speed),
        Speed::Factor(f) if SPEED_RANGE.contains(&f) => Ok(speed),
        Speed::Factor(f) => Err(format!(
            "{f} is not a speed in range ({}..={}, or max)",
            SPEED_RANGE.start(),
            SPEED_RANGE.end()
        )),
    }
}

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
/// [`SPEED_RANGE`].
pub fn parse_speed(s: &str) -> Result<Speed, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    let range = &SPEED_RANGE;
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
/// [`DURATION_RANGE`] (1ms to 366 days).
pub fn parse_run_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    let range = &DURATION_RANGE;
    if range.contains(&d) {
        Ok(d)
    } else {
        Err(format!(
            "'{}' is out of range (1ms..=366 days, e.g. 8784h)",
            sanitize(s.trim())
        ))
    }
}

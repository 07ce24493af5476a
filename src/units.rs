//! The units every layer shares: the speed of simulated time, the range of every number a run
//! takes (checked in one place, named by the caller), and durations and speeds as they are
//! written on the command line and in the config file.
//!
//! The ranges keep every piece of time arithmetic in range: simulated time is at most a year of
//! real time × the highest speed (3.2 × 10¹³ s, far inside `std::time::Duration`), real sleeps are
//! at most a simulated interval ÷ the lowest speed, and the sizes of what the engine allocates per
//! sensor, crew and permit stay within what one machine holds.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
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

/// A number outside its range: `65537 is out of range (1..=65536)`. Every surface that checks a
/// range gets this from [`in_range`]; one that words it its own way (a flag's text, the speed)
/// takes the value and range from here rather than writing the range again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value} is out of range ({range})")]
pub struct OutOfRange {
    /// The value as given.
    pub value: String,
    /// The range as the messages write it, `1..=65536`.
    pub range: String,
}

impl OutOfRange {
    /// `value` refused by `range` (the value need not be of the range's type: a TOML integer
    /// that does not fit is out of range too).
    pub fn new<T: fmt::Display>(value: impl fmt::Display, range: &RangeInclusive<T>) -> Self {
        OutOfRange {
            value: value.to_string(),
            range: range_text(range),
        }
    }
}

/// A range as every message writes it: `1..=65536`.
pub fn range_text<T: fmt::Display>(range: &RangeInclusive<T>) -> String {
    format!("{}..={}", range.start(), range.end())
}

/// `value` if it is in `range`, else why not (one line, without the flag's name): the one
/// check of every number a run takes, whether from a flag, the file or the engine's options.
pub fn in_range<T: PartialOrd + fmt::Display>(
    value: T,
    range: &RangeInclusive<T>,
) -> Result<T, OutOfRange> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(OutOfRange::new(&value, range))
    }
}

/// A flag's text that is not a number in its range: `'0' is not a number in range (1..=65536)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{}' is not a number in range ({range})", sanitize(.text))]
pub struct NotANumberInRange {
    pub text: String,
    pub range: String,
}

/// The number `text` says, checked by [`in_range`] (the flags' parser; the caller names the
/// flag).
pub fn parse_in_range<T>(text: &str, range: &RangeInclusive<T>) -> Result<T, NotANumberInRange>
where
    T: FromStr + PartialOrd + fmt::Display,
{
    text.trim()
        .parse()
        .ok()
        .and_then(|value| in_range(value, range).ok())
        .ok_or_else(|| NotANumberInRange {
            text: text.to_string(),
            range: range_text(range),
        })
}

/// A speed the engine accepts: `max`, or a factor in [`SPEED_RANGE`].
pub fn check_speed(speed: Speed) -> Result<Speed, String> {
    match speed {
        Speed::Max => Ok(speed),
        Speed::Factor(f) => in_range(f, &SPEED_RANGE)
            .map(Speed::Factor)
            .map_err(|e| format!("{} is not a speed in range ({}, or max)", e.value, e.range)),
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
    s.parse::<f64>()
        .ok()
        .and_then(|f| check_speed(Speed::Factor(f)).ok())
        .ok_or_else(|| {
            format!(
                "'{}' is not a speed (a number from {} to {}, or 'max')",
                sanitize(s),
                SPEED_RANGE.start(),
                SPEED_RANGE.end()
            )
        })
}

/// Parses a duration as [`parse_duration`] does and checks it is in
/// [`DURATION_RANGE`] (1ms to 366 days).
pub fn parse_run_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    // The one check of a run's duration (`Duration` has no `Display`: the range is worded here).
    if DURATION_RANGE.contains(&d) {
        Ok(d)
    } else {
        Err(format!(
            "'{}' is out of range (1ms..=366 days, e.g. 8784h)",
            sanitize(s.trim())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each range's message is written once, here; every surface shows these words.
    #[test]
    fn out_of_range_messages() {
        assert_eq!(in_range(5, &NETWORK_LIMIT_RANGE), Ok(5));
        assert_eq!(
            in_range(0, &NETWORK_LIMIT_RANGE).unwrap_err().to_string(),
            "0 is out of range (1..=65536)"
        );
        assert_eq!(
            in_range(f64::NAN, &DAY_SECONDS_RANGE)
                .unwrap_err()
                .to_string(),
            "NaN is out of range (0.001..=86400)"
        );
        assert_eq!(parse_in_range(" 7 ", &SENSORS_RANGE), Ok(7));
        assert_eq!(
            parse_in_range::<usize>("x\u{1b}", &NETWORK_LIMIT_RANGE)
                .unwrap_err()
                .to_string(),
            "'x\\u{1b}' is not a number in range (1..=65536)"
        );
        assert_eq!(
            parse_in_range::<u64>("0", &DAYS_RANGE)
                .unwrap_err()
                .to_string(),
            "'0' is not a number in range (1..=1000000000)"
        );
    }

    #[test]
    fn speeds() {
        assert_eq!(check_speed(Speed::Max), Ok(Speed::Max));
        assert_eq!(check_speed(Speed::Factor(0.001)), Ok(Speed::Factor(0.001)));
        assert_eq!(
            check_speed(Speed::Factor(1e20)).unwrap_err(),
            "100000000000000000000 is not a speed in range (0.001..=1000000, or max)"
        );
        assert_eq!(parse_speed("MAX"), Ok(Speed::Max));
        assert_eq!(
            parse_speed("NaN").unwrap_err(),
            "'NaN' is not a speed (a number from 0.001 to 1000000, or 'max')"
        );
    }
}

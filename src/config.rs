//! One `Config`, built once from the run's flags and an optional TOML file.
//!
//! The file uses the flags' names in kebab-case (`network-limit = 5`, `sensor-kinds = [..]`); see
//! `assets/wallwatch.toml`. Unknown keys and bad values are errors naming the file and the key.
//! A flag given on the command line wins over the file. A relative `profiles` path in the file is
//! taken relative to the file's directory.
//!
//! Defaults: the built-in example wall, 5 sensors of kind `default`, network limit 5, latency 0,
//! store `sqlite:wallwatch.db`, seed 0 (runs are reproducible unless a seed is given), speed 1,
//! 5 simulated seconds per wall day, and the mode's default crews (3 for the dashboard and headless
//! runs alike).

use crate::text::sanitize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{CrewsArg, RunArgs};
use crate::engine::network::Latency;
use crate::engine::{EngineOptions, Speed};
use crate::units::{parse_duration, parse_speed};
use crate::wall::{Crews, DEFAULT_MAX_SECTIONS, EXAMPLE_PROFILES, Wall};
use toml::Spanned;

/// Crews of a run when neither flag nor file says (DESIGN §5 / issue 5: the dashboard shows 3).
pub const DEFAULT_CREWS: Crews = Crews::Limited(3);
pub const DEFAULT_SENSORS: usize = 5;
pub const DEFAULT_NETWORK_LIMIT: usize = 5;
pub const DEFAULT_DAY_SECONDS: f64 = 5.0;
/// Rows per store write.
pub const DEFAULT_BATCH_SIZE: usize = 16384;

/// Everything a run needs, decided before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// What the engine runs.
    pub engine: EngineOptions,
    /// Where the wall came from: the profiles file, or `built-in example`.
    pub profiles: String,
    pub max_sections: usize,
    /// Stop after this much real time.
    pub duration: Option<Duration>,
    pub palette: Option<String>,
}

/// A configuration error, one line, naming the file and key or the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    /// Values quoted in a message come from a file or a flag: escaped here, whatever the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sanitize(&self.0))
    }
}

impl std::error::Error for ConfigError {}

/// The run options once file and flags are merged, before they are checked.
#[derive(Debug, Default)]
struct Raw {
    profiles: Option<PathBuf>,
    max_sections: Option<usize>,
    crews: Option<CrewsArg>,
    sensors: Option<usize>,
    sensor_kinds: Option<Vec<String>>,
    network_limit: Option<usize>,
    latency: Option<String>,
    store: Option<String>,
    seed: Option<u64>,
    speed: Option<String>,
    day_seconds: Option<f64>,
    duration: Option<String>,
    days: Option<u64>,
    until_complete: Option<bool>,
    fresh: Option<bool>,
    palette: Option<String>,
}

/// Keys of the TOML file.
pub const FILE_KEYS: &[&str] = &[
    "profiles",
    "max-sections",
    "crews",
    "sensors",
    "sensor-kinds",
    "network-limit",
    "latency",
    "store",
    "seed",
    "speed",
    "day-seconds",
    "duration",
    "days",
    "until-complete",
    "fresh",
    "palette",
];

fn read_file(path: &Path) -> Result<Raw, ConfigError> {
    let name = sanitize(&path.display().to_string());
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{name}: cannot read: {e}")))?;
    // Line and column (from 1) of a byte offset, for errors that point into the file.
    let at = |offset: usize| {
        let before = &text[..text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{name}:{line}:{col}")
    };
    // Spanned keys and values, so an error names the line of the key or value at fault.
    let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(&text).map_err(|e: toml::de::Error| {
            let msg = sanitize(e.message().lines().next().unwrap_or("invalid TOML"));
            match e.span() {
                Some(span) => ConfigError(format!("{}: {msg}", at(span.start))),
                None => ConfigError(format!("{name}: {msg}")),
            }
        })?;
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    let mut raw = Raw::default();
    let dir = path.parent().unwrap_or(Path::new(""));
    for (spanned_key, spanned_value) in entries {
        let (key, value) = (spanned_key.get_ref(), spanned_value.get_ref());
        let err = |what: &str| {
            let place = at(spanned_value.span().start);
            ConfigError(format!("{place}: key '{}': {what}", sanitize(key)))
        };
        let want_str = |v: &toml::Value| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| err("expected a string"))
        };
        let want_pos = |v: &toml::Value| match v.as_integer() {
            Some(n) if n > 0 => Ok(n as usize),
            _ => Err(err(&format!("{v} is not a positive whole number"))),
        };
        let want_u64 = |v: &toml::Value| match v.as_integer() {
            Some(n) if n >= 0 => Ok(n as u64),
            _ => Err(err(&format!("{v} is not a whole number"))),
        };
        let want_bool = |v: &toml::Value| v.as_bool().ok_or_else(|| err("expected true or false"));
        match key.as_str() {
            "profiles" => raw.profiles = Some(dir.join(want_str(value)?)),
            "max-sections" => raw.max_sections = Some(want_pos(value)?),
            "crews" => {
                let text = match value {
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::String(s) => s.clone(),
                    _ => return Err(err("expected a number or \"unlimited\"")),
                };
                raw.crews = Some(crate::cli::parse_crews(&text).map_err(|e| err(&e))?);
            }
            "sensors" => raw.sensors = Some(want_u64(value)? as usize),
            "sensor-kinds" => {
                let kinds = match value {
                    toml::Value::Array(items) => items
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| err("expected a list of kind names"))?,
                    toml::Value::String(s) => s.split(',').map(|k| k.trim().to_string()).collect(),
                    _ => return Err(err("expected a list of kind names")),
                };
                raw.sensor_kinds = Some(kinds);
            }
            "network-limit" => raw.network_limit = Some(want_pos(value)?),
            "latency" => {
                raw.latency = Some(match value {
                    toml::Value::Integer(0) => "0".to_string(),
                    v => want_str(v)?,
                })
            }
            "store" => raw.store = Some(want_str(value)?),
            "seed" => raw.seed = Some(want_u64(value)?),
            "speed" => {
                raw.speed = Some(match value {
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    v => want_str(v)?,
                })
            }
            "day-seconds" => {
                raw.day_seconds = Some(match value {
                    toml::Value::Integer(n) => *n as f64,
                    toml::Value::Float(f) => *f,
                    _ => return Err(err("expected a number of seconds")),
                })
            }
            "duration" => raw.duration = Some(want_str(value)?),
            "days" => raw.days = Some(want_pos(value)? as u64),
            "until-complete" => raw.until_complete = Some(want_bool(value)?),
            "fresh" => raw.fresh = Some(want_bool(value)?),
            "palette" => raw.palette = Some(want_str(value)?),
            _ => {
                return Err(ConfigError(format!(
                    "{}: unknown key '{}'",
                    at(spanned_key.span().start),
                    sanitize(key)
                )));
            }
        }
        // Check values now so the error names the file and key.
        let checked = match key.as_str() {
            "latency" => raw
                .latency
                .as_deref()
                .map(|l| Latency::parse(l).map(|_| ())),
            "speed" => raw.speed.as_deref().map(|s| parse_speed(s).map(|_| ())),
            "duration" => raw
                .duration
                .as_deref()
                .map(|d| parse_duration(d).map(|_| ())),
            "day-seconds" => raw.day_seconds.map(check_day_seconds),
            "sensor-kinds" => raw.sensor_kinds.as_deref().map(check_kinds),
            _ => None,
        };
        if let Some(Err(e)) = checked {
            return Err(err(&e));
        }
    }
    Ok(raw)
}

fn check_day_seconds(s: f64) -> Result<(), String> {
    if s.is_finite() && s > 0.0 && s <= 1e9 {
        Ok(())
    } else {
        Err(format!("{s} is not a positive number of seconds"))
    }
}

fn check_kinds(kinds: &[String]) -> Result<(), String> {
    if kinds.is_empty() {
        return Err("no sensor kind given".into());
    }
    for k in kinds {
        if !crate::sensors::KINDS.contains(&k.as_str()) {
            return Err(format!(
                "unknown sensor kind '{}' (known: {})",
                sanitize(k),
                crate::sensors::KINDS.join(", ")
            ));
        }
    }
    Ok(())
}

impl Config {
    /// Builds the run's configuration: `args` over `--config FILE` over the defaults, with
    /// `default_crews` for the mode. Reads and parses the profiles file.
    pub fn from_args(args: &RunArgs, default_crews: Crews) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => Raw::default(),
        };
        let flag = |what: &str, e: String| ConfigError(format!("--{what}: {e}"));
        let max_sections = args
            .max_sections
            .or(file.max_sections)
            .unwrap_or(DEFAULT_MAX_SECTIONS);
        let profiles_path = args.profiles.clone().or(file.profiles);
        let (wall, profiles) = match &profiles_path {
            None => (
                Wall::parse(EXAMPLE_PROFILES.as_bytes(), max_sections)
                    .map_err(|e| ConfigError(format!("built-in example: {e}")))?,
                "built-in example".to_string(),
            ),
            Some(path) => (
                crate::profiles_file::load(path, max_sections).map_err(ConfigError)?,
                sanitize(&path.display().to_string()),
            ),
        };
        let crews = match args.crews.or(file.crews) {
            None => default_crews,
            Some(CrewsArg::Unlimited) => Crews::Unlimited,
            Some(CrewsArg::Limited(n)) => Crews::Limited(n),
        };
        let sensor_kinds = match &args.sensor_kinds {
            Some(k) => {
                check_kinds(k).map_err(|e| flag("sensor-kinds", e))?;
                k.clone()
            }
            None => file
                .sensor_kinds
                .unwrap_or_else(|| vec!["default".to_string()]),
        };
        let latency = match &args.latency {
            Some(l) => Latency::parse(l).map_err(|e| flag("latency", e))?,
            None => file
                .latency
                .as_deref()
                .map(Latency::parse)
                .transpose()
                .map_err(|e| flag("latency", e))?
                .unwrap_or_default(),
        };
        let speed = match &args.speed {
            Some(s) => parse_speed(s).map_err(|e| flag("speed", e))?,
            None => file
                .speed
                .as_deref()
                .map(parse_speed)
                .transpose()
                .map_err(|e| flag("speed", e))?
                .unwrap_or(Speed::Factor(1.0)),
        };
        let day_seconds = match args.day_seconds {
            Some(s) => {
                check_day_seconds(s).map_err(|e| flag("day-seconds", e))?;
                s
            }
            None => file.day_seconds.unwrap_or(DEFAULT_DAY_SECONDS),
        };
        let duration = match &args.duration {
            Some(d) => Some(parse_duration(d).map_err(|e| flag("duration", e))?),
            None => file
                .duration
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| flag("duration", e))?,
        };
        let days = match args.days {
            Some(0) => return Err(flag("days", "'0' is not a positive whole number".into())),
            Some(d) => Some(d),
            None => file.days,
        };
        Ok(Config {
            engine: EngineOptions {
                wall: Arc::new(wall),
                crews,
                sensors: args.sensors.or(file.sensors).unwrap_or(DEFAULT_SENSORS),
                sensor_kinds,
                network_limit: args
                    .network_limit
                    .or(file.network_limit)
                    .unwrap_or(DEFAULT_NETWORK_LIMIT),
                latency,
                store: args
                    .store
                    .clone()
                    .or(file.store)
                    .unwrap_or_else(|| crate::store::DEFAULT_STORE_URL.to_string()),
                seed: args.seed.or(file.seed).unwrap_or(0),
                speed,
                day_seconds,
                days,
                until_complete: args.until_complete || file.until_complete.unwrap_or(false),
                fresh: args.fresh || file.fresh.unwrap_or(false),
                batch_size: DEFAULT_BATCH_SIZE,
                flush_after: Duration::from_millis(50),
                max_readings: None,
            },
            profiles,
            max_sections,
            duration,
            palette: args.palette.clone().or(file.palette),
        })
    }

    /// The defaults with the built-in example wall, for tests and benchmarks.
    pub fn example() -> Config {
        Config::from_args(&RunArgs::default(), DEFAULT_CREWS)
            .unwrap_or_else(|e| unreachable!("the built-in example is valid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("-3s").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn defaults() {
        let c = Config::example();
        assert_eq!(c.engine.crews, Crews::Limited(3));
        assert_eq!(c.engine.sensors, 5);
        assert_eq!(c.engine.sensor_kinds, ["default"]);
        assert_eq!(c.engine.network_limit, 5);
        assert!(c.engine.latency.is_zero());
        assert_eq!(c.engine.store, "sqlite:wallwatch.db");
        assert_eq!(c.engine.seed, 0);
        assert_eq!(c.engine.speed, Speed::Factor(1.0));
        assert_eq!(c.engine.day_seconds, 5.0);
        assert_eq!(c.engine.wall.profiles(), 3);
    }

    #[test]
    fn the_example_config_file_is_valid_and_flags_win() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/wallwatch.toml");
        let args = RunArgs {
            config: Some(path),
            ..Default::default()
        };
        let c = Config::from_args(&args, DEFAULT_CREWS).unwrap();
        assert_eq!(c.engine.network_limit, 5);
        let args = RunArgs {
            network_limit: Some(7),
            speed: Some("max".into()),
            ..args
        };
        let c = Config::from_args(&args, DEFAULT_CREWS).unwrap();
        assert_eq!(c.engine.network_limit, 7);
        assert_eq!(c.engine.speed, Speed::Max);
    }

    #[test]
    fn file_values_apply() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir, "p.txt", "1 2 3\n");
        let cfg = write(
            &dir,
            "w.toml",
            "profiles = \"p.txt\"\ncrews = \"unlimited\"\nsensors = 8\nsensor-kinds = [\"strain\", \"default\"]\n\
             latency = \"10..20ms\"\nspeed = 2.5\nday-seconds = 1\nduration = \"2m\"\ndays = 4\nuntil-complete = true\nseed = 9\n",
        );
        let c = Config::from_args(
            &RunArgs {
                config: Some(cfg),
                ..Default::default()
            },
            DEFAULT_CREWS,
        )
        .unwrap();
        assert_eq!(c.engine.wall.sections(), 3);
        assert_eq!(c.engine.crews, Crews::Unlimited);
        assert_eq!(c.engine.sensors, 8);
        assert_eq!(c.engine.sensor_kinds, ["strain", "default"]);
        assert_eq!(
            c.engine.latency,
            Latency::Range(Duration::from_millis(10), Duration::from_millis(20))
        );
        assert_eq!(c.engine.speed, Speed::Factor(2.5));
        assert_eq!(c.engine.day_seconds, 1.0);
        assert_eq!(c.duration, Some(Duration::from_secs(120)));
        assert_eq!(c.engine.days, Some(4));
        assert!(c.engine.until_complete);
        assert_eq!(c.engine.seed, 9);
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = |text: &str| {
            let p = write(&dir, "wallwatch.toml", text);
            let e = Config::from_args(
                &RunArgs {
                    config: Some(p),
                    ..Default::default()
                },
                DEFAULT_CREWS,
            )
            .unwrap_err()
            .to_string();
            assert!(!e.contains('\n'), "{e}");
            e
        };
        assert!(err("sensorz = 3").ends_with("wallwatch.toml:1:1: unknown key 'sensorz'"));
        assert!(err("network-limit = 0").contains("wallwatch.toml:1:17: key 'network-limit':"));
        // The line and column of the key or value at fault, wherever it is in the file.
        assert!(
            err("sensors = 3\n\n  seed = \"x\"")
                .contains("wallwatch.toml:3:10: key 'seed': \"x\" is not a whole number")
        );
        assert!(err("seed = 1\nzeta = 2\nalpha = 3").ends_with(":2:1: unknown key 'zeta'"));
        assert!(err("latency = \"fast\"").contains("key 'latency': 'fast' is not a latency"));
        // Found by the config fuzzer: a control character inside a quoted value.
        assert!(err("latency = \"Y\\tY\"").contains("key 'latency': 'Y\\tY' is not a latency"));
        assert!(err("sensor-kinds = [\"barometer\"]").contains("unknown sensor kind 'barometer'"));
        assert!(err("speed = \"slow\"").contains("key 'speed'"));
        assert!(err("crews = 0").contains("key 'crews'"));
        assert!(err("sensors = [").contains("wallwatch.toml:1:"));
    }

    #[test]
    fn bad_profiles_file_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "profiles.txt", "1 2\n3 31\n");
        let args = RunArgs {
            profiles: Some(p),
            ..Default::default()
        };
        let e = Config::from_args(&args, DEFAULT_CREWS).unwrap_err().0;
        assert!(
            e.ends_with("profiles.txt:2:3: '31' is not a height (0..=30)"),
            "{e}"
        );
    }

    #[test]
    fn bad_flags() {
        let bad = |args: RunArgs| Config::from_args(&args, DEFAULT_CREWS).unwrap_err().0;
        assert!(
            bad(RunArgs {
                speed: Some("0".into()),
                ..Default::default()
            })
            .starts_with("--speed:")
        );
        assert!(
            bad(RunArgs {
                latency: Some("x".into()),
                ..Default::default()
            })
            .starts_with("--latency:")
        );
        assert!(
            bad(RunArgs {
                duration: Some("1y".into()),
                ..Default::default()
            })
            .starts_with("--duration:")
        );
        assert!(
            bad(RunArgs {
                days: Some(0),
                ..Default::default()
            })
            .starts_with("--days:")
        );
        assert!(
            bad(RunArgs {
                day_seconds: Some(-1.0),
                ..Default::default()
            })
            .starts_with("--day-seconds:")
        );
        assert!(
            bad(RunArgs {
                sensor_kinds: Some(vec!["x".into()]),
                ..Default::default()
            })
            .starts_with("--sensor-kinds: unknown sensor kind 'x'")
        );
    }
}

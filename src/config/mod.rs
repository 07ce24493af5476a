//! One `Config`, built once from the run's flags and an optional TOML file.
//!
//! The file uses the flags' names in kebab-case (`network-limit = 5`, `sensor-kinds = [..]`); see
//! `assets/wallwatch.toml`; `serve`'s `socket`, `name`, `socket-group` and `group-may-steer`
//! too. Unknown keys and bad values are
//! errors naming the file and the key. A flag given on the command line wins over the file.
//! Every relative path in the file (`profiles`, `log-file`, `socket`, a `csv:` or `sqlite:`
//! `store`) is taken relative to the file's directory; a flag's, to the working directory.
//!
//! Defaults: the built-in example wall, 5 sensors of kind `default`, network limit 5, latency 0,
//! store `sqlite:wallwatch.db`, seed 0 (runs are reproducible unless a seed is given), speed 1,
//! 5 simulated seconds per wall day, and the mode's default crews (3 for the dashboard and headless
//! runs alike).

pub mod cli;
pub mod profiles_file;

use crate::text::sanitize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::ops::RangeInclusive;

use crate::config::cli::{LOG_KEEP_RANGE, RunArgs, SiteArgs};
use crate::config::profiles_file::ProfilesError;
use crate::engine::EngineOptions;
use crate::engine::network::Latency;
use crate::units::{
    CREWS_RANGE, DAY_SECONDS_RANGE, DAYS_RANGE, MAX_SECTIONS_RANGE, NETWORK_LIMIT_RANGE,
    OutOfRange, SENSORS_RANGE, Speed, check_speed, in_range,
};
use crate::units::{parse_run_duration, parse_speed};
use crate::wall::{Crews, DEFAULT_MAX_SECTIONS, EXAMPLE_PROFILES, Wall};
use serde::Deserialize;
use toml::Spanned;

/// Crews of a run when neither flag nor file says (DESIGN §5 / issue 5: the dashboard shows 3).
pub const DEFAULT_CREWS: Crews = Crews::Limited(3);
pub const DEFAULT_SENSORS: usize = 5;
pub const DEFAULT_NETWORK_LIMIT: usize = 5;
pub const DEFAULT_DAY_SECONDS: f64 = 5.0;
/// Rows per store write.
pub const DEFAULT_BATCH_SIZE: usize = 16384;
/// The largest config file read (the longest real one is a few KiB).
const MAX_CONFIG_FILE: u64 = 1024 * 1024;
/// How long a stop waits for the store unless `--drain-timeout` says.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Where the HTTP API listens (`--http`), if anywhere.
    pub http: Option<std::net::SocketAddr>,
    /// Where HTTP writes' token is (`--http-token-file`); none: a new one beside the socket.
    pub http_token_file: Option<PathBuf>,
    /// Every HTTP write refused (`--http-read-only`).
    pub http_read_only: bool,
    /// What needs the token (`--http-auth`).
    pub http_auth: crate::config::cli::HttpAuth,
    /// The daily log files (`--log-file`) and how many are kept (`--log-keep`).
    pub log_file: Option<PathBuf>,
    pub log_keep: usize,
    /// Agents' readings through a broker (`--broker`, `--broker-ca`, `--site`).
    pub broker: Option<crate::broker::BrokerOptions>,
    /// The config file's `socket` or `name` for `serve` (whose flags are not run flags): see
    /// [`Config::serve_site`].
    serve_site: SiteArgs,
    /// The config file's `socket-group` and `group-may-steer`: see [`Config::serve_access`].
    serve_group: Option<crate::serve::access::Group>,
    serve_group_may_steer: bool,
}

/// A configuration error, one line, naming the file and key or the flag. Text quoted in a
/// message comes from a file or a flag: it is escaped as the message is written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag's value: `--network-limit: 0 is out of range (1..=65536)`.
    #[error("--{flag}: {}", sanitize(&.why.to_string()))]
    Flag { flag: &'static str, why: BadValue },
    /// The config file cannot be read: `w.toml: cannot read: …`.
    #[error("{file}: cannot read: {}", sanitize(&.source.to_string()))]
    Unreadable {
        file: String,
        source: std::io::Error,
    },
    /// The config file is not TOML: `w.toml:1:9: …` (`at` is the file, and where if known).
    #[error("{at}: {}", sanitize(.why))]
    NotToml { at: String, why: String },
    /// A key the file may not have: `w.toml:2:1: unknown key 'zz'`, or with the key it would be
    /// with `-` for `_`: `w.toml:2:1: unknown key 'log_file' (did you mean 'log-file'?)`.
    #[error("{at}: unknown key '{key}'{}", did_you_mean(.hint))]
    UnknownKey {
        at: String,
        key: String,
        hint: Option<String>,
    },
    /// A key's value refused: `w.toml:1:17: key 'network-limit': 0 is out of range (1..=65536)`
    /// (`why` is a [`BadValue`]'s message, as serde hands it back).
    #[error("{at}: key '{key}': {}", sanitize(.why))]
    BadKey {
        at: String,
        key: String,
        why: String,
    },
    /// The profiles file.
    #[error("{}", sanitize(&.0.to_string()))]
    Profiles(#[from] ProfilesError),
    /// The built-in example wall (never: it is valid).
    #[error("built-in example: {0}")]
    Example(#[source] crate::wall::ParseError),
    /// The store's URL: the store's own line, as when it is opened.
    #[error("{}", sanitize(&.0.to_string()))]
    Store(crate::store::StoreError),
    /// `--broker` or `--site`.
    #[error("{}", sanitize(.0))]
    Broker(String),
}

/// ` (did you mean 'log-file'?)`, or nothing without a guess.
fn did_you_mean(hint: &Option<String>) -> String {
    hint.as_ref()
        .map_or(String::new(), |k| format!(" (did you mean '{k}'?)"))
}

/// Why a value, a flag's or a file key's, is refused (the caller says whose).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadValue {
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    /// Holds the value as TOML writes it.
    #[error("{0} is not a whole number")]
    NotAWholeNumber(String),
    /// `--day-seconds`, in its own words.
    #[error("{} is not a number of seconds in range ({})", .0.value, .0.range)]
    DaySeconds(OutOfRange),
    /// A value of another type: `expected {what}`.
    #[error("expected {0}")]
    Expected(&'static str),
    #[error("no sensor kind given")]
    NoSensorKind,
    #[error("unknown sensor kind '{}' (known: {})", sanitize(.0), crate::sensors::KINDS.join(", "))]
    UnknownSensorKind(String),
    /// In the words of the parser of its kind of value (speed, duration, latency, crews).
    #[error("{0}")]
    Parse(String),
}

/// The run options of one source (the file, or the flags), each already checked against its
/// range. The flags' values win over the file's.
///
/// The file's keys are these fields in kebab-case, read by serde: a key not here is refused, and
/// each value is converted and checked by its function in [`file`], whose error is the message
/// that follows `key '…': `.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    /// As written in the file; `read_file` makes it relative to the file's directory.
    #[serde(deserialize_with = "file::path")]
    profiles: Option<PathBuf>,
    #[serde(deserialize_with = "file::max_sections")]
    max_sections: Option<usize>,
    #[serde(deserialize_with = "file::crews")]
    crews: Option<Crews>,
    #[serde(deserialize_with = "file::sensors")]
    sensors: Option<usize>,
    #[serde(deserialize_with = "file::sensor_kinds")]
    sensor_kinds: Option<Vec<String>>,
    #[serde(deserialize_with = "file::network_limit")]
    network_limit: Option<usize>,
    #[serde(deserialize_with = "file::latency")]
    latency: Option<Latency>,
    #[serde(deserialize_with = "file::string")]
    store: Option<String>,
    #[serde(deserialize_with = "file::seed")]
    seed: Option<u64>,
    #[serde(deserialize_with = "file::speed")]
    speed: Option<Speed>,
    #[serde(deserialize_with = "file::day_seconds")]
    day_seconds: Option<f64>,
    #[serde(deserialize_with = "file::duration")]
    duration: Option<Duration>,
    #[serde(deserialize_with = "file::days")]
    days: Option<u64>,
    #[serde(deserialize_with = "file::duration")]
    drain_timeout: Option<Duration>,
    #[serde(deserialize_with = "file::flag")]
    until_complete: Option<bool>,
    #[serde(deserialize_with = "file::flag")]
    fresh: Option<bool>,
    #[serde(deserialize_with = "file::string")]
    palette: Option<String>,
    #[serde(deserialize_with = "file::http")]
    http: Option<std::net::SocketAddr>,
    #[serde(deserialize_with = "file::path")]
    http_token_file: Option<PathBuf>,
    #[serde(deserialize_with = "file::flag")]
    http_read_only: Option<bool>,
    /// Checked as `--broker` is; `Config::from_args` makes the options of both sources.
    #[serde(deserialize_with = "file::broker")]
    broker: Option<String>,
    /// Read (and checked) in `Config::from_args`, with the broker's URL.
    #[serde(deserialize_with = "file::path")]
    broker_ca: Option<PathBuf>,
    #[serde(deserialize_with = "file::broker_site")]
    site: Option<String>,
    #[serde(deserialize_with = "file::path")]
    log_file: Option<PathBuf>,
    #[serde(deserialize_with = "file::log_keep")]
    log_keep: Option<usize>,
    /// `serve`'s `--name` and `--socket` (file only: those flags are not run flags).
    #[serde(deserialize_with = "file::socket_name")]
    name: Option<String>,
    #[serde(deserialize_with = "file::path")]
    socket: Option<PathBuf>,
    /// `serve`'s `--socket-group` (looked up as the file is read) and `--group-may-steer`.
    #[serde(deserialize_with = "file::socket_group")]
    socket_group: Option<crate::serve::access::Group>,
    #[serde(deserialize_with = "file::flag")]
    group_may_steer: Option<bool>,
}

/// A TOML file's text and name, to say where in it a key or value is.
struct Source<'a> {
    name: String,
    text: &'a str,
}

impl Source<'_> {
    /// `NAME:LINE:COLUMN` (from 1) of a byte offset.
    fn at(&self, offset: usize) -> String {
        let before = &self.text[..self.text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{col}", self.name)
    }

    /// A TOML error (the file is not TOML), one line, where it is.
    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let msg = sanitize(e.message().lines().next().unwrap_or("invalid TOML")).into_owned();
        let at = match e.span() {
            Some(span) => self.at(span.start),
            None => self.name.clone(),
        };
        ConfigError::NotToml { at, why: msg }
    }
}

/// The file's keys and values in the order they appear, each with its place.
type Entries = Vec<(Spanned<String>, Spanned<toml::Value>)>;

/// A config file's values, every relative path in it made relative to the file, and where each
/// key's value is (for the checks that need the flags too).
struct FileValues {
    raw: Raw,
    /// `NAME:LINE:COLUMN` of each key's value.
    places: BTreeMap<String, String>,
}

impl FileValues {
    /// The error of key `key`, which the file has, at its value.
    fn bad_key(&self, key: &str, why: String) -> ConfigError {
        ConfigError::BadKey {
            at: self.places.get(key).cloned().unwrap_or_default(),
            key: key.to_string(),
            why,
        }
    }

    /// Paths in a config file are relative to its directory `dir`, not to where the run starts.
    fn relative_to(mut self, dir: &Path) -> Result<FileValues, ConfigError> {
        let raw = &mut self.raw;
        for path in [
            &mut raw.profiles,
            &mut raw.log_file,
            &mut raw.socket,
            &mut raw.http_token_file,
            &mut raw.broker_ca,
        ]
        .into_iter()
        .flatten()
        {
            *path = dir.join(&*path);
        }
        if let Some(url) = self.raw.store.take() {
            let beside = store_beside(&url, dir).map_err(|why| self.bad_key("store", why))?;
            self.raw.store = Some(beside);
        }
        Ok(self)
    }
}

/// A `csv:` or `sqlite:` store's relative path made relative to `dir`; other URLs as they are.
fn store_beside(url: &str, dir: &Path) -> Result<String, String> {
    let Some((scheme @ ("csv" | "sqlite"), path)) = url.split_once(':') else {
        return Ok(url.to_string());
    };
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return Ok(url.to_string());
    }
    // A store URL is text: the file's directory must be too.
    match dir.join(path).to_str() {
        Some(joined) => Ok(format!("{scheme}:{joined}")),
        None => Err(format!(
            "'{}' is relative to the config file's directory, {}, which is not UTF-8",
            sanitize(path),
            sanitize(&dir.display().to_string())
        )),
    }
}

fn read_file(path: &Path) -> Result<FileValues, ConfigError> {
    let name = sanitize(&path.display().to_string()).into_owned();
    let text = match crate::files::read_text_bounded(path, MAX_CONFIG_FILE) {
        Ok(text) => text,
        Err(source) => return Err(ConfigError::Unreadable { file: name, source }),
    };
    let source = Source { name, text: &text };
    let raw: Raw = toml::from_str(&text).map_err(|e| first_error(&source, &e))?;
    let places = parse_entries(&source)?
        .into_iter()
        .map(|(key, value)| (key.into_inner(), source.at(value.span().start)))
        .collect();
    let file = FileValues { raw, places };
    // As clap refuses `--socket` with `--site`.
    if file.raw.socket.is_some() && file.raw.name.is_some() {
        return Err(file.bad_key("name", "not with the key 'socket' (give one)".into()));
    }
    // `name` is the older spelling of `site`: one name for a site.
    if file.raw.site.is_some() && file.raw.name.is_some() {
        return Err(file.bad_key(
            "name",
            "the key 'site' names the site already (give one: 'site')".into(),
        ));
    }
    file.relative_to(path.parent().unwrap_or(Path::new("")))
}

/// The error to report for a file serde refused: where the file is not TOML, else the first key
/// in the file that is unknown or has a bad value, named with its line and column. (serde stops
/// at the first error in the order of its map, which need not be the file's.)
fn first_error(source: &Source, refused: &toml::de::Error) -> ConfigError {
    let entries = match parse_entries(source) {
        Ok(entries) => entries,
        Err(not_toml) => return not_toml,
    };
    for (key, value) in entries {
        // The key alone, written out and read back as serde reads the file (a `toml::Value`
        // read as a deserializer would turn a date into a string).
        let one = toml::Table::from_iter([(key.get_ref().clone(), value.get_ref().clone())]);
        let Ok(one) = toml::to_string(&one) else {
            continue;
        };
        let Err(e) = toml::from_str::<Raw>(&one) else {
            continue;
        };
        let key_name = sanitize(key.get_ref()).into_owned();
        // serde's `unknown field `…`, expected one of …`, in the words of the other errors.
        return if e.message().starts_with("unknown field `") {
            ConfigError::UnknownKey {
                at: source.at(key.span().start),
                hint: spelled_with_dashes(key.get_ref(), e.message()),
                key: key_name,
            }
        } else {
            ConfigError::BadKey {
                at: source.at(value.span().start),
                key: key_name,
                why: e.message().to_string(),
            }
        };
    }
    // Not reached: what serde refused in the whole file, it refuses in one of its keys.
    source.toml_error(refused)
}

/// The known key that `key` would be with `-` for `_` (or the other way): `log-file` for
/// `log_file`. The known keys are those serde lists after the unknown one: "unknown field
/// `log_file`, expected one of `profiles`, `max-sections`, …".
fn spelled_with_dashes(key: &str, unknown_field: &str) -> Option<String> {
    let (_, known) = unknown_field.rsplit_once(", expected one of ")?;
    let dashed = |k: &str| k.replace('_', "-");
    known
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|k| dashed(k) == dashed(key))
        .map(str::to_string)
}

/// Parses the TOML text into its entries, sorted by where they are in the file.
fn parse_entries(source: &Source) -> Result<Entries, ConfigError> {
    // Spanned keys and values, so an error names the line of the key or value at fault.
    let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(source.text).map_err(|e| source.toml_error(&e))?;
    let mut entries: Entries = table.into_iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    Ok(entries)
}

/// How each of the file's values is converted and checked (`Raw`'s `deserialize_with`): the
/// value is taken as any TOML value, so that every error is in this module's words and names
/// the value, as the flags' errors do.
mod file {
    use super::*;
    use serde::de::{Deserializer, Error};
    use toml::Value::{Array, Float, Integer, String as Str};

    /// A file value, or why not.
    type Checked<'de, D, T> = Result<Option<T>, <D as Deserializer<'de>>::Error>;

    fn checked<'de, D: Deserializer<'de>, T>(
        d: D,
        check: impl FnOnce(&toml::Value) -> Result<T, BadValue>,
    ) -> Checked<'de, D, T> {
        let value = toml::Value::deserialize(d)?;
        check(&value).map(Some).map_err(D::Error::custom)
    }

    pub fn path<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, PathBuf> {
        checked(d, |v| want_str(v).map(PathBuf::from))
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, String> {
        checked(d, want_str)
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, bool> {
        checked(d, want_bool)
    }

    pub fn max_sections<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, usize> {
        checked(d, |v| want_int(v, &MAX_SECTIONS_RANGE))
    }

    pub fn sensors<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, usize> {
        checked(d, |v| want_int(v, &SENSORS_RANGE))
    }

    pub fn network_limit<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, usize> {
        checked(d, |v| want_int(v, &NETWORK_LIMIT_RANGE))
    }

    pub fn seed<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, u64> {
        checked(d, |v| want_int(v, &(0..=u64::MAX)))
    }

    pub fn days<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, u64> {
        checked(d, |v| want_int(v, &DAYS_RANGE))
    }

    pub fn crews<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, Crews> {
        checked(d, |v| {
            let text = match v {
                Integer(n) => n.to_string(),
                Str(s) => s.clone(),
                _ => return Err(BadValue::Expected("a number or \"unlimited\"")),
            };
            crate::config::cli::parse_crews(&text).map_err(BadValue::Parse)
        })
    }

    pub fn sensor_kinds<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, Vec<String>> {
        checked(d, |v| {
            let kinds = match v {
                Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(BadValue::Expected("a list of kind names"))?,
                Str(s) => s.split(',').map(|k| k.trim().to_string()).collect(),
                _ => return Err(BadValue::Expected("a list of kind names")),
            };
            check_kinds(&kinds)?;
            Ok(kinds)
        })
    }

    pub fn latency<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, Latency> {
        checked(d, |v| match v {
            Integer(0) => Ok(Latency::default()),
            v => Latency::parse(&want_str(v)?).map_err(BadValue::Parse),
        })
    }

    pub fn speed<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, Speed> {
        checked(d, |v| match v {
            Integer(n) => parse_speed(&n.to_string()).map_err(BadValue::Parse),
            Float(f) => check_speed(Speed::Factor(*f)).map_err(BadValue::Parse),
            v => parse_speed(&want_str(v)?).map_err(BadValue::Parse),
        })
    }

    pub fn day_seconds<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, f64> {
        checked(d, |v| {
            let seconds = match v {
                // Beyond i32 an integer is out of range anyway; f64 holds every i32 exactly.
                Integer(n) => i32::try_from(*n).map_or(f64::INFINITY, f64::from),
                Float(f) => *f,
                _ => return Err(BadValue::Expected("a number of seconds")),
            };
            check_day_seconds(seconds)
        })
    }

    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, Duration> {
        checked(d, |v| {
            parse_run_duration(&want_str(v)?).map_err(BadValue::Parse)
        })
    }

    pub fn http<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, std::net::SocketAddr> {
        checked(d, |v| {
            crate::config::cli::parse_addr(&want_str(v)?).map_err(BadValue::Parse)
        })
    }

    pub fn log_keep<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, usize> {
        checked(d, |v| want_int(v, &LOG_KEEP_RANGE))
    }

    pub fn broker<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, String> {
        checked(d, |v| {
            let url = want_str(v)?;
            crate::broker::url::BrokerUrl::parse(&url).map_err(|e| without_flag("--broker", e))?;
            Ok(url)
        })
    }

    pub fn broker_site<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, String> {
        checked(d, |v| {
            let site = want_str(v)?;
            crate::broker::url::check_name("--site", &site)
                .map_err(|e| without_flag("--site", e))?;
            Ok(site)
        })
    }

    pub fn socket_name<'de, D: Deserializer<'de>>(d: D) -> Checked<'de, D, String> {
        checked(d, |v| {
            let name = want_str(v)?;
            crate::serve::socket::check_name(&name).map_err(|why| {
                BadValue::Parse(format!("'{}': {why}", crate::text::sanitize(&name)))
            })?;
            Ok(name)
        })
    }

    pub fn socket_group<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Checked<'de, D, crate::serve::access::Group> {
        checked(d, |v| {
            crate::serve::access::Group::lookup(&want_str(v)?).map_err(BadValue::Parse)
        })
    }

    /// A flag's checker's message (`--broker: '…' is not …`) without the flag: the key is
    /// named instead.
    fn without_flag(flag: &str, message: String) -> BadValue {
        let why = message
            .strip_prefix(flag)
            .and_then(|m| m.strip_prefix(": "));
        BadValue::Parse(why.map_or(message.clone(), str::to_string))
    }
}

fn want_str(v: &toml::Value) -> Result<String, BadValue> {
    v.as_str()
        .map(str::to_string)
        .ok_or(BadValue::Expected("a string"))
}

fn want_bool(v: &toml::Value) -> Result<bool, BadValue> {
    v.as_bool().ok_or(BadValue::Expected("true or false"))
}

/// A whole number in `range` (TOML integers are i64; converted without truncation: one that
/// does not fit the type is out of range too).
fn want_int<T>(v: &toml::Value, range: &RangeInclusive<T>) -> Result<T, BadValue>
where
    T: TryFrom<i64> + PartialOrd + fmt::Display,
{
    let Some(n) = v.as_integer() else {
        return Err(BadValue::NotAWholeNumber(v.to_string()));
    };
    let value = T::try_from(n).map_err(|_| OutOfRange::new(n, range))?;
    Ok(in_range(value, range)?)
}

fn check_day_seconds(s: f64) -> Result<f64, BadValue> {
    in_range(s, &DAY_SECONDS_RANGE).map_err(BadValue::DaySeconds)
}

fn check_kinds(kinds: &[String]) -> Result<(), BadValue> {
    if kinds.is_empty() {
        return Err(BadValue::NoSensorKind);
    }
    match kinds
        .iter()
        .find(|k| !crate::sensors::KINDS.contains(&k.as_str()))
    {
        Some(unknown) => Err(BadValue::UnknownSensorKind(unknown.clone())),
        None => Ok(()),
    }
}

/// The flags' values, checked as the file's are; an error names the flag.
fn read_flags(args: &RunArgs) -> Result<Raw, ConfigError> {
    fn flag<T, E: Into<BadValue>>(flag: &'static str, r: Result<T, E>) -> Result<T, ConfigError> {
        r.map_err(|e| ConfigError::Flag {
            flag,
            why: e.into(),
        })
    }
    fn check<T, U, E: Into<BadValue>>(
        name: &'static str,
        v: &Option<T>,
        f: impl FnOnce(&T) -> Result<U, E>,
    ) -> Result<Option<U>, ConfigError> {
        v.as_ref().map(|v| flag(name, f(v))).transpose()
    }
    // Parsed by the units' own parsers, in their words.
    fn parsed<T>(r: Result<T, String>) -> Result<T, BadValue> {
        r.map_err(BadValue::Parse)
    }
    let crews = args.crews.map(|c| match c {
        Crews::Limited(n) => in_range(n, &CREWS_RANGE).map(Crews::Limited),
        unlimited => Ok(unlimited),
    });
    Ok(Raw {
        profiles: args.profiles.clone(),
        max_sections: check("max-sections", &args.max_sections, |n| {
            in_range(*n, &MAX_SECTIONS_RANGE)
        })?,
        crews: crews.map(|c| flag("crews", c)).transpose()?,
        sensors: check("sensors", &args.sensors, |n| in_range(*n, &SENSORS_RANGE))?,
        sensor_kinds: check("sensor-kinds", &args.sensor_kinds, |k| {
            check_kinds(k).map(|()| k.clone())
        })?,
        network_limit: check("network-limit", &args.network_limit, |n| {
            in_range(*n, &NETWORK_LIMIT_RANGE)
        })?,
        latency: check("latency", &args.latency, |l| parsed(Latency::parse(l)))?,
        store: args.store.clone(),
        seed: args.seed,
        speed: check("speed", &args.speed, |s| parsed(parse_speed(s)))?,
        day_seconds: check("day-seconds", &args.day_seconds, |s| check_day_seconds(*s))?,
        duration: check("duration", &args.duration, |d| {
            parsed(parse_run_duration(d))
        })?,
        days: check("days", &args.days, |d| in_range(*d, &DAYS_RANGE))?,
        drain_timeout: check("drain-timeout", &args.drain_timeout, |d| {
            parsed(parse_run_duration(d))
        })?,
        until_complete: args.until_complete.then_some(true),
        fresh: args.fresh.then_some(true),
        palette: args.palette.clone(),
        // Checked with the file's in `Config::from_args` (`--site` needs a broker from either).
        http: args.http,
        http_token_file: args.http_token_file.clone(),
        http_read_only: args.http_read_only.then_some(true),
        broker: args.broker.clone(),
        broker_ca: args.broker_ca.clone(),
        site: args.site.clone(),
        log_file: args.log_file.clone(),
        log_keep: check("log-keep", &args.log_keep, |n| {
            in_range(*n, &LOG_KEEP_RANGE)
        })?,
        // `serve`'s flags, not run flags: `Config::serve_site` and `Config::serve_access` put
        // them over the file's.
        name: None,
        socket: None,
        socket_group: None,
        group_may_steer: None,
    })
}

impl Raw {
    /// `self` (the flags) over `file`.
    fn over(self, file: Raw) -> Raw {
        Raw {
            profiles: self.profiles.or(file.profiles),
            max_sections: self.max_sections.or(file.max_sections),
            crews: self.crews.or(file.crews),
            sensors: self.sensors.or(file.sensors),
            sensor_kinds: self.sensor_kinds.or(file.sensor_kinds),
            network_limit: self.network_limit.or(file.network_limit),
            latency: self.latency.or(file.latency),
            store: self.store.or(file.store),
            seed: self.seed.or(file.seed),
            speed: self.speed.or(file.speed),
            day_seconds: self.day_seconds.or(file.day_seconds),
            duration: self.duration.or(file.duration),
            days: self.days.or(file.days),
            drain_timeout: self.drain_timeout.or(file.drain_timeout),
            until_complete: self.until_complete.or(file.until_complete),
            fresh: self.fresh.or(file.fresh),
            palette: self.palette.or(file.palette),
            http: self.http.or(file.http),
            http_token_file: self.http_token_file.or(file.http_token_file),
            http_read_only: self.http_read_only.or(file.http_read_only),
            broker: self.broker.or(file.broker),
            broker_ca: self.broker_ca.or(file.broker_ca),
            site: self.site.or(file.site),
            log_file: self.log_file.or(file.log_file),
            log_keep: self.log_keep.or(file.log_keep),
            name: self.name.or(file.name),
            socket: self.socket.or(file.socket),
            socket_group: self.socket_group.or(file.socket_group),
            group_may_steer: self.group_may_steer.or(file.group_may_steer),
        }
    }
}

/// Reads the profiles file (or takes the built-in example); returns the wall and where it came
/// from.
fn load_wall(path: Option<&Path>, max_sections: usize) -> Result<(Wall, String), ConfigError> {
    match path {
        None => Ok((
            Wall::parse(EXAMPLE_PROFILES.as_bytes(), max_sections).map_err(ConfigError::Example)?,
            "built-in example".to_string(),
        )),
        Some(path) => Ok((
            crate::config::profiles_file::load(path, max_sections)?,
            sanitize(&path.display().to_string()).into_owned(),
        )),
    }
}

impl Config {
    /// Builds the run's configuration: `args` over `--config FILE` over the defaults, with
    /// `default_crews` for the mode. Every number is checked against its range (see
    /// `engine::options`). Reads and parses the profiles file.
    pub fn from_args(args: &RunArgs, default_crews: Crews) -> Result<Config, ConfigError> {
        let flags = read_flags(args)?;
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileValues {
                raw: Raw::default(),
                places: BTreeMap::new(),
            },
        };
        let FileValues { raw: file, places } = file;
        // The file's `site` names the site, which without a broker is only `serve`'s socket;
        // the dashboard's `--site` names it on a broker alone, so it needs one.
        let flag_site = flags.site.clone();
        let flags_ca = flags.broker_ca.clone();
        let raw = flags.over(file);
        let broker_site = match raw.broker {
            Some(_) => raw.site.as_deref(),
            None => flag_site.as_deref(),
        };
        // A CA file's error names the flag, or the file's key where it came from.
        let ca_errors = |why: String| match (&flags_ca, places.get("broker-ca")) {
            (None, Some(at)) => ConfigError::BadKey {
                at: at.clone(),
                key: "broker-ca".into(),
                why,
            }
            .to_string(),
            _ => format!("--broker-ca: {why}"),
        };
        let broker = crate::broker::options(
            raw.broker.as_deref(),
            broker_site,
            raw.broker_ca.as_deref(),
            ca_errors,
        )
        .map_err(ConfigError::Broker)?;
        let max_sections = raw.max_sections.unwrap_or(DEFAULT_MAX_SECTIONS);
        let (wall, profiles) = load_wall(raw.profiles.as_deref(), max_sections)?;
        let crews = raw.crews.unwrap_or(default_crews);
        // Parsed once, last (as the engine found a bad URL after every other setting): the
        // error is the store's own line, as when it is opened.
        let store = raw
            .store
            .as_deref()
            .unwrap_or(crate::store::DEFAULT_STORE_URL)
            .parse()
            .map_err(ConfigError::Store)?;
        Ok(Config {
            engine: EngineOptions {
                wall: Arc::new(wall),
                max_sections,
                crews,
                sensors: raw.sensors.unwrap_or(DEFAULT_SENSORS),
                sensor_kinds: raw
                    .sensor_kinds
                    .unwrap_or_else(|| vec!["default".to_string()]),
                network_limit: raw.network_limit.unwrap_or(DEFAULT_NETWORK_LIMIT),
                latency: raw.latency.unwrap_or_default(),
                store,
                seed: raw.seed.unwrap_or(0),
                speed: raw.speed.unwrap_or(Speed::Factor(1.0)),
                day_seconds: raw.day_seconds.unwrap_or(DEFAULT_DAY_SECONDS),
                days: raw.days,
                until_complete: raw.until_complete.unwrap_or(false),
                fresh: raw.fresh.unwrap_or(false),
                batch_size: DEFAULT_BATCH_SIZE,
                flush_after: Duration::from_millis(50),
                max_readings: None,
                holder: "wallwatch run".to_string(),
                drain_timeout: raw.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT),
            },
            profiles,
            max_sections,
            duration: raw.duration,
            palette: raw.palette,
            http: raw.http,
            http_token_file: raw.http_token_file,
            http_read_only: raw.http_read_only.unwrap_or(false),
            http_auth: args.http_auth.unwrap_or_default(),
            log_file: raw.log_file,
            log_keep: raw.log_keep.unwrap_or(crate::config::cli::DEFAULT_LOG_KEEP),
            broker,
            serve_site: SiteArgs {
                socket: raw.socket,
                name: raw.name.or(raw.site),
            },
            serve_group: raw.socket_group,
            serve_group_may_steer: raw.group_may_steer.unwrap_or(false),
        })
    }

    /// The site `serve` is: its `--socket` or `--site` if either is given (the one given, as
    /// ever), else the config file's `socket` or `site` (or `name`). One name for a site: a
    /// name given is also the site's name on the broker.
    pub fn serve_site(&mut self, flags: &SiteArgs) -> SiteArgs {
        let site = if flags.socket.is_some() || flags.name.is_some() {
            flags.clone()
        } else {
            self.serve_site.clone()
        };
        if let (Some(broker), Some(name)) = (self.broker.as_mut(), &site.name) {
            broker.site = name.clone();
        }
        site
    }

    /// Who besides the site's user may use `serve`'s socket: `--socket-group` (looked up now)
    /// else the file's `socket-group`, and `--group-may-steer` or the file's. An unknown group,
    /// or steering without a group, is an error naming the flag.
    pub fn serve_access(
        &self,
        socket_group: Option<&str>,
        group_may_steer: bool,
    ) -> Result<crate::serve::access::Access, ConfigError> {
        let group = match socket_group {
            Some(name) => Some(crate::serve::access::Group::lookup(name).map_err(|why| {
                ConfigError::Flag {
                    flag: "socket-group",
                    why: BadValue::Parse(why),
                }
            })?),
            None => self.serve_group.clone(),
        };
        let group_may_steer = group_may_steer || self.serve_group_may_steer;
        if group_may_steer && group.is_none() {
            return Err(ConfigError::Flag {
                flag: "group-may-steer",
                why: BadValue::Parse(
                    "only with --socket-group or the key 'socket-group' (whose members would \
                     steer)"
                        .into(),
                ),
            });
        }
        Ok(crate::serve::access::Access {
            group,
            group_may_steer,
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
    use crate::units::parse_duration;

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
        assert_eq!(c.engine.store.to_string(), "sqlite:wallwatch.db");
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

    /// serde reads the file; the errors are still the first in the file, in the same words
    /// whatever the value's type (a date, a table), unknown keys included.
    #[test]
    fn file_errors_in_file_order_whatever_the_type() {
        let dir = tempfile::tempdir().unwrap();
        let err = |text: &str| {
            let p = write(&dir, "w.toml", text);
            let args = RunArgs {
                config: Some(p),
                ..Default::default()
            };
            Config::from_args(&args, DEFAULT_CREWS)
                .unwrap_err()
                .to_string()
        };
        let cases = [
            (
                "store = 1979-05-27",
                "w.toml:1:9: key 'store': expected a string",
            ),
            (
                "seed = 1979-05-27",
                "w.toml:1:8: key 'seed': 1979-05-27 is not a whole number",
            ),
            (
                "zeta = 1979-05-27\nseed = 1979-05-27",
                "w.toml:1:1: unknown key 'zeta'",
            ),
            (
                "seed = 1\nzz = 2\nspeed = \"slow\"\naa = 3",
                "w.toml:2:1: unknown key 'zz'",
            ),
            (
                "zz = 0\nnetwork-limit = 0\n",
                "w.toml:1:1: unknown key 'zz'",
            ),
            (
                "network-limit = 0\nzz = 0\n",
                "w.toml:1:17: key 'network-limit': 0 is out of range (1..=65536)",
            ),
            (
                "days = 1\n[sensor-kinds]\na = 1",
                "w.toml:2:1: key 'sensor-kinds': expected a list of kind names",
            ),
            (
                "fresh = 1",
                "w.toml:1:9: key 'fresh': expected true or false",
            ),
            ("seed = 1\nseed = 2", "w.toml:2:1: duplicate key"),
        ];
        for (text, expected) in cases {
            let e = err(text);
            assert!(e.ends_with(expected), "{text:?}: {e}");
        }
    }

    #[test]
    fn bad_profiles_file_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "profiles.txt", "1 2\n3 31\n");
        let args = RunArgs {
            profiles: Some(p),
            ..Default::default()
        };
        let e = Config::from_args(&args, DEFAULT_CREWS)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("profiles.txt:2:3: '31' is not a height (0..=30)"),
            "{e}"
        );
    }

    #[test]
    fn bad_flags() {
        let bad = |args: RunArgs| {
            Config::from_args(&args, DEFAULT_CREWS)
                .unwrap_err()
                .to_string()
        };
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

    /// `RunArgs` built without clap (tests, other front ends) are checked just the same.
    #[test]
    fn flags_out_of_range_name_the_flag_without_clap() {
        let bad = |args: RunArgs| {
            Config::from_args(&args, DEFAULT_CREWS)
                .unwrap_err()
                .to_string()
        };
        let d = RunArgs::default;
        let cases = [
            (
                "--sensors:",
                RunArgs {
                    sensors: Some(100_001),
                    ..d()
                },
            ),
            (
                "--network-limit:",
                RunArgs {
                    network_limit: Some(usize::MAX),
                    ..d()
                },
            ),
            (
                "--network-limit:",
                RunArgs {
                    network_limit: Some(0),
                    ..d()
                },
            ),
            (
                "--crews:",
                RunArgs {
                    crews: Some(Crews::Limited(0)),
                    ..d()
                },
            ),
            (
                "--crews:",
                RunArgs {
                    crews: Some(Crews::Limited(u32::MAX)),
                    ..d()
                },
            ),
            (
                "--max-sections:",
                RunArgs {
                    max_sections: Some(0),
                    ..d()
                },
            ),
            (
                "--day-seconds:",
                RunArgs {
                    day_seconds: Some(f64::NAN),
                    ..d()
                },
            ),
            (
                "--days:",
                RunArgs {
                    days: Some(u64::MAX),
                    ..d()
                },
            ),
            (
                "--speed:",
                RunArgs {
                    speed: Some("1e20".into()),
                    ..d()
                },
            ),
            (
                "--latency:",
                RunArgs {
                    latency: Some("61s".into()),
                    ..d()
                },
            ),
            (
                "--duration:",
                RunArgs {
                    duration: Some("8785h".into()),
                    ..d()
                },
            ),
            (
                "--log-keep: 0 is out of range (1..=10000)",
                RunArgs {
                    log_keep: Some(0),
                    ..d()
                },
            ),
        ];
        for (flag, args) in cases {
            let e = bad(args);
            assert!(e.starts_with(flag), "{flag} {e}");
        }
    }

    fn from_file(cfg: PathBuf, flags: RunArgs) -> Result<Config, String> {
        let args = RunArgs {
            config: Some(cfg),
            ..flags
        };
        Config::from_args(&args, DEFAULT_CREWS).map_err(|e| e.to_string())
    }

    #[test]
    fn service_keys_apply_with_paths_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(
            &dir,
            "w.toml",
            "http = \"127.0.0.1:0\"\nbroker = \"mqtt://127.0.0.1:1884\"\nsite = \"north\"\n\
             log-file = \"logs/ww.log\"\nlog-keep = 3\nsocket = \"s.sock\"\nstore = \"csv:data\"\n",
        );
        let mut c = from_file(cfg, RunArgs::default()).unwrap();
        assert_eq!(c.http, Some("127.0.0.1:0".parse().unwrap()));
        let broker = c.broker.as_ref().unwrap();
        assert_eq!(broker.url.to_string(), "mqtt://127.0.0.1:1884");
        assert_eq!(broker.site, "north");
        assert_eq!(c.log_file, Some(dir.path().join("logs/ww.log")));
        assert_eq!(c.log_keep, 3);
        let site = c.serve_site(&SiteArgs::default());
        assert_eq!(site.socket, Some(dir.path().join("s.sock")));
        assert_eq!(
            c.engine.store.to_string(),
            format!("csv:{}", dir.path().join("data").display())
        );
    }

    #[test]
    fn http_token_keys_apply_and_the_read_only_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(
            &dir,
            "w.toml",
            "http = \"127.0.0.1:0\"\nhttp-token-file = \"api.token\"\nhttp-read-only = false\n",
        );
        let c = from_file(cfg.clone(), RunArgs::default()).unwrap();
        assert_eq!(c.http_token_file, Some(dir.path().join("api.token")));
        assert!(!c.http_read_only);
        let flags = RunArgs {
            http_read_only: true,
            ..RunArgs::default()
        };
        assert!(from_file(cfg, flags).unwrap().http_read_only);
    }

    #[test]
    fn flags_win_over_the_service_keys_and_keep_their_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(
            &dir,
            "w.toml",
            "http = \"127.0.0.1:0\"\nbroker = \"mqtt://127.0.0.1:1884\"\n\
             log-file = \"a.log\"\nlog-keep = 3\nname = \"north\"\nstore = \"sqlite:a.db\"\n",
        );
        let flags = RunArgs {
            http: Some("127.0.0.1:9".parse().unwrap()),
            broker: Some("mqtt://127.0.0.1:1999".into()),
            site: Some("south".into()),
            log_file: Some("b.log".into()),
            log_keep: Some(9),
            store: Some("sqlite:b.db".into()),
            ..Default::default()
        };
        let mut c = from_file(cfg, flags).unwrap();
        assert_eq!(c.http, Some("127.0.0.1:9".parse().unwrap()));
        let broker = c.broker.as_ref().unwrap();
        assert_eq!(broker.url.to_string(), "mqtt://127.0.0.1:1999");
        assert_eq!(broker.site, "south");
        assert_eq!(c.log_file, Some(PathBuf::from("b.log")));
        assert_eq!(c.log_keep, 9);
        assert_eq!(c.engine.store.to_string(), "sqlite:b.db");
        assert_eq!(
            c.serve_site(&SiteArgs::default()).name.as_deref(),
            Some("north")
        );
        // Either of serve's flags wins over both keys.
        let socket = SiteArgs {
            socket: Some("x.sock".into()),
            name: None,
        };
        let site = c.serve_site(&socket);
        assert_eq!((site.socket, site.name), (Some("x.sock".into()), None));
    }

    /// One name for a site: `serve`'s name (`--site`, else the file's `site` or `name`) is its
    /// socket's and its name on the broker alike.
    #[test]
    fn serve_s_name_is_its_socket_s_and_its_name_on_the_broker() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(
            &dir,
            "w.toml",
            "broker = \"mqtt://127.0.0.1:1884\"\nsite = \"north\"\n",
        );
        let mut c = from_file(cfg.clone(), RunArgs::default()).unwrap();
        let site = c.serve_site(&SiteArgs::default());
        assert_eq!(site.name.as_deref(), Some("north"));
        assert_eq!(c.broker.as_ref().unwrap().site, "north");
        let mut c = from_file(cfg, RunArgs::default()).unwrap();
        let flag = SiteArgs {
            socket: None,
            name: Some("east".into()),
        };
        assert_eq!(c.serve_site(&flag).name.as_deref(), Some("east"));
        assert_eq!(c.broker.as_ref().unwrap().site, "east");
        // Without a broker the file's `site` names the socket alone.
        let cfg = write(&dir, "n.toml", "site = \"north\"\n");
        let mut c = from_file(cfg, RunArgs::default()).unwrap();
        assert!(c.broker.is_none());
        assert_eq!(
            c.serve_site(&SiteArgs::default()).name.as_deref(),
            Some("north")
        );
    }

    #[test]
    fn only_relative_file_stores_move_beside_the_file() {
        let dir = Path::new("conf");
        for (url, beside) in [
            ("sqlite:run.db", "sqlite:conf/run.db"),
            ("csv:out", "csv:conf/out"),
            ("sqlite:/abs/run.db", "sqlite:/abs/run.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("memory:", "memory:"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite:", "sqlite:"),
        ] {
            assert_eq!(store_beside(url, dir).unwrap(), beside, "{url}");
        }
        assert_eq!(
            store_beside("sqlite:run.db", Path::new("")).unwrap(),
            "sqlite:run.db"
        );
    }

    #[test]
    fn service_key_errors_name_the_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = |text: &str| {
            let e = from_file(write(&dir, "w.toml", text), RunArgs::default()).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
            e
        };
        let cases = [
            (
                "log-keep = 0",
                "w.toml:1:12: key 'log-keep': 0 is out of range (1..=10000)",
            ),
            (
                "log-keep = 10001",
                "w.toml:1:12: key 'log-keep': 10001 is out of range (1..=10000)",
            ),
            (
                "http = \"localhost\"",
                "w.toml:1:8: key 'http': 'localhost' is not an address and port (e.g. 127.0.0.1:8080 or [::1]:8080)",
            ),
            (
                "broker = \"http://x\"",
                "w.toml:1:10: key 'broker': 'http://x' is not an mqtt:// or mqtts:// URL (use mqtt://HOST:PORT, mqtts://HOST:PORT for TLS, or mqtt[s]://USER:PASSWORD@HOST:PORT)",
            ),
            (
                "broker = \"mqtt://x\"\nsite = \"a b\"",
                "w.toml:2:8: key 'site': 'a b' is not a name (1 to 64 of A-Z a-z 0-9 _ - .)",
            ),
            (
                "site = \"north\"\nname = \"north\"",
                "w.toml:2:8: key 'name': the key 'site' names the site already (give one: 'site')",
            ),
            (
                "name = \"../x\"",
                "w.toml:1:8: key 'name': '../x': use letters, digits, '-', '_' and '.' (at most 64, not starting with '.')",
            ),
            (
                "socket = \"s.sock\"\nname = \"x\"",
                "w.toml:2:8: key 'name': not with the key 'socket' (give one)",
            ),
            (
                "log-file = 3",
                "w.toml:1:12: key 'log-file': expected a string",
            ),
        ];
        for (text, expected) in cases {
            let e = err(text);
            assert!(e.ends_with(expected), "{text:?}: {e}");
        }
        // A file's site with the flag's broker is fine.
        let args = RunArgs {
            broker: Some("mqtt://127.0.0.1:1884".into()),
            ..Default::default()
        };
        let c = from_file(write(&dir, "w.toml", "site = \"north\""), args).unwrap();
        assert_eq!(c.broker.unwrap().site, "north");
    }

    #[test]
    fn a_key_spelled_with_underscores_gets_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            |text: &str| from_file(write(&dir, "w.toml", text), RunArgs::default()).unwrap_err();
        assert!(
            err("seed = 1\nlog_file = \"x\"")
                .ends_with("w.toml:2:1: unknown key 'log_file' (did you mean 'log-file'?)")
        );
        assert!(
            err("network_limit = 5").ends_with(
                "w.toml:1:1: unknown key 'network_limit' (did you mean 'network-limit'?)"
            )
        );
        assert!(err("until_complete = true").ends_with("(did you mean 'until-complete'?)"));
        // Other misspellings get no guess.
        assert!(err("log-files = 1").ends_with("w.toml:1:1: unknown key 'log-files'"));
        assert!(err("LOG_FILE = 1").ends_with("w.toml:1:1: unknown key 'LOG_FILE'"));
    }
}

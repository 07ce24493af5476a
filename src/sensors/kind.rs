//! The factory of sensor kinds: a sensor is made from a kind name and yields integer values in
//! `MIN_VALUE..=MAX_VALUE` at its own interval. Pure: no tokio, no store, no screen.
//!
//! Kinds (interval · behaviour):
//! - `default` (5 s): uniform in -100..=100, the original task's sensor.
//! - `thermometer` (1 s): a random walk, ±3 per reading from a random start.
//! - `strain` (2 s): noise of ±5 around a level chosen at creation.
//! - `seismometer` (10 s): mostly quiet (±2), a spike of ±40..=100 one time in 20.
//! - `cpu` (1 s): busy % of all CPUs between two reads of `/proc/stat` (Linux only).
//! - `memory` (2 s): used % from `/proc/meminfo` (MemTotal − MemAvailable) (Linux only).
//! - `load` (5 s): 1-minute load average × 10 from `/proc/loadavg` (Linux only).
//!
//! System kinds are checked when the sensor is made: where `/proc` cannot be read (not Linux) the
//! factory returns an error naming the file. A later read failure makes [`Sensor::sample`] return
//! an error; the engine logs it and skips that reading.
//!
//! Names: a counter per kind, from 1, with a short prefix: `sensor-1`, `thermo-3`, `strain-2`,
//! `seismo-1`, `cpu-1`, `memory-1`, `load-1`. Each sensor's RNG is
//! `Xoshiro256PlusPlus::seed_from_u64` of a mix of the run's seed and the sensor's name, so the
//! same seed gives every sensor the same values whatever the order of creation or timing. Not
//! `StdRng`: its ChaCha state and block buffer are 10 times the size (336 bytes against 32), and a
//! thousand sensors' tasks then no longer fit the core's cache at `--speed max` (the engine's
//! pipeline measured 5 % faster on 1,000 sensors with the small state). No value here is secret.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::{MAX_VALUE, MIN_VALUE};

/// Every kind the factory knows, in the order the dashboard cycles through them.
pub const KINDS: &[&str] = &[
    "default",
    "thermometer",
    "strain",
    "seismometer",
    "cpu",
    "memory",
    "load",
];

/// Why a sensor could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SensorError {
    UnknownKind(String),
    /// A system kind whose source cannot be read: the file and the reason.
    Unavailable {
        kind: &'static str,
        source: String,
    },
}

impl fmt::Display for SensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SensorError::UnknownKind(k) => {
                write!(
                    f,
                    "unknown sensor kind '{}' (known: {})",
                    crate::text::sanitize(k),
                    KINDS.join(", ")
                )
            }
            SensorError::Unavailable { kind, source } => {
                write!(f, "sensor kind '{kind}' is not available here: {source}")
            }
        }
    }
}

impl std::error::Error for SensorError {}

#[derive(Debug, Clone)]
enum Behaviour {
    Uniform,
    Walk { value: i32 },
    Noise { level: i32 },
    Spikes,
    Cpu { last: Option<(u64, u64)> },
    Memory,
    Load,
}

/// One sensor: a name, a kind, an interval and the state of its values.
#[derive(Debug)]
pub struct Sensor {
    name: String,
    kind: &'static str,
    interval: Duration,
    behaviour: Behaviour,
    rng: Xoshiro256PlusPlus,
}

impl Sensor {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn kind(&self) -> &'static str {
        self.kind
    }
    /// Simulated time between two readings.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The next value, always in `MIN_VALUE..=MAX_VALUE`.
    pub fn sample(&mut self) -> Result<i32, SensorError> {
        let v = match &mut self.behaviour {
            Behaviour::Uniform => self.rng.random_range(MIN_VALUE..=MAX_VALUE),
            Behaviour::Walk { value } => {
                *value = (*value + self.rng.random_range(-3..=3)).clamp(MIN_VALUE, MAX_VALUE);
                *value
            }
            Behaviour::Noise { level } => *level + self.rng.random_range(-5..=5),
            Behaviour::Spikes => {
                if self.rng.random_range(0..20) == 0 {
                    let size = self.rng.random_range(40..=MAX_VALUE);
                    if self.rng.random_bool(0.5) {
                        size
                    } else {
                        -size
                    }
                } else {
                    self.rng.random_range(-2..=2)
                }
            }
            Behaviour::Cpu { last } => {
                let now = system::cpu_times()?;
                let busy = match *last {
                    Some(prev) => system::busy_percent(prev, now),
                    None => system::busy_percent((0, 0), now),
                };
                *last = Some(now);
                busy
            }
            Behaviour::Memory => system::memory_used_percent()?,
            Behaviour::Load => system::load_times_ten()?,
        };
        Ok(v.clamp(MIN_VALUE, MAX_VALUE))
    }
}

/// Makes sensors with unique names and seeded RNGs.
#[derive(Debug, Clone)]
pub struct SensorFactory {
    seed: u64,
    counters: HashMap<&'static str, u64>,
}

impl SensorFactory {
    pub fn new(seed: u64) -> SensorFactory {
        SensorFactory {
            seed,
            counters: HashMap::new(),
        }
    }

    /// Makes the next sensor of `kind` (see [`KINDS`]).
    pub fn make(&mut self, kind: &str) -> Result<Sensor, SensorError> {
        let kind: &'static str = KINDS
            .iter()
            .copied()
            .find(|k| *k == kind)
            .ok_or_else(|| SensorError::UnknownKind(kind.to_string()))?;
        let (prefix, interval_ms) = match kind {
            "default" => ("sensor", 5_000),
            "thermometer" => ("thermo", 1_000),
            "strain" => ("strain", 2_000),
            "seismometer" => ("seismo", 10_000),
            "cpu" => ("cpu", 1_000),
            "memory" => ("memory", 2_000),
            _ => ("load", 5_000),
        };
        let number = self.counters.get(kind).copied().unwrap_or(0) + 1;
        let name = format!("{prefix}-{number}");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(self.seed, &name));
        let behaviour = match kind {
            "default" => Behaviour::Uniform,
            "thermometer" => Behaviour::Walk {
                value: rng.random_range(-20..=30),
            },
            "strain" => Behaviour::Noise {
                level: rng.random_range(-50..=50),
            },
            "seismometer" => Behaviour::Spikes,
            "cpu" => Behaviour::Cpu {
                last: Some(system::cpu_times()?),
            },
            "memory" => {
                system::memory_used_percent()?;
                Behaviour::Memory
            }
            _ => {
                system::load_times_ten()?;
                Behaviour::Load
            }
        };
        self.counters.insert(kind, number);
        Ok(Sensor {
            name,
            kind,
            interval: Duration::from_millis(interval_ms),
            behaviour,
            rng,
        })
    }
}

/// A seed for one sensor from the run's seed and the sensor's name (FNV-1a, then splitmix64).
fn mix(seed: u64, name: &str) -> u64 {
    let h = crate::hash::fnv1a(crate::hash::FNV_OFFSET, name.as_bytes());
    let mut z = seed ^ h;
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Reading the machine's own figures from `/proc` (Linux).
mod system {
    use super::SensorError;

    fn read(kind: &'static str, path: &str) -> Result<String, SensorError> {
        std::fs::read_to_string(path).map_err(|e| SensorError::Unavailable {
            kind,
            source: format!("{path}: {e}"),
        })
    }

    fn bad(kind: &'static str, path: &str) -> SensorError {
        SensorError::Unavailable {
            kind,
            source: format!("{path}: unexpected format"),
        }
    }

    /// (busy, total) jiffies over all CPUs.
    pub fn cpu_times() -> Result<(u64, u64), SensorError> {
        let text = read("cpu", "/proc/stat")?;
        parse_cpu(&text).ok_or_else(|| bad("cpu", "/proc/stat"))
    }

    pub fn parse_cpu(text: &str) -> Option<(u64, u64)> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        if fields.len() < 4 {
            return None;
        }
        let total: u64 = fields.iter().take(8).sum();
        // idle + iowait
        let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
        Some((total - idle, total))
    }

    pub fn busy_percent(prev: (u64, u64), now: (u64, u64)) -> i32 {
        let busy = now.0.saturating_sub(prev.0);
        let total = now.1.saturating_sub(prev.1);
        (busy * 100)
            .checked_div(total)
            .map_or(0, |p| p.min(100) as i32)
    }

    pub fn memory_used_percent() -> Result<i32, SensorError> {
        let text = read("memory", "/proc/meminfo")?;
        parse_meminfo(&text).ok_or_else(|| bad("memory", "/proc/meminfo"))
    }

    pub fn parse_meminfo(text: &str) -> Option<i32> {
        let field = |name: &str| -> Option<u64> {
            let line = text.lines().find(|l| l.starts_with(name))?;
            line[name.len()..].split_whitespace().next()?.parse().ok()
        };
        let total = field("MemTotal:")?;
        let available = field("MemAvailable:")?;
        if total == 0 {
            return None;
        }
        Some((total.saturating_sub(available) * 100 / total) as i32)
    }

    pub fn load_times_ten() -> Result<i32, SensorError> {
        let text = read("load", "/proc/loadavg")?;
        parse_loadavg(&text).ok_or_else(|| bad("load", "/proc/loadavg"))
    }

    pub fn parse_loadavg(text: &str) -> Option<i32> {
        let load: f64 = text.split_whitespace().next()?.parse().ok()?;
        if !load.is_finite() || load < 0.0 {
            return None;
        }
        Some((load * 10.0).round().min(f64::from(super::MAX_VALUE)) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    const SIMULATED: &[&str] = &["default", "thermometer", "strain", "seismometer"];

    proptest! {
        #![proptest_config(ProptestConfig { rng_seed: RngSeed::Fixed(306), ..ProptestConfig::default() })]

        #[test]
        fn simulated_values_stay_in_range(seed in any::<u64>(), kind in 0..SIMULATED.len()) {
            let mut factory = SensorFactory::new(seed);
            let mut s = factory.make(SIMULATED[kind]).unwrap();
            for _ in 0..2_000 {
                let v = s.sample().unwrap();
                prop_assert!((MIN_VALUE..=MAX_VALUE).contains(&v), "{} gave {v}", s.name());
            }
        }
    }

    #[test]
    fn names_count_per_kind() {
        let mut f = SensorFactory::new(0);
        let names: Vec<String> = ["default", "thermometer", "default", "thermometer", "strain"]
            .iter()
            .map(|k| f.make(k).unwrap().name().to_string())
            .collect();
        assert_eq!(
            names,
            ["sensor-1", "thermo-1", "sensor-2", "thermo-2", "strain-1"]
        );
    }

    #[test]
    fn intervals_per_kind() {
        let mut f = SensorFactory::new(0);
        let ms = |f: &mut SensorFactory, k| f.make(k).unwrap().interval().as_millis();
        assert_eq!(ms(&mut f, "default"), 5_000);
        assert_eq!(ms(&mut f, "thermometer"), 1_000);
        assert_eq!(ms(&mut f, "strain"), 2_000);
        assert_eq!(ms(&mut f, "seismometer"), 10_000);
    }

    #[test]
    fn unknown_kind_lists_the_known_ones() {
        let err = SensorFactory::new(0).make("barometer").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'barometer'"), "{text}");
        for k in KINDS {
            assert!(text.contains(k), "{text}");
        }
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let values = |seed| {
            let mut f = SensorFactory::new(seed);
            let mut s = f.make("default").unwrap();
            (0..50).map(|_| s.sample().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(values(7), values(7));
        assert_ne!(values(7), values(8));
    }

    #[test]
    fn a_sensor_values_do_not_depend_on_creation_order() {
        let mut a = SensorFactory::new(3);
        let mut b = SensorFactory::new(3);
        let _ = b.make("strain").unwrap();
        let mut x = a.make("thermometer").unwrap();
        let mut y = b.make("thermometer").unwrap();
        for _ in 0..20 {
            assert_eq!(x.sample(), y.sample());
        }
    }

    #[test]
    fn seismometer_is_mostly_quiet_with_spikes() {
        let mut s = SensorFactory::new(1).make("seismometer").unwrap();
        let values: Vec<i32> = (0..1000).map(|_| s.sample().unwrap()).collect();
        let spikes = values.iter().filter(|v| v.abs() >= 40).count();
        assert!(spikes > 10 && spikes < 200, "{spikes} spikes");
        assert!(values.iter().all(|v| v.abs() <= 2 || v.abs() >= 40));
    }

    #[test]
    fn proc_parsers() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(system::parse_cpu(stat), Some((150, 1000)));
        assert_eq!(system::busy_percent((150, 1000), (250, 1100)), 100);
        assert_eq!(system::busy_percent((150, 1000), (150, 1000)), 0);
        assert_eq!(system::parse_cpu("nonsense"), None);
        let mem = "MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:    250 kB\n";
        assert_eq!(system::parse_meminfo(mem), Some(75));
        assert_eq!(system::parse_meminfo("MemTotal: 5 kB\n"), None);
        assert_eq!(system::parse_loadavg("0.57 0.40 0.30 1/100 42\n"), Some(6));
        assert_eq!(system::parse_loadavg("42.0 1 1\n"), Some(100));
        assert_eq!(system::parse_loadavg("x"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn system_kinds_read_proc() {
        let mut f = SensorFactory::new(0);
        for k in ["cpu", "memory", "load"] {
            let mut s = f.make(k).unwrap();
            let v = s.sample().unwrap();
            assert!((MIN_VALUE..=MAX_VALUE).contains(&v) && v >= 0, "{k}: {v}");
        }
    }
}

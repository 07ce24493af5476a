//! What the engine runs, apart from how it was asked for (the command line's `Config` builds
//! one; tests and benchmarks build their own), and the range of every number in it.
//!
//! The ranges keep every piece of time arithmetic in range: simulated time is at most a year of
//! real time × the highest speed (3.2 × 10¹³ s, far inside `std::time::Duration`), real sleeps are
//! at most a simulated interval ÷ the lowest speed, and the sizes of what the engine allocates per
//! sensor, crew and permit stay within what one machine holds. `Config` refuses a value outside
//! its range naming the flag or the file's key; `Engine::start` refuses options built elsewhere
//! that are out of range; `Command::SetSpeed` refuses a speed out of range at run time.

use std::sync::Arc;
use std::time::Duration;

use super::Latency;
use crate::units::*;
use crate::wall::{Crews, Wall};

/// Latency of one message, each end of a range.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);
/// A latency whose ends are at most [`MAX_LATENCY`].
pub fn check_latency(latency: Latency) -> Result<Latency, String> {
    let highest = match latency {
        Latency::Fixed(d) | Latency::Range(_, d) => d,
    };
    if highest <= MAX_LATENCY {
        Ok(latency)
    } else {
        Err(format!(
            "{latency} is out of range (each end at most {}s)",
            MAX_LATENCY.as_secs()
        ))
    }
}

/// Everything the engine needs to start a run.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub wall: Arc<Wall>,
    /// The most sections a profile of a wall loaded while running may have.
    pub max_sections: usize,
    pub crews: Crews,
    pub sensors: usize,
    /// Kinds given to the starting sensors, cycled.
    pub sensor_kinds: Vec<String>,
    pub network_limit: usize,
    pub latency: Latency,
    /// The store's URL (`memory:`, `csv:PATH`, `sqlite:PATH`, `postgres://…`).
    pub store: crate::store::StoreUrl,
    pub seed: u64,
    pub speed: Speed,
    /// Simulated seconds in a wall day.
    pub day_seconds: f64,
    /// Crews stop after this wall day.
    pub days: Option<u64>,
    /// Crews stop on the day the wall is complete.
    pub until_complete: bool,
    /// Clear the store before the run.
    pub fresh: bool,
    /// Rows per store write.
    pub batch_size: usize,
    /// A partial batch is written after this much real time.
    pub flush_after: Duration,
    /// Sensors stop after this many readings in all (benchmarks).
    pub max_readings: Option<u64>,
    /// What this run is, as a second site on its store is told (`wallwatch serve at PATH`).
    pub holder: String,
    /// How long a stop waits for a stuck store (one that has not taken the write under way,
    /// real time); past it the rest is counted as lost ([`super::NotStored`]) and the engine
    /// ends.
    pub drain_timeout: Duration,
}

impl EngineOptions {
    /// Why a run that watches the wall stops at `progress`: `--until-complete` and the wall
    /// complete, or `--days N` and day N worked.
    pub fn end_reached(&self, progress: &super::WallProgress) -> Option<String> {
        if self.until_complete && progress.complete {
            return Some(format!("wall {}", progress.day_words()));
        }
        self.days
            .is_some_and(|d| progress.day >= d)
            .then(|| format!("day {} reached", progress.day))
    }

    /// Whether every number is in its range; else the first that is not, named as its flag.
    pub fn check(&self) -> Result<(), String> {
        fn named<E: std::fmt::Display>(flag: &'static str) -> impl Fn(E) -> String {
            move |e| format!("--{flag}: {e}")
        }
        if let Crews::Limited(n) = self.crews {
            in_range(n, &CREWS_RANGE).map_err(named("crews"))?;
        }
        in_range(self.sensors, &SENSORS_RANGE).map_err(named("sensors"))?;
        in_range(self.network_limit, &NETWORK_LIMIT_RANGE).map_err(named("network-limit"))?;
        check_latency(self.latency).map_err(named("latency"))?;
        check_speed(self.speed).map_err(named("speed"))?;
        in_range(self.day_seconds, &DAY_SECONDS_RANGE).map_err(named("day-seconds"))?;
        if let Some(d) = self.days {
            in_range(d, &DAYS_RANGE).map_err(named("days"))?;
        }
        if self.sensors > 0 && self.sensor_kinds.is_empty() {
            return Err("--sensor-kinds: no sensor kind given".into());
        }
        Ok(())
    }
}

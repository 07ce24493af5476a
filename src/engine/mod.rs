//! The async shell: the clock, the five-message network, the collector and the producer tasks.
//!
//! `Engine::start(&EngineOptions).await -> Result<(Engine, mpsc::Receiver<Event>), EngineError>`
//! checks every option against its range (`options`), opens the store and resumes the wall on
//! tokio's blocking pool, then starts every task on the runtime; the site
//! (`crate::site`) consumes the [`Event`]s. Commands go through `Engine::command_sender()`, each
//! answered to whoever asked. `Engine::shutdown(self).await -> Result<Summary, EngineError>`
//! drains (producers stop, in-flight messages land, the collector flushes, the store closes) and
//! returns the [`Summary`]. A panic in any engine task ends the run at once (the supervisor
//! drains by itself; `Engine::failed()` completes) and `shutdown` returns
//! `EngineError::Panicked` naming the task. The engine knows nothing of the command line, the
//! terminal or the viewers.
//!
//! The files: `handle` (the `Engine` and how it starts), `supervisor` (the task owning the
//! sensors and the crew, answering commands and draining), `pipeline` (the collector, store
//! writer, stats and event forwarder tasks), `collector` (numbering, batching, the store
//! writer), `network` (permits, latency, what crosses it), `remote` (readings from agents),
//! `tasks` (the sensor and crew tasks), `clock`, `publisher` (events to the watcher),
//! `command` (what may be asked, and the answers), `change` (an accepted change as the store
//! keeps it and a restart applies it again), `options`, `resume` (the wall where the store left
//! it), `gauges` (live figures), `summary` (what a run did), `stats` (histograms), `stopwatch`
//! (the network's wait clock), `failures` (panics in tasks), `error`.

mod change;
pub mod clock;
pub mod collector;
mod command;
mod error;
mod failures;
mod gauges;
mod handle;
pub mod network;
mod opening;
pub mod options;
mod pipeline;
pub mod publisher;
pub mod remote;
pub mod resume;
pub mod stats;
mod stopwatch;
mod summary;
mod supervisor;
pub mod tasks;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::sensors::Reading;
use crate::units::Speed;
use crate::wall::{CrewReport, Crews, Wall};

pub use change::{Change, Replay};
pub use collector::StoreReader;
pub use command::{
    Asker, COUNT_RANGE, Command, CommandSender, EngineGone, IDEMPOTENCY_WINDOW, MAX_KEY_LEN,
    MAX_WALL_TEXT, Outcome, Refusal, Replier, Reply, Request,
};
pub use error::EngineError;
pub use gauges::Gauges;
pub use handle::{Engine, StartOptions};
pub use network::{Latency, NetworkProbe};
pub use opening::{OnOpening, Opening};
pub use options::{EngineOptions, MAX_LATENCY, check_latency};
pub use summary::{NotStored, RunCounters, StoreWrites, Summary};

/// A sensor as the screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorInfo {
    pub name: String,
    pub kind: String,
    pub interval_ms: u64,
}

impl SensorInfo {
    /// How the screen lists `sensor`.
    pub fn of(sensor: &crate::sensors::Sensor) -> SensorInfo {
        SensorInfo {
            name: sensor.name().to_string(),
            kind: sensor.kind().to_string(),
            interval_ms: u64::try_from(sensor.interval().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The network's counters, published a few times a second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkStats {
    pub limit: usize,
    pub in_flight: usize,
    pub max_in_flight: usize,
    pub waiting: usize,
    pub delivered: u64,
    pub mean_wait_ms: f64,
    pub mean_latency_ms: f64,
    /// Remote messages (readings from agents, through the broker) in flight now: a part of
    /// `in_flight`.
    #[serde(default)]
    pub remote_in_flight: usize,
    /// Remote messages delivered so far: a part of `delivered`.
    #[serde(default)]
    pub remote_delivered: u64,
}

/// The wall after a day's work, as delivered by the crews' reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WallProgress {
    pub day: u64,
    pub ice_to_date: u64,
    pub cost_to_date: u64,
    pub complete: bool,
    /// The day the wall was done ([`crate::wall::Works::done_on`]), once it is complete: `day`
    /// goes one further, the day the crews are told nothing is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_on: Option<u64>,
}

impl WallProgress {
    /// The wall as `site` has it after its last finished day (not complete before day 1).
    pub fn of(site: &crate::wall::Works) -> WallProgress {
        let feet = site.feet_raised();
        let complete = site.is_complete() && site.day() > 0;
        WallProgress {
            day: site.day(),
            ice_to_date: feet * crate::wall::ICE_PER_FOOT,
            cost_to_date: feet * crate::wall::COST_PER_FOOT,
            complete,
            done_on: site.done_on().filter(|_| complete),
        }
    }

    /// `day 31` of a wall in progress, `done on day 31` of one done: the words every surface
    /// uses for where the wall is.
    pub fn day_words(&self) -> String {
        match (self.complete, self.done_on) {
            (true, Some(d)) => format!("done on day {d}"),
            (true, None) => format!("day {} (complete)", self.day),
            (false, _) => format!("day {}", self.day),
        }
    }
}

/// What the engine tells its watcher.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Sent once, first.
    Started {
        wall: Arc<Wall>,
        /// Every section's height now: the wall's own, or where a resumed run left it.
        heights: Vec<u8>,
        /// The last finished day (0 on a new run).
        progress: WallProgress,
        crews: Crews,
        sensors: Vec<SensorInfo>,
        network_limit: usize,
        store: String,
        speed: Speed,
    },
    /// Readings stored (with their ids), in id order.
    Readings(Vec<Reading>),
    /// Crew reports stored, in id order.
    CrewReports(Vec<CrewReport>),
    /// A wall day ended (all that day's crew reports were sent before this).
    Day(WallProgress),
    Network(NetworkStats),
    SensorAdded(SensorInfo),
    SensorRemoved(String),
    CrewsChanged(Crews),
    /// Another wall, from its start (run `run`): what came before was of the run before.
    WallLoaded {
        wall: Arc<Wall>,
        progress: WallProgress,
        crews: Crews,
        run: u32,
    },
    Paused(bool),
    SpeedChanged(Speed),
    /// Rows stored so far and the last store error, if the store is failing now.
    Store {
        rows: u64,
        failing: Option<String>,
    },
}

//! What the engine runs, apart from how it was asked for (the command line's `Config` builds
//! one; tests and benchmarks build their own).

use std::sync::Arc;
use std::time::Duration;

use super::{Latency, Speed};
use crate::wall::{Crews, Wall};

/// Everything the engine needs to start a run.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub wall: Arc<Wall>,
    pub crews: Crews,
    pub sensors: usize,
    /// Kinds given to the starting sensors, cycled.
    pub sensor_kinds: Vec<String>,
    pub network_limit: usize,
    pub latency: Latency,
    /// The store's URL (`memory:`, `csv:PATH`, `sqlite:PATH`, `postgres://…`).
    pub store: String,
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
}

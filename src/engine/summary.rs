//! What a run did, in figures: the headless summary and the counters and store figures read
//! while it runs.

use serde::{Deserialize, Serialize};

use super::WallProgress;

/// Produced and stored counts of one kind of row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub produced: u64,
    pub stored: u64,
}

/// The network part of the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    pub limit: usize,
    pub max_in_flight: usize,
    pub delivered: u64,
    pub mean_wait_ms: f64,
    pub mean_latency_ms: f64,
}

/// Rows the store holds at the end (this run's and earlier runs').
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRows {
    pub readings: u64,
    pub crew_reports: u64,
}

/// What a run did; the headless JSON summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Readings made by sensors and stored, this run.
    pub readings: Flow,
    /// Crew reports made and stored, this run.
    pub crew_reports: Flow,
    pub network: NetworkSummary,
    pub wall: WallProgress,
    /// The store's URL.
    pub store: String,
    pub store_rows: StoreRows,
    pub seed: u64,
    /// Simulated seconds elapsed.
    pub simulated_seconds: f64,
    /// Readings from agents through the broker (only with `--broker`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<super::remote::RemoteSummary>,
}

impl Summary {
    /// Readings of this run for the store to hold: the sensors' own (`readings.produced`) and,
    /// with agents, theirs taken in (delivered to the collector, less those the store held
    /// already). Once the run has drained it equals `readings.stored`.
    pub fn readings_to_store(&self) -> u64 {
        self.readings.produced + self.remote.map_or(0, |r| r.taken())
    }
}

/// The store writer's figures so far.
#[derive(Debug, Clone)]
pub struct StoreWrites {
    /// Each `Store::append` call's duration, failed ones included.
    pub durations: super::stats::Snapshot,
    /// Rows per successful write (as values, see `Histogram::record_value`).
    pub rows: super::stats::Snapshot,
    pub failures: u64,
    pub retries: u64,
    /// The last write failed and is being retried.
    pub failing: bool,
    /// The last failed write's error, if any write has failed.
    pub last_error: Option<String>,
}

/// A snapshot of the run's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounters {
    pub readings_produced: u64,
    pub readings_stored: u64,
    pub crew_reports_produced: u64,
    pub crew_reports_stored: u64,
}

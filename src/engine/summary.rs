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
    /// What the store had not taken when the drain's deadline passed (`--drain-timeout`):
    /// counted as lost. Absent when the drain finished in time.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_stored: Option<NotStored>,
}

/// What a drain cut short by its deadline did not store. The rows were in the process only
/// (the writer's batches, the collector's, the network's): they are lost with it; agents'
/// readings among them were not confirmed, so their agents still hold them and send them again
/// to the next site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotStored {
    pub readings: u64,
    pub crew_reports: u64,
    /// Of `readings`, those from agents (kept by their agents, unconfirmed).
    pub agents_readings: u64,
    /// The first id of each kind not stored (every later one of this run was not stored
    /// either); none when unknown (a store call that never returned) or when none was lost.
    pub first_reading_id: Option<u64>,
    pub first_crew_report_id: Option<u64>,
    /// What became of them: `lost`.
    pub outcome: String,
    /// Why the store did not take them: its last error.
    pub reason: String,
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

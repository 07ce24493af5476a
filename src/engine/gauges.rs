//! The engine's live figures, readable from anywhere while it runs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::WallProgress;
use super::collector::{self, Stored};
use super::network::NetworkState;
use super::remote::RemoteLink;
use super::summary::{Flow, NetworkSummary, NotStored, StoreRows, StoreWrites, Summary};
use super::tasks::{Shared, WallState};

/// The engine's live figures, readable from anywhere while it runs (`status`).
#[derive(Clone)]
pub struct Gauges {
    pub(super) shared: Arc<Shared>,
    pub(super) wall: Arc<WallState>,
    pub(super) stored: Arc<Stored>,
    pub(super) counters: Arc<NetworkState>,
    pub(super) store_url: String,
    /// Rows the store held when the run started.
    pub(super) start_counts: crate::store::Counts,
    pub(super) seed: u64,
    pub(super) reader: collector::StoreReader,
    pub(super) remote: Option<Arc<RemoteLink>>,
}

impl Gauges {
    /// The summary as it stands now (the store's rows: those it held at the start plus this
    /// run's stored ones).
    pub fn summary(&self) -> Summary {
        let readings = self.stored.readings.load(Ordering::Relaxed);
        let crew_reports = self.stored.crew_reports.load(Ordering::Relaxed);
        self.summary_with(StoreRows {
            readings: self.start_counts.readings + readings,
            crew_reports: self.start_counts.crew_reports + crew_reports,
        })
    }

    /// Reads of the store while the engine writes to it.
    pub fn store_reader(&self) -> collector::StoreReader {
        self.reader.clone()
    }

    /// A copy of the wall's site and its history as of now.
    pub fn book(&self) -> crate::wall::Book {
        self.wall.book().clone()
    }

    /// `f` of the book as it stands, without copying it (keep `f` short: the crew task waits).
    pub fn with_book<R>(&self, f: impl FnOnce(&crate::wall::Book) -> R) -> R {
        f(&self.wall.book())
    }

    /// The run's number (1 until another wall is loaded) and its wall's fingerprint.
    pub fn run(&self) -> (u32, String) {
        self.wall.run()
    }

    /// The book's plan (see [`crate::wall::Book::plan`]), without copying it.
    pub fn book_plan(&self) -> u64 {
        self.wall.book_plan()
    }

    /// The store's writes: their durations, rows per write, failures and retries.
    pub fn store_writes(&self) -> StoreWrites {
        StoreWrites {
            durations: self.stored.writes.snapshot(),
            rows: self.stored.batch_rows.snapshot(),
            failures: self.stored.write_failures.load(Ordering::Relaxed),
            retries: self.stored.write_retries.load(Ordering::Relaxed),
            failing: self.stored.failing.load(Ordering::Relaxed),
            last_error: self.last_error(),
        }
    }

    /// The last failed write's error (kept after it clears).
    fn last_error(&self) -> Option<String> {
        let last = self.stored.last_error.lock();
        last.unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Why the link to the broker keeps failing, with a broker and while it does.
    pub fn broker_failing(&self) -> Option<String> {
        self.remote.as_ref().and_then(|l| l.failing())
    }

    /// The network now, with each packet's wait for permits.
    pub fn network(&self) -> (super::NetworkStats, super::stats::Snapshot) {
        (self.counters.stats(), self.counters.waits())
    }

    /// Simulated time since the start.
    pub fn simulated(&self) -> Duration {
        self.shared.clock.now()
    }

    /// Rows left out of the screen feed because its watcher was slow (all were stored): an
    /// internal figure, on `/metrics` rather than in the summary.
    pub fn screen_rows_coalesced(&self) -> u64 {
        self.shared.publisher.coalesced()
    }

    /// The wall after the last finished day.
    pub fn progress(&self) -> WallProgress {
        self.wall.progress()
    }

    pub(super) fn summary_with(&self, store_rows: StoreRows) -> Summary {
        let net = self.counters.stats();
        Summary {
            readings: Flow {
                produced: self.shared.readings_produced.load(Ordering::Relaxed),
                stored: self.stored.readings.load(Ordering::Relaxed),
            },
            crew_reports: Flow {
                produced: self.shared.crew_reports_produced.load(Ordering::Relaxed),
                stored: self.stored.crew_reports.load(Ordering::Relaxed),
            },
            network: NetworkSummary {
                limit: net.limit,
                max_in_flight: net.max_in_flight,
                delivered: net.delivered,
                mean_wait_ms: net.mean_wait_ms,
                mean_latency_ms: net.mean_latency_ms,
            },
            wall: self.progress(),
            store: self.store_url.clone(),
            store_rows,
            seed: self.seed,
            simulated_seconds: self.shared.clock.now().as_secs_f64(),
            remote: self.remote.as_ref().map(|l| l.summary()),
            not_stored: self.stored.giving_up().then(|| self.not_stored()),
        }
    }

    /// What the writer gave up on, with the store's last error.
    fn not_stored(&self) -> NotStored {
        let g = self.stored.given_up();
        NotStored {
            readings: g.readings,
            crew_reports: g.crew_reports,
            agents_readings: g.agents_readings,
            first_reading_id: g.first_reading_id,
            first_crew_report_id: g.first_crew_report_id,
            outcome: "lost".to_string(),
            reason: self.last_store_error(),
        }
    }

    fn last_store_error(&self) -> String {
        self.last_error()
            .unwrap_or_else(|| "the store took too long".to_string())
    }

    /// The summary of a drain cut short while a store call had not returned (the pipeline
    /// never finished): what the producers made and the store did not take, from the counters.
    pub(super) fn summary_cut_short(&self) -> Summary {
        let mut summary = self.summary();
        let reason = format!("a store call did not return ({})", self.last_store_error());
        summary.not_stored = Some(NotStored {
            readings: summary
                .readings
                .produced
                .saturating_sub(summary.readings.stored),
            crew_reports: summary
                .crew_reports
                .produced
                .saturating_sub(summary.crew_reports.stored),
            agents_readings: 0,
            first_reading_id: None,
            first_crew_report_id: None,
            outcome: "lost".to_string(),
            reason,
        });
        summary
    }
}

//! Persistent stores behind one trait, chosen by URL before the run.
//!
//! A store is synchronous: the collector calls it from a blocking thread, so a slow disk or
//! database never stalls the async workers.

mod memory;

use std::fmt;

use chrono::{DateTime, Utc};

use crate::sensors::Reading;
use crate::wall::CrewReport;

/// What the collector writes in one go: one transaction per batch where the store has them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    pub readings: Vec<Reading>,
    pub crew_reports: Vec<CrewReport>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty() && self.crew_reports.is_empty()
    }
    pub fn len(&self) -> usize {
        self.readings.len() + self.crew_reports.len()
    }
}

/// Row counts and the highest ids a store holds (ids resume after these).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub readings: u64,
    pub crew_reports: u64,
    pub last_reading_id: u64,
    pub last_crew_report_id: u64,
}

/// Which readings to read back, oldest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadingFilter {
    pub sensor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: Option<usize>,
}

impl ReadingFilter {
    /// Whether `r` passes the sensor and time conditions (not the limit).
    pub fn matches(&self, r: &Reading) -> bool {
        self.sensor.as_ref().is_none_or(|s| *s == r.sensor)
            && self.since.is_none_or(|t| r.timestamp >= t)
            && self.until.is_none_or(|t| r.timestamp <= t)
    }

    /// Filters readings given in id order; with a limit, keeps the most recent ones.
    pub fn apply(&self, readings: impl Iterator<Item = Reading>) -> Vec<Reading> {
        let mut out: Vec<Reading> = readings.filter(|r| self.matches(r)).collect();
        if let Some(limit) = self.limit {
            let excess = out.len().saturating_sub(limit);
            out.drain(..excess);
        }
        out
    }
}

/// A store failure, with the store's own words. Writes that fail are retried by the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

pub use memory::MemoryStore;

/// The default store of a run.
pub const DEFAULT_STORE_URL: &str = "sqlite:wallwatch.db";

/// Opens the store a URL names. Errors name the URL and say what is wrong with it.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    match url.split_once(':') {
        Some(("memory", "")) => Ok(Box::new(MemoryStore::new())),
        _ => Err(StoreError(format!(
            "store '{url}': unknown store URL (use memory:, csv:PATH, sqlite:PATH or postgres://…)"
        ))),
    }
}

/// A persistent store of readings and crew reports.
pub trait Store: Send {
    /// Appends a whole batch, atomically where the store allows. On error nothing of the batch
    /// may be half-visible in a transactional store; the caller keeps the batch and retries.
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError>;
    /// Row counts and last ids.
    fn counts(&mut self) -> Result<Counts, StoreError>;
    /// Readings matching `filter`, ordered by id.
    fn readings(&mut self, filter: &ReadingFilter) -> Result<Vec<Reading>, StoreError>;
    /// Crew reports, ordered by id.
    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError>;
    /// Flushes and closes.
    fn close(&mut self) -> Result<(), StoreError>;
    /// The URL it was opened from, for summaries and the status bar.
    fn url(&self) -> &str;
}

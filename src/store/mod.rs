//! Persistent stores behind one trait, chosen by URL before the run.
//!
//! A store is synchronous. It has no thread of its own (but for [`PostgresStore`], whose async
//! client runs on one): the collector's writer hands each write to tokio's blocking pool
//! (`spawn_blocking`), so a slow disk or database never stalls the async workers, and
//! `wallwatch readings` calls it directly.
//!
//! URLs: `memory:`, `csv:PATH` ([`CsvStore`]), `sqlite:PATH` ([`SqliteStore`]) and
//! `postgres://…` / `postgresql://…` ([`PostgresStore`]). A run opens its store with
//! [`open_for_site`]: the store is then that site's alone (`site_lock`). Timestamps are kept at microsecond
//! precision by every persistent store (finer parts are truncated).

mod checkpointer;
mod csv;
mod memory;
mod postgres;
mod seq_ranges;
mod site_lock;
mod sqlite;
mod url;

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};

use crate::sensors::Reading;
use crate::wall::{CrewReport, Irregular, LatestReports, SectionReports};

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

/// Where a reading of an agent came from: the reading's id (given by the collector), the agent
/// and the agent's sequence number. A store holds each (agent, seq) at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub id: u64,
    pub agent: String,
    pub seq: u64,
}

/// The seqs stored per agent, as ranges.
pub type AgentMarks = std::collections::BTreeMap<String, SeqRanges>;

/// The ranges of consecutive seqs stored per agent, in the SQL stores (SQLite and PostgreSQL
/// alike): within a range, seq minus its rank is the same number ("gaps and islands"), read in
/// the order of the unique index on `(agent, seq)`. Rows: agent, start, end.
pub(crate) const AGENT_RANGES_SQL: &str = "SELECT agent, min(seq), max(seq) FROM \
     (SELECT agent, seq, seq - row_number() OVER (PARTITION BY agent ORDER BY seq) AS island \
      FROM readings WHERE agent IS NOT NULL) AS ranked \
     GROUP BY agent, island";

/// Ranges of rows `(agent, start, end)` as marks.
pub(crate) fn marks_of_ranges(rows: impl IntoIterator<Item = (String, i64, i64)>) -> AgentMarks {
    let mut marks = AgentMarks::new();
    for (agent, start, end) in rows {
        let (Ok(start), Ok(end)) = (u64::try_from(start), u64::try_from(end)) else {
            continue;
        };
        marks.entry(agent).or_default().insert_range(start, end);
    }
    marks
}

/// Deduplication on the agents' stored seqs (the `memory:` and `csv:` stores): the batch
/// without the readings of `origins` whose (agent, seq) is stored, the ids of those left out,
/// and the marks after the batch. `origins` are in id order.
pub(crate) fn dedup_by_marks(
    batch: &Batch,
    origins: &[Origin],
    marks: &AgentMarks,
) -> (Batch, Vec<u64>, AgentMarks) {
    let mut marks = marks.clone();
    let mut skipped = Vec::new();
    for o in origins {
        if !marks.entry(o.agent.clone()).or_default().insert(o.seq) {
            skipped.push(o.id);
        }
    }
    let readings = if skipped.is_empty() {
        batch.readings.clone()
    } else {
        batch
            .readings
            .iter()
            .filter(|r| skipped.binary_search(&r.id).is_err())
            .cloned()
            .collect()
    };
    let kept = Batch {
        readings,
        crew_reports: batch.crew_reports.clone(),
    };
    (kept, skipped, marks)
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
        self.sensor.as_ref().is_none_or(|s| *s == r.sensor) && self.in_window(r.timestamp)
    }

    /// Whether `t` is within `since..=until`.
    pub fn in_window(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| t >= since) && self.until.is_none_or(|until| t <= until)
    }

    /// Filters readings given in id order; with a limit, keeps the most recent ones (a
    /// reference for the stores' own reading).
    pub fn apply(&self, readings: impl Iterator<Item = Reading>) -> Vec<Reading> {
        let mut out: Vec<Reading> = readings.filter(|r| self.matches(r)).collect();
        if let Some(limit) = self.limit {
            let excess = out.len().saturating_sub(limit);
            out.drain(..excess);
        }
        out
    }
}

/// How many readings a store hands over at once when read back in order
/// ([`Store::for_each_reading`]): the most a reader holds in memory.
pub const READ_BATCH: usize = 4096;

/// A store failure, with the store's own words. Writes that fail are retried by the collector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

pub(crate) use csv::push_field as push_csv_field;
pub use csv::{CsvStore, crew_reports_path, meta_path};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use seq_ranges::SeqRanges;
pub use site_lock::lock_path;
pub use sqlite::{BUSY_TIMEOUT as SQLITE_BUSY_TIMEOUT, SqliteStore};
pub use url::{StoreUrl, ToStoreUrl, redact_url};

/// The meta key holding the fingerprint of the wall a store's crew reports belong to.
pub const WALL_HASH_KEY: &str = "wall_hash";

/// The meta key holding the number of the run whose crew reports the store holds now (1 when
/// never set): a run is one wall worked from its start; loading another wall starts the next.
pub const RUN_KEY: &str = "run";
/// The meta key listing the runs before it ([`PastRun`]s, as JSON).
pub const PAST_RUNS_KEY: &str = "past_runs";

/// A run a store keeps after the next one started: its crew reports stay in the store, apart
/// from the running one's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PastRun {
    pub run: u32,
    /// The fingerprint of its wall (absent when the store never had one).
    pub wall_hash: Option<String>,
    pub crew_reports: u64,
}

/// The default store of a run.
pub const DEFAULT_STORE_URL: &str = "sqlite:wallwatch.db";

/// Opens the store a URL names, creating files, tables and schema as needed. Errors name the
/// URL (without a password) and say what is wrong with it.
pub fn open(url: &(impl ToStoreUrl + ?Sized)) -> Result<Box<dyn Store>, StoreError> {
    let url = url.to_store_url()?;
    let shown = url.to_string();
    match url.as_ref() {
        StoreUrl::Memory => Ok(Box::new(MemoryStore::new())),
        StoreUrl::Csv(path) => Ok(Box::new(CsvStore::open(&shown, path)?)),
        StoreUrl::Sqlite(path) => Ok(Box::new(SqliteStore::open(&shown, path)?)),
        StoreUrl::Postgres(given) => Ok(Box::new(PostgresStore::open(given)?)),
    }
}

/// Opens the store a URL names for the site that writes it (`run` and `serve`), as [`open`]
/// does, but as that site's alone while it is open: a second site is refused with one line
/// naming the first (`holder` says what this one is, e.g. `wallwatch serve at
/// /run/user/1000/wallwatch/default.sock`); and a store that cannot be written is refused
/// here, at the start, instead of failing every write. A `sqlite:` or `csv:` store is locked by
/// a lock file beside it and its files are checked at each write (a deleted file is noticed);
/// PostgreSQL by an advisory lock of its schema. Readers ([`open_existing`]) take no lock.
pub fn open_for_site(
    url: &(impl ToStoreUrl + ?Sized),
    holder: &str,
) -> Result<Box<dyn Store>, StoreError> {
    let url = url.to_store_url()?;
    let shown = url.to_string();
    // The lock file's line; PostgreSQL names its holder by the connection instead.
    let line = || crate::lockfile::this_process(holder);
    match url.as_ref() {
        StoreUrl::Memory => Ok(Box::new(MemoryStore::new())),
        StoreUrl::Csv(path) => Ok(Box::new(CsvStore::open_for_site(&shown, path, &line())?)),
        StoreUrl::Sqlite(path) => Ok(Box::new(SqliteStore::open_for_site(&shown, path, &line())?)),
        StoreUrl::Postgres(given) => Ok(Box::new(PostgresStore::open_for_site(given)?)),
    }
}

/// Like [`open`], but for reading what is already there: a `csv:` or `sqlite:` file that does
/// not exist is an error instead of being created.
pub fn open_existing(url: &(impl ToStoreUrl + ?Sized)) -> Result<Box<dyn Store>, StoreError> {
    let url = url.to_store_url()?;
    if let Some(path) = url.path()
        && !std::path::Path::new(path).exists()
    {
        return Err(StoreError(format!("store '{url}': {path}: no such file")));
    }
    if let StoreUrl::Sqlite(path) = url.as_ref() {
        // Read back once, in id order: a run's large page cache would only fill up.
        return Ok(Box::new(
            SqliteStore::open(&url.to_string(), path)?.for_reading()?,
        ));
    }
    open(url.as_ref())
}

/// The fixed timestamp text of every persistent store: RFC 3339, UTC, microseconds, `Z`, so
/// that text order is time order.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a stored RFC 3339 timestamp.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("'{s}' is not an RFC 3339 timestamp ({e})"))
}

/// `t` rounded up to a whole microsecond: stored timestamps are whole microseconds, so
/// `stored >= ceil(since)` exactly when `stored >= since`.
pub(crate) fn ceil_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let sub = t.timestamp_subsec_nanos() % 1000;
    if sub == 0 {
        t
    } else {
        t + chrono::Duration::nanoseconds(i64::from(1000 - sub))
    }
}

/// How the SQL stores answer `latest_crew_reports`, in one read transaction. First, every
/// report of a section, section by section, each section's in id order, for [`HistoryScan`]
/// (answered from the index on `(profile, section, id, height)` alone: no table row is read).
/// Then the sections' latest reports, fetched by id, and the last day ([`LAST_DAY_SQL`]). Reading
/// the latest reports by their ids costs less than a `GROUP BY` over the index a second time.
pub(crate) const SECTION_HISTORY_SQL: &str = "SELECT profile, section, height, id FROM crew_reports \
     WHERE profile IS NOT NULL AND section IS NOT NULL AND height IS NOT NULL \
     ORDER BY profile, section, id";
/// The last day, from the index on `day`.
pub(crate) const LAST_DAY_SQL: &str = "SELECT coalesce(max(day), 0) FROM crew_reports";

/// Goes through the reports of [`SECTION_HISTORY_SQL`] keeping only the one before: finds each
/// section's first and latest report and the irregular ones (see [`Irregular`]), then puts them
/// together with the latest reports, read whole.
#[derive(Debug, Default)]
pub(crate) struct HistoryScan {
    /// Every section so far, in section order.
    sections: Vec<ScannedSection>,
    last_height: u8,
    irregular: Vec<Irregular>,
}

#[derive(Debug)]
struct ScannedSection {
    key: (u32, u32),
    /// The id and height of its first report.
    first: (u64, u8),
    /// The id of its latest report.
    latest: u64,
}

impl HistoryScan {
    /// The next report.
    pub(crate) fn push(&mut self, profile: u32, section: u32, height: u8, id: u64) {
        let previous = match self.sections.last_mut() {
            Some(s) if s.key == (profile, section) => {
                s.latest = id;
                Some(self.last_height)
            }
            _ => {
                self.sections.push(ScannedSection {
                    key: (profile, section),
                    first: (id, height),
                    latest: id,
                });
                None
            }
        };
        self.last_height = height;
        self.irregular
            .extend(Irregular::check(id, profile, section, height, previous));
    }

    /// The ids of the sections' latest reports, ascending.
    pub(crate) fn latest_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.sections.iter().map(|s| s.latest).collect();
        ids.sort_unstable();
        ids
    }

    /// The answer, given the reports of [`HistoryScan::latest_ids`] (in any order) and the last
    /// day, read in the same transaction as the history.
    pub(crate) fn finish(
        mut self,
        mut latest: Vec<CrewReport>,
        last_day: u64,
    ) -> Result<LatestReports, String> {
        latest.sort_unstable_by_key(|r| r.id);
        self.sections.sort_unstable_by_key(|s| s.latest);
        if latest.len() != self.sections.len() {
            return Err(format!(
                "crew reports changed while read ({} latest reports of {} sections found)",
                latest.len(),
                self.sections.len()
            ));
        }
        let mut sections = Vec::with_capacity(latest.len());
        for (r, s) in latest.into_iter().zip(self.sections) {
            let key = (r.profile, r.section);
            if r.id != s.latest || key != (Some(s.key.0), Some(s.key.1)) || r.height.is_none() {
                return Err(format!(
                    "crew reports changed while read (crew report {})",
                    s.latest
                ));
            }
            sections.push(SectionReports {
                latest: r,
                first: s.first,
            });
        }
        self.irregular.sort_unstable_by_key(|r| r.id);
        Ok(LatestReports {
            sections,
            irregular: self.irregular,
            last_day,
        })
    }
}

pub use csv::changes_path;

/// One accepted change of a running site as the store keeps it, oldest first (a running site's
/// commands are remembered across restarts: the engine writes each as JSON text, the store keeps
/// the text without reading it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteChange {
    /// Given by the store: 1, 2, … strictly increasing, never reused; `clear` starts over at 1
    /// (as the readings' ids do).
    pub id: u64,
    pub at: DateTime<Utc>,
    /// Who asked: `key (viewer 2, uid 1000)`, `cli (uid 1000)`, `http 127.0.0.1:53412`.
    pub origin: String,
    /// The command as the engine wrote it (JSON text).
    pub change: String,
}

/// A persistent store of readings and crew reports.
pub trait Store: Send {
    /// Appends a whole batch, atomically where the store allows. On error nothing of the batch
    /// may be half-visible in a transactional store; the caller keeps the batch and retries.
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError>;
    /// Appends `batch`, whose readings with the ids of `origins` (in id order) came from agents
    /// through the broker: a reading whose (agent, seq) the store already holds is left out (a
    /// redelivery). Returns the ids left out. Atomic as [`Store::append`]. Every store here
    /// deduplicates (SQL stores on a unique index, `memory:` and `csv:` on a per-agent
    /// high-water mark); this default, for stores that know nothing of agents, appends all.
    fn append_remote(&mut self, batch: &Batch, origins: &[Origin]) -> Result<Vec<u64>, StoreError> {
        let _ = origins;
        self.append(batch).map(|()| Vec::new())
    }
    /// The seqs stored per agent (none for a store without agents' readings).
    fn agent_marks(&mut self) -> Result<AgentMarks, StoreError> {
        Ok(AgentMarks::new())
    }
    /// Row counts and last ids.
    fn counts(&mut self) -> Result<Counts, StoreError>;
    /// The greatest reading id (0 when there is none): [`Counts::last_reading_id`], which the
    /// SQL stores find in their index without counting the rows.
    fn last_reading_id(&mut self) -> Result<u64, StoreError> {
        Ok(self.counts()?.last_reading_id)
    }
    /// At most `limit` readings matching `filter` (its own `limit` is not used) with ids above
    /// `after_id`, ordered by id: a cursor over the readings, one batch at a time, in memory
    /// bounded by `limit` (`wallwatch readings`, and a paging `/readings?after_id=&limit=`).
    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError>;
    /// The id the `n` most recent readings matching `filter` (its own `limit` is not used)
    /// among those with ids up to `up_to_id` come after: the id of the one before them, or 0
    /// when there are at most `n`. This default reads the matching readings twice with
    /// [`Store::readings_after`] (counting, then finding it); the SQL stores ask their index.
    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        start_of_last_in_two_passes(self, filter, n, up_to_id)
    }
    /// Hands `visit` the readings matching `filter` in id order (with a limit, only the most
    /// recent ones), until it breaks, holding at most [`READ_BATCH`] of them at once. Readings
    /// stored after it starts are not visited.
    fn for_each_reading(
        &mut self,
        filter: &ReadingFilter,
        visit: &mut dyn FnMut(Reading) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        if filter.limit == Some(0) {
            return Ok(());
        }
        let up_to_id = self.last_reading_id()?;
        let after_id = match filter.limit {
            Some(n) => self.start_of_last(filter, n, up_to_id)?,
            None => 0,
        };
        scan(self, filter, after_id, up_to_id, visit)
    }
    /// Readings matching `filter`, ordered by id, all in memory (small stores and tests; use
    /// [`Store::for_each_reading`] for a store of any size).
    fn readings(&mut self, filter: &ReadingFilter) -> Result<Vec<Reading>, StoreError> {
        let mut out = Vec::new();
        self.for_each_reading(filter, &mut |r| {
            out.push(r);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }
    /// Crew reports, ordered by id.
    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError>;
    /// At most `limit` crew reports of days `from_day..=to_day`, ordered by id (`/crews/log`).
    /// This default reads every report; SQLite and memory stores read only those days.
    fn crew_reports_of_days(
        &mut self,
        from_day: u64,
        to_day: u64,
        limit: usize,
    ) -> Result<Vec<CrewReport>, StoreError> {
        Ok(crew_reports_of_days(
            &self.crew_reports()?,
            from_day,
            to_day,
            limit,
        ))
    }
    /// What resuming needs of the crew reports, without reading them all back: for every
    /// (profile, section) with a report that has profile, section and height set, its report
    /// with the greatest id (in id order) and the id and height of its first; every report that
    /// breaks its section's history (see [`crate::wall::Irregular`]); and the greatest day of
    /// any crew report, relieved crews' included. Equal to [`LatestReports::from_reports`] of
    /// [`Store::crew_reports`], which is what this default does; every store here answers it
    /// from an index or in one pass instead.
    fn latest_crew_reports(&mut self) -> Result<LatestReports, StoreError> {
        LatestReports::from_reports(self.crew_reports()?.into_iter().map(Ok))
    }
    /// A value kept beside the rows (e.g. `wall_hash`, the fingerprint of the wall whose crew
    /// reports the store holds), or `None` when never set.
    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    /// Sets (replacing) a value kept beside the rows; durable once it returns.
    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes every reading, crew report, meta value and site change (`--fresh`); ids start
    /// again at 1.
    fn clear(&mut self) -> Result<(), StoreError>;
    /// Flushes and closes.
    fn close(&mut self) -> Result<(), StoreError>;
    /// The URL it was opened from, for summaries and the status bar.
    fn url(&self) -> &str;

    // A running site's accepted changes ([`SiteChange`]), applied again on restart.

    /// Appends one change and makes it durable before returning (committed: a process killed
    /// right after the call still has it when the store is opened again); returns its id.
    fn append_change(
        &mut self,
        at: DateTime<Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError>;
    /// Every change kept, oldest first.
    fn changes(&mut self) -> Result<Vec<SiteChange>, StoreError>;

    // Runs: the crew reports of one wall from its start ([`RUN_KEY`]).

    /// Moves the crew reports held now to the past run `run`, kept there; returns how many that
    /// past run holds in all. Moving again (after a crash before the run's number was stored)
    /// moves what is there now, so nothing is moved twice or lost.
    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError>;

    /// The number of the run whose crew reports the store holds now.
    fn run(&mut self) -> Result<u32, StoreError> {
        match self.meta_get(RUN_KEY)? {
            None => Ok(1),
            Some(n) => n.parse().map_err(|_| {
                StoreError(format!(
                    "store '{}': meta '{RUN_KEY}' is '{}', not a run number",
                    redact_url(self.url()),
                    crate::text::sanitize(&n)
                ))
            }),
        }
    }

    /// The runs before the running one, oldest first.
    fn past_runs(&mut self) -> Result<Vec<PastRun>, StoreError> {
        match self.meta_get(PAST_RUNS_KEY)? {
            None => Ok(Vec::new()),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                StoreError(format!(
                    "store '{}': meta '{PAST_RUNS_KEY}' cannot be read ({e})",
                    redact_url(self.url())
                ))
            }),
        }
    }

    /// Starts run `run` of the wall `wall_hash`: the crew reports held now become a past run,
    /// kept, and the store holds the new run's from now on. Nothing is done when the store's
    /// run is `run` already (or a later one), so a restart may finish a start that a crash cut
    /// short: the run's number is stored last.
    fn start_run(&mut self, run: u32, wall_hash: &str) -> Result<(), StoreError> {
        let current = self.run()?;
        if run <= current {
            return Ok(());
        }
        let crew_reports = self.archive_crew_reports(current)?;
        let mut past = self.past_runs()?;
        // A start cut short after the list was written keeps the wall the list says.
        let past_hash = match past.iter().position(|p| p.run == current) {
            Some(i) => past.remove(i).wall_hash,
            None => self.meta_get(WALL_HASH_KEY)?,
        };
        past.push(PastRun {
            run: current,
            wall_hash: past_hash,
            crew_reports,
        });
        let json = serde_json::to_string(&past).expect("past runs always serialise");
        self.meta_set(PAST_RUNS_KEY, &json)?;
        self.meta_set(WALL_HASH_KEY, wall_hash)?;
        self.meta_set(RUN_KEY, &run.to_string())
    }
}

/// The first `limit` of `reports` (in id order) of days `from_day..=to_day`, as
/// [`Store::crew_reports_of_days`] answers.
pub(crate) fn crew_reports_of_days(
    reports: &[CrewReport],
    from_day: u64,
    to_day: u64,
    limit: usize,
) -> Vec<CrewReport> {
    reports
        .iter()
        .filter(|r| (from_day..=to_day).contains(&r.day))
        .take(limit)
        .cloned()
        .collect()
}

/// [`Store::start_of_last`] with [`Store::readings_after`] only: counts the matching readings,
/// then finds the one before the last `n`.
pub(crate) fn start_of_last_in_two_passes<S: Store + ?Sized>(
    store: &mut S,
    filter: &ReadingFilter,
    n: usize,
    up_to_id: u64,
) -> Result<u64, StoreError> {
    let mut total = 0usize;
    scan(store, filter, 0, up_to_id, &mut |_| {
        total += 1;
        ControlFlow::Continue(())
    })?;
    let Some(skip) = total.checked_sub(n).filter(|&s| s > 0) else {
        return Ok(0);
    };
    let (mut seen, mut start) = (0usize, 0);
    scan(store, filter, 0, up_to_id, &mut |r| {
        seen += 1;
        if seen == skip {
            start = r.id;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(start)
}

/// Visits the readings matching `filter` with ids in `after_id + 1..=up_to_id`, in id order,
/// [`READ_BATCH`] at a time, until `visit` breaks.
fn scan<S: Store + ?Sized>(
    store: &mut S,
    filter: &ReadingFilter,
    mut after_id: u64,
    up_to_id: u64,
    visit: &mut dyn FnMut(Reading) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    while after_id < up_to_id {
        let batch = store.readings_after(filter, after_id, READ_BATCH)?;
        let full = batch.len() == READ_BATCH;
        for r in batch {
            if r.id > up_to_id {
                return Ok(());
            }
            after_id = r.id;
            if visit(r).is_break() {
                return Ok(());
            }
        }
        if !full {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-pass default finds what the memory store's own answer finds, across batches.
    #[test]
    fn two_passes_find_the_start_of_the_last_n() {
        let mut store = MemoryStore::new();
        let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let readings: Vec<Reading> = (1..=(2 * READ_BATCH as u64 + 9))
            .map(|id| Reading {
                id: id * 2,
                timestamp: at,
                sensor: format!("s{}", id % 3),
                value: 0,
                stored_at: None,
            })
            .collect();
        let last = readings.last().unwrap().id;
        store
            .append(&Batch {
                readings,
                crew_reports: vec![],
            })
            .unwrap();
        for sensor in [None, Some("s1".to_string()), Some("none".to_string())] {
            let filter = ReadingFilter {
                sensor,
                ..ReadingFilter::default()
            };
            for n in [0, 1, 7, READ_BATCH, 2 * READ_BATCH, 10 * READ_BATCH] {
                for up_to in [last, last - 5, 0] {
                    assert_eq!(
                        start_of_last_in_two_passes(&mut store, &filter, n, up_to).unwrap(),
                        store.start_of_last(&filter, n, up_to).unwrap(),
                        "{filter:?} {n} {up_to}"
                    );
                }
            }
        }
    }
}

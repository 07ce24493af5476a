//! The collector: receives packets from its mailbox (a bounded channel of [`MAILBOX`] packets that
//! the network delivers into), numbers the rows with strictly increasing ids, batches them and
//! hands the batches to the writer task, which owns the store and writes on the blocking pool. The
//! writer channel holds [`WRITE_QUEUE`] batches; when it is full the collector stops receiving,
//! the mailbox fills, the packets at its door keep their permits, and producers wait on the
//! semaphore: backpressure, never a drop. A failed write is retried with backoff, keeping the
//! batch. Batches that queue while a write runs are merged into the next write (group commit).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use super::network::Payload;
use super::publisher::Publisher;
use super::remote::RemoteLink;
use super::stats::Histogram;
use super::{EngineError, Event};
use chrono::{DateTime, Utc};

use crate::sensors::Reading;
use crate::store::{Batch, Counts, Origin, ReadingFilter, Store, StoreError};
use crate::wall::CrewReport;

/// What the collector hands the writer: a batch, and the origins of its agents' readings (in id
/// order; empty without a broker).
pub type Write = (Batch, Vec<Origin>);

/// Packets the collector's mailbox holds before deliveries wait.
pub const MAILBOX: usize = 256;
/// Batches waiting for the writer before the collector stops receiving.
pub const WRITE_QUEUE: usize = 4;
/// First retry delay of a failed write; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(20);
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Emptied batch buffers kept for the collector's next batches (see [`Spares`]).
pub const SPARES: usize = 2;

/// Batch buffers the writer has emptied, for the collector to fill again: with `skip_rows` a
/// stored batch's readings are freed on the blocking thread and their buffer (a batch's worth of
/// rows) comes back here instead of being freed with them, so the collector does not allocate, and
/// fault in, a fresh batch-sized buffer for every batch. At most [`SPARES`] are kept.
#[derive(Debug, Default)]
pub struct Spares(std::sync::Mutex<Vec<Vec<Reading>>>);

impl Spares {
    /// An empty buffer of at least `capacity` rows: a spare one if any, else a new one.
    fn take(&self, capacity: usize) -> Vec<Reading> {
        let spare = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match spare {
            Some(mut v) => {
                v.reserve(capacity);
                v
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Keeps `buffer` (emptied) for a next batch, if fewer than [`SPARES`] are kept.
    fn give(&self, buffer: Vec<Reading>) {
        debug_assert!(buffer.is_empty());
        let mut spares = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() < SPARES && buffer.capacity() > 0 {
            spares.push(buffer);
        }
    }
}

/// Rows stored so far in this run, whether the store is failing now, and how long each
/// `Store::append` call took (failed attempts included).
#[derive(Debug, Default)]
pub struct Stored {
    pub readings: AtomicU64,
    pub crew_reports: AtomicU64,
    pub failing: AtomicBool,
    pub writes: Histogram,
    /// Failed `Store::append` calls, and the retries made after them.
    pub write_failures: AtomicU64,
    pub write_retries: AtomicU64,
    /// Rows per write (as [`Histogram::record_value`]).
    pub batch_rows: Histogram,
    /// The last failed write's error (kept after it clears).
    pub last_error: std::sync::Mutex<Option<String>>,
    /// Set when the drain passes its deadline: the writer stops trying, and what it has or
    /// gets from then on is counted in `given_up` instead of written.
    giving_up: AtomicBool,
    give_up_now: Notify,
    given_up: std::sync::Mutex<GivenUp>,
    /// Since when the write under way has not been taken (its first attempt's start); none
    /// while the writer waits for rows. The drain's deadline counts this time only: a slow
    /// network (a long `--latency`) delivering its last rows is not a stuck store.
    stuck_since: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// Buffers of stored batches, back for the collector (with `skip_rows`).
    pub(super) spares: Spares,
}

/// The rows the writer gave up on.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct GivenUp {
    pub(super) readings: u64,
    pub(super) crew_reports: u64,
    pub(super) agents_readings: u64,
    pub(super) first_reading_id: Option<u64>,
    pub(super) first_crew_report_id: Option<u64>,
}

impl Stored {
    pub fn rows(&self) -> u64 {
        self.readings.load(Ordering::Relaxed) + self.crew_reports.load(Ordering::Relaxed)
    }

    /// Tells the writer to stop trying: the drain's deadline has passed.
    pub(super) fn give_up(&self) {
        self.giving_up.store(true, Ordering::Release);
        self.give_up_now.notify_one();
    }

    /// Since when the store has not taken the write under way, if one is.
    pub(super) fn stuck_since(&self) -> Option<tokio::time::Instant> {
        *self.stuck_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_stuck_since(&self, since: Option<tokio::time::Instant>) {
        *self.stuck_since.lock().unwrap_or_else(|e| e.into_inner()) = since;
    }

    pub(super) fn giving_up(&self) -> bool {
        self.giving_up.load(Ordering::Acquire)
    }

    /// What the writer gave up on so far.
    pub(super) fn given_up(&self) -> GivenUp {
        *self.given_up.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `write` as given up (its rows are not stored, its agents' readings not
    /// confirmed).
    fn give_up_on(&self, (batch, origins): &Write) {
        let mut g = self.given_up.lock().unwrap_or_else(|e| e.into_inner());
        g.readings += batch.readings.len() as u64;
        g.crew_reports += batch.crew_reports.len() as u64;
        g.agents_readings += origins.len() as u64;
        let first = |r: Option<u64>, id: Option<u64>| r.or(id);
        g.first_reading_id = first(g.first_reading_id, batch.readings.first().map(|r| r.id));
        g.first_crew_report_id = first(
            g.first_crew_report_id,
            batch.crew_reports.first().map(|c| c.id),
        );
    }
}

/// What the writer answers between writes (it owns the store, of any kind, `memory:` too):
/// reads, and the site's accepted changes to record.
#[derive(Debug)]
pub enum StoreRead {
    /// [`Store::readings_after`].
    ReadingsAfter {
        filter: ReadingFilter,
        after_id: u64,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<Reading>, StoreError>>,
    },
    /// The crew reports of days `from_day..=to_day`, in id order, at most `limit`.
    CrewReports {
        from_day: u64,
        to_day: u64,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<CrewReport>, StoreError>>,
    },
    /// [`Store::append_change`]: an accepted command, recorded before it is carried out.
    AppendChange {
        at: DateTime<Utc>,
        origin: String,
        change: String,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// [`Store::start_run`]: a loaded wall's run, once its load is recorded.
    StartRun {
        run: u32,
        wall_hash: String,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// Reads waiting for the writer before more wait for room.
pub const READ_QUEUE: usize = 16;

/// Asks the store writer to read, or to record a site change: answered between writes, on the
/// blocking pool.
#[derive(Debug, Clone)]
pub struct StoreReader(pub(crate) mpsc::Sender<StoreRead>);

impl StoreReader {
    fn gone() -> StoreError {
        StoreError("the store has closed (the site is stopping)".into())
    }

    /// At most `limit` readings matching `filter` with ids above `after_id`, in id order.
    pub async fn readings_after(
        &self,
        filter: ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        self.ask(|reply| StoreRead::ReadingsAfter {
            filter,
            after_id,
            limit,
            reply,
        })
        .await
    }

    /// The crew reports of days `from_day..=to_day`, in id order, at most `limit`.
    pub async fn crew_reports(
        &self,
        from_day: u64,
        to_day: u64,
        limit: usize,
    ) -> Result<Vec<CrewReport>, StoreError> {
        self.ask(|reply| StoreRead::CrewReports {
            from_day,
            to_day,
            limit,
            reply,
        })
        .await
    }

    /// Records one accepted change of the site, committed when this returns (between writes, as
    /// a read is answered; while a failed write waits for its retry too).
    pub async fn append_change(
        &self,
        at: DateTime<Utc>,
        origin: String,
        change: String,
    ) -> Result<u64, StoreError> {
        self.ask(|reply| StoreRead::AppendChange {
            at,
            origin,
            change,
            reply,
        })
        .await
    }

    /// Starts run `run` of the wall `wall_hash` in the store (see [`Store::start_run`]).
    pub async fn start_run(&self, run: u32, wall_hash: String) -> Result<(), StoreError> {
        self.ask(|reply| StoreRead::StartRun {
            run,
            wall_hash,
            reply,
        })
        .await
    }

    /// Sends the writer the read `read` makes with a reply channel, and waits for its answer.
    async fn ask<T>(
        &self,
        read: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> StoreRead,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.0.send(read(reply)).await.map_err(|_| Self::gone())?;
        rx.await.map_err(|_| Self::gone())?
    }
}

/// Answers one read with the store, on the calling (blocking) thread.
fn answer_read(store: &mut dyn Store, read: StoreRead) {
    match read {
        StoreRead::ReadingsAfter {
            filter,
            after_id,
            limit,
            reply,
        } => {
            let _ = reply.send(store.readings_after(&filter, after_id, limit));
        }
        StoreRead::CrewReports {
            from_day,
            to_day,
            limit,
            reply,
        } => {
            let result = if from_day > to_day {
                Ok(Vec::new())
            } else {
                store.crew_reports_of_days(from_day, to_day, limit)
            };
            let _ = reply.send(result);
        }
        StoreRead::AppendChange {
            at,
            origin,
            change,
            reply,
        } => {
            let _ = reply.send(store.append_change(at, &origin, &change));
        }
        StoreRead::StartRun {
            run,
            wall_hash,
            reply,
        } => {
            let _ = reply.send(store.start_run(run, &wall_hash));
        }
    }
}

/// Opens the store as the site that writes it (see [`crate::store::open_for_site`]; `holder`
/// says what this run is), or takes the injected one.
pub fn open_store(
    url: &crate::store::StoreUrl,
    holder: &str,
    store: Option<Box<dyn Store>>,
) -> Result<Box<dyn Store>, EngineError> {
    match store {
        Some(s) => Ok(s),
        None => crate::store::open_for_site(url, holder).map_err(EngineError::Store),
    }
}

/// The writer task: owns the store; each write runs on tokio's blocking pool (so a slow disk or
/// database never stalls the async workers, and tests on the paused clock do not see time jump
/// while a write is under way). A failed write is retried with backoff, keeping the batch; the
/// stored rows are then published, or, with `skip_rows`, freed on the blocking thread. Returns the
/// store's final counts once closed (none if it gave up: see [`Stored::give_up`]).
pub async fn writer_task(
    mut store: Box<dyn Store>,
    mut rx: mpsc::Receiver<Write>,
    reads: mpsc::Receiver<StoreRead>,
    stored: Arc<Stored>,
    publisher: Arc<Publisher>,
    skip_rows: bool,
    remote: Option<Arc<RemoteLink>>,
) -> Result<Option<Counts>, StoreError> {
    let mut reads = Reads {
        rx: reads,
        open: true,
    };
    loop {
        // Writes first; reads are answered when no batch waits, and after each write.
        let write = tokio::select! {
            biased;
            write = rx.recv() => match write {
                Some(write) => write,
                None => break,
            },
            read = reads.next() => {
                store = answer(store, read).await?;
                continue;
            }
        };
        let write = with_queued(write, &mut rx);
        if stored.giving_up() {
            stored.give_up_on(&write);
            continue;
        }
        let written;
        (store, written) =
            write_until_stored(store, write, &mut reads, &stored, &publisher, skip_rows).await?;
        match written {
            Ok(written) => publish_stored(written, &stored, &publisher, remote.as_deref()),
            Err(write) => stored.give_up_on(&write),
        }
        // A store that is always behind (`--speed max`) always has a batch waiting: the reads
        // queued meanwhile (a command's change among them) are answered between its writes.
        while let Some(read) = reads.queued() {
            store = answer(store, read).await?;
        }
    }
    if stored.giving_up() {
        // A store that was failing: closed as well as it can be, its counts not asked for.
        let closed = tokio::task::spawn_blocking(move || store.close()).await;
        if let Ok(Err(e)) = closed {
            tracing::warn!(target: "store", "{}", crate::text::sanitize(&e.to_string()));
        }
        return Ok(None);
    }
    close(store).await.map(Some)
}

/// Group commit: batches that queued up while the last write ran go in the same write (ids stay
/// in order). A slow store thus gets bigger, cheaper transactions instead of falling further
/// behind; memory stays bounded by the queue.
fn with_queued((mut batch, mut origins): Write, rx: &mut mpsc::Receiver<Write>) -> Write {
    while let Ok((more, more_origins)) = rx.try_recv() {
        batch.readings.extend(more.readings);
        batch.crew_reports.extend(more.crew_reports);
        origins.extend(more_origins);
    }
    (batch, origins)
}

/// A write the store took: what is left of its batch (empty with `skip_rows`), its agents'
/// origins, the ids the store left out as stored before, and its size when it was made.
struct Written {
    batch: Batch,
    origins: Vec<Origin>,
    skipped: Vec<u64>,
    readings: usize,
    crew_reports: usize,
    /// How many attempts it took.
    attempt: u32,
}

/// Writes `write` until the store takes it. A failed write is counted and published, then
/// retried with the same batch after a backoff that doubles up to [`MAX_BACKOFF`]; reads are
/// answered while it waits. Gives the store back, and the write unwritten (`Err`) if the drain
/// passed its deadline first ([`Stored::give_up`]).
async fn write_until_stored(
    mut store: Box<dyn Store>,
    (mut batch, mut origins): Write,
    reads: &mut Reads,
    stored: &Stored,
    publisher: &Publisher,
    skip_rows: bool,
) -> Result<(Box<dyn Store>, Result<Written, Write>), StoreError> {
    // Counted now: with `skip_rows` a stored batch comes back empty.
    let (readings, crew_reports) = (batch.readings.len(), batch.crew_reports.len());
    let rows = readings + crew_reports;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1u32;
    stored.set_stuck_since(Some(tokio::time::Instant::now()));
    loop {
        let result;
        (store, batch, origins, result) = append(store, batch, origins, skip_rows, stored).await?;
        match result {
            Ok(skipped) => {
                stored.set_stuck_since(None);
                stored.batch_rows.record_value(rows as u64);
                let written = Written {
                    batch,
                    origins,
                    skipped,
                    readings,
                    crew_reports,
                    attempt,
                };
                return Ok((store, Ok(written)));
            }
            Err(e) => {
                failing(stored, publisher, &e, attempt, backoff, rows);
                // Reads are answered while the write waits for its retry.
                store = answer_reads_for(backoff, store, reads, stored).await?;
                if stored.giving_up() {
                    return Ok((store, Err((batch, origins))));
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                attempt += 1;
                stored.write_retries.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Answers reads for `wait` (less if the writer is told to give up), and gives the store
/// back.
async fn answer_reads_for(
    wait: Duration,
    mut store: Box<dyn Store>,
    reads: &mut Reads,
    stored: &Stored,
) -> Result<Box<dyn Store>, StoreError> {
    let retry = tokio::time::sleep(wait);
    tokio::pin!(retry);
    loop {
        if stored.giving_up() {
            return Ok(store);
        }
        tokio::select! {
            biased;
            _ = &mut retry => return Ok(store),
            () = stored.give_up_now.notified() => return Ok(store),
            read = reads.next() => store = answer(store, read).await?,
        }
    }
}

/// After a write the store took: counts its rows as stored, confirms the agents' readings (with
/// a broker), says so if the store was failing until now, and publishes the rows.
fn publish_stored(
    written: Written,
    stored: &Stored,
    publisher: &Publisher,
    remote: Option<&RemoteLink>,
) {
    let Written {
        mut batch,
        origins,
        skipped,
        readings,
        crew_reports,
        attempt,
    } = written;
    stored
        .readings
        .fetch_add((readings - skipped.len()) as u64, Ordering::Relaxed);
    if let Some(link) = remote {
        confirm(link, &origins, &skipped, &mut batch);
    }
    let crew_reports_count = crew_reports;
    let Batch {
        readings,
        crew_reports,
    } = batch;
    publisher.publish(Event::Readings(readings));
    publisher.publish(Event::CrewReports(crew_reports));
    // Counted after they are published: a wall loaded once every crew report is stored (see
    // the supervisor) is then published after the last of the old run's.
    stored
        .crew_reports
        .fetch_add(crew_reports_count as u64, Ordering::Release);
    if stored.failing.swap(false, Ordering::Relaxed) {
        tracing::info!(target: "store", "store writes succeed again after {attempt} attempts");
        publisher.publish(Event::Store {
            rows: stored.rows(),
            failing: None,
        });
    }
}

/// Reads the store's final counts and closes it, on tokio's blocking pool.
async fn close(mut store: Box<dyn Store>) -> Result<Counts, StoreError> {
    tokio::task::spawn_blocking(move || {
        let counts = store.counts()?;
        store.close()?;
        Ok(counts)
    })
    .await
    .map_err(gone)?
}

fn gone(e: tokio::task::JoinError) -> StoreError {
    StoreError(format!("the store failed: {e}"))
}

/// The reads waiting for the writer.
struct Reads {
    rx: mpsc::Receiver<StoreRead>,
    open: bool,
}

impl Reads {
    /// The next read; never, once every reader has gone.
    async fn next(&mut self) -> StoreRead {
        if self.open {
            match self.rx.recv().await {
                Some(read) => return read,
                None => self.open = false,
            }
        }
        std::future::pending().await
    }

    /// A read already waiting, if any (at most [`READ_QUEUE`] wait).
    fn queued(&mut self) -> Option<StoreRead> {
        self.rx.try_recv().ok()
    }
}

/// Answers `read` on tokio's blocking pool, and gives the store back.
async fn answer(mut store: Box<dyn Store>, read: StoreRead) -> Result<Box<dyn Store>, StoreError> {
    tokio::task::spawn_blocking(move || {
        answer_read(store.as_mut(), read);
        store
    })
    .await
    .map_err(gone)
}

/// One attempt at writing `batch` (agents' readings by their `origins`) on tokio's blocking
/// pool, timed into `stored.writes`; gives everything back with the ids of the agents' readings
/// the store left out as stored before. With `skip_rows` a stored batch's rows are freed there,
/// off the async workers.
async fn append(
    mut store: Box<dyn Store>,
    batch: Batch,
    origins: Vec<Origin>,
    skip_rows: bool,
    stored: &Stored,
) -> Result<
    (
        Box<dyn Store>,
        Batch,
        Vec<Origin>,
        Result<Vec<u64>, StoreError>,
    ),
    StoreError,
> {
    let (store, batch, origins, result, took, spare) = tokio::task::spawn_blocking(move || {
        // The readings carry the wall-clock time of the attempt that stores them, beside the
        // simulated time they were read at.
        let mut batch = batch;
        let now = chrono::Utc::now();
        for r in &mut batch.readings {
            r.stored_at = Some(now);
        }
        let started = std::time::Instant::now();
        let result = if origins.is_empty() {
            store.append(&batch).map(|()| Vec::new())
        } else {
            store.append_remote(&batch, &origins)
        };
        let took = started.elapsed();
        let (batch, spare) = if result.is_ok() && skip_rows {
            // The rows are freed here; their buffer goes back to the collector.
            let mut spare = batch.readings;
            spare.clear();
            (Batch::default(), Some(spare))
        } else {
            (batch, None)
        };
        (store, batch, origins, result, took, spare)
    })
    .await
    .map_err(gone)?;
    if let Some(spare) = spare {
        stored.spares.give(spare);
    }
    stored.writes.record(took);
    Ok((store, batch, origins, result))
}

/// A failed write: counted, logged, and published, to be retried after `backoff`.
fn failing(
    stored: &Stored,
    publisher: &Publisher,
    e: &StoreError,
    attempt: u32,
    backoff: Duration,
    rows: usize,
) {
    stored.write_failures.fetch_add(1, Ordering::Relaxed);
    let msg = crate::text::sanitize(&e.to_string()).into_owned();
    tracing::warn!(
        target: "store",
        "write of {rows} rows failed (attempt {attempt}), retrying in {} ms: {msg}",
        backoff.as_millis()
    );
    *stored.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
    stored.failing.store(true, Ordering::Relaxed);
    publisher.publish(Event::Store {
        rows: stored.rows(),
        failing: Some(msg),
    });
}

/// After a batch with agents' readings is stored: counts them, adds each one's seq to its
/// agent's stored ranges (those the store left out were stored before), and takes the ones
/// left out out of the batch, so the screen sees each reading once.
fn confirm(link: &RemoteLink, origins: &[Origin], skipped: &[u64], batch: &mut Batch) {
    let stored = origins.len() - skipped.len();
    link.stored.fetch_add(stored as u64, Ordering::Relaxed);
    link.store_duplicates
        .fetch_add(skipped.len() as u64, Ordering::Relaxed);
    let mut by_agent: std::collections::BTreeMap<&str, Vec<u64>> =
        std::collections::BTreeMap::new();
    for o in origins {
        by_agent.entry(&o.agent).or_default().push(o.seq);
    }
    for (agent, seqs) in by_agent {
        link.stored(agent, seqs);
    }
    if !skipped.is_empty() && !batch.readings.is_empty() {
        batch
            .readings
            .retain(|r| skipped.binary_search(&r.id).is_err());
    }
}

/// The collector task: runs until `finish` fires (sent once every producer has ended, so every
/// packet is already in the mailbox) or the mailbox closes; then it takes what is left, flushes
/// the last batch and closes the writer channel. A partial batch is written `flush_after` after
/// its first row, or as soon as `sensors_stopped` says the last running sensor has ended.
pub async fn run(
    mut rx: mpsc::Receiver<Payload>,
    mut finish: oneshot::Receiver<()>,
    writer: mpsc::Sender<Write>,
    counts: Counts,
    sizes: Sizes,
    sensors_stopped: Arc<Notify>,
    stored: Arc<Stored>,
) {
    let flush_after = sizes.flush_after;
    let mut collector = Collector::new(writer, counts, sizes, stored);
    let flush = tokio::time::sleep(flush_after);
    tokio::pin!(flush);
    let stopped = sensors_stopped.notified();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            biased;
            packet = rx.recv() => {
                let Some(packet) = packet else { break };
                match collector.receive(packet, &mut rx).await {
                    Err(()) => return,
                    Ok(Started::Batch) => {
                        flush.as_mut().reset(tokio::time::Instant::now() + flush_after);
                    }
                    Ok(Started::Nothing) => {}
                }
            }
            _ = &mut finish => {
                if collector.drain(&mut rx).await.is_err() {
                    return;
                }
                break;
            }
            _ = &mut stopped => {
                // Every packet the sensors sent is in the mailbox by now.
                stopped.set(sensors_stopped.notified());
                if collector.drain(&mut rx).await.is_err() {
                    return;
                }
                if !collector.pending.batch.is_empty() && collector.hand_over().await.is_err() {
                    return;
                }
            }
            _ = &mut flush, if !collector.pending.batch.is_empty() => {
                if collector.hand_over().await.is_err() {
                    return;
                }
            }
        }
    }
    collector.finish().await;
}

/// What a received packet started.
enum Started {
    /// A partial batch, from empty: it is to be written `flush_after` from now at the latest.
    Batch,
    Nothing,
}

/// The collector's sizes: rows per batch, the most messages one packet holds (the network's
/// limit), and how long a partial batch waits.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub batch_size: usize,
    pub packet: usize,
    pub flush_after: Duration,
}

/// The collector's state: the next ids, and the rows numbered and not yet handed to the writer.
struct Collector {
    writer: mpsc::Sender<Write>,
    batch_size: usize,
    /// Rows a batch's buffer is made for: a batch is handed over once it holds `batch_size`,
    /// so it ends at most one packet over (less one row): no buffer grows while it fills.
    room: usize,
    next_reading: u64,
    next_report: u64,
    pending: Pending,
    /// Where the writer gives emptied buffers back.
    stored: Arc<Stored>,
}

impl Collector {
    /// Numbering on from the store's last ids.
    fn new(
        writer: mpsc::Sender<Write>,
        counts: Counts,
        sizes: Sizes,
        stored: Arc<Stored>,
    ) -> Collector {
        let batch_size = sizes.batch_size.max(1);
        let room = batch_size.saturating_add(sizes.packet.max(1) - 1);
        Collector {
            writer,
            batch_size,
            room,
            next_reading: counts.last_reading_id + 1,
            next_report: counts.last_crew_report_id + 1,
            pending: Pending::new(Vec::with_capacity(room)),
            stored,
        }
    }

    /// Takes what is pending as one write, leaving a buffer (a spare one if the writer gave one
    /// back) for the next batch.
    fn cut(&mut self) -> Write {
        let next = self.stored.spares.take(self.room);
        self.replace_pending(next)
    }

    /// What is pending as one write, `readings` (empty) to hold what comes next.
    fn replace_pending(&mut self, readings: Vec<Reading>) -> Write {
        let Pending { batch, origins } =
            std::mem::replace(&mut self.pending, Pending::new(readings));
        (batch, origins)
    }

    /// Numbers the rows of `payload` and adds them to the pending batch.
    fn take(&mut self, payload: Payload) {
        let pending = &mut self.pending;
        match payload {
            Payload::Remote(remote) => {
                let mut r = remote.reading;
                r.id = self.next_reading;
                self.next_reading += 1;
                pending.origins.push(Origin {
                    id: r.id,
                    agent: remote.agent,
                    seq: remote.seq,
                });
                pending.batch.readings.push(r);
            }
            Payload::Readings(mut readings) => {
                let batch = &mut pending.batch;
                let next = &mut self.next_reading;
                if batch.readings.is_empty() && readings.len() >= self.batch_size {
                    for r in &mut readings {
                        r.id = *next;
                        *next += 1;
                    }
                    batch.readings = readings;
                } else {
                    // Numbered as they move: one pass over a packet, not a pass and a copy.
                    batch.readings.extend(readings.into_iter().map(|mut r| {
                        r.id = *next;
                        *next += 1;
                        r
                    }));
                }
            }
            Payload::CrewReport(report) => {
                let mut report = *report;
                report.id = self.next_report;
                self.next_report += 1;
                pending.batch.crew_reports.push(report);
            }
        }
    }

    /// Takes `packet` and what else the mailbox holds now, up to a batch; hands the batch over
    /// once full. Fails when the writer has gone.
    async fn receive(
        &mut self,
        packet: Payload,
        rx: &mut mpsc::Receiver<Payload>,
    ) -> Result<Started, ()> {
        let was_empty = self.pending.batch.is_empty();
        self.take(packet);
        while self.pending.batch.len() < self.batch_size {
            match rx.try_recv() {
                Ok(p) => self.take(p),
                Err(_) => break,
            }
        }
        if self.pending.batch.len() >= self.batch_size {
            self.hand_over().await?;
            Ok(Started::Nothing)
        } else if was_empty {
            Ok(Started::Batch)
        } else {
            Ok(Started::Nothing)
        }
    }

    /// Takes every packet already in the mailbox, sending each batch that fills to the writer.
    /// Fails when the writer has gone.
    async fn drain(&mut self, rx: &mut mpsc::Receiver<Payload>) -> Result<(), ()> {
        while let Ok(p) = rx.try_recv() {
            self.take(p);
            if self.pending.batch.len() >= self.batch_size {
                self.hand_over().await?;
            }
        }
        Ok(())
    }

    /// Hands what is pending to the writer as one write.
    async fn hand_over(&mut self) -> Result<(), ()> {
        let write = self.cut();
        hand_over(&self.writer, write).await
    }

    /// Hands the last rows over, if any, and closes the writer channel.
    async fn finish(mut self) {
        if !self.pending.batch.is_empty() {
            let last = self.replace_pending(Vec::new());
            let _ = hand_over(&self.writer, last).await;
        }
    }
}

/// The rows the collector has numbered and not yet handed to the writer.
struct Pending {
    batch: Batch,
    /// The origins of the agents' readings among them, in id order.
    origins: Vec<Origin>,
}

impl Pending {
    /// Nothing pending, the readings to go in `readings` (empty).
    fn new(readings: Vec<Reading>) -> Pending {
        Pending {
            batch: Batch {
                readings,
                crew_reports: Vec::new(),
            },
            origins: Vec::new(),
        }
    }
}

/// Gives a write to the writer; fails (and says so) when the writer has gone.
async fn hand_over(writer: &mpsc::Sender<Write>, write: Write) -> Result<(), ()> {
    writer.send(write).await.map_err(|_| {
        tracing::error!(target: "store", "the store writer task has gone; stopping");
    })
}

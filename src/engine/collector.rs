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
use super::stats::Histogram;
use super::{EngineError, Event};
use crate::store::{Batch, Counts, Store, StoreError};

/// Packets the collector's mailbox holds before deliveries wait.
pub const MAILBOX: usize = 256;
/// Batches waiting for the writer before the collector stops receiving.
pub const WRITE_QUEUE: usize = 4;
/// First retry delay of a failed write; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(20);
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Rows stored so far in this run, whether the store is failing now, and how long each
/// `Store::append` call took (failed attempts included).
#[derive(Debug, Default)]
pub struct Stored {
    pub readings: AtomicU64,
    pub crew_reports: AtomicU64,
    pub failing: AtomicBool,
    pub writes: Histogram,
}

impl Stored {
    pub fn rows(&self) -> u64 {
        self.readings.load(Ordering::Relaxed) + self.crew_reports.load(Ordering::Relaxed)
    }
}

/// Opens the store, or takes the injected one.
pub fn open_store(url: &str, store: Option<Box<dyn Store>>) -> Result<Box<dyn Store>, EngineError> {
    match store {
        Some(s) => Ok(s),
        None => crate::store::open(url).map_err(EngineError::Store),
    }
}

/// The writer task: owns the store; each write runs on tokio's blocking pool (so a slow disk or
/// database never stalls the async workers, and tests on the paused clock do not see time jump
/// while a write is under way). A failed write is retried with backoff, keeping the batch; the
/// stored rows are then published, or, with `skip_rows`, freed on the blocking thread. Returns the
/// store's final counts once closed.
pub async fn writer_task(
    mut store: Box<dyn Store>,
    mut rx: mpsc::Receiver<Batch>,
    stored: Arc<Stored>,
    publisher: Arc<Publisher>,
    skip_rows: bool,
) -> Result<Counts, StoreError> {
    let gone = |e: tokio::task::JoinError| StoreError(format!("the store failed: {e}"));
    while let Some(mut batch) = rx.recv().await {
        // Group commit: batches that queued up while the last write ran go in the same write
        // (ids stay in order). A slow store thus gets bigger, cheaper transactions instead of
        // falling further behind; memory stays bounded by the queue.
        while let Ok(more) = rx.try_recv() {
            batch.readings.extend(more.readings);
            batch.crew_reports.extend(more.crew_reports);
        }
        let (readings, crew_reports) = (batch.readings.len(), batch.crew_reports.len());
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1u32;
        loop {
            let (s, b, result, took) = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let r = store.append(&batch);
                let took = started.elapsed();
                // Rows the watcher does not want are freed here, off the async workers.
                let batch = if r.is_ok() && skip_rows {
                    Batch::default()
                } else {
                    batch
                };
                (store, batch, r, took)
            })
            .await
            .map_err(gone)?;
            store = s;
            batch = b;
            stored.writes.record(took);
            match result {
                Ok(()) => break,
                Err(e) => {
                    let msg = crate::text::sanitize(&e.to_string());
                    tracing::warn!(
                        target: "store",
                        "write of {} rows failed (attempt {attempt}), retrying in {} ms: {msg}",
                        readings + crew_reports,
                        backoff.as_millis()
                    );
                    stored.failing.store(true, Ordering::Relaxed);
                    publisher.publish(Event::Store {
                        rows: stored.rows(),
                        failing: Some(msg),
                    });
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
            }
        }
        stored
            .readings
            .fetch_add(readings as u64, Ordering::Relaxed);
        stored
            .crew_reports
            .fetch_add(crew_reports as u64, Ordering::Relaxed);
        if stored.failing.swap(false, Ordering::Relaxed) {
            tracing::info!(target: "store", "store writes succeed again after {attempt} attempts");
            publisher.publish(Event::Store {
                rows: stored.rows(),
                failing: None,
            });
        }
        let Batch {
            readings,
            crew_reports,
        } = batch;
        publisher.publish(Event::Readings(readings));
        publisher.publish(Event::CrewReports(crew_reports));
    }
    tokio::task::spawn_blocking(move || {
        let counts = store.counts()?;
        store.close()?;
        Ok(counts)
    })
    .await
    .map_err(gone)?
}

/// The collector task: runs until `finish` fires (sent once every producer has ended, so every
/// packet is already in the mailbox) or the mailbox closes; then it takes what is left, flushes
/// the last batch and closes the writer channel. A partial batch is written `flush_after` after
/// its first row, or as soon as `sensors_stopped` says the last running sensor has ended.
pub async fn run(
    mut rx: mpsc::Receiver<Payload>,
    mut finish: oneshot::Receiver<()>,
    writer: mpsc::Sender<Batch>,
    counts: Counts,
    batch_size: usize,
    flush_after: Duration,
    sensors_stopped: Arc<Notify>,
) {
    let batch_size = batch_size.max(1);
    let mut next_reading = counts.last_reading_id + 1;
    let mut next_report = counts.last_crew_report_id + 1;
    let mut batch = empty(batch_size);
    let flush = tokio::time::sleep(flush_after);
    tokio::pin!(flush);
    let stopped = sensors_stopped.notified();
    tokio::pin!(stopped);
    let mut take = |payload: Payload, batch: &mut Batch| match payload {
        Payload::Readings(mut readings) => {
            for r in &mut readings {
                r.id = next_reading;
                next_reading += 1;
            }
            if batch.readings.is_empty() && readings.len() >= batch_size {
                batch.readings = readings;
            } else {
                batch.readings.append(&mut readings);
            }
        }
        Payload::CrewReport(mut report) => {
            report.id = next_report;
            next_report += 1;
            batch.crew_reports.push(report);
        }
    };
    loop {
        tokio::select! {
            biased;
            packet = rx.recv() => {
                let Some(packet) = packet else { break };
                let was_empty = batch.is_empty();
                take(packet, &mut batch);
                while batch.len() < batch_size {
                    match rx.try_recv() {
                        Ok(p) => take(p, &mut batch),
                        Err(_) => break,
                    }
                }
                if batch.len() >= batch_size {
                    let full = std::mem::replace(&mut batch, empty(batch_size));
                    if hand_over(&writer, full).await.is_err() {
                        return;
                    }
                } else if was_empty {
                    flush.as_mut().reset(tokio::time::Instant::now() + flush_after);
                }
            }
            _ = &mut finish => {
                if drain(&mut rx, &mut take, &mut batch, &writer, batch_size).await.is_err() {
                    return;
                }
                break;
            }
            _ = &mut stopped => {
                // Every packet the sensors sent is in the mailbox by now.
                stopped.set(sensors_stopped.notified());
                if drain(&mut rx, &mut take, &mut batch, &writer, batch_size).await.is_err() {
                    return;
                }
                let part = std::mem::replace(&mut batch, empty(batch_size));
                if !part.is_empty() && hand_over(&writer, part).await.is_err() {
                    return;
                }
            }
            _ = &mut flush, if !batch.is_empty() => {
                let part = std::mem::replace(&mut batch, empty(batch_size));
                if hand_over(&writer, part).await.is_err() {
                    return;
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = hand_over(&writer, batch).await;
    }
}

fn empty(batch_size: usize) -> Batch {
    Batch {
        readings: Vec::with_capacity(batch_size),
        crew_reports: Vec::new(),
    }
}

/// Takes every packet already in the mailbox, sending each batch that fills to the writer.
/// Fails when the writer has gone.
async fn drain(
    rx: &mut mpsc::Receiver<Payload>,
    take: &mut impl FnMut(Payload, &mut Batch),
    batch: &mut Batch,
    writer: &mpsc::Sender<Batch>,
    batch_size: usize,
) -> Result<(), ()> {
    while let Ok(p) = rx.try_recv() {
        take(p, batch);
        if batch.len() >= batch_size {
            hand_over(writer, std::mem::replace(batch, empty(batch_size))).await?;
        }
    }
    Ok(())
}

/// Gives a batch to the writer; fails (and says so) when the writer has gone.
async fn hand_over(writer: &mpsc::Sender<Batch>, batch: Batch) -> Result<(), ()> {
    writer.send(batch).await.map_err(|_| {
        tracing::error!(target: "store", "the store writer task has gone; stopping");
    })
}

//! The collector: receives packets from the network (releasing their permits), numbers the rows
//! with strictly increasing ids, batches them and hands the batches to the writer, a dedicated
//! thread that owns the store. The writer channel holds [`WRITE_QUEUE`] batches; when it is full
//! the collector stops receiving, the permits stay taken, and producers wait on the semaphore:
//! backpressure, never a drop. A failed write is retried with backoff, keeping the batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::network::{Packet, Payload};
use super::publisher::Publisher;
use super::{EngineError, Event};
use crate::store::{Batch, Counts, Store, StoreError};

/// Batches waiting for the writer before the collector stops receiving.
pub const WRITE_QUEUE: usize = 4;
/// First retry delay of a failed write; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(20);
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Rows stored so far in this run, and whether the store is failing now.
#[derive(Debug, Default)]
pub struct Stored {
    pub readings: AtomicU64,
    pub crew_reports: AtomicU64,
    pub failing: AtomicBool,
}

impl Stored {
    pub fn rows(&self) -> u64 {
        self.readings.load(Ordering::Relaxed) + self.crew_reports.load(Ordering::Relaxed)
    }
}

/// The writer thread: owns the store from open to close.
pub struct Writer {
    pub tx: mpsc::Sender<Batch>,
    /// The store's final counts and the close result, when the channel closes.
    pub done: oneshot::Receiver<Result<Counts, StoreError>>,
    pub counts: Counts,
    pub url: String,
}

/// Opens the store on a new thread (so a store may block or run its own runtime) and waits for
/// the result. `store` is used instead of opening `url` when given (tests).
pub fn start_writer(
    url: &str,
    store: Option<Box<dyn Store>>,
    stored: Arc<Stored>,
    publisher: Arc<Publisher>,
) -> Result<Writer, EngineError> {
    let (tx, mut rx) = mpsc::channel::<Batch>(WRITE_QUEUE);
    let (done_tx, done) = oneshot::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let url = url.to_string();
    let thread_url = url.clone();
    std::thread::Builder::new()
        .name("wallwatch-store".into())
        .spawn(move || {
            let opened = match store {
                Some(s) => Ok(s),
                None => crate::store::open(&thread_url),
            };
            let mut store = match opened.and_then(|mut s| s.counts().map(|c| (s, c))) {
                Ok((s, counts)) => {
                    let _ = ready_tx.send(Ok((counts, s.url().to_string())));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            while let Some(batch) = rx.blocking_recv() {
                write_with_retry(store.as_mut(), &batch, &stored, &publisher);
                let Batch {
                    readings,
                    crew_reports,
                } = batch;
                publisher.publish(Event::Readings(readings));
                publisher.publish(Event::CrewReports(crew_reports));
            }
            let result = store.counts().and_then(|c| store.close().map(|()| c));
            let _ = done_tx.send(result);
        })
        .map_err(|e| EngineError::Internal(format!("cannot start the store thread: {e}")))?;
    match ready_rx.recv() {
        Ok(Ok((counts, opened_url))) => Ok(Writer {
            tx,
            done,
            counts,
            url: opened_url,
        }),
        Ok(Err(e)) => Err(EngineError::Store(e)),
        Err(_) => Err(EngineError::Internal(format!(
            "store '{url}': the store thread ended"
        ))),
    }
}

fn write_with_retry(store: &mut dyn Store, batch: &Batch, stored: &Stored, publisher: &Publisher) {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1u32;
    loop {
        match store.append(batch) {
            Ok(()) => break,
            Err(e) => {
                let msg = crate::config::printable(&e.to_string());
                tracing::warn!(
                    target: "store",
                    "write of {} rows failed (attempt {attempt}), retrying in {} ms: {msg}",
                    batch.len(),
                    backoff.as_millis()
                );
                stored.failing.store(true, Ordering::Relaxed);
                publisher.publish(Event::Store {
                    rows: stored.rows(),
                    failing: Some(msg),
                });
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
        }
    }
    stored
        .readings
        .fetch_add(batch.readings.len() as u64, Ordering::Relaxed);
    stored
        .crew_reports
        .fetch_add(batch.crew_reports.len() as u64, Ordering::Relaxed);
    if stored.failing.swap(false, Ordering::Relaxed) {
        tracing::info!(target: "store", "store writes succeed again after {attempt} attempts");
        publisher.publish(Event::Store {
            rows: stored.rows(),
            failing: None,
        });
    }
}

/// The collector task: runs until `finish` fires (sent once every producer has ended, so every
/// packet is already in the channel) or the channel closes; then it takes what is left, flushes
/// the last batch and closes the writer channel.
pub async fn run(
    mut rx: mpsc::Receiver<Packet>,
    mut finish: oneshot::Receiver<()>,
    writer: mpsc::Sender<Batch>,
    counts: Counts,
    batch_size: usize,
    flush_after: Duration,
) {
    let batch_size = batch_size.max(1);
    let mut next_reading = counts.last_reading_id + 1;
    let mut next_report = counts.last_crew_report_id + 1;
    let mut batch = Batch {
        readings: Vec::with_capacity(batch_size),
        crew_reports: Vec::new(),
    };
    let flush = tokio::time::sleep(flush_after);
    tokio::pin!(flush);
    let mut take = |packet: Packet, batch: &mut Batch| {
        let Packet { payload, ticket } = packet;
        // Received: the permits go back now.
        drop(ticket);
        match payload {
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
                    let full = std::mem::replace(
                        &mut batch,
                        Batch { readings: Vec::with_capacity(batch_size), crew_reports: Vec::new() },
                    );
                    if writer.send(full).await.is_err() {
                        tracing::error!(target: "store", "the store thread has gone; stopping");
                        return;
                    }
                } else if was_empty {
                    flush.as_mut().reset(tokio::time::Instant::now() + flush_after);
                }
            }
            _ = &mut finish => {
                while let Ok(p) = rx.try_recv() {
                    take(p, &mut batch);
                    if batch.len() >= batch_size {
                        let full = std::mem::take(&mut batch);
                        if writer.send(full).await.is_err() {
                            tracing::error!(target: "store", "the store thread has gone; stopping");
                            return;
                        }
                    }
                }
                break;
            }
            _ = &mut flush, if !batch.is_empty() => {
                let part = std::mem::replace(
                    &mut batch,
                    Batch { readings: Vec::with_capacity(batch_size), crew_reports: Vec::new() },
                );
                if writer.send(part).await.is_err() {
                    tracing::error!(target: "store", "the store thread has gone; stopping");
                    return;
                }
            }
        }
    }
    if !batch.is_empty() && writer.send(batch).await.is_err() {
        tracing::error!(target: "store", "the store thread has gone before the last batch");
    }
}

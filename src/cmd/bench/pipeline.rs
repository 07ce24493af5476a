//! `wallwatch bench pipeline`: readings per second end to end (sensors → network → collector →
//! store) at `--speed max` with the semaphore enforced, against the same store kind's raw batched
//! insert rate, measured in the same run.
//!
//! End to end: from the engine's start until the store has every reading (the drain that follows
//! is not timed). Raw: `Store::append` of batches as large as the engine's writes were on average
//! (the collector's batch size, or more when queued batches were merged), built beforehand
//! (only the calls are timed), into a fresh store of the same kind: `memory:`; for `sqlite:PATH`
//! and `csv:PATH` a temporary file next to PATH (`PATH.raw-bench`, removed afterwards); any other
//! URL (PostgreSQL) is appended to as given, ids continuing after its rows.
//!
//! Minimal pipeline: the least any engine under the same rules must do, also in the same run:
//! one task per sensor making packets of `limit` readings (a name, a timestamp and a value each,
//! nothing else), one tokio `Semaphore` of `limit` permits held by each packet until it is in a
//! bounded mailbox, a collector task numbering the readings into batches of the raw measurement's
//! size, and a writer thread calling `Store::append` on a fresh store exactly as the raw
//! measurement does. No clock, counters, events, retries or logging. Its rate is an upper bound
//! for the engine on this machine: if it is below the target, no engine reaches the target here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};

use crate::cmd::progress::{self, Progress};
use crate::config::Config;
use crate::config::cli::PipelineArgs;
use crate::engine::collector::MAILBOX;
use crate::engine::{Engine, Latency, StartOptions};
use crate::sensors::Reading;
use crate::store::{self, Batch, Store};
use crate::units::Speed;

/// The figures of the run with the median ratio (of `runs`), and every run's rates.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineResult {
    pub readings_per_s: f64,
    pub raw_per_s: f64,
    pub ratio: f64,
    /// Readings per second through the minimal pipeline (see the module docs); measured only
    /// without latency, where the engine's own cost is what the ratio shows.
    pub minimal_per_s: Option<f64>,
    /// The engine's rate over the minimal pipeline's, the median over every run (not only the
    /// median-ratio run's): the per-reading target (≥ 0.8 with `memory:`).
    pub engine_per_minimal: Option<f64>,
    pub store: String,
    pub sensors: usize,
    pub readings: u64,
    pub network_limit: usize,
    pub latency: String,
    pub batch_size: usize,
    /// `Store::append` calls the engine made (merged batches count once).
    pub writes: u64,
    /// Rows per append in the raw measurement: the engine's mean, at least `batch_size`.
    pub rows_per_write: usize,
    pub max_in_flight: usize,
    pub seconds: f64,
    pub raw_seconds: f64,
    /// `limit / mean latency` in readings per second, when there is latency.
    pub latency_bound_per_s: Option<f64>,
    pub runs: usize,
    /// Every run in order: end to end and raw measured side by side, and their ratio.
    pub samples: Vec<Sample>,
}

/// One run: the engine end to end, then the raw appends right after it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub readings_per_s: f64,
    pub raw_per_s: f64,
    pub ratio: f64,
    pub minimal_per_s: Option<f64>,
    pub engine_per_minimal: Option<f64>,
}

/// Runs the benchmark `--runs` times on its own runtime each time, each run pairing the engine
/// with the raw appends right after it, and reports the run with the median ratio (the lower
/// one of the middle two for an even count): the machines are noisy, one run is not a figure.
pub fn run(args: &PipelineArgs) -> Result<PipelineResult, String> {
    let latency = Latency::parse(&args.latency).map_err(|e| format!("--latency: {e}"))?;
    if args.readings == 0 || args.sensors == 0 {
        return Err("--readings and --sensors must be positive".into());
    }
    let runs = args.runs.max(1);
    let mut results = (0..runs)
        .map(|i| {
            let label = format!("run {} of {runs}", i + 1);
            let progress = Progress::count(
                progress::wanted(args.json),
                &label,
                "readings",
                Some(args.readings),
            );
            run_once(args, latency, &progress)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let samples: Vec<Sample> = results
        .iter()
        .map(|r| Sample {
            readings_per_s: r.readings_per_s,
            raw_per_s: r.raw_per_s,
            ratio: r.ratio,
            minimal_per_s: r.minimal_per_s,
            engine_per_minimal: r.engine_per_minimal,
        })
        .collect();
    let per_minimal: Option<Vec<f64>> = samples.iter().map(|s| s.engine_per_minimal).collect();
    results.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    let mut median = results.swap_remove((results.len() - 1) / 2);
    median.engine_per_minimal = per_minimal.map(median_of);
    median.runs = samples.len();
    median.samples = samples;
    Ok(median)
}

/// The median (the lower of the middle two for an even count), as the runs are reported.
fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

/// One run; `progress` counts the readings the engine has stored (not the raw appends after).
fn run_once(
    args: &PipelineArgs,
    latency: Latency,
    progress: &Progress,
) -> Result<PipelineResult, String> {
    let mut config = Config::example();
    config.engine.store = args
        .store
        .parse()
        .map_err(|e: store::StoreError| e.to_string())?;
    config.engine.sensors = args.sensors;
    config.engine.sensor_kinds = vec!["default".into()];
    config.engine.network_limit = args.network_limit;
    config.engine.latency = latency;
    config.engine.speed = Speed::Max;
    config.engine.max_readings = Some(args.readings);
    let runtime = crate::runtime::site()?;
    let (seconds, max_in_flight, store_url, writes) = runtime.block_on(async {
        let started = Instant::now();
        // Like a headless run: the watcher counts, it is not sent every row.
        let options = StartOptions {
            skip_rows: true,
            ..StartOptions::default()
        };
        let (engine, mut events) = Engine::start_with(&config.engine, options)
            .await
            .map_err(|e| e.to_string())?;
        let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
        loop {
            let stored = engine.counters().readings_stored;
            progress.set(stored);
            if stored >= args.readings {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        progress.clear();
        let seconds = started.elapsed().as_secs_f64();
        let writes = engine.write_stats().count();
        let summary = engine.shutdown().await.map_err(|e| e.to_string())?;
        let _ = drain.await;
        Ok::<_, String>((
            seconds,
            summary.network.max_in_flight,
            summary.store,
            writes,
        ))
    })?;
    drop(runtime);
    // The collector merges batches that queue behind a slow write (group commit), so the raw
    // rate is measured with the rows per write the engine actually made (at least the batch
    // size): the same transactions, without the engine.
    let rows_per_write =
        (args.readings / writes.max(1)).max(config.engine.batch_size as u64) as usize;
    let raw_seconds = with_fresh_store(&store_url, |store| {
        raw(store, args.sensors, args.readings, rows_per_write)
    })?;
    let minimal_per_s = if latency.is_zero() {
        let m = with_fresh_store(&store_url, |store| {
            minimal(store, &config, args.readings, rows_per_write)
        })?;
        Some(m.stored as f64 / m.seconds)
    } else {
        None
    };
    let readings_per_s = args.readings as f64 / seconds;
    let raw_per_s = args.readings as f64 / raw_seconds;
    let mean = latency.mean();
    Ok(PipelineResult {
        readings_per_s,
        raw_per_s,
        ratio: readings_per_s / raw_per_s,
        minimal_per_s,
        engine_per_minimal: minimal_per_s.map(|m| readings_per_s / m),
        store: store_url,
        sensors: args.sensors,
        readings: args.readings,
        network_limit: args.network_limit,
        latency: latency.to_string(),
        batch_size: config.engine.batch_size,
        writes,
        rows_per_write,
        max_in_flight,
        seconds,
        raw_seconds,
        latency_bound_per_s: (!mean.is_zero())
            .then(|| args.network_limit as f64 / mean.as_secs_f64()),
        runs: 1,
        samples: Vec::new(),
    })
}

/// What the minimal pipeline did: its time, and the rows it added to its store.
struct Minimal {
    seconds: f64,
    stored: u64,
}

/// Runs the minimal pipeline (see the module docs) for `readings` readings (rounded up to whole
/// packets) into `store`, numbering on from the rows it holds, on its own runtime like the
/// engine. Timed from the first producer to the store's close.
fn minimal(
    mut store: Box<dyn Store>,
    config: &Config,
    readings: u64,
    batch_size: usize,
) -> Result<Minimal, String> {
    let before = store.counts().map_err(|e| e.to_string())?;
    let first_id = before.last_reading_id;
    let runtime = crate::runtime::site()?;
    let limit = config.engine.network_limit.max(1);
    let (writes, mut to_write) = mpsc::channel::<Batch>(2);
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        while let Some(batch) = to_write.blocking_recv() {
            store.append(&batch)?;
        }
        let counts = store.counts()?;
        store.close()?;
        Ok::<_, store::StoreError>(counts)
    });
    runtime.block_on(async {
        let permits = Arc::new(Semaphore::new(limit));
        let (mailbox, packets) = mpsc::channel::<Vec<Reading>>(MAILBOX);
        let left = Arc::new(AtomicU64::new(readings.div_ceil(limit as u64)));
        let epoch = Utc::now();
        for sensor in 0..config.engine.sensors {
            let (permits, mailbox, left) = (permits.clone(), mailbox.clone(), left.clone());
            tokio::spawn(minimal_sensor(sensor, epoch, limit, permits, mailbox, left));
        }
        drop(mailbox);
        let collector = tokio::spawn(minimal_collector(packets, writes, first_id, batch_size));
        let _ = collector.await;
    });
    let counts = writer
        .join()
        .map_err(|_| "the minimal pipeline's writer panicked".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(Minimal {
        seconds: started.elapsed().as_secs_f64(),
        stored: counts.readings - before.readings,
    })
}

/// One sensor of the minimal pipeline: while packets are `left`, makes a packet of one reading
/// per permit, holds the permits until the packet is in the mailbox, then gives them back.
async fn minimal_sensor(
    sensor: usize,
    epoch: DateTime<Utc>,
    limit: usize,
    permits: Arc<Semaphore>,
    mailbox: mpsc::Sender<Vec<Reading>>,
    left: Arc<AtomicU64>,
) {
    let name = format!("sensor-{sensor}");
    let mut made = 0i64;
    let claim = |n: u64| n.checked_sub(1);
    while left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, claim)
        .is_ok()
    {
        let packet = (0..limit)
            .map(|_| {
                made += 1;
                Reading {
                    id: 0,
                    timestamp: epoch + TimeDelta::seconds(5 * made),
                    sensor: name.clone(),
                    value: ((made + sensor as i64) % 201) as i32 - 100,
                    stored_at: None,
                }
            })
            .collect();
        let Ok(taken) = permits.acquire_many(limit as u32).await else {
            return;
        };
        taken.forget();
        let sent = mailbox.send(packet).await;
        permits.add_permits(limit);
        if sent.is_err() {
            return;
        }
    }
}

/// The minimal pipeline's collector: numbers readings on from `first_id` into batches of
/// `batch_size` for the writer.
async fn minimal_collector(
    mut packets: mpsc::Receiver<Vec<Reading>>,
    writes: mpsc::Sender<Batch>,
    first_id: u64,
    batch_size: usize,
) {
    let mut id = first_id;
    let empty = || Batch {
        readings: Vec::with_capacity(batch_size),
        crew_reports: Vec::new(),
    };
    let mut batch = empty();
    while let Some(packet) = packets.recv().await {
        for mut reading in packet {
            id += 1;
            reading.id = id;
            batch.readings.push(reading);
        }
        if batch.readings.len() >= batch_size {
            let _ = writes.send(std::mem::replace(&mut batch, empty())).await;
        }
    }
    if !batch.is_empty() {
        let _ = writes.send(batch).await;
    }
}

/// Runs `measure` on a fresh store of the same kind as `url` (see the module docs), removing
/// its files before and after.
fn with_fresh_store<T>(
    url: &str,
    measure: impl FnOnce(Box<dyn Store>) -> Result<T, String>,
) -> Result<T, String> {
    let (fresh, files) = fresh_url(url);
    let remove = || {
        for f in &files {
            let _ = std::fs::remove_file(f);
        }
    };
    remove();
    let result = store::open(&fresh)
        .map_err(|e| e.to_string())
        .and_then(measure);
    remove();
    result
}

/// A fresh store of the same kind as `url`, and the files to remove afterwards.
fn fresh_url(url: &str) -> (String, Vec<String>) {
    for scheme in ["sqlite:", "csv:"] {
        if let Some(path) = url.strip_prefix(scheme) {
            let tmp = format!("{path}.raw-bench");
            let files = ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(|s| format!("{tmp}{s}"))
                .collect();
            return (format!("{scheme}{tmp}"), files);
        }
    }
    (url.to_string(), Vec::new())
}

/// Seconds spent in `Store::append` writing `readings` rows in batches of `batch_size` into
/// `store`, numbering on from the rows it holds.
fn raw(
    mut store: Box<dyn Store>,
    sensors: usize,
    readings: u64,
    batch_size: usize,
) -> Result<f64, String> {
    let mut id = store.counts().map_err(|e| e.to_string())?.last_reading_id;
    let names: Vec<String> = (1..=sensors).map(|i| format!("sensor-{i}")).collect();
    let now = Utc::now();
    let mut spent = Duration::ZERO;
    let mut left = readings;
    let mut batch = Batch::default();
    while left > 0 {
        let n = left.min(batch_size as u64);
        batch.readings.clear();
        for _ in 0..n {
            id += 1;
            batch.readings.push(Reading {
                id,
                timestamp: now,
                sensor: names[(id as usize) % sensors].clone(),
                value: (id % 201) as i32 - 100,
                stored_at: None,
            });
        }
        let t = Instant::now();
        store.append(&batch).map_err(|e| e.to_string())?;
        spent += t.elapsed();
        left -= n;
    }
    let t = Instant::now();
    store.close().map_err(|e| e.to_string())?;
    spent += t.elapsed();
    Ok(spent.as_secs_f64())
}

/// The whole `bench pipeline` command.
pub fn main(args: &PipelineArgs) -> crate::cmd::Outcome {
    super::print_result(args.json, run(args), |r| {
        println!(
            "pipeline {}: {} sensors, {} readings, network limit {}, latency {}, batch {}",
            r.store, r.sensors, r.readings, r.network_limit, r.latency, r.batch_size
        );
        println!(
            "end to end  {:>12.0} readings/s  ({:.3} s, max in flight {})",
            r.readings_per_s, r.seconds, r.max_in_flight
        );
        println!(
            "raw append  {:>12.0} rows/s      ({:.3} s, {} rows per append; the engine made {} appends)",
            r.raw_per_s, r.raw_seconds, r.rows_per_write, r.writes
        );
        println!("ratio       {:>12.3}", r.ratio);
        if let Some(minimal) = r.minimal_per_s {
            println!(
                "minimal     {:>12.0} readings/s  ({:.3} of raw: the least any engine must do, an upper bound here)",
                minimal,
                minimal / r.raw_per_s
            );
        }
        if let Some(e) = r.engine_per_minimal {
            println!(
                "engine ÷ minimal {e:.3} (median of {} runs; the per-reading target is ≥ 0.8)",
                r.runs
            );
        }
        if r.runs > 1 {
            let ratios: Vec<String> = r
                .samples
                .iter()
                .map(|s| format!("{:.3}", s.ratio))
                .collect();
            println!(
                "(the run with the median ratio of {}: {})",
                r.runs,
                ratios.join(" ")
            );
        }
        if let Some(bound) = r.latency_bound_per_s {
            println!(
                "latency bound limit/L {:.1} readings/s; achieved {:.3} of it",
                bound,
                r.readings_per_s / bound
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimal pipeline stores every reading it makes (whole packets), numbered on from the
    /// rows its store already holds, and counts only its own rows.
    #[test]
    fn the_minimal_pipeline_stores_every_reading() {
        let mut config = Config::example();
        config.engine.sensors = 50;
        config.engine.network_limit = 5;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        let mut store = store::open(&url).unwrap();
        // Rows from an earlier run, as a PostgreSQL store has them.
        raw(store::open(&url).unwrap(), 7, 300, 64).unwrap();
        let m = minimal(store::open(&url).unwrap(), &config, 10_003, 1000).unwrap();
        assert!(m.seconds > 0.0);
        assert_eq!(m.stored, 10_005, "2,001 packets of 5");
        let counts = store.counts().unwrap();
        assert_eq!((counts.readings, counts.last_reading_id), (10_305, 10_305));
    }

    /// The raw and minimal measurements of a file store run on a fresh file next to it, which
    /// is removed afterwards; the store given is left alone.
    #[test]
    fn a_fresh_store_leaves_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        let stored = with_fresh_store(&url, |store| {
            let config = Config::example();
            minimal(store, &config, 500, 64).map(|m| m.stored)
        });
        assert_eq!(stored, Ok(500));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

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
//! Network alone: the same number of messages through the engine's [`Network`] with nothing else,
//! also in the same run: one task per sensor sending packets of `limit` messages that carry no
//! rows into the collector's mailbox, and a receiver that only takes them. That rate is the most
//! any engine built on this network reaches on the machine, whatever its store.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;

use crate::cli::PipelineArgs;
use crate::config::Config;
use crate::engine::network::{Network, Payload};
use crate::engine::{Engine, Latency, NetworkStats, Speed, StartOptions};
use crate::sensors::Reading;
use crate::store::{self, Batch};

/// The figures of the run with the median ratio (of `runs`), and every run's rates.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineResult {
    pub readings_per_s: f64,
    pub raw_per_s: f64,
    pub ratio: f64,
    /// Messages per second through the network alone (no sensors, collector or store).
    pub network_per_s: f64,
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
    pub network_per_s: f64,
}

/// Runs the benchmark `--runs` times on its own runtime each time, each run pairing the engine
/// with the raw appends right after it, and reports the run with the median ratio (the lower
/// one of the middle two for an even count): the machines are noisy, one run is not a figure.
pub fn run(args: &PipelineArgs) -> Result<PipelineResult, String> {
    let latency = Latency::parse(&args.latency).map_err(|e| format!("--latency: {e}"))?;
    if args.readings == 0 || args.sensors == 0 {
        return Err("--readings and --sensors must be positive".into());
    }
    let mut results = (0..args.runs.max(1))
        .map(|_| run_once(args, latency))
        .collect::<Result<Vec<_>, _>>()?;
    let samples: Vec<Sample> = results
        .iter()
        .map(|r| Sample {
            readings_per_s: r.readings_per_s,
            raw_per_s: r.raw_per_s,
            ratio: r.ratio,
            network_per_s: r.network_per_s,
        })
        .collect();
    results.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    let mut median = results.swap_remove((results.len() - 1) / 2);
    median.runs = samples.len();
    median.samples = samples;
    Ok(median)
}

fn run_once(args: &PipelineArgs, latency: Latency) -> Result<PipelineResult, String> {
    let mut config = Config::example();
    config.store = args.store.clone();
    config.sensors = args.sensors;
    config.sensor_kinds = vec!["default".into()];
    config.network_limit = args.network_limit;
    config.latency = latency;
    config.speed = Speed::Max;
    config.max_readings = Some(args.readings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (seconds, max_in_flight, store_url, writes, network_seconds) = runtime.block_on(async {
        let started = Instant::now();
        // Like a headless run: the watcher counts, it is not sent every row.
        let options = StartOptions {
            skip_rows: true,
            ..StartOptions::default()
        };
        let (engine, mut events) =
            Engine::start_with(&config, options).map_err(|e| e.to_string())?;
        let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
        while engine.counters().readings_stored < args.readings {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let writes = engine.write_stats().count();
        let summary = engine.shutdown().await.map_err(|e| e.to_string())?;
        let _ = drain.await;
        let (network_seconds, _) = network_alone(&config, args.readings).await;
        Ok::<_, String>((
            seconds,
            summary.network.max_in_flight,
            summary.store,
            writes,
            network_seconds,
        ))
    })?;
    drop(runtime);
    // The collector merges batches that queue behind a slow write (group commit), so the raw
    // rate is measured with the rows per write the engine actually made (at least the batch
    // size): the same transactions, without the engine.
    let rows_per_write = (args.readings / writes.max(1)).max(config.batch_size as u64) as usize;
    let raw_seconds = raw(&store_url, args.sensors, args.readings, rows_per_write)?;
    let readings_per_s = args.readings as f64 / seconds;
    let raw_per_s = args.readings as f64 / raw_seconds;
    let mean = latency.mean();
    Ok(PipelineResult {
        readings_per_s,
        raw_per_s,
        ratio: readings_per_s / raw_per_s,
        network_per_s: args.readings as f64 / network_seconds,
        store: store_url,
        sensors: args.sensors,
        readings: args.readings,
        network_limit: args.network_limit,
        latency: latency.to_string(),
        batch_size: config.batch_size,
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

/// Seconds for `messages` messages (rounded up to whole packets) to cross the network alone (see
/// the module docs), with the engine's sensor count, limit and latency, and the network's counters.
async fn network_alone(config: &Config, messages: u64) -> (f64, NetworkStats) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (network, mut packets) = Network::new(
        config.network_limit,
        config.latency,
        config.seed,
        None,
        crate::engine::collector::MAILBOX,
    );
    let network = Arc::new(network);
    let state = network.state();
    let per_packet = network.limit() as u64;
    let left = Arc::new(AtomicU64::new(messages.div_ceil(per_packet)));
    let started = Instant::now();
    for _ in 0..config.sensors {
        let (network, left) = (network.clone(), left.clone());
        tokio::spawn(async move {
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let empty = Payload::Readings(Vec::new());
                if network.send(empty, per_packet as usize).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(network);
    // A task like the collector (not this future, which runs outside the workers); the channel
    // closes when the last sender has finished.
    let receiver = tokio::spawn(async move { while packets.recv().await.is_some() {} });
    let _ = receiver.await;
    (started.elapsed().as_secs_f64(), state.stats())
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

/// Seconds spent in `Store::append` writing `readings` rows in batches of `batch_size`.
fn raw(url: &str, sensors: usize, readings: u64, batch_size: usize) -> Result<f64, String> {
    let (fresh, files) = fresh_url(url);
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    let result = (|| {
        let mut store = store::open(&fresh).map_err(|e| e.to_string())?;
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
    })();
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    result
}

/// The whole `bench pipeline` command.
pub fn main(args: &PipelineArgs) -> std::process::ExitCode {
    match run(args) {
        Ok(r) if args.json => {
            println!("{}", serde_json::to_string(&r).unwrap_or_default());
            std::process::ExitCode::SUCCESS
        }
        Ok(r) => {
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
            println!(
                "network alone {:>10.0} messages/s ({:.3} of raw: the most any engine on this network reaches here)",
                r.network_per_s,
                r.network_per_s / r.raw_per_s
            );
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
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", crate::text::sanitize(&e));
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The network-alone figure is real traffic: every message crosses the network, whole
    /// packets of `limit` messages, never more than the limit at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_network_alone_carries_every_message_within_the_limit() {
        let mut config = Config::example();
        config.sensors = 50;
        config.network_limit = 5;
        let (seconds, stats) = network_alone(&config, 10_003).await;
        assert!(seconds > 0.0);
        assert_eq!(stats.delivered, 10_005, "2,001 packets of 5");
        assert_eq!((stats.max_in_flight, stats.in_flight), (5, 0));
    }
}

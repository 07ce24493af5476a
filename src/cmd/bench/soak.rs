//! `wallwatch bench soak`: a long run at a fixed offered rate, watching for decay.
//!
//! The real engine at real-time pace: `--sensors` default sensors whose simulated interval (5 s)
//! maps to `sensors / rate` of real time through the speed factor (1000 sensors at 50,000
//! readings/s: speed 250, each sensor every 20 ms), latency 0, the network's semaphore enforced,
//! into SQLite (a temporary file unless `--store`). The dashboard's `App` takes every event and
//! the real `Renderer` draws it into a [`CountingBackend`] at most 10 times a second, with the
//! dashboard's logging (tui-logger) installed. Each interval (a minute by default) reports the
//! readings stored per second, the p99 store write (one `Store::append` per batch), the p99 frame
//! and the process's resident memory.

use std::time::Duration;

use ratatui::Terminal;
use serde::Serialize;
use tokio::time::Instant;

use crate::app::App;
use crate::app::theme::Palette;
use crate::cmd::bench::proc::rss_mb;
use crate::config::Config;
use crate::config::cli::SoakArgs;
use crate::engine::stats::{Histogram, Snapshot};
use crate::engine::{Engine, Latency, RunCounters};
use crate::sensors::SensorFactory;
use crate::term::counting::CountingBackend;
use crate::term::{FRAME, Renderer};
use crate::units::Speed;

/// One interval's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Minute {
    /// 1-based.
    pub minute: u32,
    /// Seconds since the start at the end of this interval.
    pub seconds: f64,
    pub readings_per_s: f64,
    pub produced_per_s: f64,
    pub batches: u64,
    pub p99_write_ms: Option<f64>,
    pub mean_write_ms: Option<f64>,
    pub frames: u64,
    pub p99_frame_us: Option<f64>,
    pub rss_mb: Option<f64>,
    /// Readings stored in this run so far.
    pub rows: u64,
}

/// The speed factor that makes `sensors` sensors reporting every `interval` of simulated time
/// offer `rate` readings per second of real time.
pub fn speed_for(rate: f64, sensors: usize, interval: Duration) -> Result<f64, String> {
    let speed = rate * interval.as_secs_f64() / sensors as f64;
    if speed.is_finite() && speed > 0.0 {
        Ok(speed)
    } else {
        Err(format!(
            "--rate {rate} with {sensors} sensors is not a pace (both must be positive)"
        ))
    }
}

/// How the last interval compares with the first: each figure's relative change, and whether
/// all are within the targets (10 % on rate, p99 write and p99 frame; RSS growth under 10 %).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub readings_per_s_change: f64,
    pub p99_write_change: Option<f64>,
    pub p99_frame_change: Option<f64>,
    pub rss_growth: Option<f64>,
    pub within_targets: bool,
}

pub fn verdict(first: &Minute, last: &Minute) -> Verdict {
    let change = |a: f64, b: f64| if a > 0.0 { (b - a) / a } else { 0.0 };
    let opt = |a: Option<f64>, b: Option<f64>| Some(change(a?, b?));
    let readings = change(first.readings_per_s, last.readings_per_s);
    let write = opt(first.p99_write_ms, last.p99_write_ms);
    let frame = opt(first.p99_frame_us, last.p99_frame_us);
    let rss = opt(first.rss_mb, last.rss_mb);
    // Only getting worse counts: fewer readings stored, slower writes or frames, more memory.
    let within = readings >= -0.10
        && write.is_none_or(|c| c <= 0.10)
        && frame.is_none_or(|c| c <= 0.10)
        && rss.is_none_or(|c| c < 0.10);
    Verdict {
        readings_per_s_change: readings,
        p99_write_change: write,
        p99_frame_change: frame,
        rss_growth: rss,
        within_targets: within,
    }
}

/// The store to use, and the files to remove afterwards.
fn store_url(args: &SoakArgs) -> (String, Vec<std::path::PathBuf>) {
    if let Some(url) = &args.store {
        return (url.clone(), Vec::new());
    }
    let path = std::env::temp_dir().join(format!("wallwatch-soak-{}.db", std::process::id()));
    let files = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| {
            let mut p = path.clone().into_os_string();
            p.push(s);
            p.into()
        })
        .collect();
    (format!("sqlite:{}", path.display()), files)
}

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1e3)
}

/// Runs the soak; `each` is told every interval as it ends.
pub fn run(args: &SoakArgs, mut each: impl FnMut(&Minute)) -> Result<Vec<Minute>, String> {
    if !(args.minutes.is_finite() && args.minutes > 0.0) {
        return Err(format!("--minutes {}: must be positive", args.minutes));
    }
    if !(args.report_every.is_finite() && args.report_every > 0.0) {
        return Err(format!(
            "--report-every {}: must be positive",
            args.report_every
        ));
    }
    let interval = SensorFactory::new(0)
        .make("default")
        .map_err(|e| e.to_string())?
        .interval();
    let speed = speed_for(args.rate as f64, args.sensors, interval)?;
    let (url, files) = store_url(args);
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    let mut config = Config::example();
    config.engine.store = url
        .parse()
        .map_err(|e: crate::store::StoreError| e.to_string())?;
    config.engine.sensors = args.sensors;
    config.engine.sensor_kinds = vec!["default".into()];
    config.engine.latency = Latency::Fixed(Duration::ZERO);
    config.engine.speed = Speed::Factor(speed);
    let runtime = crate::runtime::site()?;
    let result = runtime.block_on(soak(&config, args, speed, &mut each));
    drop(runtime);
    if !args.keep {
        for f in &files {
            let _ = std::fs::remove_file(f);
        }
    }
    result
}

/// The figures of each interval, against those at the end of the one before.
struct Meter {
    start: Instant,
    last_at: Instant,
    last_counts: RunCounters,
    last_writes: Snapshot,
    last_frames: Snapshot,
    minutes: Vec<Minute>,
}

impl Meter {
    fn new(engine: &Engine) -> Meter {
        let start = Instant::now();
        Meter {
            start,
            last_at: start,
            last_counts: engine.counters(),
            last_writes: Snapshot::default(),
            last_frames: Snapshot::default(),
            minutes: Vec::new(),
        }
    }

    /// Measures the interval that ends now and keeps it.
    fn interval(&mut self, engine: &Engine, frames: &Histogram) -> &Minute {
        let now = Instant::now();
        let secs = (now - self.last_at).as_secs_f64();
        let counts = engine.counters();
        let writes = engine.write_stats();
        let frame_snap = frames.snapshot();
        let w = writes.since(&self.last_writes);
        let f = frame_snap.since(&self.last_frames);
        let last = &self.last_counts;
        self.minutes.push(Minute {
            minute: self.minutes.len() as u32 + 1,
            seconds: (now - self.start).as_secs_f64(),
            readings_per_s: (counts.readings_stored - last.readings_stored) as f64 / secs,
            produced_per_s: (counts.readings_produced - last.readings_produced) as f64 / secs,
            batches: w.count(),
            p99_write_ms: ms(w.quantile(0.99)),
            mean_write_ms: ms(w.mean()),
            frames: f.count(),
            p99_frame_us: f.quantile(0.99).map(|d| d.as_secs_f64() * 1e6),
            rss_mb: rss_mb(),
            rows: counts.readings_stored,
        });
        (
            self.last_counts,
            self.last_writes,
            self.last_frames,
            self.last_at,
        ) = (counts, writes, frame_snap, now);
        self.minutes.last().expect("just pushed")
    }
}

/// The engine, the site and a dashboard drawing into a counting backend, measured every
/// interval until the end; then the drain, and the check that every reading was stored.
async fn soak(
    config: &Config,
    args: &SoakArgs,
    speed: f64,
    each: &mut impl FnMut(&Minute),
) -> Result<Vec<Minute>, String> {
    // The dashboard's logging: the log pane shows what the engine logs.
    let log = crate::term::init_dashboard_logging().ok();
    let (engine, events) = Engine::start(&config.engine)
        .await
        .map_err(|e| e.to_string())?;
    let (site, link) = crate::site::Site::start_local(events, log, engine.command_sender()).await?;
    let mut events = link.msgs;
    eprintln!(
        "soak: {} sensors at speed {speed} ({} readings/s offered), store {}, {} min",
        config.engine.sensors,
        args.rate,
        crate::text::sanitize(&config.engine.store.to_string()),
        args.minutes
    );
    let mut screen = Screen::new()?;
    let minutes = watch(&engine, &mut events, &mut screen, args, each).await?;
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
    let summary = engine.shutdown().await.map_err(|e| e.to_string())?;
    let _ = drain.await;
    site.finished().await;
    drop(link.commands);
    eprintln!(
        "soak: readings produced {} stored {}; {} frames, {} bytes drawn",
        crate::text::thousands(summary.readings.produced),
        crate::text::thousands(summary.readings.stored),
        screen.renderer.frames,
        crate::text::thousands(screen.terminal.backend().bytes()),
    );
    if summary.readings.produced != summary.readings.stored {
        return Err(format!(
            "{} readings produced but {} stored",
            summary.readings.produced, summary.readings.stored
        ));
    }
    Ok(minutes)
}

/// The dashboard the soak draws: its state, a counting terminal, the renderer and the frame
/// times.
struct Screen {
    app: App,
    terminal: Terminal<CountingBackend<std::io::Sink>>,
    renderer: Renderer,
    frames: Histogram,
}

impl Screen {
    fn new() -> Result<Screen, String> {
        Ok(Screen {
            app: App::new(Palette::Ansi256),
            terminal: Terminal::new(CountingBackend::new(std::io::sink(), 120, 40))
                .map_err(|e| format!("counting backend: {e}"))?,
            renderer: Renderer::new(),
            frames: Histogram::new(),
        })
    }

    fn draw(&mut self) -> Result<(), String> {
        let t = std::time::Instant::now();
        self.renderer
            .draw(&mut self.terminal, &mut self.app)
            .map_err(|e| format!("drawing: {e}"))?;
        self.frames.record(t.elapsed());
        Ok(())
    }
}

/// The dashboard's loop (every event applied, a frame at most every [`FRAME`] when something
/// changed) with a measurement every `--report-every` seconds, for `--minutes`.
async fn watch(
    engine: &Engine,
    events: &mut tokio::sync::mpsc::Receiver<crate::site::viewer::ViewerMsg>,
    screen: &mut Screen,
    args: &SoakArgs,
    each: &mut impl FnMut(&Minute),
) -> Result<Vec<Minute>, String> {
    let mut meter = Meter::new(engine);
    let end = meter.start + Duration::from_secs_f64(args.minutes * 60.0);
    let every = Duration::from_secs_f64(args.report_every);
    let mut next_report = meter.start + every;
    let mut frame_tick = tokio::time::interval(FRAME);
    frame_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = false;
    loop {
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(next_report) => {
                each(meter.interval(engine, &screen.frames));
                next_report += every;
                if next_report > end + Duration::from_millis(1) {
                    break;
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                dirty |= screen.app.apply(event);
                while let Ok(event) = events.try_recv() {
                    dirty |= screen.app.apply(event);
                }
                crate::term::record_log(&std::mem::take(&mut screen.app.new_log));
            }
            _ = frame_tick.tick(), if dirty => {
                screen.draw()?;
                dirty = false;
            }
        }
    }
    Ok(meter.minutes)
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// The whole `bench soak` command.
pub fn main(args: &SoakArgs) -> crate::cmd::Outcome {
    // With --json the table goes to stderr as it is made, and stdout gets only the JSON.
    let line = |text: String| {
        if args.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    {
        line(format!(
            "{:>6} {:>12} {:>12} {:>8} {:>13} {:>7} {:>13} {:>9}",
            "minute",
            "stored/s",
            "offered/s",
            "batches",
            "p99 write ms",
            "frames",
            "p99 frame µs",
            "RSS MB"
        ));
    }
    let print = |m: &Minute| {
        line(format!(
            "{:>6} {:>12.0} {:>12.0} {:>8} {:>13} {:>7} {:>13} {:>9}",
            m.minute,
            m.readings_per_s,
            m.produced_per_s,
            m.batches,
            opt(m.p99_write_ms, 2),
            m.frames,
            opt(m.p99_frame_us, 0),
            opt(m.rss_mb, 1)
        ));
    };
    match run(args, print) {
        Ok(minutes) => {
            if args.json {
                println!("{}", serde_json::to_string(&minutes).unwrap_or_default());
            }
            if let (Some(first), Some(last)) = (minutes.first(), minutes.last()) {
                let v = verdict(first, last);
                let pct = |c: Option<f64>| opt(c.map(|c| c * 100.0), 1);
                eprintln!(
                    "soak: last vs first interval: stored/s {:+.1} %, p99 write {} %, p99 frame {} %, \
                     RSS {} % — {}",
                    v.readings_per_s_change * 100.0,
                    pct(v.p99_write_change),
                    pct(v.p99_frame_change),
                    pct(v.rss_growth),
                    if v.within_targets {
                        "within targets"
                    } else {
                        "OUTSIDE targets"
                    }
                );
            }
            Ok(())
        }
        Err(e) => Err(crate::cmd::Failure::bad(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_maps_rate_to_speed() {
        // 1000 default sensors (5 s) at 50,000 readings/s: each every 20 ms of real time.
        let speed = speed_for(50_000.0, 1000, Duration::from_secs(5)).unwrap();
        assert!((speed - 250.0).abs() < 1e-9);
        let real_interval = Duration::from_secs(5).as_secs_f64() / speed;
        assert!((real_interval - 0.020).abs() < 1e-12);
        assert!((speed_for(10.0, 100, Duration::from_secs(1)).unwrap() - 0.1).abs() < 1e-12);
        assert!(speed_for(0.0, 1000, Duration::from_secs(5)).is_err());
        assert!(speed_for(5.0, 0, Duration::from_secs(5)).is_err());
    }

    fn minute(rate: f64, write: f64, frame: f64, rss: f64) -> Minute {
        Minute {
            minute: 1,
            seconds: 60.0,
            readings_per_s: rate,
            produced_per_s: rate,
            batches: 100,
            p99_write_ms: Some(write),
            mean_write_ms: Some(write / 2.0),
            frames: 600,
            p99_frame_us: Some(frame),
            rss_mb: Some(rss),
            rows: 0,
        }
    }

    #[test]
    fn verdict_compares_last_with_first() {
        let first = minute(50_000.0, 10.0, 900.0, 100.0);
        let ok = verdict(&first, &minute(49_000.0, 10.9, 850.0, 109.0));
        assert!(ok.within_targets, "{ok:?}");
        assert!((ok.readings_per_s_change + 0.02).abs() < 1e-9);
        assert!((ok.rss_growth.unwrap() - 0.09).abs() < 1e-9);
        let slower_writes = verdict(&first, &minute(50_000.0, 11.5, 900.0, 100.0));
        assert!(!slower_writes.within_targets);
        let grew = verdict(&first, &minute(50_000.0, 10.0, 900.0, 111.0));
        assert!(!grew.within_targets);
        let fewer = verdict(&first, &minute(44_000.0, 10.0, 900.0, 100.0));
        assert!(!fewer.within_targets);
        // Faster writes and frames at the end (a warm cache) are not a degradation.
        let faster = verdict(&first, &minute(50_000.0, 5.0, 400.0, 100.0));
        assert!(faster.within_targets, "{faster:?}");
        let slower_frames = verdict(&first, &minute(50_000.0, 10.0, 1000.0, 100.0));
        assert!(!slower_frames.within_targets);
    }
}

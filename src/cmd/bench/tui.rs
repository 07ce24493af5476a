//! `wallwatch bench tui`: what watching the dashboard costs. Runs the real dashboard loop
//! ([`term::run_with_renderer`]) over the real engine at the dashboard's defaults (the built-in
//! wall, 3 crews, 5 default sensors, network limit 5, real-time speed; store `memory:` so disk
//! speed stays out of it) into a [`CountingBackend`] of the given size, with no key input, for
//! the given wall-clock seconds, with the log pane fed by tracing as in the dashboard.
//!
//! Prints bytes/s and frames/s written, render time per frame (p50/p99, layout to flush), the
//! first frame's time from the start, the CPU used (user + system of every thread, from
//! `/proc/self/stat`) as a percentage of one core, and the peak RSS (`VmHWM`).

use std::io;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::app::App;
use crate::app::theme::Palette;
use crate::cmd::bench::proc::{cpu_time, peak_rss_mb};
use crate::config::cli::{RunArgs, TuiBenchArgs};
use crate::config::{Config, DEFAULT_CREWS};
use crate::engine::Engine;
use crate::engine::stats::Histogram;
use crate::term::counting::CountingBackend;
use crate::term::{self, FrameTimings, Renderer};

/// One run's figures (the `--json` keys).
#[derive(Debug, Clone, Serialize)]
pub struct TuiBenchResult {
    pub bytes_per_s: f64,
    pub frames_per_s: f64,
    pub render_p50_us: f64,
    pub render_p99_us: f64,
    pub first_frame_ms: f64,
    pub cpu_percent: f64,
    pub rss_mb: f64,
    pub seconds: f64,
    pub width: u16,
    pub height: u16,
    pub bytes: u64,
    pub frames: u64,
    pub log_scrolls: u64,
}

/// Parses `COLSxROWS`.
pub fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let bad = || {
        format!(
            "--size: '{}' is not COLSxROWS (e.g. 120x40)",
            crate::text::sanitize(s)
        )
    };
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u16 = w.trim().parse().map_err(|_| bad())?;
    let h: u16 = h.trim().parse().map_err(|_| bad())?;
    if w == 0 || h == 0 {
        return Err(bad());
    }
    Ok((w, h))
}

/// Runs the benchmark on its own runtime.
pub fn run(args: &TuiBenchArgs) -> Result<TuiBenchResult, String> {
    let (width, height) = parse_size(&args.size)?;
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err("--seconds must be a positive number".into());
    }
    let run_args = RunArgs {
        store: Some("memory:".into()),
        ..RunArgs::default()
    };
    let config = Config::from_args(&run_args, DEFAULT_CREWS).map_err(|e| e.to_string())?;
    let runtime = crate::runtime::site()?;
    let sink = record_sink(args)?;
    // One line, not a ticking one: this process's CPU is a figure of the benchmark.
    if crate::cmd::progress::wanted(args.json) {
        eprintln!(
            "bench tui: the dashboard at {width}x{height} for {} s…",
            args.seconds
        );
    }
    let cpu_before = cpu_time();
    let started = Instant::now();
    let watched = runtime.block_on(watch_dashboard(
        &config,
        sink,
        (width, height),
        Duration::from_secs_f64(args.seconds),
        started,
    ))?;
    let cpu = match (cpu_before, cpu_time()) {
        (Some(a), Some(b)) => {
            (b.saturating_sub(a)).as_secs_f64() / watched.elapsed.as_secs_f64() * 100.0
        }
        _ => f64::NAN,
    };
    Ok(figures(&watched, started, cpu, (width, height)))
}

/// Where the frames go: the `--record` file, or nowhere.
fn record_sink(args: &TuiBenchArgs) -> Result<Box<dyn io::Write + Send>, String> {
    Ok(match &args.record {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("--record {}: {e}", path.display()))?,
        )),
        None => Box::new(io::sink()),
    })
}

/// What one watch of the dashboard left: the renderer with its timings, the bytes written and
/// the wall-clock time it ran.
struct Watched {
    renderer: Renderer,
    bytes: u64,
    elapsed: Duration,
}

/// Starts the engine and the site, runs the dashboard loop into a [`CountingBackend`] of `size`
/// for `seconds`, then stops them.
async fn watch_dashboard(
    config: &Config,
    sink: Box<dyn io::Write + Send>,
    (width, height): (u16, u16),
    seconds: Duration,
    started: Instant,
) -> Result<Watched, String> {
    let log = term::init_dashboard_logging()?;
    let (engine, events) = Engine::start(&config.engine)
        .await
        .map_err(|e| e.to_string())?;
    let (site, link) =
        crate::site::Site::start_local(events, Some(log), engine.command_sender()).await?;
    let mut app = App::new(Palette::Ansi256);
    let backend = CountingBackend::new(sink, width, height);
    let counter = backend.counter();
    let mut terminal = ratatui::Terminal::new(backend).map_err(|e| format!("terminal: {e}"))?;
    let mut renderer = Renderer::new();
    renderer.timings = Some(FrameTimings::default());
    let stop = async {
        tokio::time::sleep(seconds).await;
        "time"
    };
    let ended = term::run_with_renderer(
        &mut terminal,
        &mut app,
        futures_util::stream::pending(),
        link.msgs,
        link.commands,
        stop,
        &mut renderer,
    )
    .await;
    let elapsed = started.elapsed();
    let bytes = counter.load(std::sync::atomic::Ordering::Relaxed);
    ended.map_err(|e| e.to_string())?;
    engine.shutdown().await.map_err(|e| e.to_string())?;
    site.finished().await;
    Ok(Watched {
        renderer,
        bytes,
        elapsed,
    })
}

/// The run's figures from what the watch left and the CPU it used.
fn figures(
    watched: &Watched,
    started: Instant,
    cpu: f64,
    (width, height): (u16, u16),
) -> TuiBenchResult {
    let Watched {
        renderer,
        bytes,
        elapsed,
    } = watched;
    let timings = renderer.timings.clone().unwrap_or_default();
    // Render times in the engine's latency histogram: the same quantiles as every other
    // figure here (an upper estimate, within one bucket, ~3 %).
    let render = Histogram::new();
    for &d in &timings.render {
        render.record(d);
    }
    let render = render.snapshot();
    let micros = |q: f64| render.quantile(q).map_or(0.0, |d| d.as_secs_f64() * 1e6);
    let secs = elapsed.as_secs_f64();
    TuiBenchResult {
        bytes_per_s: *bytes as f64 / secs,
        frames_per_s: renderer.frames as f64 / secs,
        render_p50_us: micros(0.50),
        render_p99_us: micros(0.99),
        first_frame_ms: timings
            .first_frame
            .map_or(f64::NAN, |t| (t - started).as_secs_f64() * 1e3),
        cpu_percent: cpu,
        rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
        seconds: secs,
        width,
        height,
        bytes: *bytes,
        frames: renderer.frames,
        log_scrolls: renderer.scrolls,
    }
}

/// The whole `bench tui` command.
pub fn main(args: &TuiBenchArgs) -> crate::cmd::Outcome {
    super::print_result(args.json, run(args), |r| {
        println!(
            "bench tui: {}x{}, {:.1} s, dashboard defaults (3 crews, 5 sensors, speed 1, memory:)",
            r.width, r.height, r.seconds
        );
        println!(
            "bytes        {:>10.0} B/s   ({} bytes)",
            r.bytes_per_s, r.bytes
        );
        println!(
            "frames       {:>10.2} /s    ({} frames, {} log scrolls)",
            r.frames_per_s, r.frames, r.log_scrolls
        );
        println!(
            "render       {:>10.0} µs p50 {:>8.0} µs p99",
            r.render_p50_us, r.render_p99_us
        );
        println!("first frame  {:>10.1} ms", r.first_frame_ms);
        println!("cpu          {:>10.2} % of one core", r.cpu_percent);
        println!("peak rss     {:>10.1} MB", r.rss_mb);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("120x40"), Ok((120, 40)));
        assert_eq!(parse_size("200X50"), Ok((200, 50)));
        assert!(parse_size("120").is_err());
        assert!(parse_size("0x40").is_err());
        assert!(parse_size("ax40").is_err());
    }
}

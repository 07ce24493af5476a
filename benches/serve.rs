//! `cargo bench --bench serve`: a served site's targets, each measured side by side in one run
//! with real binaries in pseudo-terminals (portable-pty):
//!
//! 1. bytes per second an attached viewer at 120x40 writes to its terminal, against the
//!    standalone dashboard and htop running at the same time and size; the viewer's first
//!    output and first frame after it is started;
//! 2. the server's CPU over the window with 20 viewers attached, against none (and with 1 and
//!    100, for how it grows);
//! 3. readings stored per second at `--speed max` with `memory:`, with 20 viewers attached
//!    against none (alternating runs, medians);
//! 4. a viewer stopped (SIGSTOP) for a while: the server's RSS growth, the other viewers'
//!    frame rate before and during, and how soon the stopped one shows the current day.
//!
//! `WALLWATCH_BENCH_SECONDS` (default 20) sets the measuring window, `WALLWATCH_BENCH_STOP_SECONDS`
//! (default 60) the stop. One JSON line at the end holds every figure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "../tests/support/dash.rs"]
mod dash;

use dash::{BEGIN_SYNC, Dash, status_number};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");
const COLS: u16 = 120;
const ROWS: u16 = 40;

fn seconds(var: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

struct Server {
    child: Child,
    socket: PathBuf,
}

impl Server {
    fn start(dir: &Path, name: &str, args: &[&str]) -> Server {
        let socket = dir.join(format!("{name}.sock"));
        let store = format!("sqlite:{}", dir.join(format!("{name}.db")).display());
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--socket", socket.to_str().unwrap()]);
        if !args.contains(&"--store") {
            cmd.args(["--store", &store]);
        }
        let child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, socket };
        let start = Instant::now();
        while server.try_status().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "serve did not start"
            );
            thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn try_status(&self) -> Option<Value> {
        let out = Command::new(BIN)
            .args([
                "status",
                "--json",
                "--socket",
                self.socket.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn status(&self) -> Value {
        self.try_status().expect("status")
    }

    fn attach(&self, dir: &Path) -> Dash {
        Dash::spawn(
            dir,
            &["attach", "--socket", self.socket.to_str().unwrap()],
            &[],
            COLS,
            ROWS,
        )
    }

    fn wait_viewers(&self, n: u64) {
        let start = Instant::now();
        while self.status()["viewers"].as_u64() != Some(n) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "viewers never reached {n}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of `pid` so far.
fn cpu(pid: u32) -> Duration {
    wallwatch::cmd::bench::proc::cpu_time_of(&pid.to_string()).unwrap_or_default()
}

fn rss_mb(pid: u32) -> f64 {
    wallwatch::cmd::bench::proc::status_mb(&pid.to_string(), "VmRSS").unwrap_or(f64::NAN)
}

fn frames(bytes: &[u8]) -> usize {
    bytes
        .windows(BEGIN_SYNC.len())
        .filter(|w| *w == BEGIN_SYNC)
        .count()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// 1. Bytes per second: an attached viewer, the standalone dashboard and htop at once.
fn bytes(dir: &Path, window: Duration) -> Value {
    let server = Server::start(dir, "bytes", &[]);
    let spawned = Instant::now();
    let viewer = server.attach(dir);
    let (mut first_byte, mut first_frame) = (None, None);
    while first_frame.is_none() && spawned.elapsed() < Duration::from_secs(10) {
        let out = viewer.bytes();
        if first_byte.is_none() && !out.is_empty() {
            first_byte = Some(spawned.elapsed());
        }
        if frames(&out) > 0 {
            first_frame = Some(spawned.elapsed());
        }
        thread::sleep(Duration::from_micros(500));
    }
    let standalone_db = format!("sqlite:{}", dir.join("standalone.db").display());
    let standalone = Dash::spawn(dir, &["--store", &standalone_db], &[], COLS, ROWS);
    let htop = spawn_program(dir, "htop");
    // The window starts once every program has painted its opening screen.
    thread::sleep(Duration::from_secs(2));
    let start = Instant::now();
    let base = (
        viewer.byte_count(),
        standalone.byte_count(),
        htop.as_ref().map(Dash::byte_count),
    );
    thread::sleep(window);
    let secs = start.elapsed().as_secs_f64();
    let rate = |now: usize, then: usize| (now - then) as f64 / secs;
    let attached = rate(viewer.byte_count(), base.0);
    let alone = rate(standalone.byte_count(), base.1);
    let htop_rate = htop
        .as_ref()
        .map(|h| rate(h.byte_count(), base.2.unwrap_or(0)));
    json!({
        "window_s": secs,
        "attached_bytes_per_s": attached,
        "standalone_bytes_per_s": alone,
        "htop_bytes_per_s": htop_rate,
        "attached_over_standalone": attached / alone,
        "first_output_ms": first_byte.map(|d| d.as_secs_f64() * 1e3),
        "first_frame_ms": first_frame.map(|d| d.as_secs_f64() * 1e3),
    })
}

fn which(program: &str) -> Option<String> {
    let out = Command::new("which").arg(program).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Another program in a pseudo-terminal of the same size (htop).
fn spawn_program(dir: &Path, program: &str) -> Option<Dash> {
    Some(Dash::spawn_program(
        dir,
        &which(program)?,
        &[],
        &[],
        COLS,
        ROWS,
    ))
}

/// The server's CPU (2.) with 20 viewers attached at defaults, against none; and how it grows
/// with 1, 20 and 100 viewers (attached one group after another, a window each).
fn cpu_with_viewers(dir: &Path, window: Duration) -> Value {
    let server = Server::start(dir, "cpu", &[]);
    thread::sleep(Duration::from_secs(2));
    let cpu_over_window = || {
        let c0 = cpu(server.pid());
        let t0 = Instant::now();
        thread::sleep(window);
        (cpu(server.pid()) - c0).as_secs_f64() / t0.elapsed().as_secs_f64() * 100.0
    };
    let none = cpu_over_window();
    let mut viewers: Vec<Dash> = Vec::new();
    let mut by_viewers = serde_json::Map::new();
    for n in [1, 20, 100] {
        while viewers.len() < n {
            viewers.push(server.attach(dir));
        }
        server.wait_viewers(n as u64);
        thread::sleep(Duration::from_secs(1));
        by_viewers.insert(n.to_string(), json!(cpu_over_window()));
    }
    drop(viewers);
    json!({
        "cpu_percent_no_viewers": none,
        "cpu_percent_20_viewers": by_viewers["20"],
        "cpu_percent_by_viewers": by_viewers,
    })
}

/// 3. Readings stored per second at `--speed max` with `memory:`, 20 viewers against none.
fn max_speed(dir: &Path, window: Duration, runs: usize) -> Value {
    let mut none = Vec::new();
    let mut twenty = Vec::new();
    for run in 0..runs * 2 {
        let with_viewers = run % 2 == 1;
        let server = Server::start(
            dir,
            &format!("max{run}"),
            &["--speed", "max", "--store", "memory:"],
        );
        let viewers: Vec<Dash> = if with_viewers {
            (0..20).map(|_| server.attach(dir)).collect()
        } else {
            Vec::new()
        };
        server.wait_viewers(viewers.len() as u64);
        thread::sleep(Duration::from_secs(1));
        let s0 = server.status()["readings"]["stored"].as_u64().unwrap();
        let t0 = Instant::now();
        thread::sleep(window);
        let s1 = server.status()["readings"]["stored"].as_u64().unwrap();
        let rate = (s1 - s0) as f64 / t0.elapsed().as_secs_f64();
        eprintln!(
            "  max speed run {run}: {} viewers, {rate:.0} readings/s",
            viewers.len()
        );
        if with_viewers { &mut twenty } else { &mut none }.push(rate);
        drop(viewers);
    }
    let (m0, m20) = (median(none.clone()), median(twenty.clone()));
    json!({
        "readings_per_s_no_viewers": m0,
        "readings_per_s_20_viewers": m20,
        "ratio": m20 / m0,
        "runs_no_viewers": none,
        "runs_20_viewers": twenty,
    })
}

/// 4. One viewer stopped: the server's memory, the others' frame rate, the catch-up.
fn stopped_viewer(dir: &Path, window: Duration, stop_for: Duration) -> Value {
    // A wall that takes a long time (20 × 200 sections from 0 ft, 3 crews): days go on.
    let wall = dir.join("long.txt");
    std::fs::write(&wall, "0 ".repeat(200).trim_end().to_string() + "\n").unwrap();
    let wall_text = std::fs::read_to_string(&wall).unwrap().repeat(20);
    std::fs::write(&wall, wall_text).unwrap();
    let server = Server::start(
        dir,
        "stop",
        &[
            "--speed",
            "50",
            "--sensors",
            "100",
            "--profiles",
            wall.to_str().unwrap(),
        ],
    );
    let stopped = server.attach(dir);
    let others: Vec<Dash> = (0..2).map(|_| server.attach(dir)).collect();
    server.wait_viewers(3);
    thread::sleep(Duration::from_secs(2));
    let fps = |viewers: &[Dash], d: Duration| {
        let before: Vec<usize> = viewers.iter().map(|v| frames(&v.bytes())).collect();
        let t = Instant::now();
        thread::sleep(d);
        let secs = t.elapsed().as_secs_f64();
        viewers
            .iter()
            .zip(before)
            .map(|(v, b)| (frames(&v.bytes()) - b) as f64 / secs)
            .fold(f64::INFINITY, f64::min)
    };
    let fps_before = fps(&others, window.min(Duration::from_secs(10)));
    let rss_before = rss_mb(server.pid());
    let _ = Command::new("kill")
        .args(["-STOP", &stopped.pid().to_string()])
        .status();
    let t = Instant::now();
    let mut rss_max = rss_before;
    let mut fps_during = f64::INFINITY;
    while t.elapsed() < stop_for {
        fps_during = fps_during.min(fps(&others, Duration::from_secs(5)));
        rss_max = rss_max.max(rss_mb(server.pid()));
    }
    let day = server.status()["wall"]["day"].as_u64().unwrap();
    let _ = Command::new("kill")
        .args(["-CONT", &stopped.pid().to_string()])
        .status();
    let resumed = Instant::now();
    let mut caught_up = None;
    while resumed.elapsed() < Duration::from_secs(30) {
        let shown = stopped.screen_with(|s| status_number(s, "Day"));
        if shown.is_some_and(|d| d >= day) {
            caught_up = Some(resumed.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    json!({
        "stopped_s": stop_for.as_secs_f64(),
        "server_rss_mb_before": rss_before,
        "server_rss_mb_max_while_stopped": rss_max,
        "rss_growth_mb": rss_max - rss_before,
        "others_fps_before": fps_before,
        "others_fps_while_stopped_min_5s": fps_during,
        "stopped_viewer_current_after_ms": caught_up.map(|d| d.as_secs_f64() * 1e3),
    })
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants it quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("serve bench: run with `cargo bench --bench serve`");
        return;
    }
    let window = seconds("WALLWATCH_BENCH_SECONDS", 20);
    let stop_for = seconds("WALLWATCH_BENCH_STOP_SECONDS", 60);
    let dir = tempfile::tempdir().unwrap();
    eprintln!(
        "serve bench: {}s windows, {}s stop",
        window.as_secs(),
        stop_for.as_secs()
    );
    let bytes = bytes(dir.path(), window);
    eprintln!("1. bytes: {bytes}");
    let cpu = cpu_with_viewers(dir.path(), window);
    eprintln!("2. cpu: {cpu}");
    let max = max_speed(dir.path(), Duration::from_secs(10).min(window), 3);
    eprintln!("3. max speed: {max}");
    let stopped = stopped_viewer(dir.path(), window, stop_for);
    eprintln!("4. stopped viewer: {stopped}");
    println!(
        "{}",
        json!({ "bytes": bytes, "cpu": cpu, "max_speed": max, "stopped_viewer": stopped })
    );
}

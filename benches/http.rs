//! `cargo bench --bench http`: the HTTP API's targets, measured side by side in one run with the
//! real binary and wrk (Debian's package) on loopback:
//!
//! 1. wrk, 2 threads, 64 connections, `WALLWATCH_BENCH_SECONDS` (default 10) s, while a served
//!    site runs (defaults, real time): `/profiles/1/overview/15` against a bare axum handler
//!    returning a fixed JSON body (this process, tokio's default runtime), one right
//!    after the other, `WALLWATCH_BENCH_RUNS` pairs: the pair with the median ratio of
//!    requests per second (its p50 and p99), every pair's ratios, non-2xx answers;
//! 2. `/metrics` of a site with 1,000 sensors: wrk with one connection (each request's own
//!    time, no queueing), p50 and p99;
//! 3. readings stored per second at `--speed max` (`memory:`) while wrk loads
//!    `/profiles/1/overview/15` as in 1, against the same site unloaded: alternating runs
//!    (`WALLWATCH_BENCH_RUNS`, default 3, each), medians.
//!
//! One JSON line at the end holds every figure. Needs `wrk` on the PATH.
//! `WALLWATCH_BENCH_WRK_NICE=N` runs wrk under `nice -n N` (a diagnostic, see the README).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");
const PATH: &str = "/profiles/1/overview/15";

fn env_number(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `wallwatch serve` with `--http 127.0.0.1:0`.
struct Site {
    child: Child,
    http: String,
}

impl Site {
    fn start(dir: &Path, name: &str, args: &[&str]) -> Site {
        let socket = dir.join(format!("{name}.sock"));
        let mut child = Command::new(BIN)
            .args(["serve", "--socket", socket.to_str().unwrap()])
            .args(["--store", "memory:", "--http", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wallwatch serve");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let http = loop {
            let line = lines
                .next()
                .expect("serve said where its API is")
                .expect("serve's stderr");
            if let Some(addr) = line.rsplit_once("HTTP API on http://") {
                break addr.1.trim().to_string();
            }
        };
        // Keep reading stderr so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Site { child, http }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    fn status(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sf", &self.url("/status")])
            .output()
            .expect("curl");
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// What wrk measured.
#[derive(Debug, Clone, Copy)]
struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    requests: u64,
}

fn duration_ms(s: &str) -> f64 {
    let s = s.trim();
    let (n, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else {
        (s, 1.0)
    };
    n.parse::<f64>().expect("a wrk duration") * scale
}

fn wrk(url: &str, threads: u32, connections: u32, seconds: u64) -> Wrk {
    // A diagnostic: `WALLWATCH_BENCH_WRK_NICE=19` runs the load generator itself at low priority,
    // to tell its own CPU apart from the API's on a machine it shares with the site.
    let mut cmd = match std::env::var("WALLWATCH_BENCH_WRK_NICE") {
        Ok(n) => {
            let mut c = Command::new("nice");
            c.args(["-n", &n, "wrk"]);
            c
        }
        Err(_) => Command::new("wrk"),
    };
    let out = cmd
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_string())
    };
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Wrk {
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("wrk said: {text}")),
        p50_ms: duration_ms(&field("50%").unwrap()),
        p99_ms: duration_ms(&field("99%").unwrap()),
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        requests,
    }
}

fn figures(w: &Wrk) -> Value {
    json!({ "requests_per_s": w.rps, "p50_ms": w.p50_ms, "p99_ms": w.p99_ms,
            "non_2xx": w.non_2xx, "requests": w.requests })
}

/// A bare axum handler with a fixed JSON body, on a runtime of as many workers as the API's
/// (tokio's default here: one per core), at normal priority.
fn bare_handler() -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tcp = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = axum::Router::new().route(
        PATH,
        axum::routing::get(|| async {
            axum::Json(json!({"profile": 1, "day": 15, "cost": 12_345_000}))
        }),
    );
    rt.spawn(async move { axum::serve(tcp, app).await });
    (format!("http://{addr}{PATH}"), rt)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds = env_number("WALLWATCH_BENCH_SECONDS", 10);
    let runs = env_number("WALLWATCH_BENCH_RUNS", 3) as usize;
    let dir = tempfile::tempdir().unwrap();

    // 1. The wall path against a bare handler, while a site runs.
    let site = Site::start(dir.path(), "api", &[]);
    std::thread::sleep(Duration::from_secs(1));
    let (bare_url, bare_rt) = bare_handler();
    // Pairs, each side by side: one 5 s window on a shared machine swings by a third.
    let mut pairs: Vec<(Wrk, Wrk)> = (0..runs.max(1))
        .map(|pair| {
            let bare = wrk(&bare_url, 2, 64, seconds);
            let wall = wrk(&site.url(PATH), 2, 64, seconds);
            eprintln!(
                "  pair {pair}: bare {:.0} req/s (p99 {} ms), {PATH} {:.0} req/s (p99 {} ms): {:.3}",
                bare.rps,
                bare.p99_ms,
                wall.rps,
                wall.p99_ms,
                wall.rps / bare.rps
            );
            (bare, wall)
        })
        .collect();
    drop(bare_rt);
    drop(site);
    let pair_ratios: Vec<(f64, f64)> = pairs
        .iter()
        .map(|(b, w)| (w.rps / b.rps, w.p99_ms / b.p99_ms))
        .collect();
    pairs.sort_by(|x, y| (x.1.rps / x.0.rps).total_cmp(&(y.1.rps / y.0.rps)));
    let (bare, wall) = pairs.swap_remove(pairs.len() / 2);
    eprintln!("bare handler: {bare:?}\n{PATH}: {wall:?} (the pair with the median ratio)");

    // 2. /metrics with 1,000 sensors, one connection.
    let site = Site::start(dir.path(), "metrics", &["--sensors", "1000"]);
    std::thread::sleep(Duration::from_secs(2));
    let metrics = wrk(&site.url("/metrics"), 1, 1, seconds);
    drop(site);
    eprintln!("/metrics, 1000 sensors: {metrics:?}");

    // 3. Readings stored per second at --speed max, loaded against not.
    let mut quiet = Vec::new();
    let mut loaded = Vec::new();
    let mut load_figures = Vec::new();
    for run in 0..runs * 2 {
        let with_load = run % 2 == 1;
        let site = Site::start(dir.path(), &format!("max{run}"), &["--speed", "max"]);
        std::thread::sleep(Duration::from_secs(1));
        let s0 = site.status()["readings"]["stored"].as_u64().unwrap();
        let t0 = Instant::now();
        if with_load {
            load_figures.push(wrk(&site.url(PATH), 2, 64, seconds));
        } else {
            std::thread::sleep(Duration::from_secs(seconds));
        }
        let s1 = site.status()["readings"]["stored"].as_u64().unwrap();
        let rate = (s1 - s0) as f64 / t0.elapsed().as_secs_f64();
        eprintln!(
            "  --speed max run {run}: {} {rate:.0} readings/s",
            if with_load { "under wrk," } else { "no load," }
        );
        if with_load { &mut loaded } else { &mut quiet }.push(rate);
    }
    let (q, l) = (median(quiet.clone()), median(loaded.clone()));

    let result = json!({
        "seconds": seconds,
        "wall_path": figures(&wall),
        "bare_handler": figures(&bare),
        "rps_ratio": wall.rps / bare.rps,
        "p99_ratio": wall.p99_ms / bare.p99_ms,
        "pairs": pair_ratios.iter().map(|(r, p)| json!({"rps_ratio": r, "p99_ratio": p})).collect::<Vec<_>>(),
        "metrics_1000_sensors": figures(&metrics),
        "speed_max": {
            "readings_per_s_no_load": q,
            "readings_per_s_under_wrk": l,
            "ratio": l / q,
            "runs_no_load": quiet,
            "runs_under_wrk": loaded,
            "wrk_under_max": load_figures.iter().map(figures).collect::<Vec<_>>(),
        },
    });
    eprintln!(
        "targets: rps ratio {:.2} (>= 0.8), p99 ratio {:.2} (<= 1.5), non-2xx {}; /metrics p50 {:.3} ms (<= 2); speed max ratio {:.3} (>= 0.9)",
        wall.rps / bare.rps,
        wall.p99_ms / bare.p99_ms,
        wall.non_2xx,
        metrics.p50_ms,
        l / q
    );
    println!("{result}");
}

//! `wallwatch bench control`: steering a served site over HTTP, on real `wallwatch serve`
//! processes (this binary's), with real viewers on their sockets ([`super::viewer`]):
//!
//! 1. **Latency of a command's effect**, on a site at real-time speed (the defaults) and on one at
//!    `--speed max`: K writes in turn `POST /pause`, `POST /resume`, `POST /crews {"count":1}`,
//!    `DELETE /crews?count=1`, each 0–200 ms (seeded) after the last one's effect was seen
//!    everywhere. For each, from the moment its answer is read: (a) until `GET /status`, polled
//!    back to back on a connection of its own, shows it; (b) until every one of V viewers has it
//!    in its frame (when the dashboard's pacing would draw the message that brought it; zero if
//!    before the answer).
//! 2. **Throughput under writes**: readings stored per second (`GET /status`) over a window on a
//!    site at `--speed max`, V viewers attached, without writes and with `--write-rate` writes
//!    a second: a crew added, removed, removed, added, in turn (3, 4, 3, 2, 3 crews: as many at
//!    work on average as without writes). Those are real changes (recorded in the
//!    store, published to every viewer) that leave what produces readings as it was: the same
//!    sensors at the same speed (pause would stop production, adding sensors would add
//!    producers, `PUT /speed max` again changes nothing). A fresh site for each round (the
//!    `memory:` store grows by about 200 MB a second) with its two windows back to back, the
//!    one without writes first in every other round; medians, and each round's ratio.
//!
//! Every site is stopped with SIGTERM at the end and its summary held to the rules: at most
//! the network limit (5) in flight, every reading and crew report produced stored.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use tokio::runtime::Runtime;
use tokio::sync::watch;

use super::http_client::{Answer, Client};
use super::median;
use super::site_process::{BenchDir, SiteProcess};
use super::viewer::{Seen, Viewer};
use crate::config::DEFAULT_NETWORK_LIMIT;
use crate::config::cli::{BenchStore, ControlBenchArgs};
use crate::engine::Summary;
use crate::wall::Crews;

/// The seed of the gaps between commands.
const SEED: u64 = 0x636f_6e74_726f_6c21;
/// The longest gap between one command's effect and the next command.
const MAX_GAP_MS: u64 = 200;
/// How long a change may take to show before the benchmark gives up.
const SHOW_WITHIN: Duration = Duration::from_secs(10);
/// From a site's start to its first throughput window (as the serve benchmark waits).
const WARM_UP: Duration = Duration::from_secs(1);
/// From the writer's start or stop to the second window.
const SETTLE: Duration = Duration::from_millis(500);

/// p50, p99 and the slowest of some times, in ms (nearest rank).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(samples: &[Duration]) -> Percentiles {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len().max(1)) - 1;
            ms.get(i).copied().unwrap_or(0.0)
        };
        Percentiles {
            p50_ms: rank(0.5),
            p99_ms: rank(0.99),
            max_ms: ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// Part 1 on one site.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyRun {
    /// The site's `--speed`.
    pub speed: String,
    pub commands: usize,
    /// The write itself: from sending it to its answer.
    pub answer: Percentiles,
    /// From the answer until `GET /status` shows the change.
    pub status: Percentiles,
    /// One `GET /status` of those polls, from sending it to its answer.
    pub status_poll: Percentiles,
    /// From the answer until every viewer's frame shows the change.
    pub viewers: Percentiles,
    /// Updates each viewer applied per second, the mean over viewers.
    pub viewer_updates_per_s: f64,
    /// Fresh snapshots the site gave viewers that fell behind.
    pub viewer_resnapshots: u64,
    pub max_in_flight: usize,
    pub readings_stored: u64,
}

/// One throughput window.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Window {
    pub writes: bool,
    pub readings_per_s: f64,
    /// Writes answered per second during the window.
    pub writes_per_s: f64,
    /// The writes' answers over the whole run of the site (with writes only).
    pub answer: Option<Percentiles>,
    pub max_in_flight: usize,
}

/// Part 2.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// What the writes are.
    pub writes: String,
    pub write_rate: u32,
    pub window_s: f64,
    pub rounds: usize,
    /// Medians.
    pub readings_per_s_without: f64,
    pub readings_per_s_with: f64,
    /// With writes over without.
    pub ratio: f64,
    /// Each round's ratio: its window with writes over its window without.
    pub pair_ratios: Vec<f64>,
    pub windows: Vec<Window>,
}

/// The whole result (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    pub store: String,
    pub viewers: usize,
    pub network_limit: usize,
    pub latency: Vec<LatencyRun>,
    pub throughput: Throughput,
}

/// One of the commands timed, in turn.
#[derive(Debug, Clone, Copy)]
enum Step {
    Pause,
    Resume,
    AddCrew,
    RemoveCrew,
}

impl Step {
    const TURN: [Step; 4] = [Step::Pause, Step::Resume, Step::AddCrew, Step::RemoveCrew];

    /// Method, path and body.
    fn request(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Step::Pause => ("POST", "/pause", ""),
            Step::Resume => ("POST", "/resume", ""),
            Step::AddCrew => ("POST", "/crews", r#"{"count":1}"#),
            Step::RemoveCrew => ("DELETE", "/crews?count=1", ""),
        }
    }

    /// Paused, and the crews, once it has taken effect on a site that had `crews`.
    fn effect(self, crews: u32) -> (bool, Crews) {
        match self {
            Step::Pause => (true, Crews::Limited(crews)),
            Step::AddCrew => (false, Crews::Limited(crews + 1)),
            Step::Resume | Step::RemoveCrew => (false, Crews::Limited(crews)),
        }
    }

    async fn send(self, client: &mut Client) -> Result<Answer, String> {
        let (method, path, body) = self.request();
        let answer = client.write(method, path, body).await?;
        if answer.status != 200 {
            return Err(format!(
                "{method} {path}: {} {}",
                answer.status,
                crate::text::sanitize(&String::from_utf8_lossy(&answer.body))
            ));
        }
        Ok(answer)
    }
}

/// What `GET /status` says of what commands change.
async fn status(client: &mut Client) -> Result<(bool, Crews, u64, u64), String> {
    let answer = client.get("/status").await?;
    if answer.status != 200 {
        return Err(format!("GET /status: {}", answer.status));
    }
    let v = answer.json("GET /status")?;
    let crews = match &v["crews"] {
        serde_json::Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Crews::Limited),
        _ => Some(Crews::Unlimited),
    };
    match (
        v["paused"].as_bool(),
        crews,
        v["readings"]["stored"].as_u64(),
    ) {
        (Some(paused), Some(crews), Some(stored)) => Ok((
            paused,
            crews,
            stored,
            v["viewer_resnapshots"].as_u64().unwrap_or(0),
        )),
        _ => Err("GET /status: no paused, crews or readings.stored".into()),
    }
}

/// The wall of every site: 10 profiles of 10,000 sections at 0 ft, 1,000,000 days' work for 3
/// crews. At `--speed max` the crews' days run flat out (about 12,000 a second on 2 cores), so a
/// smaller wall is finished within seconds and then refuses the crews the benchmark adds; this
/// one lasts over a minute, longer than any one site of the benchmark runs.
const LASTING_WALL: &str = "lasting-wall.txt";
const LASTING_SECTIONS: usize = 10_000;

/// The run options of a site, its wall written to `dir` if it is not there yet.
fn site_args(
    args: &ControlBenchArgs,
    dir: &Path,
    name: &str,
    speed: &str,
) -> Result<Vec<String>, String> {
    let store = match args.store {
        BenchStore::Memory => "memory:".to_string(),
        BenchStore::Sqlite => format!("sqlite:{}", dir.join(format!("{name}.db")).display()),
    };
    let wall = dir.join(LASTING_WALL);
    if !wall.exists() {
        let profile = vec!["0"; LASTING_SECTIONS].join(" ");
        std::fs::write(&wall, format!("{profile}\n").repeat(10))
            .map_err(|e| format!("{}: cannot write: {e}", wall.display()))?;
    }
    let site = vec![
        "--store".into(),
        store,
        "--speed".into(),
        speed.into(),
        "--profiles".into(),
        wall.display().to_string(),
        "--max-sections".into(),
        LASTING_SECTIONS.to_string(),
    ];
    Ok(site)
}

/// Holds a stopped site's summary to the rules.
fn check_rules(summary: &Summary, what: &str) -> Result<(), String> {
    let n = &summary.network;
    if n.limit != DEFAULT_NETWORK_LIMIT {
        return Err(format!("{what}: a network limit of {}", n.limit));
    }
    if n.max_in_flight > n.limit {
        return Err(format!(
            "{what}: {} messages in flight, above the limit {}",
            n.max_in_flight, n.limit
        ));
    }
    for (kind, flow) in [
        ("readings", summary.readings),
        ("crew reports", summary.crew_reports),
    ] {
        if flow.produced != flow.stored {
            return Err(format!(
                "{what}: {} {kind} produced, {} stored",
                flow.produced, flow.stored
            ));
        }
    }
    Ok(())
}

/// Waits until every viewer has its first snapshot.
async fn viewers_ready(seen: &mut [watch::Receiver<Option<Seen>>]) -> Result<(), String> {
    for rx in seen {
        tokio::time::timeout(Duration::from_secs(30), rx.wait_for(Option::is_some))
            .await
            .map_err(|_| "a viewer had no snapshot within 30 s".to_string())?
            .map_err(|_| "a viewer ended before its snapshot".to_string())?;
    }
    Ok(())
}

/// A site with `viewers` attached, `measure`d, then stopped and held to the rules; the viewers'
/// updates per second come back with what `measure` found.
fn on_site<T>(
    runtime: &Runtime,
    dir: &Path,
    name: &str,
    site_args: &[String],
    viewers: usize,
    measure: impl AsyncFnOnce(&SiteProcess, Vec<watch::Receiver<Option<Seen>>>) -> Result<T, String>,
) -> Result<(T, Summary, f64), String> {
    let site = SiteProcess::start(dir, name, site_args)?;
    let attached: Vec<Viewer> = (0..viewers).map(|_| Viewer::attach(&site.socket)).collect();
    let started = Instant::now();
    let seen = attached.iter().map(|v| v.seen.clone()).collect();
    let measured = runtime.block_on(measure(&site, seen));
    let summary = site.stop();
    let seconds = started.elapsed().as_secs_f64();
    let updates: Result<Vec<u64>, String> = attached.into_iter().map(Viewer::finish).collect();
    let (measured, summary, updates) = (measured?, summary?, updates?);
    check_rules(&summary, name)?;
    let per_s = updates.iter().sum::<u64>() as f64 / updates.len().max(1) as f64 / seconds;
    Ok((measured, summary, per_s))
}

/// Part 1 on a site at `speed`.
fn latency_run(
    args: &ControlBenchArgs,
    dir: &Path,
    runtime: &Runtime,
    speed: &str,
) -> Result<LatencyRun, String> {
    let name = format!("latency-{speed}");
    let (timed, summary, updates_per_s) = on_site(
        runtime,
        dir,
        &name,
        &site_args(args, dir, &name, speed)?,
        args.viewers,
        async |site, seen| time_commands(site, seen, args.commands).await,
    )?;
    Ok(LatencyRun {
        speed: speed.to_string(),
        commands: args.commands,
        answer: Percentiles::of(&timed.answers),
        status: Percentiles::of(&timed.statuses),
        status_poll: Percentiles::of(&timed.polls),
        viewers: Percentiles::of(&timed.views),
        viewer_updates_per_s: updates_per_s,
        viewer_resnapshots: timed.resnapshots,
        max_in_flight: summary.network.max_in_flight,
        readings_stored: summary.readings.stored,
    })
}

/// What [`time_commands`] measured.
struct Timed {
    answers: Vec<Duration>,
    statuses: Vec<Duration>,
    /// Each `GET /status` of the polls, on its own.
    polls: Vec<Duration>,
    views: Vec<Duration>,
    resnapshots: u64,
}

/// The K commands: each one's answer time, and from its answer to its effect in `/status` and
/// in every viewer's frame.
async fn time_commands(
    site: &SiteProcess,
    mut seen: Vec<watch::Receiver<Option<Seen>>>,
    commands: usize,
) -> Result<Timed, String> {
    viewers_ready(&mut seen).await?;
    let mut writer = Client::new(site.http, Some(site.token.clone()));
    let mut poller = Client::new(site.http, None);
    let crews = match status(&mut poller).await?.1 {
        Crews::Limited(n) => n,
        Crews::Unlimited => return Err("the site's crews are unlimited".into()),
    };
    let mut rng = StdRng::seed_from_u64(SEED);
    let (mut answers, mut statuses, mut views) = (Vec::new(), Vec::new(), Vec::new());
    let mut polls = Vec::new();
    for i in 0..commands {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..=MAX_GAP_MS))).await;
        let step = Step::TURN[i % Step::TURN.len()];
        let (paused, want_crews) = step.effect(crews);
        let sent = Instant::now();
        step.send(&mut writer).await?;
        let answered = Instant::now();
        answers.push(answered - sent);
        loop {
            let asked = Instant::now();
            let (p, c, _, _) = status(&mut poller).await?;
            polls.push(asked.elapsed());
            if (p, c) == (paused, want_crews) {
                break;
            }
            if answered.elapsed() > SHOW_WITHIN {
                return Err(format!("{step:?}: not in GET /status within 10 s"));
            }
        }
        statuses.push(answered.elapsed());
        let mut last = Duration::ZERO;
        for rx in &mut seen {
            let got = tokio::time::timeout(
                SHOW_WITHIN,
                rx.wait_for(|s| s.is_some_and(|s| (s.paused, s.crews) == (paused, want_crews))),
            )
            .await
            .map_err(|_| format!("{step:?}: not in a viewer's model within 10 s"))?
            .map_err(|_| "a viewer ended".to_string())?
            .map(|s| s.at);
            if let Some(at) = got {
                last = last.max(at.saturating_duration_since(answered));
            }
        }
        views.push(last);
    }
    Ok(Timed {
        answers,
        statuses,
        polls,
        views,
        resnapshots: status(&mut poller).await?.3,
    })
}

/// The writes of a window with writes, at `rate` a second until `stop`: their answer times.
async fn write_load(
    mut client: Client,
    rate: u32,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
) -> Result<Vec<Duration>, String> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut answers = Vec::new();
    // Crews 3, 4, 3, 2, 3, …: as many crews at work on average as in the window without
    // writes, so that the writes' effect (more or fewer crews building) does not change the
    // work the site does, only the writes themselves are measured.
    const CYCLE: [Step; 4] = [
        Step::AddCrew,
        Step::RemoveCrew,
        Step::RemoveCrew,
        Step::AddCrew,
    ];
    for step in CYCLE.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        tick.tick().await;
        let sent = Instant::now();
        step.send(&mut client).await?;
        answers.push(sent.elapsed());
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(answers)
}

/// The writer of the windows with writes, while it runs.
struct Load {
    task: tokio::task::JoinHandle<Result<Vec<Duration>, String>>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
}

impl Load {
    fn start(site: &SiteProcess, rate: u32) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let client = Client::new(site.http, Some(site.token.clone()));
        let task = tokio::spawn(write_load(client, rate, stop.clone(), done.clone()));
        Load { task, stop, done }
    }

    fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Stops the writer: its answer times.
    async fn finish(self) -> Result<Vec<Duration>, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.map_err(|e| e.to_string())?
    }
}

/// One round: a fresh site at `--speed max`, a window without writes and one with, back to
/// back, in turn first (so that neither always has the younger site).
fn round(
    args: &ControlBenchArgs,
    dir: &Path,
    runtime: &Runtime,
    round: usize,
) -> Result<[Window; 2], String> {
    let name = format!("max-{round}");
    let span = Duration::from_secs_f64(args.window);
    let order = if round.is_multiple_of(2) {
        [false, true]
    } else {
        [true, false]
    };
    let ((rates, answers), summary, _) = on_site(
        runtime,
        dir,
        &name,
        &site_args(args, dir, &name, "max")?,
        args.viewers,
        async |site, mut seen| {
            viewers_ready(&mut seen).await?;
            let mut poller = Client::new(site.http, None);
            let mut load: Option<Load> = None;
            let mut answers = None;
            let mut rates = Vec::new();
            for (i, writes) in order.into_iter().enumerate() {
                if writes {
                    load = Some(Load::start(site, args.write_rate));
                } else if let Some(l) = load.take() {
                    answers = Some(l.finish().await?);
                }
                // The writer at its pace (or stopped) before the window opens.
                tokio::time::sleep(if i == 0 { WARM_UP } else { SETTLE }).await;
                let done = |l: &Option<Load>| l.as_ref().map_or(0, Load::done);
                let (s0, w0) = (status(&mut poller).await?.2, done(&load));
                let t0 = Instant::now();
                tokio::time::sleep(span).await;
                let (s1, w1) = (status(&mut poller).await?.2, done(&load));
                let seconds = t0.elapsed().as_secs_f64();
                let readings_per_s = s1.saturating_sub(s0) as f64 / seconds;
                rates.push((writes, readings_per_s, (w1 - w0) as f64 / seconds));
            }
            if let Some(l) = load.take() {
                answers = Some(l.finish().await?);
            }
            Ok((rates, answers))
        },
    )?;
    let answer = answers.as_deref().map(Percentiles::of);
    let mut windows = rates
        .into_iter()
        .map(|(writes, readings_per_s, writes_per_s)| Window {
            writes,
            readings_per_s,
            writes_per_s,
            answer: if writes { answer } else { None },
            max_in_flight: summary.network.max_in_flight,
        });
    match (windows.next(), windows.next()) {
        (Some(a), Some(b)) => Ok([a, b]),
        _ => Err("a round measured fewer than two windows".into()),
    }
}

/// Part 2: `rounds` rounds, each on a fresh site.
fn throughput(
    args: &ControlBenchArgs,
    dir: &Path,
    runtime: &Runtime,
) -> Result<Throughput, String> {
    let mut windows = Vec::new();
    let mut pair_ratios = Vec::new();
    for r in 0..args.rounds {
        let pair = round(args, dir, runtime, r)?;
        let rate = |with: bool| {
            pair.iter()
                .find(|w| w.writes == with)
                .map_or(0.0, |w| w.readings_per_s)
        };
        pair_ratios.push(rate(true) / rate(false));
        eprintln!(
            "  round {}: {:.0} readings/s without writes, {:.0} with",
            r + 1,
            rate(false),
            rate(true)
        );
        windows.extend(pair);
    }
    let rates = |with: bool| -> Vec<f64> {
        windows
            .iter()
            .filter(|w| w.writes == with)
            .map(|w| w.readings_per_s)
            .collect()
    };
    let (without, with) = (median(rates(false)), median(rates(true)));
    Ok(Throughput {
        writes: "POST /crews {\"count\":1}, DELETE /crews?count=1 twice, POST again, in turn"
            .into(),
        write_rate: args.write_rate,
        window_s: args.window,
        rounds: args.rounds,
        readings_per_s_without: without,
        readings_per_s_with: with,
        ratio: with / without,
        pair_ratios,
        windows,
    })
}

/// Runs the benchmark.
pub fn run(args: &ControlBenchArgs) -> Result<ControlResult, String> {
    let dir = BenchDir::new("control")?;
    let runtime = crate::runtime::current_thread()?;
    let mut latency = Vec::new();
    for speed in ["1", "max"] {
        let r = latency_run(args, &dir.0, &runtime, speed)?;
        eprintln!(
            "  speed {speed}: {} commands, viewers' p99 {:.1} ms",
            r.commands, r.viewers.p99_ms
        );
        latency.push(r);
    }
    let throughput = throughput(args, &dir.0, &runtime)?;
    Ok(ControlResult {
        store: match args.store {
            BenchStore::Memory => "memory:".into(),
            BenchStore::Sqlite => "sqlite: (a new file for each site)".into(),
        },
        viewers: args.viewers,
        network_limit: DEFAULT_NETWORK_LIMIT,
        latency,
        throughput,
    })
}

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

/// `wallwatch bench control`.
pub fn main(args: &ControlBenchArgs) -> crate::cmd::Outcome {
    super::print_result(args.json, run(args), |r| {
        println!(
            "store {}, {} viewers, network limit {}",
            r.store, r.viewers, r.network_limit
        );
        println!(
            "from a write's answer, {} commands per site     p50 ms    p99 ms    max ms",
            r.latency.first().map_or(0, |l| l.commands)
        );
        for l in &r.latency {
            for (what, p) in [
                ("the write itself (send → answer)", l.answer),
                ("GET /status shows it", l.status),
                ("… one GET /status of those", l.status_poll),
                ("every viewer's frame shows it", l.viewers),
            ] {
                println!(
                    "  speed {:<4} {what:<34} {:>8.2}  {:>8.2}  {:>8.2}",
                    l.speed, p.p50_ms, p.p99_ms, p.max_ms
                );
            }
        }
        let worst = r
            .latency
            .iter()
            .map(|l| l.viewers.p99_ms.max(l.status.p99_ms))
            .fold(0.0, f64::max);
        println!(
            "  target p99 ≤ 100 ms: {worst:.1} ms {}",
            mark(worst <= 100.0)
        );
        let t = &r.throughput;
        println!(
            "readings/s at --speed max, {} rounds of a {} s window each way, medians:",
            t.rounds, t.window_s
        );
        println!("  without writes    {:>12.0}", t.readings_per_s_without);
        let achieved = median(
            t.windows
                .iter()
                .filter(|w| w.writes)
                .map(|w| w.writes_per_s)
                .collect(),
        );
        println!(
            "  with writes       {:>12.0}  ({achieved:.1} writes/s of {}: {})",
            t.readings_per_s_with, t.write_rate, t.writes
        );
        let pairs: Vec<String> = t.pair_ratios.iter().map(|p| format!("{p:.3}")).collect();
        println!(
            "  ratio             {:>12.3}  (pairs {}) target ≥ 0.95 {}",
            t.ratio,
            pairs.join(", "),
            mark(t.ratio >= 0.95)
        );
    })
}

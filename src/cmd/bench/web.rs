//! `wallwatch bench web`: the browser page beside the terminal's viewers, on real sites of this
//! binary's `serve` (`memory:` store) and a real headless Chromium ([`super::browser`]):
//!
//! 1. First render: from navigation to the four panes and the status line drawn from the first
//!    snapshot (the page's `wallwatch:first-render` mark), over several loads, on the site's
//!    own port; the first with the browser's cache empty.
//! 2. Bytes: the steady bytes per second to one browser (the page loaded once more, through a
//!    proxy between it and the site that counts them) beside those to one attached viewer (its
//!    socket frames), in the same window, on a site at its defaults.
//! 3. Clients: the site's CPU (its `/proc` figures) with 100 `/events` clients reading against
//!    none, on the site at its defaults; and readings stored per second at `--speed max` with
//!    and without them. Windows without (W) and with (C) the clients in turn, each C set
//!    against the mean of the two Ws either side of it: W C W … C W on the idle site, and
//!    W C W on a fresh `--speed max` site each round (after a window of warm-up).
//! 4. A 1,000,000-section wall (100 profiles of 10,000): each frame's work of applying its
//!    updates and drawing them (the page's `wallwatch:update` measures), from two seconds
//!    after its first render.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::browser::Browser;
use super::control::Percentiles;
use super::http_client::Client;
use super::median;
use super::site_process::{BenchDir, SiteProcess};
use crate::cmd::progress::{self, Progress};
use crate::config::cli::WebBenchArgs;
use crate::serve::client;
use crate::serve::protocol::Role;

/// How long a page has to draw its first snapshot, and to give a figure.
const PAGE_WITHIN: Duration = Duration::from_secs(60);
/// A pause after a load or a change, before a window starts.
const SETTLE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Serialize)]
pub struct WebBench {
    /// Loads of the page timed.
    pub loads: usize,
    pub first_render: Percentiles,
    /// The first load's (an empty browser cache, in a browser started and left to settle).
    pub first_render_cold_ms: f64,
    /// Seconds of each window.
    pub window_s: f64,
    pub browser_bytes_per_s: f64,
    pub viewer_bytes_per_s: f64,
    pub clients: usize,
    /// The site's CPU in % of one core, without and with the clients (median of the rounds).
    pub site_cpu_pct_without: f64,
    pub site_cpu_pct_with: f64,
    /// Readings stored per second at `--speed max` (median of the windows).
    pub pipeline_without: f64,
    pub pipeline_with: f64,
    /// Each window with the clients ÷ the mean of the two without either side, and their median.
    pub pipeline_kept_rounds: Vec<f64>,
    pub pipeline_kept: f64,
    pub rounds: usize,
    /// A 1,000,000-section wall: its first render, and each drawn update's work.
    pub big_first_render_ms: f64,
    pub big_update: Percentiles,
    pub big_updates: usize,
}

/// `wallwatch bench web`.
pub fn main(args: &WebBenchArgs) -> crate::cmd::Outcome {
    let result = crate::runtime::current_thread().and_then(|rt| rt.block_on(run(args)));
    super::print_result(args.json, result, |r| {
        let mark = |ok: bool| if ok { "✓" } else { "✗" };
        println!(
            "first render ({} loads)   p50 {:.0} ms, max {:.0} ms, cold {:.0} ms   target ≤ 200 ms {}",
            r.loads,
            r.first_render.p50_ms,
            r.first_render.max_ms,
            r.first_render_cold_ms,
            mark(r.first_render.max_ms <= 200.0)
        );
        let ratio = r.browser_bytes_per_s / r.viewer_bytes_per_s.max(1e-9);
        println!(
            "bytes per second ({:.0} s)  browser {:.0}, attached viewer {:.0}: {ratio:.2}×   target ≤ 2× {}",
            r.window_s,
            r.browser_bytes_per_s,
            r.viewer_bytes_per_s,
            mark(ratio <= 2.0)
        );
        let cost = r.site_cpu_pct_with - r.site_cpu_pct_without;
        println!(
            "{} /events clients       site CPU {:.2}% → {:.2}% of a core: +{cost:.2}%   target ≤ 1% {}",
            r.clients,
            r.site_cpu_pct_without,
            r.site_cpu_pct_with,
            mark(cost <= 1.0)
        );
        let kept = r.pipeline_kept;
        let rounds: Vec<String> = r
            .pipeline_kept_rounds
            .iter()
            .map(|k| format!("{k:.3}"))
            .collect();
        println!(
            "  at --speed max          {:.0} → {:.0} readings/s: {kept:.3}× (rounds {})   target ≥ 0.95× {}",
            r.pipeline_without,
            r.pipeline_with,
            rounds.join(", "),
            mark(kept >= 0.95)
        );
        println!(
            "1,000,000 sections        first render {:.0} ms; an update drawn ({} frames) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms   target ≤ 16 ms {}",
            r.big_first_render_ms,
            r.big_updates,
            r.big_update.p50_ms,
            r.big_update.p99_ms,
            r.big_update.max_ms,
            mark(r.big_update.p99_ms <= 16.0)
        );
    })
}

async fn run(args: &WebBenchArgs) -> Result<WebBench, String> {
    let dir = BenchDir::new("web")?;
    let window = Duration::from_secs_f64(args.window);
    // Minutes of work: a terminal is told which step it is at (the CPU measured is the sites').
    let progress = Progress::steps(progress::wanted(args.json), "bench web", Duration::ZERO);
    let step = progress.teller();
    step("starting the browser".into());
    let mut browser = Browser::start(1280, 900).await?;
    // A user's browser is running and idle when they open the page: the first load is timed
    // with the browser's own start-up done (its cache is still empty).
    browser.goto("about:blank").await?;
    tokio::time::sleep(SETTLE).await;
    let result = measure(args, &dir, window, &mut browser, &step).await;
    browser.close().await;
    result
}

async fn measure(
    args: &WebBenchArgs,
    dir: &BenchDir,
    window: Duration,
    browser: &mut Browser,
    step: &dyn Fn(String),
) -> Result<WebBench, String> {
    let memory = |extra: &[&str]| -> Vec<String> {
        ["--store", "memory:"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };

    // 1: the site at its defaults, on its own port (the proxy's hand-over would be timed too).
    let site = SiteProcess::start(&dir.0, "defaults", &memory(&[]))?;
    let url = format!("http://{}/", site.http);
    let mut renders = Vec::with_capacity(args.loads);
    for load in 0..args.loads {
        step(format!(
            "1. first render: load {} of {}",
            load + 1,
            args.loads
        ));
        renders.push(first_render(browser, &url).await?);
    }
    // 2: the page once more, through a counting proxy.
    step("2. bytes to the page and to a viewer".into());
    let proxy = Proxy::start(site.http).await?;
    first_render(browser, &format!("http://{}/", proxy.addr)).await?;
    let viewer = CountingViewer::attach(&site.socket).await?;
    tokio::time::sleep(SETTLE).await;
    let (b0, v0) = (proxy.bytes(), viewer.bytes());
    tokio::time::sleep(window).await;
    let (b1, v1) = (proxy.bytes(), viewer.bytes());
    let secs = window.as_secs_f64();

    // 3: the site's CPU with and without the clients, W C W … C W.
    let pid = site.pid().to_string();
    let mut cpu = Bracketed::default();
    cpu.without.push(cpu_pct(&pid, window).await?);
    for r in 0..args.rounds {
        step(format!(
            "3. the site's CPU with and without {} clients: round {} of {}",
            args.clients,
            r + 1,
            args.rounds
        ));
        let (with, after) = clients_between(site.http, args.clients, async || {
            cpu_pct(&pid, window).await
        })
        .await?;
        cpu.add(with, after);
    }
    drop(viewer);
    site.stop()?;

    // 3, at --speed max: readings stored per second, W C W on a fresh site each round. Its
    // `memory:` store grows by ~200 MB/s, so one site for every round would fill this machine's
    // memory; a new site's first seconds, into an empty store, run faster: a window of warm-up.
    let mut stored = Bracketed::default();
    for r in 0..args.rounds {
        step(format!(
            "3. readings/s at --speed max with and without {} clients: round {} of {}, a fresh site",
            args.clients,
            r + 1,
            args.rounds
        ));
        let fast = SiteProcess::start(&dir.0, &format!("max-{r}"), &memory(&["--speed", "max"]))?;
        let mut api = Client::new(fast.http, None);
        tokio::time::sleep(SETTLE).await;
        // The warm-up, not counted.
        stored_rate(&mut api, window).await?;
        stored.without.push(stored_rate(&mut api, window).await?);
        let (with, after) = clients_between(fast.http, args.clients, async || {
            stored_rate(&mut api, window).await
        })
        .await?;
        stored.add(with, after);
        fast.stop()?;
    }

    // 4: a 1,000,000-section wall.
    step("4. a 1,000,000-section wall".into());
    let file = dir.0.join("million.txt");
    let line = (0..10_000)
        .map(|i| ((i * 13) % 30).to_string())
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(&file, format!("{line}\n").repeat(100))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let file = file.display().to_string();
    let big = SiteProcess::start(
        &dir.0,
        "million",
        &memory(&[
            "--profiles",
            &file,
            "--max-sections",
            "10000",
            "--crews",
            "200",
            "--speed",
            "20",
        ]),
    )?;
    let big_first = first_render(browser, &format!("http://{}/", big.http)).await?;
    // The page's first second compiles its drawing code as it runs (frames of 10-27 ms): the
    // figure is an update's steady cost, after the settle every other window has too.
    tokio::time::sleep(SETTLE).await;
    browser
        .eval("performance.clearMeasures('wallwatch:update'); return true")
        .await?;
    tokio::time::sleep(window).await;
    let drawn = browser
        .eval("return performance.getEntriesByName('wallwatch:update').map((m) => m.duration)")
        .await?;
    big.stop()?;
    let drawn: Vec<Duration> = drawn
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_f64)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    if drawn.is_empty() {
        return Err("the 1,000,000-section page drew no update".into());
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(WebBench {
        loads: args.loads,
        first_render: Percentiles::of(&renders),
        first_render_cold_ms: renders.first().copied().map_or(0.0, ms),
        window_s: secs,
        browser_bytes_per_s: (b1 - b0) as f64 / secs,
        viewer_bytes_per_s: (v1 - v0) as f64 / secs,
        clients: args.clients,
        site_cpu_pct_without: median(cpu.without),
        site_cpu_pct_with: median(cpu.with),
        pipeline_without: median(stored.without),
        pipeline_with: median(stored.with),
        pipeline_kept: median(stored.kept.clone()),
        pipeline_kept_rounds: stored.kept,
        rounds: args.rounds,
        big_first_render_ms: ms(big_first),
        big_update: Percentiles::of(&drawn),
        big_updates: drawn.len(),
    })
}

/// A figure measured in windows without (W) and with (C) the clients in turn.
#[derive(Default)]
struct Bracketed {
    without: Vec<f64>,
    with: Vec<f64>,
    /// Each C ÷ the mean of the Ws either side of it: a steady drift over the run weighs on
    /// both sides alike.
    kept: Vec<f64>,
}

impl Bracketed {
    /// A window with the clients between two without them, the one before already the last of
    /// `without`.
    fn add(&mut self, with: f64, after: f64) {
        let before = self.without.last().copied().unwrap_or(after);
        self.kept.push(with / ((before + after) / 2.0).max(1e-9));
        self.with.push(with);
        self.without.push(after);
    }
}

/// `measure` (one window) with `clients` clients of `site`, then again once they have gone,
/// with a settle after the opening and after the closing.
async fn clients_between(
    site: SocketAddr,
    clients: usize,
    mut measure: impl AsyncFnMut() -> Result<f64, String>,
) -> Result<(f64, f64), String> {
    let open = Clients::open(site, clients).await?;
    tokio::time::sleep(SETTLE).await;
    let with = measure().await?;
    open.close();
    tokio::time::sleep(SETTLE).await;
    Ok((with, measure().await?))
}

/// Loads `url` in the browser; the time from navigation to its first complete render.
async fn first_render(browser: &mut Browser, url: &str) -> Result<Duration, String> {
    browser.goto(url).await?;
    let at = browser
        .wait_for(
            "the page's first render",
            "const m = performance.getEntriesByName('wallwatch:first-render'); \
             return m.length ? m[0].startTime : null;",
            PAGE_WITHIN,
        )
        .await?;
    let ms = at.as_f64().ok_or("the first-render mark has no time")?;
    Ok(Duration::from_secs_f64(ms / 1e3))
}

/// The site's CPU over `window`, in % of one core.
async fn cpu_pct(pid: &str, window: Duration) -> Result<f64, String> {
    let cpu = || super::proc::cpu_time_of(pid).ok_or("no /proc figures of the site");
    let (c0, t0) = (cpu()?, Instant::now());
    tokio::time::sleep(window).await;
    let (c1, t1) = (cpu()?, Instant::now());
    Ok((c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64() * 100.0)
}

/// Readings stored per second over `window` (from `/status`).
async fn stored_rate(api: &mut Client, window: Duration) -> Result<f64, String> {
    let stored = async |api: &mut Client| -> Result<(f64, Instant), String> {
        let v = api.get("/status").await?.json("/status")?;
        let n = v["readings"]["stored"]
            .as_f64()
            .ok_or("/status has no readings.stored")?;
        Ok((n, Instant::now()))
    };
    let (n0, t0) = stored(api).await?;
    tokio::time::sleep(window).await;
    let (n1, t1) = stored(api).await?;
    Ok((n1 - n0) / (t1 - t0).as_secs_f64())
}

/// A TCP proxy in front of the site that counts the bytes the site sends through it.
struct Proxy {
    addr: SocketAddr,
    bytes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(site: SocketAddr) -> Result<Proxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("the proxy: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = bytes.clone();
        let task = tokio::spawn(async move {
            while let Ok((browser, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(site).await {
                        pipe(browser, server, counted).await;
                    }
                });
            }
        });
        Ok(Proxy { addr, bytes, task })
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies both ways until either side closes, counting what the server sends.
async fn pipe(browser: TcpStream, server: TcpStream, counted: Arc<AtomicU64>) {
    let (mut br, mut bw) = browser.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = br.read(&mut buf).await {
            if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = sr.read(&mut buf).await {
            if n == 0 || bw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            counted.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    tokio::select! { _ = up => {}, _ = down => {} }
}

/// An attached viewer that counts the bytes of the frames the site sends it.
struct CountingViewer {
    bytes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingViewer {
    async fn attach(socket: &std::path::Path) -> Result<CountingViewer, String> {
        let (mut reader, writer) =
            client::connect(socket, Role::Viewer { read_only: true }).await?;
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = bytes.clone();
        let task = tokio::spawn(async move {
            let _writer = writer;
            while let Some(Ok(frame)) = reader.next().await {
                // The frame and its 4-byte length.
                counted.fetch_add(frame.len() as u64 + 4, Ordering::Relaxed);
            }
        });
        Ok(CountingViewer { bytes, task })
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for CountingViewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `n` clients of `/events`, each reading its stream as fast as it comes.
struct Clients {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Clients {
    /// Opens them; returns once each has its first bytes (the snapshot).
    async fn open(site: SocketAddr, n: usize) -> Result<Clients, String> {
        let mut tasks = Vec::with_capacity(n);
        let mut started = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = tokio::sync::oneshot::channel();
            started.push(rx);
            tasks.push(tokio::spawn(async move {
                let Ok(mut s) = TcpStream::connect(site).await else {
                    return;
                };
                let request = "GET /events HTTP/1.1\r\nHost: bench\r\n\r\n";
                if s.write_all(request.as_bytes()).await.is_err() {
                    return;
                }
                let mut buf = vec![0u8; 64 * 1024];
                let mut tx = Some(tx);
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }));
        }
        for rx in started {
            tokio::time::timeout(PAGE_WITHIN, rx)
                .await
                .map_err(|_| "an /events client had no answer within 60 s")?
                .map_err(|_| "an /events client could not connect")?;
        }
        Ok(Clients { tasks })
    }

    fn close(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

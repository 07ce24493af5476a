//! The site's read-only HTTP API (`--http ADDR` on `serve` and `run`): the original four wall
//! paths answered live, status, sensors, readings, the crews' log, settings, health and
//! Prometheus metrics. axum 0.8 over the engine's [`Gauges`] and the site's [`Hub`]; nothing
//! here can change the site.
//!
//! Limits: at most [`MAX_CONNECTIONS`] connections at once (more wait to be accepted), a
//! connection with no bytes moving for [`IDLE_TIMEOUT`] is closed (slow or idle clients), a
//! request is answered within [`router::REQUEST_TIMEOUT`], and a request with a body is refused.

pub mod error;
pub mod listener;
pub mod metrics;
pub mod router;
pub mod site;
pub mod wall;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::engine::Gauges;
use crate::site::Hub;
use crate::wall::History;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// A connection on which nothing is read or written for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long open connections get to finish when the site stops.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

/// What the handlers share.
pub struct Api {
    pub gauges: Gauges,
    pub hub: Arc<Hub>,
    pub started: Instant,
    /// `/config`'s answer.
    pub settings: serde_json::Value,
    /// False once the site is stopping (`/healthz` then says so).
    pub running: AtomicBool,
    registry: Registry,
    /// The last projected history and the book version it is of.
    projection: Mutex<Option<(u64, Arc<History>)>>,
}

impl Api {
    pub fn new(gauges: Gauges, hub: Arc<Hub>, settings: serde_json::Value) -> Arc<Api> {
        let registry = metrics::registry(gauges.clone(), hub.clone());
        Arc::new(Api {
            gauges,
            hub,
            started: Instant::now(),
            settings,
            running: AtomicBool::new(true),
            registry,
            projection: Mutex::new(None),
        })
    }
}

/// A running HTTP server.
pub struct HttpServer {
    pub addr: SocketAddr,
    api: Arc<Api>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The API's socket, bound before the engine starts (so a taken port fails the run before
/// anything else happens) and served once the site is up.
pub struct Bound {
    tcp: tokio::net::TcpListener,
    addr: SocketAddr,
}

/// Binds `addr`. A non-loopback address gets a warning on stderr (the API has no
/// authentication). Errors are one line naming the flag.
pub async fn bind(addr: SocketAddr) -> Result<Bound, String> {
    let tcp = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--http {addr}: cannot listen: {e}"))?;
    let bound = tcp
        .local_addr()
        .map_err(|e| format!("--http {addr}: {e}"))?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "wallwatch: warning: the HTTP API on {bound} is reachable from other machines; it is \
             read-only and has no authentication"
        );
    }
    Ok(Bound { tcp, addr: bound })
}

impl Bound {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers requests with `api` until stopped.
    pub fn serve(self, api: Arc<Api>) -> HttpServer {
        let app = router::router(api.clone());
        let listener = listener::Limited::new(self.tcp, MAX_CONNECTIONS, IDLE_TIMEOUT);
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stop.await;
            });
            if let Err(e) = served.await {
                tracing::error!(target: "http", "the HTTP API failed: {e}");
            }
        });
        tracing::info!(target: "http", "HTTP API on http://{}", self.addr);
        HttpServer {
            addr: self.addr,
            api,
            shutdown,
            task,
        }
    }
}

impl HttpServer {
    /// The site is stopping: `/healthz` says so from now on.
    pub fn stopping(&self) {
        self.api.running.store(false, Ordering::Relaxed);
    }

    /// Stops answering; open connections get a moment to finish.
    pub async fn stop(self) {
        self.stopping();
        let _ = self.shutdown.send(());
        let mut task = self.task;
        if tokio::time::timeout(CLOSE_WITHIN, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// The effective settings as `/config` shows them.
pub fn settings(config: &Config) -> serde_json::Value {
    let e = &config.engine;
    serde_json::json!({
        "profiles": config.profiles,
        "profiles_count": e.wall.profiles(),
        "sections": e.wall.sections(),
        "max_sections": config.max_sections,
        "crews": match e.crews {
            crate::wall::Crews::Unlimited => serde_json::json!("unlimited"),
            crate::wall::Crews::Limited(n) => serde_json::json!(n),
        },
        "sensors": e.sensors,
        "sensor_kinds": e.sensor_kinds,
        "network_limit": e.network_limit,
        "latency": e.latency.to_string(),
        "store": crate::store::redact_url(&e.store),
        "seed": e.seed,
        "speed": match e.speed {
            crate::engine::Speed::Max => serde_json::json!("max"),
            crate::engine::Speed::Factor(f) => serde_json::json!(f),
        },
        "day_seconds": e.day_seconds,
        "days": e.days,
        "until_complete": e.until_complete,
        "fresh": e.fresh,
        "duration_s": config.duration.map(|d| d.as_secs_f64()),
        "http": config.http.map(|a| a.to_string()),
        "log_file": config.log_file.as_ref().map(|p| p.display().to_string()),
        "log_keep": config.log_keep,
    })
}

/// The one way every mode (`serve`, the dashboard, headless) runs the API. First, before the
/// engine starts, [`bind`] `--http`'s address (nothing without it) ...
pub async fn bind_for(config: &Config) -> Result<Option<Bound>, String> {
    match config.http {
        Some(addr) => bind(addr).await.map(Some),
        None => Ok(None),
    }
}

/// ... then, once the site is up, answer over its engine and site.
pub fn serve_for(
    bound: Option<Bound>,
    config: &Config,
    gauges: Gauges,
    hub: Arc<Hub>,
) -> Option<HttpServer> {
    bound.map(|b| b.serve(Api::new(gauges, hub, settings(config))))
}

/// What the engine must keep for the API: the stored days read back when resuming.
pub fn start_options(config: &Config) -> crate::engine::StartOptions {
    crate::engine::StartOptions {
        history: config.http.is_some(),
        ..crate::engine::StartOptions::default()
    }
}

/// The site is stopping: `/healthz` says so while the engine drains.
pub fn stopping(server: &Option<HttpServer>) {
    if let Some(s) = server {
        s.stopping();
    }
}

/// Stops the API if there is one (see [`HttpServer::stop`]).
pub async fn stop(server: Option<HttpServer>) {
    if let Some(s) = server {
        s.stop().await;
    }
}

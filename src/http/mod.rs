//! The site's HTTP API (`--http ADDR` on `serve` and `run`): the original four wall paths
//! answered live, status, sensors, readings, the crews' log, settings, health, Prometheus
//! metrics, the site model as server-sent events ([`events`]) and a page that shows them in a
//! browser ([`page`]), read over the engine's
//! [`Gauges`] and the site's [`Hub`]; and writes (crews, sensors, speed, pause), each a command
//! to the engine's [`CommandSender`] guarded by a bearer token ([`token`], [`gate`]). axum 0.8.
//!
//! Limits: at most [`MAX_CONNECTIONS`] connections at once (more wait to be accepted), at most
//! [`MAX_PER_PEER`] of them from one address (more are closed on arrival), a request's headers
//! within [`server::HEADER_TIMEOUT`] (slow clients), a connection with no bytes moving for
//! [`IDLE_TIMEOUT`] is closed (stalled or idle clients), a request is answered within
//! [`router::REQUEST_TIMEOUT`], a write's body holds at most [`body::MAX_BODY`] and any other
//! request's body is refused.
//! It runs on its own runtime ([`runtime`]) whose priority follows the pipeline's ([`priority`]):
//! asking it hard does not slow a busy site.

pub mod body;
pub mod control;
pub mod error;
pub mod events;
pub mod gate;
pub mod json;
pub mod listener;
pub mod metrics;
pub mod model;
pub mod page;
pub mod priority;
pub mod router;
pub mod routes;
pub mod server;
pub mod token;
pub mod wall;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use tokio::sync::{oneshot, watch};

use crate::engine::{CommandSender, Gauges};
use crate::site::Hub;
use crate::wall::Projection;
use gate::Access;
use token::TokenFile;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// Connections served at once from one address: a quarter of them, so that one peer (a slow
/// client's 600 connections, `wrk -c 2000`) leaves the others room.
pub const MAX_PER_PEER: usize = MAX_CONNECTIONS / 4;
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
    /// Where writes go.
    pub commands: CommandSender,
    /// Who may read and write.
    pub access: Access,
    /// This site process's `/events` streams (see [`events`]).
    pub events: Arc<events::Source>,
    registry: Registry,
    /// The last projection and the book's plan it is of.
    projection: Mutex<Option<(u64, Arc<Projection>)>>,
}

impl Api {
    pub fn new(
        gauges: Gauges,
        hub: Arc<Hub>,
        settings: serde_json::Value,
        commands: CommandSender,
        access: Access,
    ) -> Arc<Api> {
        let registry = metrics::registry(gauges.clone(), hub.clone());
        Arc::new(Api {
            gauges,
            hub,
            started: Instant::now(),
            settings,
            running: AtomicBool::new(true),
            commands,
            access,
            events: events::Source::new(),
            registry,
            projection: Mutex::new(None),
        })
    }
}

/// A running HTTP server, on its own runtime (see [`runtime`]).
pub struct HttpServer {
    pub addr: SocketAddr,
    api: Arc<Api>,
    stop: watch::Sender<bool>,
    done: Option<oneshot::Receiver<()>>,
    runtime: Option<tokio::runtime::Runtime>,
    /// The task moving the API's threads' priority ([`priority::follow`]).
    follower: Option<tokio::task::JoinHandle<()>>,
}

/// The API's socket, bound before the engine starts (so a taken port fails the run before
/// anything else happens) and served once the site is up.
pub struct Bound {
    tcp: tokio::net::TcpListener,
    addr: SocketAddr,
    access: Access,
}

/// Binds `addr` for `access`. A non-loopback address gets a warning on stderr saying what
/// needs no token there. Errors are one line naming the flag.
pub async fn bind(addr: SocketAddr, access: Access) -> Result<Bound, String> {
    let tcp = listen(addr).map_err(|e| format!("--http {addr}: cannot listen: {e}"))?;
    let bound = tcp
        .local_addr()
        .map_err(|e| format!("--http {addr}: {e}"))?;
    if !addr.ip().is_loopback() {
        let what = match (access.writes, access.guard_reads) {
            (false, false) => "it is read-only and has no authentication",
            (false, true) => "it is read-only; reads need its token",
            (true, false) => "writes need its token; reads have no authentication",
            (true, true) => "reads and writes need its token",
        };
        eprintln!(
            "wallwatch: warning: the HTTP API on {bound} is reachable from other machines; {what}"
        );
    }
    Ok(Bound {
        tcp,
        addr: bound,
        access,
    })
}

/// Connections the kernel may hold for the API before it accepts them (the kernel caps it at
/// `net.core.somaxconn`). Beyond it a new client's SYN is dropped and retried after 1, 3, 7 s:
/// under `wrk -c 2000` a scrape waited that long just to connect with tokio's 1,024.
pub const BACKLOG: u32 = 8192;

/// A listening socket on `addr` with [`BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// The API's runtime: two workers (and its blocking threads) apart from the engine's, their
/// priority following how busy the site's pipeline is ([`priority`]): level with other threads
/// while it is quiet, `SCHED_IDLE` (only CPU time no other thread wants) while it is busy, so
/// that a site at `--speed max` keeps its pace however hard the API is asked.
pub fn runtime(threads: &Arc<priority::Threads>) -> Result<tokio::runtime::Runtime, String> {
    let (started, stopped) = (threads.clone(), threads.clone());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("wallwatch-http")
        .on_thread_start(move || started.started())
        .on_thread_stop(move || stopped.stopped())
        .enable_all()
        .build()
        .map_err(|e| format!("--http: cannot start the API's runtime: {e}"))
}

impl Bound {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the token guarded requests need is, if any are guarded.
    pub fn token_file(&self) -> Option<&std::path::Path> {
        self.access.token_file.as_deref()
    }

    /// Answers requests with `api` until stopped, on the API's own [`runtime`].
    pub fn serve(self, api: Arc<Api>) -> Result<HttpServer, String> {
        let threads = priority::Threads::new();
        let runtime = runtime(&threads)?;
        // On the site's runtime, the one whose business it follows.
        let follower = tokio::runtime::Handle::try_current()
            .ok()
            .map(|site| site.spawn(priority::follow(site.clone(), threads)));
        // The socket moves to the API's runtime (it was registered with the caller's).
        let std = self
            .tcp
            .into_std()
            .map_err(|e| format!("--http {}: {e}", self.addr))?;
        let app = router::Guarded::new(api.clone());
        let (stop, mut stopped) = watch::channel(false);
        let (done_tx, done) = oneshot::channel();
        runtime.spawn(async move {
            let tcp = match tokio::net::TcpListener::from_std(std) {
                Ok(tcp) => tcp,
                Err(e) => {
                    tracing::error!(target: "http", "the HTTP API cannot listen: {e}");
                    return;
                }
            };
            let listener =
                listener::Limited::new(tcp, MAX_CONNECTIONS, IDLE_TIMEOUT).per_peer(MAX_PER_PEER);
            tokio::select! {
                () = server::serve(listener, app, stopped.clone()) => {}
                // Connections still open a while after the stop are not waited for.
                _ = async {
                    let _ = stopped.wait_for(|s| *s).await;
                    tokio::time::sleep(CLOSE_WITHIN).await;
                } => {}
            }
            let _ = done_tx.send(());
        });
        tracing::info!(target: "http", "HTTP API on http://{}", self.addr);
        if let Some(file) = &api.access.token_file {
            let shown = crate::text::sanitize(&file.display().to_string()).into_owned();
            tracing::info!(target: "http", "HTTP API token file: {shown}");
        }
        Ok(HttpServer {
            addr: self.addr,
            api,
            stop,
            done: Some(done),
            runtime: Some(runtime),
            follower,
        })
    }
}

impl HttpServer {
    /// The site is stopping: `/healthz` says so from now on.
    pub fn stopping(&self) {
        self.api.running.store(false, Ordering::Relaxed);
    }

    /// Stops answering; open connections get a moment to finish.
    pub async fn stop(mut self) {
        self.stopping();
        let _ = self.stop.send(true);
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(CLOSE_WITHIN * 2, done).await;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        // Never blocks, so an async caller may drop it too.
        if let Some(follower) = self.follower.take() {
            follower.abort();
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// What the API takes from the run's settings, built by `cmd` from its `Config` (this layer
/// sits below config and knows none).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `--http`'s address; no API without it.
    pub addr: Option<SocketAddr>,
    /// `/config`'s answer: the effective settings, a store password redacted.
    pub shown: serde_json::Value,
    /// Writes answered (false: `--http-read-only`, every write a 405).
    pub writes: bool,
    /// Reads need the token too (`--http-auth all`).
    pub guard_reads: bool,
    /// Where the token is, or is written.
    pub token_file: TokenFile,
}

/// The one way every mode (`serve`, the dashboard, headless) runs the API. First, before the
/// engine starts, the token (when something needs one), then [`bind`] `--http`'s address
/// (nothing without it) ...
pub async fn bind_for(settings: &HttpSettings) -> Result<Option<Bound>, String> {
    let Some(addr) = settings.addr else {
        return Ok(None);
    };
    bind(addr, access_for(settings, addr)?).await.map(Some)
}

/// Who may do what: the token loaded when writes or reads need it. Writes open to other
/// machines with a token file others may read are refused.
fn access_for(settings: &HttpSettings, addr: SocketAddr) -> Result<Access, String> {
    let mut access = Access {
        writes: settings.writes,
        guard_reads: settings.guard_reads,
        token: None,
        token_file: None,
    };
    if settings.writes || settings.guard_reads {
        let path = settings.token_file.path();
        access.token = Some(token::load(&settings.token_file)?);
        if settings.writes && !addr.ip().is_loopback() {
            token::check_private(path).map_err(|why| format!("--http {addr}: {why}"))?;
        }
        access.token_file = Some(path.to_path_buf());
    }
    Ok(access)
}

/// ... then, once the site is up, answer over its engine and site.
pub fn serve_for(
    bound: Option<Bound>,
    settings: &HttpSettings,
    gauges: Gauges,
    hub: Arc<Hub>,
    commands: CommandSender,
) -> Result<Option<HttpServer>, String> {
    bound
        .map(|b| {
            let access = b.access.clone();
            b.serve(Api::new(
                gauges,
                hub,
                settings.shown.clone(),
                commands,
                access,
            ))
        })
        .transpose()
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

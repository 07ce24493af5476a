//! `wallwatch serve`: the site (engine, store, site model) with no terminal, listening on a
//! Unix socket for viewers (`attach`), `status` and `stop`. Runs until SIGTERM, SIGINT,
//! `wallwatch stop`, or a run option's end (`--duration`, `--days`, `--until-complete`);
//! SIGHUP does not stop it. Then it drains as a headless run does and prints the same JSON
//! summary on stdout. Human logs go to stderr; the log lines also go to every viewer. A panic in
//! an engine task ends the site at once: one line naming the task, exit status 101.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::services::Services;
use super::{Failure, Outcome};
use crate::config::cli::ServeArgs;
use crate::config::{Config, DEFAULT_CREWS};
use crate::engine::{StartOptions, Summary};
use crate::serve::access::{self, Access};
use crate::serve::session::{self, Ctx, StopWaiter};
use crate::serve::{notify, socket};
use crate::site::{LogFeed, Site};

/// How long the sessions get to finish once the site has stopped.
const SESSIONS_END_WITHIN: Duration = Duration::from_secs(2);
/// How often `--days` and `--until-complete` are checked.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The whole `serve` command.
pub fn main(args: &ServeArgs) -> Outcome {
    let mut config =
        Config::from_args(&args.run, DEFAULT_CREWS).map_err(|e| Failure::bad(e.to_string()))?;
    // The flags', else the config file's.
    let site = config.serve_site(&args.site.to_site());
    let access = config
        .serve_access(args.socket_group.as_deref(), args.group_may_steer)
        .map_err(|e| Failure::bad(e.to_string()))?;
    let path =
        socket::resolve_env(site.socket.as_deref(), site.name.as_deref()).map_err(Failure::bad)?;
    config.engine.holder = format!("wallwatch serve at {}", path.display());
    if site.socket.is_none()
        && let Some(dir) = path.parent()
    {
        socket::ensure_private_dir(dir, access.group.as_ref()).map_err(Failure::bad)?;
    }
    let file =
        crate::logfile::layer(config.log_file.as_deref(), config.log_keep).map_err(Failure::bad)?;
    let feed = init_logging(file);
    // How `attach` and `stop` name this site: nothing for the default one.
    let which = match (&site.socket, &site.name) {
        (Some(p), _) => format!(" --socket {}", p.display()),
        (None, Some(n)) if n != socket::DEFAULT_NAME => format!(" --site {n}"),
        _ => String::new(),
    };
    let summary = crate::runtime::run_site(serve(&config, &path, &which, access, feed))
        .map_err(Failure::bad)??;
    crate::text::print_line(&serde_json::to_string(&summary).unwrap_or_default());
    super::run::exit_of(&summary)
}

/// Human logs to stderr (Info and above, or `RUST_LOG`); the site's log feed gets Debug and
/// above for the viewers' log panes.
fn init_logging(file: Option<crate::logfile::FileLayer>) -> Arc<LogFeed> {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let feed = LogFeed::new();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(super::progress::StderrAbove::default)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(file)
        .with(stderr)
        .with(
            feed.layer()
                .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG),
        )
        .try_init();
    feed
}

/// Removes the socket file when the site ends, however it ends; then lets go of its lock.
struct SocketFile {
    path: PathBuf,
    _lock: crate::lockfile::LockFile,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Runs the site until it is stopped; returns the final summary. Under systemd
/// (`Type=notify`) it says READY once it serves and STOPPING when it starts to drain.
pub async fn serve(
    config: &Config,
    path: &Path,
    which: &str,
    access: Access,
    feed: Arc<LogFeed>,
) -> Result<Summary, Failure> {
    let mut signals = StopSignals::watch()?;
    // The socket first: a second server on it fails before it touches the store.
    let socket::Listening { listener, lock } = socket::listen(path).await.map_err(Failure::bad)?;
    // Held until the socket file is removed, after the drain.
    let socket_file = SocketFile {
        path: path.to_path_buf(),
        _lock: lock,
    };
    if let Some(group) = &access.group {
        access::open_to_group(path, group).map_err(Failure::bad)?;
    }
    let (services, site) = start_site(config, feed, path).await?;
    let mut serving = Serving::new(listener, &services, &site, path, access);
    say_where(path, which, services.http_token_file());
    notify::notify(notify::READY);
    let reason = serving.until_stopped(config, &services, &mut signals).await;
    notify::notify(notify::STOPPING);
    tracing::info!(target: "serve", "stopping ({reason}): draining the network and flushing the store");
    serving.drain(services, site, socket_file).await
}

/// The signals `serve` watches: SIGINT and SIGTERM stop it, SIGHUP is only logged.
struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    fn watch() -> Result<StopSignals, Failure> {
        let signal_error = |e: std::io::Error| Failure::bad(format!("cannot watch signals: {e}"));
        Ok(StopSignals {
            int: signal(SignalKind::interrupt()).map_err(signal_error)?,
            term: signal(SignalKind::terminate()).map_err(signal_error)?,
            hup: signal(SignalKind::hangup()).map_err(signal_error)?,
        })
    }
}

/// Starts the engine and its services, the site model on its events, then the HTTP API.
async fn start_site(
    config: &Config,
    feed: Arc<LogFeed>,
    path: &Path,
) -> Result<(Services, Site), Failure> {
    let (mut services, events) =
        Services::start_beside(config, StartOptions::default(), Some(path))
            .await
            .map_err(|e| Failure::bad(e.to_string()))?;
    let site = Site::start(events, Some(feed))
        .await
        .ok_or_else(|| Failure::bad("the engine stopped before it started"))?;
    services
        .serve_http(config, site.hub.clone())
        .map_err(|e| Failure::bad(e.to_string()))?;
    Ok((services, site))
}

/// The socket's side of a running site: the listener, the sessions it started, and the
/// `wallwatch stop` clients waiting for the summary.
struct Serving {
    listener: UnixListener,
    ctx: Arc<Ctx>,
    stop_rx: mpsc::Receiver<StopWaiter>,
    sessions: JoinSet<()>,
    waiters: Vec<StopWaiter>,
}

impl Serving {
    fn new(
        listener: UnixListener,
        services: &Services,
        site: &Site,
        path: &Path,
        access: Access,
    ) -> Serving {
        let engine = &services.engine;
        let (stop_tx, stop_rx) = mpsc::channel::<StopWaiter>(8);
        let ctx = Arc::new(Ctx {
            hub: site.hub.clone(),
            commands: engine.command_sender(),
            gauges: engine.gauges(),
            started: std::time::Instant::now(),
            socket: path.to_path_buf(),
            stop: stop_tx,
            viewers_seen: Default::default(),
            access,
        });
        Serving {
            listener,
            ctx,
            stop_rx,
            sessions: JoinSet::new(),
            waiters: Vec::new(),
        }
    }

    /// Takes viewers until something stops the site; returns why it stops.
    async fn until_stopped(
        &mut self,
        config: &Config,
        services: &Services,
        signals: &mut StopSignals,
    ) -> String {
        let deadline = async {
            match config.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut progress = tokio::time::interval(PROGRESS_EVERY);
        let watch_progress = config.engine.days.is_some() || config.engine.until_complete;
        let failed = services.engine.failed();
        tokio::pin!(failed);
        // A viewer's (or the CLI's) `Shutdown` command stops the site as `wallwatch stop` does.
        let asked = services.engine.stop_asked();
        tokio::pin!(asked);
        loop {
            tokio::select! {
                // The engine is already draining; `shutdown` returns the panic as the error.
                line = &mut failed => break line,
                who = &mut asked => break format!("{who} asked to stop"),
                _ = signals.int.recv() => break "SIGINT".to_string(),
                _ = signals.term.recv() => break "SIGTERM".to_string(),
                _ = signals.hup.recv() => {
                    tracing::info!(
                        target: "serve",
                        "SIGHUP ignored: the site runs on (stop it with SIGTERM or `wallwatch stop`)"
                    );
                }
                waiter = self.stop_rx.recv() => {
                    self.waiters.extend(waiter);
                    break "wallwatch stop".to_string();
                }
                _ = &mut deadline => break "duration reached".to_string(),
                _ = progress.tick(), if watch_progress => {
                    if let Some(end) = config.engine.end_reached(&self.ctx.gauges.progress()) {
                        break end;
                    }
                }
                conn = self.listener.accept() => match conn {
                    Ok((stream, _)) => {
                        self.sessions.spawn(session::run(stream, self.ctx.clone()));
                        while self.sessions.try_join_next().is_some() {}
                    }
                    Err(e) => tracing::warn!(target: "serve", "accept failed: {e}"),
                },
            }
        }
    }

    /// Stops the site, gives the summary to every `wallwatch stop` waiting, lets the sessions
    /// end, then removes the socket file.
    async fn drain(
        self,
        services: Services,
        site: Site,
        socket_file: SocketFile,
    ) -> Result<Summary, Failure> {
        let Serving {
            listener,
            ctx: _ctx,
            mut stop_rx,
            sessions,
            mut waiters,
        } = self;
        // No new connections while draining; the file goes when the site has stopped.
        drop(listener);
        let summary = services.stop(Some(site)).await;
        // Stop requests that came in during the drain wait too.
        while let Ok(w) = stop_rx.try_recv() {
            waiters.push(w);
        }
        match &summary {
            Err(e) => tracing::error!(target: "serve", "{}", crate::text::sanitize(&e.to_string())),
            Ok(summary) => {
                let json = serde_json::to_string(summary).unwrap_or_default();
                for w in waiters {
                    let _ = w.send(json.clone());
                }
            }
        }
        // Sessions end with the site (viewers see their connection close; `stop` clients get the
        // summary); one whose client does not read is not waited for long.
        let _ = tokio::time::timeout(SESSIONS_END_WITHIN, sessions.join_all()).await;
        drop(socket_file);
        summary.map_err(|e| Failure::engine(&e))
    }
}

/// Says on stderr where the site listens and how to watch and stop it (`which`: the
/// `--socket`/`--site` to repeat), and where the HTTP API's token is.
fn say_where(path: &Path, which: &str, token: Option<&Path>) {
    let shown = crate::text::sanitize(&path.display().to_string()).into_owned();
    eprintln!(
        "wallwatch: serving the site at {shown}; watch it with `wallwatch attach{which}`, stop \
         it with `wallwatch stop{which}` or SIGTERM",
        which = crate::text::sanitize(which)
    );
    if let Some(token) = token {
        let token = crate::text::sanitize(&token.display().to_string()).into_owned();
        eprintln!("wallwatch: the HTTP API's token is in {token} (Authorization: Bearer TOKEN)");
    }
}

//! What `run` (the dashboard and `--headless`) and `serve` run beside the engine: the broker's
//! subscriber (`--broker`) and the HTTP API (`--http`). Started in one order and stopped in one
//! order, the same for all three.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::progress::Progress;

use crate::broker::subscriber::SiteBroker;
use crate::config::Config;
use crate::config::cli::HttpAuth;
use crate::engine::{Engine, EngineError, Event, Opening, StartOptions, Summary};
use crate::http::token::TokenFile;
use crate::http::{Bound, HttpServer, HttpSettings};
use crate::site::{Hub, Site};

/// How long opening the store may take before a line on a terminal says which step it is at.
const SHOW_OPENING_AFTER: Duration = Duration::from_millis(300);

/// The engine and what runs beside it.
pub struct Services {
    pub engine: Engine,
    broker: Option<SiteBroker>,
    /// The API's port, bound before the engine started, until [`Services::serve_http`].
    bound: Option<Bound>,
    http: Option<HttpServer>,
    /// Where the API's token is, when something needs one.
    token_file: Option<PathBuf>,
}

impl Services {
    /// [`Services::start_beside`] a site with no socket of its own (`run`): its API's token
    /// goes in the default site directory.
    pub async fn start(
        config: &Config,
        options: StartOptions,
    ) -> Result<(Services, mpsc::Receiver<Event>), EngineError> {
        Services::start_beside(config, options, None).await
    }

    /// Writes the API's token (beside `socket`, or in the default site directory) and binds
    /// its port first (a taken port fails the run before the store is touched), then starts
    /// the engine with `options`, connected to the broker when asked. With the API the engine
    /// also reads the wall's stored days back (the API answers about past days).
    pub async fn start_beside(
        config: &Config,
        options: StartOptions,
        socket: Option<&Path>,
    ) -> Result<(Services, mpsc::Receiver<Event>), EngineError> {
        let settings = http_settings_beside(config, socket).map_err(EngineError::Internal)?;
        let bound = crate::http::bind_for(&settings)
            .await
            .map_err(EngineError::Internal)?;
        let token_file = bound
            .as_ref()
            .and_then(|b| b.token_file())
            .map(Path::to_path_buf);
        // On a store of millions of rows the start takes seconds: say which step it is at.
        let store = config.engine.store.to_string(); // its password shown as ***
        let progress = Progress::steps(
            options.on_opening.is_none() && std::io::stderr().is_terminal(),
            &format!("store {}", crate::text::sanitize(&store)),
            SHOW_OPENING_AFTER,
        );
        let tell = progress.teller();
        let options = StartOptions {
            history: config.http.is_some(),
            on_opening: options
                .on_opening
                .or_else(|| Some(Arc::new(move |step: Opening| tell(step.to_string())))),
            ..options
        };
        let started =
            crate::broker::start_engine(&config.engine, config.broker.as_ref(), options).await;
        progress.clear();
        let (engine, events, broker) = started?;
        let services = Services {
            engine,
            broker,
            bound,
            http: None,
            token_file,
        };
        Ok((services, events))
    }

    /// Answers the API, when `--http` was given, from the site model's hub, its writes as
    /// commands to the engine.
    pub fn serve_http(&mut self, config: &Config, hub: Arc<Hub>) -> Result<(), EngineError> {
        self.http = crate::http::serve_for(
            self.bound.take(),
            &http_settings(config),
            self.engine.gauges(),
            hub,
            self.engine.command_sender(),
        )
        .map_err(EngineError::Internal)?;
        Ok(())
    }

    /// Where the API's token is, when the API needs one.
    pub fn http_token_file(&self) -> Option<&Path> {
        self.token_file.as_deref()
    }

    /// Stops in order: the API says so (`/healthz` answers 503), the engine drains and flushes,
    /// the broker's subscriber publishes its last confirmations, the site model ends, and the
    /// API closes.
    pub async fn stop(self, site: Option<Site>) -> Result<Summary, EngineError> {
        crate::http::stopping(&self.http);
        let summary = self.engine.shutdown().await;
        if let Some(broker) = self.broker {
            broker.finish().await;
        }
        if let Some(site) = site {
            site.finished().await;
        }
        crate::http::stop(self.http).await;
        summary
    }
}

/// What the HTTP API is told of `config`: `--http`'s address, who may write and read, where
/// the token is and, for `/config`, the effective settings (a store password redacted). With
/// no `--http-token-file` the token is `default.token` in the default site directory.
pub fn http_settings(config: &Config) -> HttpSettings {
    let token_file = match &config.http_token_file {
        Some(path) => TokenFile::Named(path.clone()),
        None => TokenFile::Fresh(beside(&default_socket())),
    };
    HttpSettings {
        addr: config.http,
        shown: shown_settings(config),
        writes: !config.http_read_only,
        guard_reads: config.http_auth == HttpAuth::All,
        token_file,
    }
}

/// [`http_settings`] with the token beside `socket` (`NAME.token`), its directory made
/// private when it is the default one.
fn http_settings_beside(config: &Config, socket: Option<&Path>) -> Result<HttpSettings, String> {
    let mut settings = http_settings(config);
    if config.http.is_none() || config.http_token_file.is_some() {
        return Ok(settings);
    }
    match socket {
        Some(socket) => settings.token_file = TokenFile::Fresh(beside(socket)),
        None => {
            if let Some(dir) = settings.token_file.path().parent() {
                crate::serve::socket::ensure_private_dir(dir, None)?;
            }
        }
    }
    Ok(settings)
}

/// The default site's socket (no `--socket`, no `--name`).
fn default_socket() -> PathBuf {
    crate::serve::socket::resolve_env(None, None).unwrap_or_else(|_| {
        PathBuf::from(format!(
            "/tmp/wallwatch-{}/default.sock",
            crate::serve::socket::euid()
        ))
    })
}

/// The token file of the site listening on `socket`: `NAME.token` beside `NAME.sock`.
fn beside(socket: &Path) -> PathBuf {
    socket.with_extension("token")
}

/// The effective settings as `/config` shows them.
fn shown_settings(config: &Config) -> serde_json::Value {
    let e = &config.engine;
    serde_json::json!({
        "profiles": config.profiles,
        "profiles_count": e.wall.profiles(),
        "sections": e.wall.sections(),
        "max_sections": config.max_sections,
        "crews": e.crews,
        "sensors": e.sensors,
        "sensor_kinds": e.sensor_kinds,
        "network_limit": e.network_limit,
        "latency": e.latency.to_string(),
        "store": e.store.to_string(),
        "seed": e.seed,
        "speed": crate::http::model::speed_json(e.speed),
        "paused": false,
        "day_seconds": e.day_seconds,
        "days": e.days,
        "until_complete": e.until_complete,
        "fresh": e.fresh,
        "duration_s": config.duration.map(|d| d.as_secs_f64()),
        "http": config.http.map(|a| a.to_string()),
        "http_token_file": config.http_token_file.as_ref().map(|p| p.display().to_string()),
        "http_read_only": config.http_read_only,
        "http_auth": match config.http_auth {
            HttpAuth::Writes => "writes",
            HttpAuth::All => "all",
        },
        "log_file": config.log_file.as_ref().map(|p| p.display().to_string()),
        "log_keep": config.log_keep,
    })
}

//! What `run` (the dashboard and `--headless`) and `serve` run beside the engine: the broker's
//! subscriber (`--broker`) and the HTTP API (`--http`). Started in one order and stopped in one
//! order, the same for all three.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::broker::subscriber::SiteBroker;
use crate::config::Config;
use crate::engine::{Engine, EngineError, Event, StartOptions, Summary};
use crate::http::{Bound, HttpServer, HttpSettings};
use crate::site::{Hub, Site};

/// The engine and what runs beside it.
pub struct Services {
    pub engine: Engine,
    broker: Option<SiteBroker>,
    /// The API's port, bound before the engine started, until [`Services::serve_http`].
    bound: Option<Bound>,
    http: Option<HttpServer>,
}

impl Services {
    /// Binds the API's port first (a taken port fails the run before the store is touched), then
    /// starts the engine with `options`, connected to the broker when asked. With the API the
    /// engine also reads the wall's stored days back (the API answers about past days).
    pub async fn start(
        config: &Config,
        options: StartOptions,
    ) -> Result<(Services, mpsc::Receiver<Event>), EngineError> {
        let bound = crate::http::bind_for(&http_settings(config))
            .await
            .map_err(EngineError::Internal)?;
        let options = StartOptions {
            history: config.http.is_some(),
            ..options
        };
        let (engine, events, broker) =
            crate::broker::start_engine(&config.engine, config.broker.as_ref(), options).await?;
        let services = Services {
            engine,
            broker,
            bound,
            http: None,
        };
        Ok((services, events))
    }

    /// Answers the API, when `--http` was given, from the site model's hub.
    pub fn serve_http(&mut self, config: &Config, hub: Arc<Hub>) -> Result<(), EngineError> {
        self.http = crate::http::serve_for(
            self.bound.take(),
            &http_settings(config),
            self.engine.gauges(),
            hub,
        )
        .map_err(EngineError::Internal)?;
        Ok(())
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

/// What the HTTP API is told of `config`: `--http`'s address and, for `/config`, the effective
/// settings (a store password redacted).
pub fn http_settings(config: &Config) -> HttpSettings {
    HttpSettings {
        addr: config.http,
        shown: shown_settings(config),
    }
}

/// The effective settings as `/config` shows them.
fn shown_settings(config: &Config) -> serde_json::Value {
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
        "store": e.store.to_string(),
        "seed": e.seed,
        "speed": match e.speed {
            crate::units::Speed::Max => serde_json::json!("max"),
            crate::units::Speed::Factor(f) => serde_json::json!(f),
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

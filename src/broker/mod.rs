//! Sensors on other machines: agents publish their readings through an MQTT v5 broker
//! (Mosquitto), and the site takes them into its network with the broker's Receive Maximum as
//! the network limit.
//!
//! - [`url`]: `--broker mqtt[s]://HOST:PORT` and names that go into topics;
//! - [`tls`]: the roots a `mqtts://` broker's certificate is checked against (`--broker-ca`);
//!   with the cargo feature `tls` (on by default), else `tls_off.rs`, which has none;
//! - [`codec`]: one reading per message, checked on arrival;
//! - [`confirm`]: the topics, the site's confirmations and its status;
//! - [`site`]: the site's subscriber, feeding the engine's `RemoteInlet`;
//! - [`agent`]: `wallwatch agent`.
//!
//! [`start_engine`] is how `run` (dashboard and headless) and `serve` start the engine, with
//! or without a broker, all three the same way.

pub mod agent;
pub mod codec;
pub mod confirm;
pub mod subscriber;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(not(feature = "tls"))]
#[path = "tls_off.rs"]
pub mod tls;
pub mod url;

use tokio::sync::mpsc;

use crate::engine::remote::RemoteLink;
use crate::engine::{Engine, EngineError, EngineOptions, Event, StartOptions};

/// Where a site takes agents' readings from (`--broker`, `--broker-ca`, `--site`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerOptions {
    pub url: url::BrokerUrl,
    pub site: String,
}

/// The default site name (`--site`).
pub const DEFAULT_SITE: &str = "default";

/// Checks `--broker` and `--site` (both one-line errors), and loads the roots of an
/// `mqtts://` broker with the CA file `ca` (whose errors are `ca_errors`' lines, `--broker-ca:
/// …` or the config file's key); `None` without `--broker`.
pub fn options(
    broker: Option<&str>,
    site: Option<&str>,
    ca: Option<&std::path::Path>,
    ca_errors: impl FnOnce(String) -> String,
) -> Result<Option<BrokerOptions>, String> {
    let Some(broker) = broker else {
        if site.is_some() {
            return Err("--site: only with --broker".into());
        }
        if ca.is_some() {
            return Err(ca_errors("only with --broker".into()));
        }
        return Ok(None);
    };
    let url = url::BrokerUrl::parse(broker)?
        .with_ca(ca)
        .map_err(ca_errors)?;
    let site = site.unwrap_or(DEFAULT_SITE).to_string();
    url::check_name("--site", &site)?;
    Ok(Some(BrokerOptions { url, site }))
}

/// Starts the engine; with a broker, connects to it first (an unreachable broker is an error
/// before the store is opened) and feeds its readings into the engine's network.
pub async fn start_engine(
    engine: &EngineOptions,
    broker: Option<&BrokerOptions>,
    mut options: StartOptions,
) -> Result<
    (
        Engine,
        mpsc::Receiver<Event>,
        Option<subscriber::SiteBroker>,
    ),
    EngineError,
> {
    let Some(broker) = broker else {
        let (e, events) = Engine::start_with(engine, options).await?;
        return Ok((e, events, None));
    };
    let connected = subscriber::connect(&broker.url, &broker.site, engine.network_limit)
        .await
        .map_err(EngineError::Options)?;
    options.remote = Some(RemoteLink::new());
    let (e, events) = Engine::start_with(engine, options).await?;
    let inlet = e
        .remote_inlet()
        .ok_or_else(|| EngineError::Internal("the engine has no remote inlet".into()))?;
    tracing::info!(
        target: "broker",
        "taking agents' readings of site {} from {} (Receive Maximum {})",
        broker.site,
        broker.url,
        engine.network_limit
    );
    Ok((e, events, Some(connected.start(inlet))))
}

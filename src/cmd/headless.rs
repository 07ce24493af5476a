//! `wallwatch run --headless`: the engine alone. Human logs go to stderr (set up by `main`); the
//! caller prints the returned [`Summary`] as one JSON object on stdout.
//!
//! Stops on `--duration` (real time), `--days N` (after day N), `--until-complete`, SIGINT,
//! SIGTERM or SIGHUP, always through [`Engine::shutdown`], which drains. A panic in an engine
//! task ends the run at once: one line naming the task on stderr, exit status 101.

use tokio::signal::unix::{SignalKind, signal};

use super::services::Services;
use super::{Failure, Outcome};
use crate::config::Config;
use crate::engine::{EngineError, Event, StartOptions, Summary};

/// Runs until a stop condition, then drains and returns the summary.
pub async fn run(config: &Config) -> Result<Summary, EngineError> {
    let signal_error =
        |e: std::io::Error| EngineError::Internal(format!("cannot watch signals: {e}"));
    let mut int = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut hup = signal(SignalKind::hangup()).map_err(signal_error)?;
    // The summary needs counts, not rows; the HTTP API needs the site model (sensors' figures).
    let options = StartOptions {
        skip_rows: config.http.is_none(),
        ..StartOptions::default()
    };
    let (mut services, events) = Services::start(config, options).await?;
    // With the API, the site model takes the events and progress is read from the engine.
    let (mut events, site) = if config.http.is_some() {
        let site = crate::site::Site::start(events, None)
            .await
            .ok_or_else(|| EngineError::Internal("the engine stopped before it started".into()))?;
        services.serve_http(config, site.hub.clone())?;
        (None, Some(site))
    } else {
        (Some(events), None)
    };
    let engine = &services.engine;
    let gauges = engine.gauges();
    let mut progress = tokio::time::interval(PROGRESS_EVERY);
    let deadline = sleep_for(config.duration);
    tokio::pin!(deadline);
    let failed = engine.failed();
    tokio::pin!(failed);
    let reason = loop {
        tokio::select! {
            // The engine is already draining; `shutdown` returns the panic as the error.
            line = &mut failed => break line,
            _ = int.recv() => break "SIGINT".to_string(),
            _ = term.recv() => break "SIGTERM".to_string(),
            _ = hup.recv() => break "SIGHUP".to_string(),
            _ = &mut deadline => break "duration reached".to_string(),
            _ = progress.tick(), if site.is_some() => {
                if let Some(end) = config.engine.end_reached(&gauges.progress()) {
                    break end;
                }
            }
            event = next_event(&mut events) => match event {
                None => break "engine stopped".to_string(),
                Some(Event::Day(p)) => {
                    if let Some(end) = config.engine.end_reached(&p) {
                        break end;
                    }
                }
                Some(Event::Store { failing: Some(e), .. }) => {
                    tracing::debug!(target: "engine", "store failing: {e}");
                }
                Some(_) => {}
            },
        }
    };
    tracing::info!(target: "engine", "stopping ({reason})");
    services.stop(site).await
}

/// How often `--days` and `--until-complete` are checked when the site model has the events.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The next event, or never when the site model has the channel.
async fn next_event(events: &mut Option<tokio::sync::mpsc::Receiver<Event>>) -> Option<Event> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_for(d: Option<std::time::Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// The whole `run --headless` command: logging to stderr, config, runtime, run, summary on
/// stdout. Errors print one line on stderr; exit status 2 (101 for a task's panic).
pub fn main(args: &crate::config::cli::RunArgs) -> Outcome {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let config = Config::from_args(args, crate::config::DEFAULT_CREWS)
        .map_err(|e| Failure::bad(e.to_string()))?;
    let file =
        crate::logfile::layer(config.log_file.as_deref(), config.log_keep).map_err(Failure::bad)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(file)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(super::progress::StderrAbove::default)
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(filter),
        )
        .try_init();
    let summary = crate::runtime::run_site(run(&config))
        .map_err(Failure::bad)?
        .map_err(|e| Failure::engine(&e))?;
    let json = serde_json::to_string(&summary)
        .map_err(|e| Failure::bad(format!("cannot write the summary: {e}")))?;
    crate::text::print_line(&json);
    super::run::exit_of(&summary)
}

//! `wallwatch run --headless`: the engine alone. Human logs go to stderr (set up by `main`); the
//! caller prints the returned [`Summary`] as one JSON object on stdout.
//!
//! Stops on `--duration` (real time), `--days N` (after day N), `--until-complete`, SIGINT,
//! SIGTERM or SIGHUP, always through [`Engine::shutdown`], which drains. A panic in an engine
//! task ends the run at once: one line naming the task on stderr, exit status 101.

use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::engine::{EngineError, Event, StartOptions, Summary};

/// Runs until a stop condition, then drains and returns the summary.
pub async fn run(config: &Config) -> Result<Summary, EngineError> {
    let signal_error =
        |e: std::io::Error| EngineError::Internal(format!("cannot watch signals: {e}"));
    let mut int = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut hup = signal(SignalKind::hangup()).map_err(signal_error)?;
    // The summary needs counts, not rows.
    let options = StartOptions {
        skip_rows: true,
        ..StartOptions::default()
    };
    let (engine, mut events, broker) =
        crate::broker::start_engine(&config.engine, config.broker.as_ref(), options).await?;
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
            event = events.recv() => match event {
                None => break "engine stopped".to_string(),
                Some(Event::Day(p)) => {
                    if config.engine.until_complete && p.complete {
                        break format!("wall complete on day {}", p.day);
                    }
                    if config.engine.days.is_some_and(|d| p.day >= d) {
                        break format!("day {} reached", p.day);
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
    let summary = engine.shutdown().await;
    if let Some(broker) = broker {
        broker.finish().await;
    }
    summary
}

async fn sleep_for(d: Option<std::time::Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// The whole `run --headless` command: logging to stderr, config, runtime, run, summary on
/// stdout. Errors print one line on stderr; exit status 2.
pub fn main(args: &crate::cli::RunArgs) -> std::process::ExitCode {
    use std::io::IsTerminal;
    use std::process::ExitCode;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
    let config = match Config::from_args(args, crate::config::DEFAULT_CREWS) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::runtime::multi_thread() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&config)) {
        Ok(summary) => match serde_json::to_string(&summary) {
            Ok(json) => {
                crate::text::print_line(&json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write the summary: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("error: {}", crate::text::sanitize(&e.to_string()));
            ExitCode::from(exit_status(&e))
        }
    }
}

/// The exit status of a run that failed: 101 (as Rust's own panics) when an engine task
/// panicked, else 2.
pub fn exit_status(e: &EngineError) -> u8 {
    match e {
        EngineError::Panicked(_) => 101,
        _ => 2,
    }
}

//! `wallwatch` (or `wallwatch run`): the live dashboard over the engine.
//!
//! Everything that can fail on bad input (flags, config file, profiles, store URL, palette) is
//! checked before the screen opens, so errors are plain one-line messages. Whatever ends the
//! screen — `q`, SIGTERM, SIGHUP, a dead engine, a panic — the terminal is restored first, then
//! the engine drains (producers stop, the network empties, the collector flushes, the store
//! closes), then the exit summary says whether everything produced was stored. A panic in an
//! engine task ends the screen too (the panic hook wakes it), and the exit names the task, with
//! status 101.

use std::io::IsTerminal;

use super::services::Services;
use super::{Failure, Outcome};

use crate::app::App;
use crate::app::theme::Palette;
use crate::config::cli::RunArgs;
use crate::config::{Config, DEFAULT_CREWS};
use crate::engine::{StartOptions, Summary};
use crate::site::Site;
use crate::term::{self, Exit, Tui, TuiError};
use crate::text::thousands;

/// The whole dashboard command (or `--headless`'s).
pub fn main(args: &RunArgs) -> Outcome {
    if args.headless {
        return super::headless::main(args);
    }
    let (config, palette) = prepare(args).map_err(Failure::bad)?;
    crate::runtime::run_site(run(&config, palette)).map_err(Failure::bad)?
}

fn prepare(args: &RunArgs) -> Result<(Config, Palette), String> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(
            "the dashboard needs a terminal (use `wallwatch run --headless` otherwise)".into(),
        );
    }
    let config = Config::from_args(args, DEFAULT_CREWS).map_err(|e| e.to_string())?;
    let palette = Palette::from_env(config.palette.as_deref())?;
    Ok((config, palette))
}

async fn run(config: &Config, palette: Palette) -> Outcome {
    let file =
        crate::logfile::layer(config.log_file.as_deref(), config.log_keep).map_err(Failure::bad)?;
    let log = term::init_dashboard_logging_to(file).map_err(Failure::bad)?;
    // The engine opens the store: an unreachable database fails here, before the screen.
    let (mut services, events) = Services::start(config, StartOptions::default())
        .await
        .map_err(|e| Failure::bad(e.to_string()))?;
    // The same site and feed as attached viewers get, in this process.
    let (site, link) = Site::start_local(events, Some(log), services.engine.command_sender())
        .await
        .map_err(Failure::bad)?;
    services
        .serve_http(config, site.hub.clone())
        .map_err(|e| Failure::bad(e.to_string()))?;
    let mut app = App::new(palette);
    let ended = match Tui::enter() {
        Ok(mut screen) => {
            let ended = term::run(&mut screen.terminal, &mut app, link.msgs, link.commands).await;
            // Restore before anything is printed; the guard would also do it on drop.
            let _ = screen.restore();
            ended
        }
        Err(e) => Err(TuiError::Io(e)),
    };
    let reason = match &ended {
        Ok(Exit::Quit) => "quit".to_string(),
        Ok(Exit::Signal(name)) => name.to_string(),
        Err(e) => e.to_string(),
    };
    eprintln!("wallwatch: stopping ({reason}): draining the network and flushing the store…");
    let summary = services.stop(Some(site)).await;
    // A task's panic: the terminal is restored; say which task and why, and fail as a panic.
    let summary = summary.map_err(|e| Failure::engine(&e))?;
    eprintln!("{}", summary_line(&summary));
    if let Some(line) = not_stored_line(&summary) {
        eprintln!("{line}");
    }
    match ended {
        Ok(_) if all_stored(&summary) => Ok(()),
        Err(TuiError::Panicked) => Err(Failure::status(101)),
        _ => Err(Failure::status(1)),
    }
}

/// How a site that printed its summary (`--headless`, `serve`) exits: 1 with
/// [`not_stored_line`] when its drain was cut short.
pub fn exit_of(summary: &Summary) -> Outcome {
    match not_stored_line(summary) {
        Some(line) => Err(Failure::status(1).with_line(line)),
        None => Ok(()),
    }
}

/// What a drain cut short by its deadline did not store, in one line; none if it finished.
pub fn not_stored_line(s: &Summary) -> Option<String> {
    let n = s.not_stored.as_ref()?;
    let from = |first: Option<u64>| first.map_or(String::new(), |id| format!(", ids {id} on"));
    let agents = if n.agents_readings > 0 {
        format!(
            " ({} of the readings are agents': unconfirmed, their agents keep them)",
            thousands(n.agents_readings)
        )
    } else {
        String::new()
    };
    Some(format!(
        "wallwatch: the drain passed its deadline (--drain-timeout): {} readings{} and {} crew \
         reports{} were not stored and are {}{agents}; the store's last error: {}",
        thousands(n.readings),
        from(n.first_reading_id),
        thousands(n.crew_reports),
        from(n.first_crew_report_id),
        n.outcome,
        crate::text::sanitize(&n.reason),
    ))
}

fn all_stored(s: &Summary) -> bool {
    s.readings_to_store() == s.readings.stored && s.crew_reports.produced == s.crew_reports.stored
}

/// The exit summary: produced = stored counts, the wall, and where it went.
pub fn summary_line(s: &Summary) -> String {
    let relation = |produced: u64, stored: u64| if produced == stored { "=" } else { "≠" };
    // With agents: the sensors' own and the agents', so that the sum is what was stored.
    let produced = match &s.remote {
        None => thousands(s.readings.produced),
        Some(r) => format!(
            "{} here + {} from agents",
            thousands(s.readings.produced),
            thousands(r.taken())
        ),
    };
    format!(
        "wallwatch: readings produced {} {} stored {}; crew reports produced {} {} stored {}; \
         wall {}, {} Gold Dragons spent; store {}",
        produced,
        relation(s.readings_to_store(), s.readings.stored),
        thousands(s.readings.stored),
        thousands(s.crew_reports.produced),
        relation(s.crew_reports.produced, s.crew_reports.stored),
        thousands(s.crew_reports.stored),
        s.wall.day_words(),
        thousands(s.wall.cost_to_date),
        crate::text::sanitize(&s.store),
    )
}

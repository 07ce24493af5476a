//! `wallwatch agent`: the command line made into [`AgentOptions`], then the agent run until
//! SIGINT or SIGTERM.

use super::{Failure, Outcome};
use crate::broker::agent::{AgentOptions, default_agent_id, run};
use crate::broker::url::BrokerUrl;
use crate::config::cli::AgentArgs;
use crate::sensors::SensorFactory;

/// An agent's seed when `--seed` is not given: from its id, so that two agents (or an agent
/// and the site, both seeded 0 by default) do not send the same values.
fn seed_of(agent: &str) -> u64 {
    crate::hash::fnv1a(crate::hash::FNV_OFFSET, agent.as_bytes())
}

/// Checks the command line (one-line errors, exit 2 from the caller).
pub fn options(args: &AgentArgs) -> Result<AgentOptions, String> {
    let url = BrokerUrl::parse(&args.broker)?
        .with_ca(args.broker_ca.as_deref())
        .map_err(|e| format!("--broker-ca: {e}"))?;
    crate::broker::url::check_name("--site", &args.site)?;
    let agent = args.agent_id.clone().unwrap_or_else(default_agent_id);
    crate::broker::url::check_name("--agent-id", &agent)?;
    let speed = crate::units::parse_speed(&args.speed).map_err(|e| format!("--speed: {e}"))?;
    let duration = args
        .duration
        .as_deref()
        .map(crate::units::parse_run_duration)
        .transpose()
        .map_err(|e| format!("--duration: {e}"))?;
    let drain_timeout = crate::units::parse_run_duration(&args.drain_timeout)
        .map_err(|e| format!("--drain-timeout: {e}"))?;
    let seed = args.seed.unwrap_or_else(|| seed_of(&agent));
    let mut check = SensorFactory::new(seed);
    if args.sensors > 0 {
        if args.sensor_kinds.is_empty() {
            return Err("--sensor-kinds: no sensor kind given".into());
        }
        for kind in &args.sensor_kinds {
            check
                .make(kind)
                .map_err(|e| format!("--sensor-kinds: {e}"))?;
        }
    }
    Ok(AgentOptions {
        url,
        site: args.site.clone(),
        agent,
        sensors: args.sensors,
        sensor_kinds: args.sensor_kinds.clone(),
        seed,
        speed,
        duration,
        buffer: args.buffer,
        drain_timeout,
    })
}

/// `wallwatch agent`: logs on stderr, the JSON summary on stdout. Exit 0 when everything
/// produced was confirmed, 1 when the drain gave up with readings unconfirmed, 2 for bad input
/// or a broker that cannot be reached at start.
pub fn main(args: &AgentArgs) -> Outcome {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
    let opts = options(args).map_err(Failure::bad)?;
    let runtime = crate::runtime::site().map_err(Failure::bad)?;
    let summary = runtime
        .block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let watch_signals =
                |kind| signal(kind).map_err(|e| format!("cannot watch signals: {e}"));
            let mut int = watch_signals(SignalKind::interrupt())?;
            let mut term = watch_signals(SignalKind::terminate())?;
            let stop = async move {
                tokio::select! {
                    _ = int.recv() => "SIGINT".to_string(),
                    _ = term.recv() => "SIGTERM".to_string(),
                }
            };
            run(opts, stop).await
        })
        .map_err(Failure::bad)?;
    crate::text::print_line(&serde_json::to_string(&summary).unwrap_or_default());
    if summary.pending == 0 {
        Ok(())
    } else {
        Err(Failure::status(1).with_line(format!(
            "wallwatch agent: {} readings were not confirmed by the site",
            summary.pending
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn options_of(extra: &[&str]) -> AgentOptions {
        let mut argv = vec!["wallwatch", "agent", "--broker", "mqtt://127.0.0.1:1883"];
        argv.extend(["--site", "s"]);
        argv.extend(extra);
        match crate::config::cli::Cli::try_parse_from(argv)
            .unwrap()
            .command
        {
            Some(crate::config::cli::Command::Agent(args)) => options(&args).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_agents_default_seed_comes_from_its_id() {
        let north = options_of(&["--agent-id", "north"]).seed;
        let south = options_of(&["--agent-id", "south"]).seed;
        assert_ne!(north, south);
        assert_ne!(north, 0, "not the site's default seed");
        assert_eq!(north, options_of(&["--agent-id", "north"]).seed);
        assert_eq!(options_of(&["--agent-id", "north", "--seed", "7"]).seed, 7);
    }
}

//! Thin entry point: parse the command line, run the chosen subcommand (`wallwatch::cmd`), and
//! make its outcome the exit status.

use std::process::ExitCode;

use clap::Parser;
use wallwatch::cmd::{self, Failure};
use wallwatch::config::cli::{BenchCommand, Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => return cmd::exit(Err(Failure::status(2).with_line(usage_error(&e)))),
    };
    let outcome = match cli.command {
        None => cmd::run::main(&cli.run.into_run()),
        Some(Command::Run(args)) => cmd::run::main(&args.into_run()),
        Some(Command::Query(args)) => cmd::query::main(&args),
        Some(Command::Report(args)) => cmd::report::main(&args),
        Some(Command::Readings(args)) => cmd::readings::main(&args),
        Some(Command::Serve(args)) => cmd::serve::main(&args),
        Some(Command::Attach(args)) => cmd::attach::main(&args),
        Some(Command::Status(args)) => cmd::status::status(&args),
        Some(Command::Stop(args)) => cmd::status::stop(&args),
        Some(Command::Agent(args)) => cmd::agent::main(&args),
        Some(Command::Crews(c)) => cmd::control::crews(&c),
        Some(Command::Sensors(c)) => cmd::control::sensors(&c),
        Some(Command::Pause(args)) => cmd::control::pause(&args),
        Some(Command::Resume(args)) => cmd::control::resume(&args),
        Some(Command::Speed(args)) => cmd::control::speed(&args),
        Some(Command::Wall(c)) => cmd::control::wall(&c),
        Some(Command::Bench(BenchCommand::Pipeline(args))) => cmd::bench::pipeline::main(&args),
        Some(Command::Bench(BenchCommand::Broker(args))) => cmd::bench::broker::main(&args),
        Some(Command::Bench(BenchCommand::Control(args))) => cmd::bench::control::main(&args),
        Some(Command::Bench(BenchCommand::Web(args))) => cmd::bench::web::main(&args),
        Some(Command::Bench(BenchCommand::Soak(args))) => cmd::bench::soak::main(&args),
        Some(Command::Bench(BenchCommand::Tui(args))) => cmd::bench::tui::main(&args),
    };
    cmd::exit(outcome)
}

/// clap's own message, in its layout: what is wrong, a tip if it has one, the usage line and
/// where to read more. Each line is made safe, since it quotes what was typed.
fn usage_error(e: &clap::Error) -> String {
    e.to_string()
        .trim_end()
        .lines()
        .map(wallwatch::text::sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

use std::process::ExitCode;

use clap::Parser;
use wallwatch::cli::{BenchCommand, Cli, Command, RunArgs};

fn run(args: &RunArgs) -> ExitCode {
    if args.headless {
        wallwatch::headless::main(args)
    } else {
        eprintln!("error: the dashboard is not built yet");
        ExitCode::from(2)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors: one line, exit 2 (help and version print as usual).
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    match cli.command {
        Some(Command::Query(_)) | Some(Command::Report(_)) => ExitCode::SUCCESS,
        Some(Command::Run(args)) => run(&args),
        None => run(&cli.run),
        Some(Command::Bench(BenchCommand::Pipeline(args))) => {
            wallwatch::bench::pipeline::main(&args)
        }
        _ => {
            eprintln!("error: not built yet");
            ExitCode::from(2)
        }
    }
}

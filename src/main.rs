//! Thin entry point: parse the command line, run the chosen mode, map errors to exit codes.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use wallwatch::cli::{
    BenchCommand, Cli, Command, CrewsArg, QueryArgs, ReportArgs, RunArgs, WallArgs,
};
use wallwatch::query::Query;
use wallwatch::report::{self, Report};
use wallwatch::wall::{Crews, Ledger, Wall};

/// A failed run: the message (one line) and the exit status.
struct Failure(String, u8);

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure(format!("cannot write output: {e}"), 1)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's message spans lines and ends with usage; keep what is wrong, on one line.
            let rendered = e.to_string();
            let what = rendered.split("\n\nUsage").next().unwrap_or(&rendered);
            let what = what
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("{}", wallwatch::text::sanitize(&what));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        None => return run(&cli.run),
        Some(Command::Run(args)) => return run(&args),
        Some(Command::Bench(BenchCommand::Pipeline(args))) => {
            return wallwatch::bench::pipeline::main(&args);
        }
        Some(Command::Bench(BenchCommand::Soak(args))) => {
            return wallwatch::bench::soak::main(&args);
        }
        Some(Command::Query(args)) => query(&args),
        Some(Command::Report(args)) => report(&args),
        Some(Command::Readings(args)) => {
            wallwatch::export::run(&args, &mut io::stdout().lock()).map_err(|e| Failure(e, 2))
        }
        Some(Command::Bench(BenchCommand::Tui(args))) => return wallwatch::bench::tui::main(&args),
        Some(Command::Serve(args)) => return wallwatch::serve::main(&args),
        Some(Command::Attach(args)) => return wallwatch::attach::main(&args),
        Some(Command::Status(args)) => return wallwatch::client::status_main(&args),
        Some(Command::Stop(args)) => return wallwatch::client::stop_main(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(Failure(msg, _)) if msg.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(Failure(msg, code)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}

fn crews(arg: Option<CrewsArg>) -> Crews {
    match arg {
        None | Some(CrewsArg::Unlimited) => Crews::Unlimited,
        Some(CrewsArg::Limited(n)) => Crews::Limited(n),
    }
}

fn load(args: &WallArgs) -> Result<Wall, Failure> {
    wallwatch::profiles_file::load(&args.file, args.max_sections).map_err(|e| Failure(e, 2))
}

fn query(args: &QueryArgs) -> Result<(), Failure> {
    // Check the path before reading a possibly large file.
    let query = Query::parse(&args.path).map_err(|e| Failure(e.to_string(), 2))?;
    let wall = load(&args.wall)?;
    let ledger = Ledger::new(&wall, &report::schedule(&wall, crews(args.wall.crews)));
    let answer = query
        .answer(&ledger)
        .map_err(|e| Failure(e.to_string(), 2))?;
    let json = serde_json::to_string(&answer).expect("an answer always serialises");
    writeln!(io::stdout(), "{json}")?;
    Ok(())
}

fn run(args: &RunArgs) -> ExitCode {
    if args.headless {
        wallwatch::headless::main(args)
    } else {
        wallwatch::dashboard::main(args)
    }
}

fn report(args: &ReportArgs) -> Result<(), Failure> {
    let wall = load(&args.wall)?;
    let crews = crews(args.wall.crews);
    let mut out = BufWriter::new(io::stdout().lock());
    if args.log {
        report::write_log(&wall, crews, &mut out)?;
    } else {
        let report = Report::new(&wall, crews, args.daily);
        if args.json {
            serde_json::to_writer(&mut out, &report).map_err(io::Error::from)?;
            writeln!(out)?;
        } else {
            report.write_table(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

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

/// A failed run.
enum Failure {
    /// A message (one line) and the exit status.
    Message(String, u8),
    /// Writing the output failed.
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Output(e)
    }
}

/// A failure with exit status 2 (bad input).
fn bad(message: impl ToString) -> Failure {
    Failure::Message(message.to_string(), 2)
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
        Some(Command::Bench(BenchCommand::Broker(args))) => {
            return wallwatch::bench::broker::main(&args);
        }
        Some(Command::Bench(BenchCommand::Soak(args))) => {
            return wallwatch::bench::soak::main(&args);
        }
        Some(Command::Query(args)) => query(&args),
        Some(Command::Report(args)) => report(&args),
        Some(Command::Readings(args)) => {
            wallwatch::export::run(&args, &mut io::stdout().lock()).map_err(bad)
        }
        Some(Command::Bench(BenchCommand::Tui(args))) => return wallwatch::bench::tui::main(&args),
        Some(Command::Serve(args)) => return wallwatch::serve::main(&args),
        Some(Command::Attach(args)) => return wallwatch::attach::main(&args),
        Some(Command::Status(args)) => return wallwatch::client::status_main(&args),
        Some(Command::Stop(args)) => return wallwatch::client::stop_main(&args),
        Some(Command::Agent(args)) => return wallwatch::broker::agent::main(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Output(e)) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Message(msg, code)) => {
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
    wallwatch::profiles_file::load(&args.file, args.max_sections).map_err(bad)
}

fn query(args: &QueryArgs) -> Result<(), Failure> {
    // Check the path before reading a possibly large file.
    let query = Query::parse(&args.path).map_err(bad)?;
    let crews = crews(args.wall.crews);
    let answer = if query.needs_schedule(crews) {
        let wall = load(&args.wall)?;
        query.answer(&Ledger::new(&wall, &report::schedule(&wall, crews)))
    } else {
        // One pass over the file, a piece at a time, counting what the answer needs.
        let mut tally = query.tally();
        wallwatch::profiles_file::parse_into(&args.wall.file, args.wall.max_sections, &mut tally)
            .map_err(bad)?;
        query.answer_tally(&tally)
    }
    .map_err(bad)?;
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

use std::process::ExitCode;

use clap::Parser;
use wallwatch::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Query(_)) | Some(Command::Report(_)) => ExitCode::SUCCESS,
        Some(Command::Readings(args)) => {
            match wallwatch::export::run(&args, &mut std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        _ => {
            eprintln!("error: not built yet");
            ExitCode::from(2)
        }
    }
}

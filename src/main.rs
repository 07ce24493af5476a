use std::process::ExitCode;

use clap::Parser;
use wallwatch::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Query(_)) | Some(Command::Report(_)) => ExitCode::SUCCESS,
        _ => {
            eprintln!("error: not built yet");
            ExitCode::from(2)
        }
    }
}

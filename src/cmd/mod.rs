//! One module per subcommand, each `main(&Args) -> Outcome`; `main.rs` dispatches to them and
//! [`exit`] makes the outcome the process's exit status.
//!
//! Exit statuses: 0 done, 1 the run or the site said no (something produced was not stored, no
//! site answered `status`), 2 bad input (flags, files, an unreachable store or broker), 101 an
//! engine task panicked (as Rust's own panics).

pub mod agent;
pub mod attach;
pub mod bench;
pub mod control;
pub mod headless;
pub mod progress;
pub mod query;
pub mod readings;
pub mod report;
pub mod run;
pub mod serve;
pub mod services;
pub mod status;

use std::io;
use std::process::ExitCode;

use crate::engine::EngineError;
use crate::text::sanitize;

/// How a subcommand ended.
pub type Outcome = Result<(), Failure>;

/// Why a subcommand failed: the exit status and, unless the command said it already, the one
/// line it leaves on stderr.
#[derive(Debug)]
pub struct Failure {
    pub status: u8,
    pub line: Option<String>,
}

impl Failure {
    /// Bad input: `error: …`, exit status 2.
    pub fn bad(message: impl std::fmt::Display) -> Failure {
        Failure::error(2, message)
    }

    /// `error: …` with `status`.
    pub fn error(status: u8, message: impl std::fmt::Display) -> Failure {
        Failure {
            status,
            line: Some(format!("error: {}", sanitize(&message.to_string()))),
        }
    }

    /// A line about the site (`wallwatch: …`, as the client commands word what the site did),
    /// with `status`.
    pub fn site(status: u8, message: impl std::fmt::Display) -> Failure {
        Failure {
            status,
            line: Some(format!("wallwatch: {}", sanitize(&message.to_string()))),
        }
    }

    /// Nothing more to say (the command printed why); only the exit status.
    pub fn status(status: u8) -> Failure {
        Failure { status, line: None }
    }

    /// `line` as it is (already made safe), with this status.
    pub fn with_line(self, line: String) -> Failure {
        Failure {
            line: Some(line),
            ..self
        }
    }

    /// A run whose engine failed: 101 when a task panicked, else 2.
    pub fn engine(e: &EngineError) -> Failure {
        Failure::error(engine_status(e), e.to_string())
    }
}

/// `{"error": "…"}` on stdout: how a command given `--json` says it has no answer, so that
/// every outcome it prints is JSON (the same words as the HTTP API's errors and the line on
/// stderr).
pub fn print_json_error(message: &str) {
    let json = serde_json::json!({ "error": sanitize(message) });
    crate::text::print_line(&json.to_string());
}

/// Writing the output failed; a closed pipe (`| head`) is the reader's choice, not an error.
impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::status(0)
        } else {
            Failure::error(1, format!("cannot write output: {e}"))
        }
    }
}

/// The exit status of a run whose engine failed: 101 (as Rust's own panics) when a task
/// panicked, else 2.
pub fn engine_status(e: &EngineError) -> u8 {
    match e {
        EngineError::Panicked(_) => 101,
        _ => 2,
    }
}

/// The outcome as the process's exit status, its line on stderr.
pub fn exit(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { status, line }) => {
            if let Some(line) = line {
                // A value given whole (a 10 MB string in a setting) is cut, not echoed.
                eprintln!("{}", crate::text::cut_middle(&line, crate::text::MAX_LINE));
            }
            ExitCode::from(status)
        }
    }
}

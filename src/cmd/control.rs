//! `wallwatch crews`, `sensors`, `pause`, `resume`, `speed` and `wall load`: one command to a served site
//! over its socket (`Role::Control`), answered with the engine's outcome or its refusal.
//!
//! Each invocation sends a key of its own with its command. If the connection drops after the
//! command went out and before its answer came, it asks once more with the same key: a site
//! that had already acted answers as before and changes nothing twice.
//!
//! Exit statuses: 0 the outcome (its words, or `--json` its JSON); 1 the site refused (one
//! line, `--json` also the refusal's JSON on stdout); 2 no site answered (one line, `--json`
//! also `{"error": "…"}` on stdout), or the input was bad (counts and speeds are checked by the
//! parser, before connecting).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures_util::SinkExt;

use super::status::socket_path;
use super::{Failure, Outcome};
use crate::config::cli::{ControlArgs, CrewsCommand, SensorsCommand, SpeedArgs, WallCommand};
use crate::config::profiles_file::{self, ProfilesError};
use crate::engine::{Command, MAX_WALL_TEXT, Reply};
use crate::serve::client::{connect, read};
use crate::serve::protocol::{self, ClientMsg, Role, ServerMsg};
use crate::text::sanitize;
use crate::units::MAX_SECTIONS_RANGE;
use crate::wall::Wall;

/// How long the site has to answer once the command is sent (a store that is slow to record
/// the change makes it wait).
pub const REPLY_WITHIN: Duration = Duration::from_secs(30);

/// `wallwatch crews add|remove [N]`.
pub fn crews(c: &CrewsCommand) -> Outcome {
    match c {
        CrewsCommand::Add(a) => give(&a.control, Command::AddCrews(a.count)),
        CrewsCommand::Remove(a) => give(&a.control, Command::RemoveCrews(a.count)),
    }
}

/// `wallwatch sensors add [--kind K] [--count N]`, `wallwatch sensors remove NAME…`.
pub fn sensors(c: &SensorsCommand) -> Outcome {
    match c {
        SensorsCommand::Add(a) => give(
            &a.control,
            Command::AddSensors {
                kind: a.kind.clone(),
                count: a.count,
            },
        ),
        SensorsCommand::Remove(a) => give(&a.control, Command::RemoveSensors(a.names.clone())),
    }
}

/// `wallwatch pause`.
pub fn pause(args: &ControlArgs) -> Outcome {
    give(args, Command::Pause)
}

/// `wallwatch resume`.
pub fn resume(args: &ControlArgs) -> Outcome {
    give(args, Command::Resume)
}

/// `wallwatch speed X|max`.
pub fn speed(args: &SpeedArgs) -> Outcome {
    give(&args.control, Command::SetSpeed(args.speed))
}

/// `wallwatch wall load FILE [--crews N|unlimited]`: the file is read and checked here first,
/// so that a bad file gets the same `FILE:line:col` line as everywhere, before any site is
/// asked (exit 2); the site parses the text again with its own limit on sections.
pub fn wall(c: &WallCommand) -> Outcome {
    let WallCommand::Load(a) = c;
    // The read itself refuses a file over MAX_WALL_TEXT, naming the file.
    let (file, bytes) = profiles_file::read(&a.file, MAX_WALL_TEXT as u64).map_err(Failure::bad)?;
    Wall::parse(&bytes, MAX_SECTIONS_RANGE.end().to_owned())
        .map_err(|source| Failure::bad(ProfilesError::Parse { file, source }))?;
    // Parsed, so UTF-8: digits, spaces and line ends.
    let profiles = String::from_utf8_lossy(&bytes).into_owned();
    give(
        &a.control,
        Command::LoadWall {
            profiles,
            crews: a.crews,
        },
    )
}

/// Gives `command` to the site and prints its answer.
fn give(args: &ControlArgs, command: Command) -> Outcome {
    let no_answer = |why: String| {
        if args.json {
            super::print_json_error(&why);
        }
        Failure::site(2, why)
    };
    let path = socket_path(&args.site).map_err(no_answer)?;
    let key = retry_key();
    let reply = crate::runtime::current_thread()
        .and_then(|runtime| runtime.block_on(ask_twice(&path, &command, &key)))
        .map_err(no_answer)?;
    print(args.json, reply)
}

/// A key no other invocation uses: this process's id and the clock's nanoseconds.
fn retry_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("cli-{:x}-{nanos:x}", std::process::id())
}

/// Why one attempt got no answer.
enum NoAnswer {
    /// No site there, or it would not talk to us: asking again would not help.
    NoSite(String),
    /// The connection dropped after the command went out: the site may have acted.
    Dropped(String),
}

/// Asks, and once more with the same key if the connection dropped before the answer.
async fn ask_twice(path: &Path, command: &Command, key: &str) -> Result<Reply, String> {
    match ask(path, command, key).await {
        Ok(reply) => Ok(reply),
        Err(NoAnswer::NoSite(why)) => Err(why),
        Err(NoAnswer::Dropped(_)) => match ask(path, command, key).await {
            Ok(reply) => Ok(reply),
            Err(NoAnswer::NoSite(why) | NoAnswer::Dropped(why)) => Err(why),
        },
    }
}

/// One attempt: connect as a controller, send the command with its key, read the answer.
async fn ask(path: &Path, command: &Command, key: &str) -> Result<Reply, NoAnswer> {
    let (mut reader, mut writer) = connect(path, Role::Control)
        .await
        .map_err(NoAnswer::NoSite)?;
    let dropped = |why: String| {
        NoAnswer::Dropped(format!(
            "the site at {} closed the connection before answering: {why}",
            path.display()
        ))
    };
    let msg = ClientMsg::Command {
        id: 1,
        command: command.clone(),
        key: Some(key.to_string()),
    };
    writer
        .send(protocol::encode(&msg))
        .await
        .map_err(|e| dropped(e.to_string()))?;
    let answer = tokio::time::timeout(REPLY_WITHIN, read(&mut reader))
        .await
        .map_err(|_| {
            NoAnswer::NoSite(format!(
                "the site at {} did not answer within {} s",
                path.display(),
                REPLY_WITHIN.as_secs()
            ))
        })?;
    match answer {
        Ok(Some(ServerMsg::Reply { id: 1, reply })) => Ok(reply),
        Ok(Some(ServerMsg::Error(e))) => Err(NoAnswer::NoSite(e)),
        Ok(Some(_)) => Err(NoAnswer::NoSite("the site answered out of turn".into())),
        Ok(None) => Err(dropped("no answer".into())),
        Err(e) => Err(dropped(e)),
    }
}

/// The outcome on stdout (exit 0), or the refusal as one line (exit 1).
fn print(json: bool, reply: Reply) -> Outcome {
    let mut out = std::io::stdout().lock();
    match reply {
        Ok(outcome) if json => writeln!(out, "{}", to_json(&outcome))?,
        Ok(outcome) => writeln!(out, "{}", sanitize(&outcome.to_string()))?,
        Err(refusal) => {
            if json {
                writeln!(out, "{}", to_json(&refusal))?;
            }
            return Err(Failure::site(1, format!("refused: {refusal}")));
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Outcomes and refusals are plain data: they always serialise.
    serde_json::to_string(value).unwrap_or_default()
}

//! Every change of a running site is one [`Command`] with a typed answer, [`Reply`]: the
//! [`Outcome`] of an accepted one or the [`Refusal`] of one that changed nothing. Keys (local and
//! attached), the CLI over the socket and HTTP writes all send them through a
//! [`CommandSender`], saying who asks ([`Asker`]); each surface words the answer itself. The
//! engine records every accepted change in the store before it answers (see `change`).

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::SensorInfo;
use crate::units::Speed;
use crate::wall::Crews;

/// The longest profiles text a running site loads (`PUT /wall`, `wallwatch wall load`).
pub const MAX_WALL_TEXT: usize = 1024 * 1024;

/// How many crews or sensors one command may add or remove.
pub const COUNT_RANGE: RangeInclusive<u32> = 1..=1_000;

/// What may be asked of a running site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// More crews; each starts work the next day.
    AddCrews(u32),
    /// The highest-numbered crews leave at the end of the day; their sections go back to the
    /// queue. The last crew stays.
    RemoveCrews(u32),
    /// Sensors of `kind`, or of the kinds in turn when `None` (the `s` key).
    AddSensors {
        kind: Option<String>,
        count: u32,
    },
    /// These sensors, by name; none is removed unless all are there.
    RemoveSensors(Vec<String>),
    /// The sensor added last (the `S` key).
    RemoveNewestSensor,
    Pause,
    Resume,
    SetSpeed(Speed),
    /// Another wall, worked from its start: the text of a profiles file (the site parses it,
    /// with its own limit on a profile's sections), by `crews` (as many as now when `None`).
    /// The run so far stays in the store; the new one takes the next number.
    LoadWall {
        profiles: String,
        crews: Option<Crews>,
    },
    /// Ends the run (drains, as on SIGTERM).
    Shutdown,
}

/// What an accepted command did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// `numbers` joined; `crews` work now.
    CrewsAdded {
        numbers: Vec<u32>,
        crews: u32,
    },
    /// `numbers` leave at the end of the day; `crews` are left.
    CrewsRemoved {
        numbers: Vec<u32>,
        crews: u32,
    },
    SensorsAdded {
        sensors: Vec<SensorInfo>,
    },
    SensorsRemoved {
        names: Vec<String>,
    },
    /// Paused or running now (also when it already was).
    Paused {
        paused: bool,
    },
    Speed {
        speed: Speed,
    },
    /// Run `run` works the wall of this fingerprint from its start.
    WallLoaded {
        run: u32,
        fingerprint: String,
        profiles: usize,
        sections: usize,
        crews: Crews,
    },
    Stopping,
}

/// Why a command changed nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "refusal", content = "detail")]
pub enum Refusal {
    #[error(
        "read-only: attached with --read-only, or a member of the socket's group on a site without --group-may-steer"
    )]
    ReadOnly,
    #[error("crews are unlimited (one per section); start with --crews N to manage crews")]
    UnlimitedCrews,
    #[error("{}", last_crew(*crews))]
    LastCrew { crews: u32 },
    #[error("{most} crews is the most a run may have")]
    TooManyCrews { most: u32 },
    /// A crew added to a complete wall would be relieved at once, having nothing to build.
    #[error(
        "the wall is complete: there is nothing left to build (load another wall to build more)"
    )]
    WallComplete,
    #[error("{most} sensors is the most a run may have")]
    TooManySensors { most: usize },
    #[error("no sensor left to remove")]
    NoSensor,
    #[error("no sensor named '{0}'")]
    UnknownSensor(String),
    #[error("{0}")]
    UnknownKind(String),
    /// A profiles text that is no wall: `2:4: '31' is not a height (0..=30)`.
    #[error("{0}")]
    BadWall(String),
    /// A count or a speed out of its range, in the range's own words.
    #[error("{0}")]
    OutOfRange(String),
    /// The store could not record the change, so it was not made.
    #[error("the store could not record the change: {0}")]
    Store(String),
    #[error("the site is stopping")]
    Stopping,
    /// A viewer with too many commands waiting for their answers.
    #[error("too many commands waiting; try again")]
    Busy,
}

/// Why crews cannot go: the last one stays, whatever was asked.
fn last_crew(crews: u32) -> String {
    match crews {
        1 => "the last crew stays (a wall with no crew is never finished)".into(),
        n => format!("only {n} crews work now; the last crew stays"),
    }
}

/// The answer to a command.
pub type Reply = Result<Outcome, Refusal>;

/// Who asked, as the log (target `control`) and the store record it: `key (viewer 2, uid
/// 1000)`, `cli (uid 1000)`, `http 127.0.0.1:53412`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asker(pub String);

impl Asker {
    /// A key of the dashboard in the site's own process.
    pub fn local_key() -> Asker {
        Asker("key (local dashboard)".into())
    }
    /// A key of an attached viewer.
    pub fn key(viewer: u64, uid: u32) -> Asker {
        Asker(format!("key (viewer {viewer}, uid {uid})"))
    }
    /// A command given on the command line, over the socket.
    pub fn cli(uid: u32) -> Asker {
        Asker(format!("cli (uid {uid})"))
    }
    /// A write over HTTP from `peer`.
    pub fn http(peer: std::net::SocketAddr) -> Asker {
        Asker(format!("http {peer}"))
    }
}

impl fmt::Display for Asker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome in a few words, for a status line or the CLI: `crew 4 joins tomorrow`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::CrewsAdded { numbers, .. } => match numbers.as_slice() {
                [n] => write!(f, "crew {n} joins tomorrow"),
                _ => write!(f, "crews {} join tomorrow", list(numbers)),
            },
            Outcome::CrewsRemoved { numbers, .. } => match numbers.as_slice() {
                [n] => write!(f, "crew {n} leaves"),
                _ => write!(f, "crews {} leave", list(numbers)),
            },
            Outcome::SensorsAdded { sensors } => {
                let names: Vec<&str> = sensors.iter().map(|s| s.name.as_str()).collect();
                let s = if names.len() == 1 { "" } else { "s" };
                write!(f, "sensor{s} {} added", names.join(", "))
            }
            Outcome::SensorsRemoved { names } => {
                let s = if names.len() == 1 { "" } else { "s" };
                write!(f, "sensor{s} {} removed", names.join(", "))
            }
            Outcome::Paused { paused: true } => f.write_str("paused"),
            Outcome::Paused { paused: false } => f.write_str("resumed"),
            Outcome::Speed { speed: Speed::Max } => f.write_str("speed max"),
            Outcome::Speed {
                speed: Speed::Factor(x),
            } => write!(f, "speed ×{x}"),
            Outcome::WallLoaded {
                run,
                fingerprint,
                profiles,
                sections,
                crews,
            } => write!(
                f,
                "wall {fingerprint} loaded as run {run} ({profiles} profiles, {sections} sections, \
                 {crews} crews)"
            ),
            Outcome::Stopping => f.write_str("stopping"),
        }
    }
}

/// `2, 3, 4` (a run of numbers as `2–9` when longer than three).
fn list(numbers: &[u32]) -> String {
    let consecutive = numbers.windows(2).all(|w| w[1] == w[0] + 1);
    match numbers {
        [first, .., last] if numbers.len() > 3 && consecutive => format!("{first}–{last}"),
        _ => numbers
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Where one command's answer goes; dropping it unanswered tells the asker the engine stopped.
#[derive(Debug, Default)]
pub struct Replier(Option<oneshot::Sender<Reply>>);

impl Replier {
    /// Sends the answer; a refusal nobody waits for is logged instead.
    pub fn send(self, reply: Reply) {
        match self.0 {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            None => {
                if let Err(why) = reply {
                    tracing::warn!(target: "control", "command refused: {why}");
                }
            }
        }
    }
}

/// A command, who asked, and where its answer goes.
#[derive(Debug)]
pub struct Request {
    pub command: Command,
    pub asker: Asker,
    /// A retry's key: a command given again with the same key within [`IDEMPOTENCY_WINDOW`]
    /// gets the first answer and changes nothing twice (HTTP's `Idempotency-Key`, the CLI's
    /// retry).
    pub key: Option<String>,
    pub reply: Replier,
}

/// How long the answer to a keyed command is kept for its retries.
pub const IDEMPOTENCY_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
/// The longest idempotency key taken.
pub const MAX_KEY_LEN: usize = 200;

/// The engine's command inbox, as handed to viewers and drivers.
#[derive(Debug, Clone)]
pub struct CommandSender(pub(super) mpsc::Sender<Request>);

/// The engine has stopped taking commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineGone;

impl fmt::Display for EngineGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the engine has stopped")
    }
}

impl CommandSender {
    /// Sends a command without waiting for its answer (a refusal is logged).
    pub async fn send(&self, command: Command, asker: Asker) -> Result<(), EngineGone> {
        let reply = Replier::default();
        self.0
            .send(Request {
                command,
                asker,
                key: None,
                reply,
            })
            .await
            .map_err(|_| EngineGone)
    }

    /// Sends a command and waits for the engine's answer.
    pub async fn request(&self, command: Command, asker: Asker) -> Result<Reply, EngineGone> {
        self.request_keyed(command, asker, None).await
    }

    /// [`CommandSender::request`] with a retry's key (see [`Request::key`]).
    pub async fn request_keyed(
        &self,
        command: Command,
        asker: Asker,
        key: Option<String>,
    ) -> Result<Reply, EngineGone> {
        let (tx, rx) = oneshot::channel();
        let reply = Replier(Some(tx));
        self.0
            .send(Request {
                command,
                asker,
                key,
                reply,
            })
            .await
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }

    /// [`CommandSender::request`], an engine that has gone answered as [`Refusal::Stopping`].
    pub async fn ask(&self, command: Command, asker: Asker) -> Reply {
        self.ask_keyed(command, asker, None).await
    }

    /// [`CommandSender::ask`] with a retry's key (see [`Request::key`]).
    pub async fn ask_keyed(&self, command: Command, asker: Asker, key: Option<String>) -> Reply {
        self.request_keyed(command, asker, key)
            .await
            .unwrap_or(Err(Refusal::Stopping))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_worded_shortly() {
        let added = |numbers: Vec<u32>| Outcome::CrewsAdded { numbers, crews: 9 }.to_string();
        assert_eq!(added(vec![4]), "crew 4 joins tomorrow");
        assert_eq!(added(vec![4, 5]), "crews 4, 5 join tomorrow");
        assert_eq!(added(vec![4, 5, 6, 7, 8]), "crews 4–8 join tomorrow");
        let removed = Outcome::CrewsRemoved {
            numbers: vec![3],
            crews: 2,
        };
        assert_eq!(removed.to_string(), "crew 3 leaves");
        assert_eq!(
            Outcome::Speed {
                speed: Speed::Factor(2.0)
            }
            .to_string(),
            "speed ×2"
        );
        assert_eq!(Outcome::Paused { paused: false }.to_string(), "resumed");
    }

    #[test]
    fn commands_and_answers_cross_json_unchanged() {
        let commands = [
            Command::AddCrews(2),
            Command::AddSensors {
                kind: Some("thermometer".into()),
                count: 3,
            },
            Command::RemoveSensors(vec!["default-1".into()]),
            Command::SetSpeed(Speed::Max),
            Command::Pause,
        ];
        for c in commands {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), c, "{json}");
        }
        let refused: Reply = Err(Refusal::LastCrew { crews: 1 });
        let json = serde_json::to_string(&refused).unwrap();
        assert_eq!(serde_json::from_str::<Reply>(&json).unwrap(), refused);
    }
}

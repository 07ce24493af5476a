//! Commands into the engine and their answers: each command may carry a [`Replier`], and the
//! part of the engine that carries it out (the supervisor, or the crew task between days) says
//! whether it was accepted, so a refusal reaches only the viewer that asked.

use tokio::sync::{mpsc, oneshot};

use super::Command;

/// Accepted (what was done, for the asker) or refused (why).
pub type Reply = Result<String, String>;

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
                    tracing::warn!(target: "engine", "command refused: {why}");
                }
            }
        }
    }
}

/// A command and where its answer goes.
#[derive(Debug)]
pub struct Request {
    pub command: Command,
    pub reply: Replier,
}

/// The engine's command inbox, as handed to viewers and drivers.
#[derive(Debug, Clone)]
pub struct CommandSender(pub(super) mpsc::Sender<Request>);

/// The engine has stopped taking commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineGone;

impl std::fmt::Display for EngineGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the engine has stopped")
    }
}

impl CommandSender {
    /// Sends a command without waiting for its answer (a refusal is logged).
    pub async fn send(&self, command: Command) -> Result<(), EngineGone> {
        let reply = Replier::default();
        self.0
            .send(Request { command, reply })
            .await
            .map_err(|_| EngineGone)
    }

    /// Sends a command and waits for the engine's answer.
    pub async fn request(&self, command: Command) -> Result<Reply, EngineGone> {
        let (tx, rx) = oneshot::channel();
        let reply = Replier(Some(tx));
        self.0
            .send(Request { command, reply })
            .await
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }
}

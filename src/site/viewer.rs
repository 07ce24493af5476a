//! A viewer's link to the site: its feed (a snapshot, then updates) and the answers to its own
//! commands come in; its commands, each with an id, go out. The local dashboard is linked by
//! [`link`] directly; an attached viewer's session on the server is the same [`link`] with a
//! socket on the other side, so both draw the same messages.

use tokio::sync::mpsc;

use super::hub::{Feed, Subscription};
use crate::engine::{Asker, Command, CommandSender, Refusal, Reply};

/// Messages kept for a viewer beyond the one it is reading; past them it waits and the site
/// queues updates for it (see `hub::QUEUE`).
const BACKLOG: usize = 4;
/// Commands a viewer may have sent and not yet been answered on.
const COMMANDS: usize = 32;

/// What reaches a viewer.
#[derive(Debug, Clone)]
pub enum ViewerMsg {
    Feed(Feed),
    /// The answer to this viewer's command `id`.
    Reply {
        id: u64,
        reply: Reply,
    },
}

/// The viewer's ends of a link. `msgs` closes when the site has ended.
pub struct ViewerLink {
    pub msgs: mpsc::Receiver<ViewerMsg>,
    pub commands: mpsc::Sender<(u64, Command)>,
}

/// Links a viewer to the site: forwards `feed` and carries out the viewer's commands on
/// `engine` as `asker`, answering each to this viewer only. A read-only viewer's commands are
/// refused ([`Refusal::ReadOnly`]).
pub fn link(
    mut feed: Subscription,
    engine: CommandSender,
    read_only: bool,
    asker: Asker,
) -> ViewerLink {
    let (tx, msgs) = mpsc::channel(BACKLOG);
    let (commands, mut command_rx) = mpsc::channel::<(u64, Command)>(COMMANDS);
    // The command side holds the sender weakly: the link closes when the feed ends.
    let replies = tx.downgrade();
    tokio::spawn(async move {
        while let Some(f) = feed.next().await {
            if tx.send(ViewerMsg::Feed(f)).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some((id, command)) = command_rx.recv().await {
            let replies = replies.clone();
            let engine = engine.clone();
            let asker = asker.clone();
            tokio::spawn(async move {
                let reply = if read_only {
                    Err(Refusal::ReadOnly)
                } else {
                    engine.ask(command, asker).await
                };
                if let Some(tx) = replies.upgrade() {
                    let _ = tx.send(ViewerMsg::Reply { id, reply }).await;
                }
            });
        }
    });
    ViewerLink { msgs, commands }
}

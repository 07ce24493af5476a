//! One connection to the site: the peer check ([`Access::admit`]), the hello, then what the
//! client asked for — a viewer's feed and commands (through the same [`viewer::link`] as the
//! local dashboard), the live status, or a stop. A peer that may only watch (a member of the
//! socket's group without `--group-may-steer`) views read-only and is refused commands and
//! stops as a read-only viewer is. A connection that breaks the protocol (garbage, an oversized frame,
//! no hello in time) is closed and logged; the site and the other connections go on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use crate::engine::{Asker, CommandSender, Gauges, MAX_KEY_LEN, Refusal};
use crate::serve::access::{Access, Peer};
use crate::serve::protocol::{
    self, ClientMsg, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, Role, ServerMsg,
};
use crate::site::status::Status;
use crate::site::viewer::{self, ViewerMsg};
use crate::site::{Feed, Hub};

/// How long a new connection has to say hello.
pub const HELLO_WITHIN: Duration = Duration::from_secs(5);

pub type Reader = FramedRead<OwnedReadHalf, LengthDelimitedCodec>;
pub type Writer = FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>;

/// A `stop` client, waiting for the final summary.
pub type StopWaiter = oneshot::Sender<String>;

/// What every session shares.
pub struct Ctx {
    pub hub: Arc<Hub>,
    pub commands: CommandSender,
    pub gauges: Gauges,
    pub started: std::time::Instant,
    pub socket: PathBuf,
    /// Where `stop` requests go.
    pub stop: mpsc::Sender<StopWaiter>,
    /// Viewers attached so far, to number them in the log (`key (viewer 2, uid 1000)`).
    pub viewers_seen: std::sync::atomic::AtomicU64,
    /// Who besides the site's user may connect, and whether they may steer.
    pub access: Access,
}

impl Ctx {
    pub fn status(&self) -> Status {
        Status::now(&self.gauges, &self.hub, self.started)
    }
}

/// Serves one connection to its end.
pub async fn run(stream: UnixStream, ctx: Arc<Ctx>) {
    let peer = match ctx.access.admit(&stream) {
        Ok(peer) => peer,
        Err(why) => {
            tracing::warn!(target: "serve", "{why}");
            return;
        }
    };
    let (r, w) = stream.into_split();
    let mut reader = FramedRead::new(r, protocol::codec(MAX_CLIENT_FRAME));
    let mut writer = FramedWrite::new(w, protocol::codec(MAX_SERVER_FRAME));
    let role = match hello(&mut reader, &mut writer, &ctx).await {
        Ok(role) => role,
        Err(why) => {
            tracing::warn!(target: "serve", "connection closed: {why}");
            return;
        }
    };
    match role {
        Role::Status => {
            let status = Box::new(ctx.status());
            let _ = send(&mut writer, &ServerMsg::Status(status)).await;
        }
        Role::Stop if !peer.may_steer => {
            tracing::warn!(target: "serve", "refused a stop from uid {}: it may only watch", peer.uid);
            let _ = send(&mut writer, &ServerMsg::Error(watch_only(peer))).await;
        }
        Role::Stop => {
            let (tx, rx) = oneshot::channel();
            if ctx.stop.send(tx).await.is_ok()
                && let Ok(summary) = rx.await
            {
                let _ = send(&mut writer, &ServerMsg::Stopped(summary)).await;
            }
        }
        Role::Control => {
            if let Err(why) = serve_command(&mut reader, &mut writer, &ctx, peer).await {
                tracing::warn!(target: "serve", "command connection closed: {why}");
            }
        }
        Role::Viewer { read_only } => {
            let read_only = read_only || !peer.may_steer;
            let mode = if read_only { " (read-only)" } else { "" };
            let n = ctx
                .viewers_seen
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            tracing::info!(target: "serve", "viewer {n} attached{mode}, uid {}", peer.uid);
            let asker = Asker::key(n, peer.uid);
            match serve_viewer(reader, writer, &ctx, read_only, asker).await {
                Ok(Ended::Detached) => tracing::info!(target: "serve", "a viewer detached{mode}"),
                Ok(Ended::SiteStopped) => {}
                Err(why) => tracing::warn!(target: "serve", "viewer connection closed: {why}"),
            }
        }
    }
}

/// Why a peer that may only watch cannot stop the site.
fn watch_only(peer: Peer) -> String {
    format!(
        "uid {} may only watch this site (a member of its socket group; the site would need \
         --group-may-steer)",
        peer.uid
    )
}

/// One command from the CLI: read it, carry it out as `cli (uid …)`, answer, close. A peer that
/// may only watch is refused as a read-only viewer is.
async fn serve_command(
    reader: &mut Reader,
    writer: &mut Writer,
    ctx: &Ctx,
    peer: Peer,
) -> Result<(), String> {
    let frame = match tokio::time::timeout(HELLO_WITHIN, reader.next()).await {
        Err(_) => return Err("no command within 5 s".into()),
        Ok(None) => return Err("closed before its command".into()),
        Ok(Some(Err(e))) => return Err(e.to_string()),
        Ok(Some(Ok(frame))) => frame,
    };
    let (id, command, key) =
        match protocol::decode::<ClientMsg>(&frame).map_err(|e| e.to_string())? {
            ClientMsg::Command { id, command, key } => (id, command, key),
            ClientMsg::Hello { .. } => return Err("a second hello".into()),
        };
    let reply = match key {
        _ if !peer.may_steer => Err(Refusal::ReadOnly),
        Some(key) if key.len() > MAX_KEY_LEN => Err(Refusal::OutOfRange(format!(
            "an idempotency key is at most {MAX_KEY_LEN} bytes"
        ))),
        key => {
            ctx.commands
                .ask_keyed(command, Asker::cli(peer.uid), key)
                .await
        }
    };
    send(writer, &ServerMsg::Reply { id, reply }).await
}

async fn send(writer: &mut Writer, msg: &ServerMsg) -> Result<(), String> {
    writer
        .send(protocol::encode(msg))
        .await
        .map_err(|e| e.to_string())
}

async fn hello(reader: &mut Reader, writer: &mut Writer, ctx: &Ctx) -> Result<Role, String> {
    let frame = match tokio::time::timeout(HELLO_WITHIN, reader.next()).await {
        Err(_) => return Err("no hello within 5 s".into()),
        Ok(None) => return Err("closed before its hello".into()),
        Ok(Some(Err(e))) => return Err(e.to_string()),
        Ok(Some(Ok(frame))) => frame,
    };
    let (version, role) = match protocol::decode::<ClientMsg>(&frame) {
        Ok(ClientMsg::Hello { version, role }) => (version, role),
        Ok(other) => return Err(format!("expected a hello, got {other:?}")),
        Err(e) => return Err(e.to_string()),
    };
    if let Err(why) = protocol::check_version(version) {
        let _ = send(writer, &ServerMsg::Error(why.clone())).await;
        return Err(why);
    }
    let socket = ctx.socket.display().to_string();
    send(
        writer,
        &ServerMsg::Hello {
            version: protocol::VERSION,
            socket,
        },
    )
    .await?;
    Ok(role)
}

/// A viewer: its feed and answers out, its commands in, until either side ends. A viewer that
/// does not read blocks only its own writes; the site gives it a fresh snapshot when it is
/// back (see `site::hub`).
/// How a viewer's connection ended without an error.
enum Ended {
    Detached,
    SiteStopped,
}

async fn serve_viewer(
    mut reader: Reader,
    mut writer: Writer,
    ctx: &Ctx,
    read_only: bool,
    asker: Asker,
) -> Result<Ended, String> {
    let viewer::ViewerLink { mut msgs, commands } =
        viewer::link(ctx.hub.subscribe(), ctx.commands.clone(), read_only, asker);
    loop {
        tokio::select! {
            msg = msgs.recv() => {
                let msg = match msg {
                    // The site has stopped: closing tells the viewer.
                    None => return Ok(Ended::SiteStopped),
                    Some(ViewerMsg::Feed(Feed::Snapshot(s))) => ServerMsg::Snapshot(s),
                    Some(ViewerMsg::Feed(Feed::Update(u))) => ServerMsg::Update(u),
                    Some(ViewerMsg::Reply { id, reply }) => ServerMsg::Reply { id, reply },
                };
                send(&mut writer, &msg).await?;
            }
            frame = reader.next() => match frame {
                None => return Ok(Ended::Detached),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(frame)) => match protocol::decode::<ClientMsg>(&frame) {
                    Ok(ClientMsg::Command { id, command, .. }) => {
                        if commands.try_send((id, command)).is_err() {
                            let reply = Err(Refusal::Busy);
                            send(&mut writer, &ServerMsg::Reply { id, reply }).await?;
                        }
                    }
                    Ok(ClientMsg::Hello { .. }) => return Err("a second hello".into()),
                    Err(e) => return Err(e.to_string()),
                },
            },
        }
    }
}

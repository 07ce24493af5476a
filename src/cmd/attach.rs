//! `wallwatch attach`: the whole dashboard, drawn from a served site's snapshot and updates by
//! the same loop and drawing code as the standalone dashboard, with a view of its own (focus,
//! scroll, help, log filter, palette). Keys that change the site go to it as numbered commands
//! and their answers come back to this viewer only. `q`, Esc, Ctrl-C, SIGTERM and SIGHUP
//! detach: the terminal is restored and the site runs on. If the site goes away, the terminal
//! is restored, one line says so, and the exit status is 1.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::SinkExt;
use tokio::sync::mpsc;

use super::{Failure, Outcome};
use crate::app::App;
use crate::app::theme::Palette;
use crate::config::cli::AttachArgs;
use crate::engine::Command;
use crate::serve::client::{self, Reader, Writer};
use crate::serve::protocol::{self, ClientMsg, Role, ServerMsg};
use crate::site::Feed;
use crate::site::viewer::ViewerMsg;
use crate::term::{self, Tui, TuiError};

/// The whole `attach` command.
pub fn main(args: &AttachArgs) -> Outcome {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::bad("attach needs a terminal"));
    }
    let palette = Palette::from_env(args.palette.as_deref()).map_err(Failure::bad)?;
    let path = super::status::socket_path(&args.site).map_err(Failure::bad)?;
    let runtime = crate::runtime::current_thread().map_err(Failure::bad)?;
    runtime.block_on(attach(&path, palette, args.read_only))
}

/// Runs the viewer until it detaches or the site ends; says which on stderr.
async fn attach(path: &Path, palette: Palette, read_only: bool) -> Outcome {
    let (reader, writer) = client::connect(path, Role::Viewer { read_only })
        .await
        .map_err(|e| Failure::site(1, e))?;
    term::init_log_pane();
    let (msg_tx, msgs) = mpsc::channel(4);
    let (commands, command_rx) = mpsc::channel(32);
    // Why the site's side ended, if it said or failed.
    let ended_why = Arc::new(Mutex::new(None));
    tokio::spawn(read_site(reader, msg_tx, ended_why.clone()));
    tokio::spawn(send_commands(writer, command_rx));
    let mut app = App::new(palette);
    app.read_only = read_only;
    app.attached = true;
    let ended = match Tui::enter() {
        Ok(mut screen) => {
            let ended = term::run(&mut screen.terminal, &mut app, msgs, commands).await;
            let _ = screen.restore();
            ended
        }
        Err(e) => Err(TuiError::Io(e)),
    };
    let shown = path.display();
    match ended {
        Ok(_) => {
            eprintln!(
                "wallwatch: {}",
                crate::text::sanitize(&format!("detached from the site at {shown}; it runs on"))
            );
            Ok(())
        }
        Err(TuiError::EngineStopped) => {
            let why = ended_why.lock().unwrap_or_else(|e| e.into_inner()).take();
            Err(Failure::site(
                1,
                match why {
                    Some(e) => format!("the site at {shown}: {e}"),
                    None => format!("the site at {shown} stopped"),
                },
            ))
        }
        Err(TuiError::Panicked) => Err(Failure::status(101)),
        Err(e) => Err(Failure::site(1, e.to_string())),
    }
}

/// The site's messages into the loop's channel, until the site closes the connection (or
/// breaks the protocol: the reason is kept for the last line).
async fn read_site(
    mut reader: Reader,
    tx: mpsc::Sender<ViewerMsg>,
    why: Arc<Mutex<Option<String>>>,
) {
    let failure = loop {
        let msg = match client::read(&mut reader).await {
            Ok(None) => break None,
            Ok(Some(ServerMsg::Snapshot(s))) => ViewerMsg::Feed(Feed::Snapshot(s)),
            Ok(Some(ServerMsg::Update(u))) => ViewerMsg::Feed(Feed::Update(u)),
            Ok(Some(ServerMsg::Reply { id, reply })) => ViewerMsg::Reply { id, reply },
            Ok(Some(ServerMsg::Error(e))) => break Some(e),
            Ok(Some(_)) => break Some("the site answered out of turn".into()),
            Err(e) => break Some(e),
        };
        if tx.send(msg).await.is_err() {
            return; // The viewer has gone.
        }
    };
    *why.lock().unwrap_or_else(|e| e.into_inner()) = failure;
}

async fn send_commands(mut writer: Writer, mut commands: mpsc::Receiver<(u64, Command)>) {
    while let Some((id, command)) = commands.recv().await {
        let msg = ClientMsg::Command {
            id,
            command,
            key: None,
        };
        if writer.send(protocol::encode(&msg)).await.is_err() {
            return;
        }
    }
}

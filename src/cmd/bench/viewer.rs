//! A viewer for the benchmarks: a real client of the site's socket on a thread of its own (as
//! each `attach` is a process of its own), reading and decoding the site's snapshot and updates
//! and applying them to its `App` exactly as `attach` does — everything but the drawing. After
//! each message it tells what its model now holds of the steerable state, and when the frame
//! that shows it would be drawn: by the dashboard's own [`Pacing`], no sooner.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::watch;

use crate::app::App;
use crate::app::theme::Palette;
use crate::serve::client;
use crate::serve::protocol::{Role, ServerMsg};
use crate::site::Feed;
use crate::site::viewer::ViewerMsg;
use crate::term::Pacing;
use crate::wall::Crews;

/// What a viewer's model holds of what commands change, and when a frame first shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub paused: bool,
    pub crews: Crews,
    pub sensors: usize,
    pub at: Instant,
}

/// A running viewer; it ends when the site closes its connection.
pub struct Viewer {
    pub seen: watch::Receiver<Option<Seen>>,
    thread: JoinHandle<Result<u64, String>>,
}

impl Viewer {
    /// Attaches to the site at `socket` on a new thread.
    pub fn attach(socket: &Path) -> Viewer {
        let (tx, seen) = watch::channel(None);
        let socket: PathBuf = socket.to_path_buf();
        let thread = std::thread::spawn(move || {
            crate::runtime::current_thread()?.block_on(watch_site(&socket, tx))
        });
        Viewer { seen, thread }
    }

    /// Waits for the viewer's end (after the site has stopped): the updates it applied, or why
    /// it failed.
    pub fn finish(self) -> Result<u64, String> {
        self.thread
            .join()
            .map_err(|_| "a viewer's thread panicked".to_string())?
    }
}

/// The viewer's loop: messages in, applied to the app, what it holds told.
async fn watch_site(socket: &Path, seen: watch::Sender<Option<Seen>>) -> Result<u64, String> {
    let (mut reader, _writer) = client::connect(socket, Role::Viewer { read_only: false }).await?;
    let mut app = App::new(Palette::None);
    app.attached = true;
    let mut updates = 0u64;
    let mut pacing = Pacing::new();
    // The next frame, when something not yet drawn waits for it.
    let mut frame_at: Option<tokio::time::Instant> = None;
    loop {
        let msg = match client::read(&mut reader).await? {
            None => return Ok(updates),
            Some(ServerMsg::Snapshot(s)) => ViewerMsg::Feed(Feed::Snapshot(s)),
            Some(ServerMsg::Update(u)) => {
                updates += 1;
                ViewerMsg::Feed(Feed::Update(u))
            }
            Some(ServerMsg::Reply { id, reply }) => ViewerMsg::Reply { id, reply },
            Some(ServerMsg::Error(e)) => return Err(format!("the site: {e}")),
            Some(_) => return Err("the site answered out of turn".into()),
        };
        let now = tokio::time::Instant::now();
        if let Some(at) = frame_at.filter(|&at| at <= now) {
            pacing.drawn(at);
            frame_at = None;
        }
        pacing.dirty |= app.apply(msg);
        pacing.prompt |= std::mem::take(&mut app.steered);
        if pacing.dirty {
            frame_at = Some(pacing.earliest(now, app.is_started()).max(now));
        }
        // The drawing loop hands new log lines to the log pane; here nobody draws them.
        app.new_log.clear();
        let Some(model) = &app.site else { continue };
        let held = (model.paused, model.crews, model.sensors.len());
        seen.send_if_modified(|s| {
            if s.is_some_and(|s| (s.paused, s.crews, s.sensors) == held) {
                return false;
            }
            *s = Some(Seen {
                paused: held.0,
                crews: held.1,
                sensors: held.2,
                at: frame_at.unwrap_or(now).into_std(),
            });
            true
        });
    }
}

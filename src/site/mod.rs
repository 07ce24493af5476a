//! The site apart from any terminal: the engine's events become one [`Model`] with a snapshot
//! and numbered updates, for any number of viewers — the local dashboard, attached viewers,
//! `status` — each drawn by its own `App`.
//!
//! [`Site::start`] takes the engine's event channel; its task applies every event to the model
//! and seals an update at most every [`hub::UPDATE_EVERY`], and only when something changed (an
//! idle site does not wake). The task ends when the engine's channel closes (the engine has
//! drained), after a last update; subscribers then see the end of their feed.

pub mod hub;
pub mod log;
pub mod model;
pub mod status;
pub mod viewer;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use hub::{Feed, Hub, Pending, RECENT, Snapshot, Subscription, Update};
pub use log::LogFeed;
pub use model::{Change, LogLine, Model};

use crate::engine::Event;

/// The running site.
pub struct Site {
    pub hub: Arc<Hub>,
    task: JoinHandle<()>,
}

impl Site {
    /// Starts the site on the engine's events (the first must be `Started`; `None` if the
    /// channel closes first). `log`, if given, is where the site's log lines come from.
    pub async fn start(
        mut events: mpsc::Receiver<Event>,
        log: Option<Arc<LogFeed>>,
    ) -> Option<Site> {
        let model = Model::from_started(events.recv().await?)?;
        let hub = Hub::new(model);
        let task = tokio::spawn(run(hub.clone(), events, log));
        Some(Site { hub, task })
    }

    /// Starts the site and links one viewer in this process to it (the standalone dashboard:
    /// the same feed and commands as an attached viewer, without the socket).
    pub async fn start_local(
        events: mpsc::Receiver<Event>,
        log: Option<Arc<LogFeed>>,
        commands: crate::engine::CommandSender,
    ) -> Result<(Site, viewer::ViewerLink), String> {
        let site = Site::start(events, log)
            .await
            .ok_or("the engine stopped before it started")?;
        let link = viewer::link(
            site.hub.subscribe(),
            commands,
            false,
            crate::engine::Asker::local_key(),
        );
        Ok((site, link))
    }

    /// Waits for the site to end (after the engine's event channel has closed).
    pub async fn finished(self) {
        let _ = self.task.await;
    }
}

async fn run(hub: Arc<Hub>, mut events: mpsc::Receiver<Event>, log: Option<Arc<LogFeed>>) {
    let mut last_seal = Instant::now();
    let mut due: Option<Instant> = None;
    let log_rung = rung(&log);
    tokio::pin!(log_rung);
    loop {
        let mut pending = Pending::Nothing;
        tokio::select! {
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                let now = Instant::now();
                pending = pending.max(hub.apply(ev, now));
                while let Ok(ev) = events.try_recv() {
                    pending = pending.max(hub.apply(ev, now));
                }
            }
            _ = &mut log_rung => {
                log_rung.set(rung(&log));
                if let Some(feed) = &log && hub.add_log(feed.take()) {
                    pending = Pending::Changes;
                }
            }
            _ = sleep_until(due) => {
                if let Some(feed) = &log {
                    hub.add_log(feed.take());
                }
                hub.seal();
                last_seal = Instant::now();
                due = None;
            }
        }
        let gap = match pending {
            Pending::Nothing => continue,
            Pending::Changes => hub::UPDATE_EVERY,
            Pending::Steered => hub::STEERED_EVERY,
        };
        let at = (last_seal + gap).max(Instant::now());
        due = Some(due.map_or(at, |d| d.min(at)));
    }
    if let Some(feed) = &log {
        hub.add_log(feed.take());
    }
    hub.close();
}

async fn rung(log: &Option<Arc<LogFeed>>) {
    match log {
        Some(feed) => feed.rung().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

//! Events to the watcher (the site, or a headless run's driver), without ever blocking the
//! engine.
//!
//! Producers (the writer thread, the crew task, the command task) push into a queue under a short
//! lock; one publisher task forwards the queue into the bounded event channel, waiting for the
//! watcher only itself. If the watcher falls behind, the queue is coalesced: a new
//! `Network`/`Store` event replaces a queued one, a new `Day` replaces a queued `Day`, and once more
//! than [`SCREEN_ROWS`] readings (or crew reports) wait, the oldest queued `Readings`
//! (`CrewReports`) events are dropped. Only screen events are dropped: every row is in the store.
//! If the watcher has gone (receiver dropped), events are discarded.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};

use super::Event;

/// Most readings (and, separately, crew reports) queued for a slow watcher.
pub const SCREEN_ROWS: usize = 20_000;
/// How long each last event waits for a watcher that is not reading, once the engine stops.
pub const FINAL_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    readings: usize,
    crew_reports: usize,
    closed: bool,
}

/// The sending side, shared by every part of the engine.
#[derive(Default)]
pub struct Publisher {
    queue: Mutex<Queue>,
    notify: Notify,
    /// Rows dropped from the screen feed (still stored).
    coalesced: AtomicU64,
}

impl Publisher {
    pub fn new() -> Arc<Publisher> {
        Arc::new(Publisher::default())
    }

    pub fn coalesced(&self) -> u64 {
        self.coalesced.load(Ordering::Relaxed)
    }

    /// Queues `event` for the watcher. Never waits for the watcher.
    pub fn publish(&self, event: Event) {
        {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.closed {
                return;
            }
            match &event {
                Event::Readings(r) if r.is_empty() => return,
                Event::CrewReports(r) if r.is_empty() => return,
                Event::Readings(r) => q.readings += r.len(),
                Event::CrewReports(r) => q.crew_reports += r.len(),
                Event::Network(_) | Event::Store { .. } | Event::Day(_) => {
                    let same = std::mem::discriminant(&event);
                    // Never over a loaded wall: what came after it is of another run.
                    if let Some(slot) = q
                        .events
                        .iter_mut()
                        .rev()
                        .take_while(|e| !matches!(e, Event::WallLoaded { .. }))
                        .find(|e| std::mem::discriminant(*e) == same)
                    {
                        *slot = event;
                        drop(q);
                        self.notify.notify_one();
                        return;
                    }
                }
                _ => {}
            }
            q.events.push_back(event);
            while q.readings > SCREEN_ROWS || q.crew_reports > SCREEN_ROWS {
                let readings = q.readings > SCREEN_ROWS;
                let pos = q.events.iter().position(|e| {
                    if readings {
                        matches!(e, Event::Readings(_))
                    } else {
                        matches!(e, Event::CrewReports(_))
                    }
                });
                let Some(pos) = pos else { break };
                match q.events.remove(pos) {
                    Some(Event::Readings(r)) => {
                        q.readings -= r.len();
                        self.coalesced.fetch_add(r.len() as u64, Ordering::Relaxed);
                    }
                    Some(Event::CrewReports(r)) => {
                        q.crew_reports -= r.len();
                        self.coalesced.fetch_add(r.len() as u64, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        }
        self.notify.notify_one();
    }

    fn pop(&self) -> Option<Event> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let e = q.events.pop_front()?;
        match &e {
            Event::Readings(r) => q.readings -= r.len(),
            Event::CrewReports(r) => q.crew_reports -= r.len(),
            _ => {}
        }
        Some(e)
    }

    fn close(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        q.events.clear();
    }

    /// Forwards queued events into `tx` until `done` is notified and the queue is empty (or
    /// the watcher has gone). Run as one task. Once `done` fires, each remaining event waits at
    /// most [`FINAL_WAIT`] for room; if the watcher does not take it, the rest is dropped.
    pub async fn forward(self: Arc<Self>, tx: mpsc::Sender<Event>, done: Arc<Notify>) {
        let mut finishing = false;
        loop {
            while let Some(e) = self.pop() {
                if finishing {
                    match tokio::time::timeout(FINAL_WAIT, tx.send(e)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) | Err(_) => {
                            self.close();
                            return;
                        }
                    }
                } else {
                    tokio::select! {
                        sent = tx.send(e) => if sent.is_err() {
                            self.close();
                            return;
                        },
                        // The event being sent is dropped (screen only); the rest get FINAL_WAIT.
                        _ = done.notified() => finishing = true,
                    }
                }
            }
            if finishing {
                return;
            }
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = done.notified() => finishing = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{NetworkStats, WallProgress};
    use crate::sensors::Reading;

    fn readings(n: usize) -> Event {
        let r = Reading {
            id: 1,
            timestamp: chrono::Utc::now(),
            sensor: "s".into(),
            value: 0,
            stored_at: None,
        };
        Event::Readings(vec![r; n])
    }

    #[test]
    fn a_slow_watcher_gets_coalesced_events() {
        let p = Publisher::new();
        for _ in 0..3 {
            p.publish(readings(SCREEN_ROWS / 2));
        }
        p.publish(Event::Day(WallProgress {
            day: 1,
            ..Default::default()
        }));
        p.publish(Event::Network(NetworkStats::default()));
        p.publish(Event::Day(WallProgress {
            day: 2,
            ..Default::default()
        }));
        p.publish(Event::Paused(true));
        assert_eq!(p.coalesced(), (SCREEN_ROWS / 2) as u64);
        let mut seen = Vec::new();
        while let Some(e) = p.pop() {
            seen.push(e);
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert!(matches!(seen[2], Event::Day(WallProgress { day: 2, .. })));
        assert!(matches!(seen[4], Event::Paused(true)));
    }
}

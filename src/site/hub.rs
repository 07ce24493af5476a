//! One model, many subscribers. The site applies the engine's events to the [`Model`] and, at
//! most every [`UPDATE_EVERY`], seals what changed into a numbered [`Update`] that every
//! subscriber's queue gets (the same `Arc`, whatever the number of subscribers). A subscriber
//! starts from a [`Snapshot`] and then takes the updates after it. A queue holds at most
//! [`QUEUE`] updates: a subscriber that falls that far behind loses its backlog and is given a
//! fresh snapshot instead (counted), so nothing a subscriber does ever blocks the site.
//!
//! The hub also keeps the last [`RECENT`] updates, so a subscriber that went away (an HTTP
//! client reconnecting with `Last-Event-ID`) can resume after an update it saw without a new
//! snapshot ([`Hub::subscribe_after`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

use super::model::{Change, LogLine, Model, Tracker};
use crate::engine::Event;

/// Shortest time between two updates.
pub const UPDATE_EVERY: Duration = Duration::from_millis(100);
/// Shortest time between two updates when a command's effect waits: someone who steers sees
/// the result at once (20 ms, about a frame's gap), and a burst of commands, 100 a second from
/// a script, is sealed into at most 50 updates, not 100 (measured in `bench control`).
pub const STEERED_EVERY: Duration = Duration::from_millis(20);
/// Updates a subscriber may be behind before it is given a fresh snapshot instead.
pub const QUEUE: usize = 64;
/// Recent updates kept for subscribers that resume: as many as one queue holds (at least
/// 6.4 s of a busy site, at one update per [`UPDATE_EVERY`]; more of a quiet one, fewer while
/// commands come faster than ten a second).
pub const RECENT: usize = QUEUE;

/// What the events applied so far leave to seal, the more urgent last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pending {
    Nothing,
    /// Changes of the works, sealed at the next [`UPDATE_EVERY`].
    Changes,
    /// A command's effect, sealed within [`STEERED_EVERY`].
    Steered,
}

/// The whole model as of update `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub seq: u64,
    pub model: Model,
}

/// What changed from update `seq - 1` to `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub seq: u64,
    pub changes: Vec<Change>,
}

/// What a subscriber is given, in order.
#[derive(Debug, Clone)]
pub enum Feed {
    Snapshot(Arc<Snapshot>),
    Update(Arc<Update>),
}

struct Inner {
    model: Model,
    tracker: Tracker,
    seq: u64,
    queues: Vec<Arc<Queue>>,
    /// The last [`RECENT`] updates, oldest first.
    recent: VecDeque<Arc<Update>>,
    closed: bool,
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    notify: Notify,
}

#[derive(Default)]
struct QueueState {
    updates: VecDeque<Arc<Update>>,
    lagged: bool,
    closed: bool,
}

/// The site's model and its subscribers.
pub struct Hub {
    inner: Mutex<Inner>,
    resnapshots: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    pub fn new(model: Model) -> Arc<Hub> {
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                model,
                tracker: Tracker::default(),
                seq: 0,
                queues: Vec::new(),
                recent: VecDeque::with_capacity(RECENT),
                closed: false,
            }),
            resnapshots: AtomicU64::new(0),
        })
    }

    /// Applies an engine event seen at `now`; returns what update is now pending.
    pub fn apply(&self, event: Event, now: Instant) -> Pending {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        inner.model.apply_event(event, now, &mut inner.tracker);
        if inner.tracker.steered() {
            Pending::Steered
        } else if inner.tracker.is_empty() {
            Pending::Nothing
        } else {
            Pending::Changes
        }
    }

    /// Adds log lines; returns whether an update is now pending.
    pub fn add_log(&self, lines: Vec<LogLine>) -> bool {
        if lines.is_empty() {
            return false;
        }
        let mut inner = lock(&self.inner);
        inner.model.push_log(&lines);
        inner.tracker.log(lines);
        true
    }

    /// Seals what changed into the next update and queues it for every subscriber. Returns
    /// whether there was anything to seal.
    pub fn seal(&self) -> bool {
        self.seal_locked(&mut lock(&self.inner))
    }

    fn seal_locked(&self, inner: &mut Inner) -> bool {
        if inner.tracker.is_empty() {
            return false;
        }
        inner.seq += 1;
        let update = Arc::new(Update {
            seq: inner.seq,
            changes: inner.tracker.take(&inner.model),
        });
        if inner.recent.len() >= RECENT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(update.clone());
        for q in &inner.queues {
            let mut state = lock(&q.state);
            if state.lagged {
                continue; // It gets a snapshot next; what it missed is in there.
            }
            if state.updates.len() >= QUEUE {
                state.updates.clear();
                state.lagged = true;
            } else {
                state.updates.push_back(update.clone());
            }
            drop(state);
            q.notify.notify_one();
        }
        true
    }

    /// The model as of the last update (what changed since is sealed first).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        let mut inner = lock(&self.inner);
        self.seal_locked(&mut inner);
        Arc::new(Snapshot {
            seq: inner.seq,
            model: inner.model.clone(),
        })
    }

    /// A new subscriber: its first feed is a snapshot, then every update after it.
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        self.subscribe_after(None)
    }

    /// A subscriber resuming after update `seen` (or the snapshot at `seen`): its feed is the
    /// updates after it when the hub still holds them all, else (or with `None`, or a number
    /// the site has not reached) a snapshot first, as [`Hub::subscribe`].
    pub fn subscribe_after(self: &Arc<Self>, seen: Option<u64>) -> Subscription {
        let mut inner = lock(&self.inner);
        self.seal_locked(&mut inner);
        let queue = Arc::new(Queue::default());
        let held = seen.filter(|&n| {
            // Every update from n + 1 to now is in `recent` (none when n is now).
            let oldest = inner.recent.front().map_or(inner.seq + 1, |u| u.seq);
            n <= inner.seq && n + 1 >= oldest
        });
        let first = match held {
            Some(n) => {
                let mut state = lock(&queue.state);
                let after = inner.recent.iter().filter(|u| u.seq > n).cloned();
                state.updates.extend(after);
                None
            }
            None => Some(Arc::new(Snapshot {
                seq: inner.seq,
                model: inner.model.clone(),
            })),
        };
        lock(&queue.state).closed = inner.closed;
        inner.queues.push(queue.clone());
        Subscription {
            hub: self.clone(),
            queue,
            first,
        }
    }

    /// A fresh snapshot for a subscriber that fell behind; its queue restarts after it.
    fn resnapshot(&self, queue: &Queue) -> Arc<Snapshot> {
        let mut inner = lock(&self.inner);
        self.seal_locked(&mut inner);
        let mut state = lock(&queue.state);
        state.updates.clear();
        state.lagged = false;
        drop(state);
        self.resnapshots.fetch_add(1, Ordering::Relaxed);
        Arc::new(Snapshot {
            seq: inner.seq,
            model: inner.model.clone(),
        })
    }

    /// Reads the model as it stands (including what is not sealed yet), under the lock: keep
    /// `read` short, the site waits for it.
    pub fn with_model<R>(&self, read: impl FnOnce(&Model) -> R) -> R {
        read(&lock(&self.inner).model)
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        lock(&self.inner).queues.len()
    }

    /// Fresh snapshots given to subscribers that fell behind.
    pub fn resnapshots(&self) -> u64 {
        self.resnapshots.load(Ordering::Relaxed)
    }

    /// The site has ended: subscribers get what is queued, then the end of their feed.
    pub fn close(&self) {
        let mut inner = lock(&self.inner);
        self.seal_locked(&mut inner);
        inner.closed = true;
        for q in &inner.queues {
            lock(&q.state).closed = true;
            q.notify.notify_one();
        }
    }

    fn unsubscribe(&self, queue: &Arc<Queue>) {
        lock(&self.inner).queues.retain(|q| !Arc::ptr_eq(q, queue));
    }
}

/// One subscriber's place in the feed. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    queue: Arc<Queue>,
    first: Option<Arc<Snapshot>>,
}

impl Subscription {
    /// The next snapshot or update, waiting for one; `None` once the site has ended.
    pub async fn next(&mut self) -> Option<Feed> {
        if let Some(first) = self.first.take() {
            return Some(Feed::Snapshot(first));
        }
        loop {
            {
                let mut state = lock(&self.queue.state);
                if state.lagged {
                    drop(state);
                    return Some(Feed::Snapshot(self.hub.resnapshot(&self.queue)));
                }
                if let Some(u) = state.updates.pop_front() {
                    return Some(Feed::Update(u));
                }
                if state.closed {
                    return None;
                }
            }
            // One waiter per queue: a notification sent while we were not waiting is kept.
            self.queue.notify.notified().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{NetworkStats, SensorInfo, WallProgress};
    use crate::sensors::Reading;
    use crate::units::Speed;
    use crate::wall::{CrewReport, Crews, Wall};

    fn sensor(name: &str) -> SensorInfo {
        SensorInfo {
            name: name.into(),
            kind: "default".into(),
            interval_ms: 5000,
        }
    }

    fn model() -> Model {
        let wall = Arc::new(Wall::from_profiles(&[vec![21, 25, 28], vec![17]]));
        let heights = wall.heights().to_vec();
        Model::new(
            wall,
            &heights,
            0,
            false,
            Crews::Limited(2),
            vec![sensor("a"), sensor("b")],
            5,
            "memory:".into(),
            Speed::Factor(1.0),
        )
    }

    fn reading(sensor: &str, value: i32) -> Event {
        Event::Readings(vec![Reading {
            id: 1,
            timestamp: chrono::Utc::now(),
            sensor: sensor.into(),
            value,
            stored_at: None,
        }])
    }

    fn report(day: u64, crew: u32, profile: u32, section: u32, height: u8) -> CrewReport {
        CrewReport {
            id: 1,
            timestamp: chrono::Utc::now(),
            day,
            crew,
            profile: Some(profile),
            section: Some(section),
            height: Some(height),
        }
    }

    /// A replica: the subscriber's snapshot with every update after it applied.
    struct Replica {
        model: Option<Model>,
        seq: u64,
        snapshots: usize,
    }

    impl Replica {
        fn new() -> Replica {
            Replica {
                model: None,
                seq: 0,
                snapshots: 0,
            }
        }

        fn take(&mut self, feed: Feed) {
            match feed {
                Feed::Snapshot(s) => {
                    let mut m = s.model.clone();
                    m.reindex();
                    self.model = Some(m);
                    self.seq = s.seq;
                    self.snapshots += 1;
                }
                Feed::Update(u) => {
                    assert_eq!(u.seq, self.seq + 1, "updates come in order, none missing");
                    self.seq = u.seq;
                    let m = self.model.as_mut().expect("a snapshot first");
                    for c in u.changes.iter().cloned() {
                        m.apply_change(c);
                    }
                }
            }
        }
    }

    /// The parts of a model a viewer shows, comparable.
    fn shown(m: &Model) -> String {
        let mut m = m.clone();
        m.network.mean_wait_ms = 0.0;
        serde_json::to_string(&m).unwrap()
    }

    async fn drain(sub: &mut Subscription, replica: &mut Replica) {
        while let Ok(Some(feed)) = tokio::time::timeout(Duration::from_millis(1), sub.next()).await
        {
            replica.take(feed);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_replica_from_a_snapshot_and_updates_equals_the_site() {
        let hub = Hub::new(model());
        let mut early = hub.subscribe();
        let mut early_replica = Replica::new();
        let now = Instant::now();
        hub.apply(reading("a", 5), now);
        hub.apply(Event::CrewReports(vec![report(1, 1, 1, 1, 22)]), now);
        hub.seal();
        // A subscriber that comes later starts from the model as it is now.
        let mut late = hub.subscribe();
        let mut late_replica = Replica::new();
        hub.apply(Event::SensorAdded(sensor("c")), now);
        hub.apply(reading("c", -7), now);
        hub.apply(reading("a", 9), now);
        hub.apply(Event::SensorRemoved("b".into()), now);
        hub.apply(Event::CrewsChanged(Crews::Limited(3)), now);
        hub.apply(
            Event::CrewReports(vec![report(2, 3, 2, 1, 30), report(2, 1, 1, 1, 23)]),
            now,
        );
        hub.apply(
            Event::Day(WallProgress {
                day: 2,
                ..WallProgress::default()
            }),
            now,
        );
        hub.apply(
            Event::Network(NetworkStats {
                limit: 5,
                delivered: 12,
                ..NetworkStats::default()
            }),
            now,
        );
        hub.apply(Event::Paused(true), now);
        hub.apply(Event::SpeedChanged(Speed::Max), now);
        hub.add_log(vec![LogLine {
            at: chrono::Utc::now(),
            level: "INFO".into(),
            target: "crew".into(),
            message: "day 2".into(),
        }]);
        hub.seal();
        drain(&mut early, &mut early_replica).await;
        drain(&mut late, &mut late_replica).await;
        let site = hub.snapshot().model.clone();
        assert_eq!(early_replica.seq, 2);
        assert_eq!(late_replica.seq, 2);
        for replica in [&early_replica, &late_replica] {
            let m = replica.model.as_ref().unwrap();
            assert_eq!(shown(m), shown(&site));
        }
        let m = early_replica.model.as_ref().unwrap();
        let names: Vec<_> = m.sensors.iter().map(|s| s.info.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(m.sensors[0].count, 2);
        assert_eq!(m.wall.heights, [23, 25, 28, 30]);
        assert_eq!(m.wall.crews, [Some(0), None, None]);
        assert!(m.paused && m.speed == Speed::Max && m.day == 2);
        assert_eq!(m.log.back().unwrap().message, "day 2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_that_falls_behind_gets_a_fresh_snapshot_and_blocks_nobody() {
        let hub = Hub::new(model());
        let mut slow = hub.subscribe();
        let mut fast = hub.subscribe();
        let (mut slow_replica, mut fast_replica) = (Replica::new(), Replica::new());
        slow_replica.take(slow.next().await.unwrap());
        for i in 0..(QUEUE as i32 * 3) {
            hub.apply(reading("a", i % 100), Instant::now());
            hub.seal();
            // The fast one keeps up; the slow one reads nothing.
            fast_replica.take(fast.next().await.unwrap());
            if i == 0 {
                fast_replica.take(fast.next().await.unwrap());
            }
        }
        assert_eq!(hub.resnapshots(), 0);
        // The slow one's backlog was dropped: it gets one snapshot, then only newer updates.
        let feed = slow.next().await.unwrap();
        assert!(matches!(feed, Feed::Snapshot(_)));
        slow_replica.take(feed);
        assert_eq!(hub.resnapshots(), 1);
        assert_eq!(slow_replica.snapshots, 2);
        hub.apply(reading("b", 1), Instant::now());
        hub.seal();
        slow_replica.take(slow.next().await.unwrap());
        fast_replica.take(fast.next().await.unwrap());
        let site = shown(&hub.snapshot().model);
        assert_eq!(shown(slow_replica.model.as_ref().unwrap()), site);
        assert_eq!(shown(fast_replica.model.as_ref().unwrap()), site);
        assert_eq!(
            slow_replica.model.as_ref().unwrap().sensors[0].count,
            QUEUE as u64 * 3
        );
    }

    #[tokio::test(start_paused = true)]
    async fn subscribers_come_and_go_and_see_the_end() {
        let hub = Hub::new(model());
        let mut a = hub.subscribe();
        {
            let _b = hub.subscribe();
            assert_eq!(hub.subscribers(), 2);
        }
        assert_eq!(hub.subscribers(), 1);
        assert!(matches!(a.next().await, Some(Feed::Snapshot(_))));
        hub.apply(reading("a", 1), Instant::now());
        hub.close();
        // What was pending is sealed and delivered before the end.
        assert!(matches!(a.next().await, Some(Feed::Update(_))));
        assert!(a.next().await.is_none());
    }

    /// What `sub` has ready now, without waiting.
    fn ready(sub: &mut Subscription) -> Vec<Feed> {
        std::iter::from_fn(|| futures_util::FutureExt::now_or_never(sub.next()).flatten()).collect()
    }

    fn seqs(feeds: &[Feed]) -> Vec<Result<u64, u64>> {
        feeds
            .iter()
            .map(|f| match f {
                Feed::Snapshot(s) => Err(s.seq),
                Feed::Update(u) => Ok(u.seq),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_resumes_after_an_update_the_hub_still_holds() {
        let hub = Hub::new(model());
        // Nothing sealed yet: resuming at 0 is resuming now; anything else is unknown.
        assert_eq!(seqs(&ready(&mut hub.subscribe_after(Some(0)))), []);
        assert_eq!(seqs(&ready(&mut hub.subscribe_after(Some(1)))), [Err(0)]);
        let total = RECENT as u64 + 10;
        for i in 0..total {
            hub.apply(reading("a", i as i32), Instant::now());
            hub.seal();
        }
        let mut replica = Replica::new();
        let resumed = seqs(&ready(&mut hub.subscribe_after(Some(total - 3))));
        assert_eq!(resumed, [Ok(total - 2), Ok(total - 1), Ok(total)]);
        // The oldest update it can resume after: every one from the next on is held.
        let oldest = total - RECENT as u64;
        let from_oldest = seqs(&ready(&mut hub.subscribe_after(Some(oldest))));
        assert_eq!(from_oldest.len(), RECENT);
        assert_eq!(from_oldest[0], Ok(oldest + 1));
        // Too old, from the future, or none: a snapshot of now.
        for seen in [Some(oldest - 1), Some(total + 1), Some(u64::MAX), None] {
            let feeds = ready(&mut hub.subscribe_after(seen));
            assert_eq!(seqs(&feeds), [Err(total)], "{seen:?}");
            replica.take(feeds.into_iter().next().unwrap());
        }
        // What changed and was not sealed is sealed first, and comes as an update.
        hub.apply(reading("b", 4), Instant::now());
        let mut sub = hub.subscribe_after(Some(total));
        for feed in ready(&mut sub) {
            replica.take(feed);
        }
        assert_eq!(replica.seq, total + 1);
        assert_eq!(
            shown(replica.model.as_ref().unwrap()),
            shown(&hub.snapshot().model)
        );
        assert_eq!(hub.resnapshots(), 0);
    }

    #[test]
    fn many_changed_sections_go_as_the_whole_wall() {
        let wall = Arc::new(Wall::from_profiles(&[vec![0u8; 64]]));
        let heights = wall.heights().to_vec();
        let hub = Hub::new(Model::new(
            wall,
            &heights,
            0,
            false,
            Crews::Unlimited,
            vec![],
            5,
            "memory:".into(),
            Speed::Max,
        ));
        let reports = (1..=64).map(|s| report(1, s, 1, s, 1)).collect();
        hub.apply(Event::CrewReports(reports), Instant::now());
        let mut sub = hub.subscribe();
        let Some(Feed::Snapshot(s)) = futures_util::FutureExt::now_or_never(sub.next()).flatten()
        else {
            panic!("a snapshot first");
        };
        assert!(s.model.wall.heights.iter().all(|&h| h == 1));
        hub.apply(
            Event::CrewReports(vec![report(2, 1, 1, 1, 2), report(2, 2, 1, 2, 2)]),
            Instant::now(),
        );
        hub.seal();
        let Some(Feed::Update(u)) = futures_util::FutureExt::now_or_never(sub.next()).flatten()
        else {
            panic!("an update");
        };
        assert!(
            u.changes.contains(&Change::Sections(vec![(0, 2), (1, 2)])),
            "{:?}",
            u.changes
        );
        let reports = (1..=64).map(|s| report(3, s, 1, s, 3)).collect();
        hub.apply(Event::CrewReports(reports), Instant::now());
        hub.seal();
        let Some(Feed::Update(u)) = futures_util::FutureExt::now_or_never(sub.next()).flatten()
        else {
            panic!("an update");
        };
        assert!(u.changes.contains(&Change::Heights("3".repeat(64))));
    }
}

//! The producers: one task per sensor, and the crew task driving the wall's site.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::{Notify, watch};

use super::clock::Clock;
use super::network::{Network, Payload};
use super::publisher::Publisher;
use super::{Event, WallProgress};
use crate::sensors::{Reading, Sensor};
use crate::wall::{Book, CrewReport, History, Works};

/// What every producer shares.
pub struct Shared {
    pub clock: Arc<Clock>,
    pub network: Arc<Network>,
    pub publisher: Arc<Publisher>,
    /// Wall-clock time of simulated time zero: timestamps are `epoch + simulated time`.
    pub epoch: DateTime<Utc>,
    pub readings_produced: AtomicU64,
    pub crew_reports_produced: AtomicU64,
    /// Readings still allowed (benchmarks); `u64::MAX` when unbounded.
    pub readings_budget: AtomicU64,
    /// Sensor tasks spawned and not yet ended (see [`Alive`]).
    pub sensors_running: AtomicUsize,
    /// Woken when the last running sensor ends: the collector writes its partial batch then.
    pub sensors_stopped: Arc<Notify>,
}

/// The wall's side of a run: the crew task works it, whoever asks about the wall reads it.
pub struct WallState {
    /// The wall after the last finished day.
    progress: Mutex<WallProgress>,
    /// The wall's site and what its crews did, day by day (the HTTP API's wall paths).
    book: Mutex<Book>,
    /// The book's plan (see [`Book::plan`]), readable without the lock.
    book_plan: AtomicU64,
    /// Woken when crews were added or removed: the crew task looks at the wall again.
    crews_changed: Notify,
    /// The run's number (1 until another wall is loaded) and its wall's fingerprint.
    run: Mutex<(u32, String)>,
}

impl WallState {
    pub fn new(site: Works, history: History, run: u32) -> WallState {
        WallState {
            book_plan: AtomicU64::new(0),
            crews_changed: Notify::new(),
            run: Mutex::new((run, site.wall().fingerprint())),
            progress: Mutex::new(WallProgress::of(&site)),
            book: Mutex::new(Book::new(site, history)),
        }
    }

    /// The run's number and its wall's fingerprint.
    pub fn run(&self) -> (u32, String) {
        self.run.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Starts run `run` on `works` (the crew task is stopped meanwhile); returns its progress.
    pub(super) fn begin(&self, works: Works, run: u32) -> WallProgress {
        let progress = WallProgress::of(&works);
        let fingerprint = works.wall().fingerprint();
        *self.run.lock().unwrap_or_else(|e| e.into_inner()) = (run, fingerprint);
        self.change_book(|book| book.begin(works));
        *self.progress.lock().unwrap_or_else(|e| e.into_inner()) = progress;
        progress
    }

    /// The book, locked (a panic elsewhere does not poison it for readers).
    pub fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn book_plan(&self) -> u64 {
        self.book_plan.load(Ordering::Acquire)
    }

    pub fn progress(&self) -> WallProgress {
        *self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or removes crews in the book (between two days) and wakes the crew task.
    pub(super) fn change_crews<R>(&self, change: impl FnOnce(&mut Book) -> R) -> R {
        let r = self.change_book(change);
        self.crews_changed.notify_one();
        r
    }

    /// Changes the book and publishes its plan.
    fn change_book<R>(&self, change: impl FnOnce(&mut Book) -> R) -> R {
        let mut book = self.book();
        let r = change(&mut book);
        self.book_plan.store(book.plan(), Ordering::Release);
        r
    }
}

impl Shared {
    /// Producers at simulated time zero, sending through `network`, with `readings_budget`
    /// readings allowed (`u64::MAX`: no end).
    pub fn new(
        speed: super::Speed,
        network: Network,
        publisher: Arc<Publisher>,
        readings_budget: u64,
    ) -> Shared {
        Shared {
            clock: Arc::new(Clock::new(speed)),
            network: Arc::new(network),
            publisher,
            epoch: Utc::now(),
            readings_produced: AtomicU64::new(0),
            crew_reports_produced: AtomicU64::new(0),
            readings_budget: AtomicU64::new(readings_budget),
            sensors_running: AtomicUsize::new(0),
            sensors_stopped: Arc::new(Notify::new()),
        }
    }

    pub fn timestamp(&self, sim: Duration) -> DateTime<Utc> {
        timestamp_at(self.epoch, sim)
    }

    /// Takes up to `want` readings from the budget; returns how many may be made.
    fn take_budget(&self, want: u64) -> u64 {
        let mut left = self.readings_budget.load(Ordering::Relaxed);
        loop {
            if left == u64::MAX {
                return want;
            }
            let take = want.min(left);
            if take == 0 {
                return 0;
            }
            match self.readings_budget.compare_exchange_weak(
                left,
                left - take,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return take,
                Err(now) => left = now,
            }
        }
    }
}

/// `epoch + sim`, saturating at the latest time chrono can hold (year 262142): simulated time at
/// `--speed 1000000` passes that after some 95 days of real time, and at `--speed max` sooner.
pub fn timestamp_at(epoch: DateTime<Utc>, sim: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(sim)
        .ok()
        .and_then(|d| epoch.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The end of the `n`th day from a run's start (`day_length × n`), saturating.
pub fn day_end(day_length: Duration, n: u64) -> Duration {
    const NANOS: u128 = 1_000_000_000;
    let nanos = day_length.as_nanos().saturating_mul(u128::from(n));
    match u64::try_from(nanos / NANOS) {
        Ok(secs) => Duration::new(secs, u32::try_from(nanos % NANOS).unwrap_or(0)),
        Err(_) => Duration::MAX,
    }
}

/// A sensor task's place in [`Shared::sensors_running`]: taken when the task is spawned, given
/// back when its future is dropped (ended, panicked or aborted, even before its first poll). The
/// last one given back wakes the collector: everything the sensors sent is in its mailbox and no
/// more readings are on their way, so the partial batch need not wait out the flush delay.
pub struct Alive(Arc<Shared>);

impl Alive {
    pub fn new(shared: &Arc<Shared>) -> Alive {
        shared.sensors_running.fetch_add(1, Ordering::AcqRel);
        Alive(shared.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        if self.0.sensors_running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.sensors_stopped.notify_one();
        }
    }
}

/// One sensor: a reading every interval of simulated time, from time zero (or from its start
/// when added later). When it falls behind (or at `Speed::Max`) it sends the readings that are
/// due together, up to the network limit, each holding its own permit. A reading once taken is
/// always sent, even when asked to stop meanwhile.
pub async fn sensor_task(mut sensor: Sensor, alive: Alive, mut stop: watch::Receiver<bool>) {
    let shared = &alive.0;
    let interval = sensor.interval();
    let mut due = shared.clock.now();
    // The network's limit: at most 65,536 (see `options`), so every conversion below is exact.
    let limit = shared.network.limit();
    let max_chunk = u64::try_from(limit).unwrap_or(u64::MAX);
    // Looked at once, then only when it changes: the version is a load, a look at the value
    // takes its lock (two read-modify-writes a packet at `--speed max`).
    let stopped = *stop.borrow_and_update();
    loop {
        if stopped || (stop.has_changed().unwrap_or(true) && *stop.borrow_and_update()) {
            break;
        }
        // At Speed::Max there is nothing to wait for, and no yield either: the permits and the
        // mailbox below spend tokio's cooperative budget, so a sensor that never waits still
        // gives way after a hundred-odd sends. A yield per packet cost a tenth of the throughput.
        // The select is built only when waiting: it registers a stop waiter each time.
        if !shared.clock.try_reach(due) {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                _ = shared.clock.sleep_until(due) => {}
            }
        }
        // At Speed::Max a packet is always full; else it holds the readings due by now.
        let want = if shared.clock.is_max() {
            max_chunk
        } else {
            let after = |n: u64| {
                due.saturating_add(interval.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)))
            };
            let now = shared.clock.now().max(due);
            let mut want = 1;
            while want < max_chunk && after(want) <= now {
                want += 1;
            }
            want
        };
        let allowed = shared.take_budget(want);
        if allowed == 0 {
            break;
        }
        let mut readings = Vec::with_capacity(usize::try_from(allowed).unwrap_or(limit));
        for _ in 0..allowed {
            match sensor.sample() {
                Ok(value) => {
                    tracing::trace!(target: "sensor", sensor = sensor.name(), value);
                    readings.push(Reading {
                        id: 0,
                        timestamp: shared.timestamp(due),
                        sensor: sensor.name().to_string(),
                        value,
                        stored_at: None,
                    });
                }
                Err(e) => {
                    tracing::warn!(target: "sensor", "{}: {e}", sensor.name());
                }
            }
            due = due.saturating_add(interval);
        }
        if readings.is_empty() {
            continue;
        }
        let n = readings.len();
        shared
            .readings_produced
            .fetch_add(n as u64, Ordering::Relaxed);
        if shared
            .network
            .send(Payload::Readings(readings), n)
            .await
            .is_err()
        {
            tracing::error!(target: "network", "{}: the collector has gone", sensor.name());
            break;
        }
    }
    tracing::debug!(target: "sensor", "{} stopped", sensor.name());
}

/// Limits of the crew task.
#[derive(Debug, Clone)]
pub struct CrewPlan {
    /// Simulated time of a wall day.
    pub day_length: Duration,
    /// Simulated time when the task starts counting days (zero, or when a wall was loaded).
    pub start: Duration,
    pub days: Option<u64>,
    pub until_complete: bool,
}

/// Works one wall day every `day_seconds` of simulated time (day d ends at d × day_seconds),
/// sends each crew's report through the network, logs its line (target `crew`), then publishes
/// `Event::Day`. Stops working after `days`, on completion when asked, or when another day would
/// log nothing; a change of the crews (`WallState::change_crews`) wakes it to look again.
pub async fn crew_task(
    plan: CrewPlan,
    shared: Arc<Shared>,
    wall: Arc<WallState>,
    mut stop: watch::Receiver<bool>,
) {
    let day_length = plan.day_length;
    let limit = shared.network.limit();
    let mut log = Vec::new();
    // A resumed site starts after its stored days; this run's first day ends one day from now.
    let first_day = wall.book().works().day();
    let test_panic = test_panic_hook();
    tokio::pin!(test_panic);
    loop {
        let (working, day) = {
            let book = wall.book();
            let site = book.works();
            let working = !site.is_done()
                && plan.days.is_none_or(|d| site.day() < d)
                && !(plan.until_complete && site.is_complete() && site.day() > 0);
            (working, site.day())
        };
        let next_day_at = plan.start.saturating_add(day_end(
            day_length,
            day.saturating_sub(first_day).saturating_add(1),
        ));
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = wall.crews_changed.notified() => continue,
            _ = shared.clock.sleep_until(next_day_at), if working => {}
            _ = &mut test_panic => {}
        }
        let progress = wall.change_book(|book| {
            book.step_into(&mut log);
            WallProgress::of(book.works())
        });
        let timestamp = shared.timestamp(next_day_at);
        for work in &log {
            tracing::info!(target: "crew", "{work}");
        }
        shared
            .crew_reports_produced
            .fetch_add(log.len() as u64, Ordering::Relaxed);
        let reports = log.iter().map(|w| CrewReport::from_work(w, timestamp));
        let network = &shared.network;
        futures_util::stream::iter(reports)
            .for_each_concurrent(limit, |report| async move {
                if network
                    .send(Payload::CrewReport(Box::new(report)), 1)
                    .await
                    .is_err()
                {
                    tracing::error!(target: "network", "crew report lost: the collector has gone");
                }
            })
            .await;
        *wall.progress.lock().unwrap_or_else(|e| e.into_inner()) = progress;
        shared.publisher.publish(Event::Day(progress));
    }
}

/// Test hook, debug builds only: with `WALLWATCH_TEST_PANIC_AFTER_MS=N` in the environment the
/// crew task panics N real milliseconds after it starts, so the pty tests can check that a
/// panic inside a spawned task restores the terminal and ends the program with the message.
/// Release builds never read the variable; without it this future never completes.
async fn test_panic_hook() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("WALLWATCH_TEST_PANIC_AFTER_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        panic!("test hook: WALLWATCH_TEST_PANIC_AFTER_MS={ms} made the crew task panic");
    }
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: `--speed 1e12` panicked when a sensor was added later (chrono overflow here).
    #[test]
    fn timestamps_saturate_instead_of_overflowing() {
        let epoch = Utc::now();
        let far = Duration::from_secs(10_000_000_000_000);
        assert_eq!(timestamp_at(epoch, far), DateTime::<Utc>::MAX_UTC);
        assert_eq!(timestamp_at(epoch, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        let hour = timestamp_at(epoch, Duration::from_secs(3600));
        assert_eq!(hour - epoch, chrono::Duration::hours(1));
    }

    #[test]
    fn day_ends_are_exact_and_saturate() {
        let d = Duration::from_millis(1500);
        assert_eq!(day_end(d, 3), Duration::from_millis(4500));
        // Beyond u32 days (the old `as u32` wrapped here).
        assert_eq!(
            day_end(Duration::from_secs(1), 1 << 33),
            Duration::from_secs(1 << 33)
        );
        assert_eq!(
            day_end(Duration::from_secs(86_400), u64::MAX),
            Duration::MAX
        );
    }
}

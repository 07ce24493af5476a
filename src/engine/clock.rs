//! Simulated time: a speed multiplier over tokio's clock (so tests run on the paused clock), a
//! pause, and `Speed::Max`, where time does not wait for anything.
//!
//! With `Speed::Factor(f)`, simulated time advances `f` seconds per real second, and
//! [`Clock::sleep_until`] sleeps the matching real time, waking early to recompute when the speed
//! changes or the clock is paused. With `Speed::Max`, `sleep_until(t)` only yields to the runtime
//! and moves "now" forward to `t` (now is the furthest point any task has reached), so every task
//! runs as fast as the network lets it. While paused, simulated time stands still and sleepers
//! wait for the resume.
//!
//! At `Speed::Max` every sensor calls `try_reach` once per packet, so that path takes no lock:
//! a mode flag and the furthest point reached are atomics beside the locked state.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::Speed;

#[derive(Debug)]
struct State {
    speed: Speed,
    paused: bool,
    /// Simulated time at `base_real`.
    base_sim: Duration,
    base_real: Instant,
}

impl State {
    /// Simulated time now; `reached` is the furthest point a task has reached at `Speed::Max`.
    fn now(&self, reached: Duration) -> Duration {
        match (self.paused, self.speed) {
            (true, _) => self.base_sim,
            (false, Speed::Max) => self.base_sim.max(reached),
            (false, Speed::Factor(f)) => self
                .base_sim
                .saturating_add(scale(self.base_real.elapsed(), f)),
        }
    }

    /// Re-anchors the simulated time at the present moment.
    fn rebase(&mut self, reached: Duration) {
        self.base_sim = self.now(reached);
        self.base_real = Instant::now();
    }

    fn mode(&self) -> u8 {
        let max = if matches!(self.speed, Speed::Max) {
            MAX
        } else {
            0
        };
        max | if self.paused { PAUSED } else { 0 }
    }
}

/// `d × f`, saturating at `Duration::MAX` (never a panic, whatever `f`; a NaN gives zero).
fn scale(d: Duration, f: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * f).unwrap_or(if f.is_nan() {
        Duration::ZERO
    } else {
        Duration::MAX
    })
}

/// Bits of [`Clock::mode`].
const MAX: u8 = 1;
const PAUSED: u8 = 2;

/// The run's simulated clock, shared by every task.
#[derive(Debug)]
pub struct Clock {
    state: Mutex<State>,
    /// `MAX` and `PAUSED` bits, written under the lock, read without it.
    mode: AtomicU8,
    /// Nanoseconds: the furthest point any task has reached at `Speed::Max`.
    reached: AtomicU64,
    changed: watch::Sender<u64>,
}

enum Next {
    Done,
    Yield,
    Wait,
    SleepUntil(Instant),
}

impl Clock {
    /// A clock at simulated time zero. `Speed::Factor` should be in
    /// [`SPEED_RANGE`](super::SPEED_RANGE); out of it time saturates rather than panics.
    pub fn new(speed: Speed) -> Clock {
        let (changed, _) = watch::channel(0);
        let state = State {
            speed,
            paused: false,
            base_sim: Duration::ZERO,
            base_real: Instant::now(),
        };
        Clock {
            mode: AtomicU8::new(state.mode()),
            state: Mutex::new(state),
            reached: AtomicU64::new(0),
            changed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the furthest point reached at `Speed::Max` forward to `t` (never back).
    fn reach(&self, t: Duration) {
        let ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        // At `--speed max` every packet reaches its time, mostly one some other sensor has
        // passed already: a load spares the read-modify-write then.
        if ns > self.reached.load(Ordering::Acquire) {
            self.reached.fetch_max(ns, Ordering::AcqRel);
        }
    }

    fn reached(&self) -> Duration {
        Duration::from_nanos(self.reached.load(Ordering::Acquire))
    }

    /// Simulated time since the start.
    pub fn now(&self) -> Duration {
        self.lock().now(self.reached())
    }

    pub fn is_max(&self) -> bool {
        self.mode.load(Ordering::Acquire) & MAX != 0
    }

    pub fn is_paused(&self) -> bool {
        self.mode.load(Ordering::Acquire) & PAUSED != 0
    }

    /// Changes the state under the lock, re-anchored at the present moment, then wakes sleepers.
    fn change(&self, f: impl FnOnce(&mut State)) {
        {
            let mut s = self.lock();
            s.rebase(self.reached());
            f(&mut s);
            self.mode.store(s.mode(), Ordering::Release);
        }
        self.changed.send_modify(|g| *g += 1);
    }

    pub fn set_speed(&self, speed: Speed) {
        self.change(|s| s.speed = speed);
    }

    /// Pauses or resumes; returns whether the clock is now paused.
    pub fn set_paused(&self, paused: bool) -> bool {
        self.change(|s| s.paused = paused);
        paused
    }

    pub fn toggle_pause(&self) -> bool {
        let paused = !self.is_paused();
        self.set_paused(paused)
    }

    /// At `Speed::Max` and not paused, moves now forward to `t` and returns true: there is
    /// nothing to wait for. Else returns false and changes nothing.
    pub fn try_reach(&self, t: Duration) -> bool {
        let max = self.mode.load(Ordering::Acquire) == MAX;
        if max {
            self.reach(t);
        }
        max
    }

    /// Waits until simulated time `t`.
    pub async fn sleep_until(&self, t: Duration) {
        if self.try_reach(t) {
            tokio::task::yield_now().await;
            return;
        }
        loop {
            let mut changed = self.changed.subscribe();
            let next = {
                let s = self.lock();
                if s.paused {
                    Next::Wait
                } else {
                    match s.speed {
                        Speed::Max => {
                            self.reach(t);
                            Next::Yield
                        }
                        Speed::Factor(f) => {
                            let now = s.now(Duration::ZERO);
                            if now >= t {
                                Next::Done
                            } else {
                                // Out of reach (beyond what `Instant` can say): wait for a
                                // change of speed or pause instead.
                                let real = scale(t - s.base_sim, 1.0 / f);
                                s.base_real
                                    .checked_add(real)
                                    .map_or(Next::Wait, Next::SleepUntil)
                            }
                        }
                    }
                }
            };
            match next {
                Next::Done => return,
                Next::Yield => {
                    tokio::task::yield_now().await;
                    return;
                }
                Next::Wait => {
                    let _ = changed.changed().await;
                }
                Next::SleepUntil(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = changed.changed() => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn factor_scales_real_time() {
        let clock = Clock::new(Speed::Factor(10.0));
        let start = Instant::now();
        clock.sleep_until(Duration::from_secs(50)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(clock.now(), Duration::from_secs(50));
    }

    #[tokio::test(start_paused = true)]
    async fn pause_stops_time_and_resume_continues() {
        let clock = std::sync::Arc::new(Clock::new(Speed::Factor(1.0)));
        tokio::time::sleep(Duration::from_secs(3)).await;
        clock.set_paused(true);
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(clock.now(), Duration::from_secs(3));
        let c = clock.clone();
        let sleeper = tokio::spawn(async move {
            c.sleep_until(Duration::from_secs(5)).await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_secs(50)).await;
        assert!(!sleeper.is_finished(), "time stood still while paused");
        let resumed = Instant::now();
        clock.set_paused(false);
        let woke = sleeper.await.unwrap();
        assert_eq!(woke - resumed, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn speed_change_wakes_sleepers() {
        let clock = std::sync::Arc::new(Clock::new(Speed::Factor(1.0)));
        let c = clock.clone();
        let start = Instant::now();
        let sleeper = tokio::spawn(async move { c.sleep_until(Duration::from_secs(100)).await });
        tokio::time::sleep(Duration::from_secs(10)).await;
        clock.set_speed(Speed::Factor(10.0));
        sleeper.await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(19));
    }

    /// The lock-free path at `Speed::Max` keeps time consistent with the locked one.
    #[tokio::test(start_paused = true)]
    async fn max_reaches_without_the_lock_and_keeps_time_across_changes() {
        let clock = Clock::new(Speed::Max);
        assert!(clock.is_max() && !clock.is_paused());
        assert!(clock.try_reach(Duration::from_secs(40)));
        assert!(
            clock.try_reach(Duration::from_secs(30)),
            "an earlier t is no wait either"
        );
        assert_eq!(clock.now(), Duration::from_secs(40));
        clock.set_paused(true);
        assert!(
            !clock.try_reach(Duration::from_secs(90)),
            "paused: time stands still"
        );
        assert_eq!(clock.now(), Duration::from_secs(40));
        clock.set_paused(false);
        clock.set_speed(Speed::Factor(2.0));
        assert!(!clock.is_max());
        assert!(!clock.try_reach(Duration::from_secs(90)));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            clock.now(),
            Duration::from_secs(50),
            "factor time counts from 40 s"
        );
        clock.set_speed(Speed::Max);
        assert_eq!(clock.now(), Duration::from_secs(50));
        assert!(clock.try_reach(Duration::from_secs(60)));
        assert_eq!(clock.now(), Duration::from_secs(60));
    }

    /// Speeds far outside the command line's range saturate instead of panicking: the clock is
    /// the last line of defence (issue 16: `--speed 1e20` and `1e-300` panicked here).
    #[tokio::test(start_paused = true)]
    async fn extreme_speeds_saturate_and_never_panic() {
        let fast = Clock::new(Speed::Factor(1e20));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(fast.now(), Duration::MAX);
        fast.sleep_until(Duration::from_secs(5)).await;
        let slow = std::sync::Arc::new(Clock::new(Speed::Factor(1e-300)));
        let s = slow.clone();
        let sleeper = tokio::spawn(async move { s.sleep_until(Duration::from_secs(1)).await });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!sleeper.is_finished(), "a second at 1e-300 is out of reach");
        assert!(slow.now() < Duration::from_secs(1));
        slow.set_speed(Speed::Factor(1.0));
        sleeper.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn max_does_not_wait() {
        let clock = Clock::new(Speed::Max);
        let start = Instant::now();
        clock.sleep_until(Duration::from_secs(3600)).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(clock.now(), Duration::from_secs(3600));
        clock.sleep_until(Duration::from_secs(10)).await;
        assert_eq!(
            clock.now(),
            Duration::from_secs(3600),
            "now never goes back"
        );
    }
}

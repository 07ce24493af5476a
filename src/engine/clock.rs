//! Simulated time: a speed multiplier over tokio's clock (so tests run on the paused clock), a
//! pause, and `Speed::Max`, where time does not wait for anything.
//!
//! With `Speed::Factor(f)`, simulated time advances `f` seconds per real second, and
//! [`Clock::sleep_until`] sleeps the matching real time, waking early to recompute when the speed
//! changes or the clock is paused. With `Speed::Max`, `sleep_until(t)` only yields to the runtime
//! and moves "now" forward to `t` (now is the furthest point any task has reached), so every task
//! runs as fast as the network lets it. While paused, simulated time stands still and sleepers
//! wait for the resume.

use std::sync::Mutex;
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
    fn now(&self) -> Duration {
        match (self.paused, self.speed) {
            (true, _) | (false, Speed::Max) => self.base_sim,
            (false, Speed::Factor(f)) => self.base_sim + self.base_real.elapsed().mul_f64(f),
        }
    }

    /// Re-anchors the simulated time at the present moment.
    fn rebase(&mut self) {
        self.base_sim = self.now();
        self.base_real = Instant::now();
    }
}

/// The run's simulated clock, shared by every task.
#[derive(Debug)]
pub struct Clock {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

enum Next {
    Done,
    Yield,
    Wait,
    SleepUntil(Instant),
}

impl Clock {
    /// A clock at simulated time zero. `Speed::Factor` must be positive and finite.
    pub fn new(speed: Speed) -> Clock {
        let (changed, _) = watch::channel(0);
        Clock {
            state: Mutex::new(State {
                speed,
                paused: false,
                base_sim: Duration::ZERO,
                base_real: Instant::now(),
            }),
            changed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulated time since the start.
    pub fn now(&self) -> Duration {
        self.lock().now()
    }

    pub fn speed(&self) -> Speed {
        self.lock().speed
    }

    pub fn is_max(&self) -> bool {
        matches!(self.lock().speed, Speed::Max)
    }

    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    pub fn set_speed(&self, speed: Speed) {
        {
            let mut s = self.lock();
            s.rebase();
            s.speed = speed;
        }
        self.changed.send_modify(|g| *g += 1);
    }

    /// Pauses or resumes; returns whether the clock is now paused.
    pub fn set_paused(&self, paused: bool) -> bool {
        {
            let mut s = self.lock();
            s.rebase();
            s.paused = paused;
        }
        self.changed.send_modify(|g| *g += 1);
        paused
    }

    pub fn toggle_pause(&self) -> bool {
        let paused = !self.is_paused();
        self.set_paused(paused)
    }

    /// Waits until simulated time `t`.
    pub async fn sleep_until(&self, t: Duration) {
        loop {
            let mut changed = self.changed.subscribe();
            let next = {
                let mut s = self.lock();
                if s.paused {
                    Next::Wait
                } else {
                    match s.speed {
                        Speed::Max => {
                            if t > s.base_sim {
                                s.base_sim = t;
                            }
                            Next::Yield
                        }
                        Speed::Factor(f) => {
                            let now = s.now();
                            if now >= t {
                                Next::Done
                            } else {
                                Next::SleepUntil(s.base_real + (t - s.base_sim).div_f64(f))
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

//! The API's threads' priority follows how busy the site's pipeline is.
//!
//! While the site's worker thread is busy (at `--speed max`, or with a large fleet) the API's
//! threads run `SCHED_IDLE`: only on CPU time no other thread wants, so however hard the API
//! is asked the pipeline keeps its pace. While the pipeline is quiet (the defaults: 5 sensors
//! every 5 s) they run at normal priority, level with the clients asking them: at the lowest
//! priority every answer written woke the client, which preempted the API at once (about two
//! context switches a request), and the API answered 0.6 × what a bare handler does on the
//! same machine.
//!
//! The site's worker's busy share is read from tokio's runtime metrics every [`SAMPLE`]: at
//! [`BUSY`] or more the threads go to the lowest priority in that sample; only after
//! [`QUIET_SAMPLES`] samples in a row below [`QUIET`] do they come back. Coming back needs
//! `CAP_SYS_NICE` or an `RLIMIT_NICE` of 20 (systemd's `LimitNICE=+0`, which the packaged unit
//! sets); without either the threads stay at the lowest priority until the site restarts, as
//! they were before, and the log says so once. Elsewhere than Linux nothing changes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the site's worker's busy share is read.
pub const SAMPLE: Duration = Duration::from_millis(250);
/// The share of one worker's time, busy, at which the API yields at once.
pub const BUSY: f64 = 0.5;
/// Below this share for [`QUIET_SAMPLES`] samples in a row the API is level again.
pub const QUIET: f64 = 0.25;
/// 2 s of quiet before the API is level again: a pipeline that pauses for a moment between
/// bursts does not flap.
pub const QUIET_SAMPLES: u32 = 8;

/// What the API's threads run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `SCHED_OTHER`, nice 0: level with every other thread.
    Level,
    /// `SCHED_IDLE` (nice 19 where that is refused): after every other thread.
    Lowest,
}

/// The class from one busy share after another: lowest at once when busy, level only after a
/// quiet while. Pure: [`Threads`] applies what it says.
#[derive(Debug)]
pub struct Follower {
    class: Class,
    quiet: u32,
}

impl Default for Follower {
    fn default() -> Follower {
        Follower {
            class: Class::Level,
            quiet: 0,
        }
    }
}

impl Follower {
    /// The class after a sample in which the site's workers were busy `share` of the time
    /// (1.0: one worker all the time).
    pub fn sample(&mut self, share: f64) -> Class {
        if share >= BUSY {
            self.class = Class::Lowest;
            self.quiet = 0;
        } else if share < QUIET {
            self.quiet = self.quiet.saturating_add(1);
            if self.quiet >= QUIET_SAMPLES {
                self.class = Class::Level;
            }
        } else {
            self.quiet = 0;
        }
        self.class
    }
}

/// The API runtime's threads (workers and blocking threads, by thread id) and the class they
/// run at: a thread that starts takes the current class, a class change moves every thread.
#[derive(Default)]
pub struct Threads {
    ids: Mutex<Vec<i32>>,
    lowest: AtomicBool,
    /// Set once raising a thread was refused: the class stays lowest from then on.
    stuck: AtomicBool,
}

impl Threads {
    pub fn new() -> Arc<Threads> {
        Arc::new(Threads::default())
    }

    /// The class the threads run at now.
    pub fn class(&self) -> Class {
        if self.lowest.load(Ordering::Acquire) {
            Class::Lowest
        } else {
            Class::Level
        }
    }

    /// A runtime thread starting (`on_thread_start`): it takes the current class.
    pub fn started(&self) {
        let id = sys::thread_id();
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.push(id);
        if self.lowest.load(Ordering::Acquire) {
            sys::set(id, Class::Lowest);
        }
    }

    /// A runtime thread ending (`on_thread_stop`): its id may be another thread's next.
    pub fn stopped(&self) {
        let id = sys::thread_id();
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.retain(|&i| i != id);
    }

    /// Moves every thread to `class`. False when a thread could not be raised (no
    /// `CAP_SYS_NICE`, `RLIMIT_NICE` below 20): they all stay lowest from then on.
    pub fn set(&self, class: Class) -> bool {
        if class == self.class() {
            return true;
        }
        let level = class == Class::Level;
        if level && self.stuck.load(Ordering::Acquire) {
            return false;
        }
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        let raised = level && ids.iter().all(|&id| sys::set(id, Class::Level));
        if !raised {
            // Lowered, or a raise refused: every thread lowest (those raised go back down).
            for &id in ids.iter() {
                sys::set(id, Class::Lowest);
            }
            self.stuck.fetch_or(level, Ordering::AcqRel);
        }
        self.lowest.store(!raised, Ordering::Release);
        raised == level
    }
}

/// Reads the site runtime's busy share every [`SAMPLE`] and moves the API's threads to the
/// class the [`Follower`] says, until the task is aborted. Runs on the site's runtime (at
/// normal priority: at the lowest it would starve on a loaded machine and never raise them).
pub async fn follow(site: tokio::runtime::Handle, threads: Arc<Threads>) {
    let metrics = site.metrics();
    let busy = || {
        (0..metrics.num_workers())
            .map(|w| metrics.worker_total_busy_duration(w))
            .sum::<Duration>()
    };
    let mut follower = Follower::default();
    let mut last = (tokio::time::Instant::now(), busy());
    let mut ticks = tokio::time::interval(SAMPLE);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut told = false;
    loop {
        ticks.tick().await;
        let now = (tokio::time::Instant::now(), busy());
        let elapsed = now.0.duration_since(last.0).as_secs_f64();
        let share = if elapsed > 0.0 {
            now.1.saturating_sub(last.1).as_secs_f64() / elapsed
        } else {
            0.0
        };
        last = now;
        let class = follower.sample(share);
        if !threads.set(class) && !told {
            told = true;
            tracing::info!(
                target: "http",
                "the HTTP API stays at the lowest priority until the site restarts \
                 (raising it back needs CAP_SYS_NICE or RLIMIT_NICE 20, systemd's LimitNICE=+0)"
            );
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::Class;

    pub fn thread_id() -> i32 {
        // SAFETY: no arguments, no memory touched.
        unsafe { libc::gettid() }
    }

    /// Moves thread `id` (of this process) to `class`; false when refused.
    pub fn set(id: i32, class: Class) -> bool {
        let param = libc::sched_param { sched_priority: 0 };
        let policy = match class {
            Class::Level => libc::SCHED_OTHER,
            Class::Lowest => libc::SCHED_IDLE,
        };
        // SAFETY: plain system calls on one of this process's threads; `param` outlives them.
        unsafe {
            if libc::sched_setscheduler(id, policy, &param) == 0 {
                return true;
            }
            // `SCHED_IDLE` refused (some sandboxes): the highest nice value instead. Nice 19
            // cannot be left unprivileged either.
            class == Class::Lowest
                && libc::setpriority(libc::PRIO_PROCESS, id as libc::id_t, super::NICE) == 0
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use super::Class;

    pub fn thread_id() -> i32 {
        0
    }

    pub fn set(_id: i32, _class: Class) -> bool {
        true
    }
}

/// Nice value of the API's threads where `SCHED_IDLE` is refused: the site's own work comes
/// first (weight 15 against a normal thread's 1,024).
pub const NICE: i32 = 19;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_sample_lowers_at_once_and_only_a_quiet_while_raises() {
        let mut f = Follower::default();
        assert_eq!(f.sample(0.1), Class::Level);
        assert_eq!(f.sample(0.9), Class::Lowest);
        for _ in 1..QUIET_SAMPLES {
            assert_eq!(f.sample(0.0), Class::Lowest);
        }
        assert_eq!(f.sample(0.0), Class::Level);
    }

    #[test]
    fn a_share_between_the_thresholds_restarts_the_quiet_count() {
        let mut f = Follower::default();
        f.sample(1.0);
        for _ in 1..QUIET_SAMPLES {
            f.sample(0.0);
        }
        // Neither busy nor quiet: the count starts again.
        assert_eq!(f.sample(0.3), Class::Lowest);
        for _ in 1..QUIET_SAMPLES {
            assert_eq!(f.sample(0.1), Class::Lowest);
        }
        assert_eq!(f.sample(0.1), Class::Level);
        // Between the thresholds while level stays level.
        assert_eq!(f.sample(0.4), Class::Level);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn threads_move_together_and_a_new_one_takes_the_current_class() {
        fn policy() -> i32 {
            // SAFETY: queries the calling thread.
            unsafe { libc::sched_getscheduler(0) }
        }
        let threads = Threads::new();
        let (t, go) = (threads.clone(), std::sync::mpsc::sync_channel::<()>(0));
        let (seen_tx, seen) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = go;
        let worker = std::thread::spawn(move || {
            t.started();
            seen_tx.send(policy()).unwrap();
            go_rx.recv().unwrap();
            seen_tx.send(policy()).unwrap();
            t.stopped();
        });
        assert_eq!(seen.recv().unwrap(), libc::SCHED_OTHER);
        assert!(threads.set(Class::Lowest));
        assert_eq!(threads.class(), Class::Lowest);
        go_tx.send(()).unwrap();
        assert_eq!(seen.recv().unwrap(), libc::SCHED_IDLE);
        worker.join().unwrap();
        // A thread starting now starts lowest.
        let t = threads.clone();
        let late = std::thread::spawn(move || {
            t.started();
            let p = policy();
            t.stopped();
            p
        });
        assert_eq!(late.join().unwrap(), libc::SCHED_IDLE);
        assert!(threads.ids.lock().unwrap().is_empty());
    }
}

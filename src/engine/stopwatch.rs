//! The network's stopwatch for the time each packet waits for its permits: two reads per wait,
//! and at `--speed max` nearly every packet waits, so the reads are a cost of the pipeline.
//!
//! Where the kernel itself keeps time with the CPU's time-stamp counter (x86-64, clocksource
//! `tsc`: constant, in step across cores), the stopwatch reads the counter directly: about 10 ns
//! a read here against 24 ns for `Instant::now` (the vDSO reads the same counter, then scales it
//! under a sequence lock). The counter's rate is measured once per process against `Instant`
//! over a millisecond. Anywhere else, and on a current-thread runtime (the tests, whose clock
//! may be paused), it reads tokio's `Instant`, which follows a paused clock.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

/// How long the counter's rate is measured against `Instant`: the two ends' read error (tens of
/// nanoseconds) is then a few parts in 100,000.
const CALIBRATION: Duration = Duration::from_millis(1);

/// Reads the time of a wait's start and measures from it.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    /// Nanoseconds per counter tick; none to read tokio's `Instant`.
    ns_per_tick: Option<f64>,
}

/// A wait's start, as its stopwatch read it.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    Ticks(u64),
    At(Instant),
}

impl Stopwatch {
    /// The counter where it can be read and the runtime is multi-threaded; else `Instant`.
    pub fn for_runtime(multi_thread: bool) -> Stopwatch {
        let ns_per_tick = if multi_thread { *counter_rate() } else { None };
        Stopwatch { ns_per_tick }
    }

    /// Whether it reads the time-stamp counter.
    #[cfg(test)]
    pub fn reads_counter(&self) -> bool {
        self.ns_per_tick.is_some()
    }

    pub fn start(&self) -> Mark {
        match self.ns_per_tick {
            Some(_) => Mark::Ticks(ticks()),
            None => Mark::At(Instant::now()),
        }
    }

    /// The time since `mark` (zero if the counter read earlier, as it may across cores by a
    /// few ticks).
    pub fn since(&self, mark: Mark) -> Duration {
        match (mark, self.ns_per_tick) {
            (Mark::Ticks(t), Some(rate)) => {
                let ticks = ticks().saturating_sub(t);
                Duration::from_nanos((ticks as f64 * rate) as u64)
            }
            (Mark::At(at), _) => at.elapsed(),
            // A mark of another stopwatch: not made by this module.
            (Mark::Ticks(_), None) => Duration::ZERO,
        }
    }
}

/// The counter's nanoseconds per tick, measured on first use; none where it is not to be read.
fn counter_rate() -> &'static Option<f64> {
    static RATE: OnceLock<Option<f64>> = OnceLock::new();
    RATE.get_or_init(|| {
        let source = std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .ok()?;
        (cfg!(target_arch = "x86_64") && source.trim() == "tsc").then(calibrate)?
    })
}

/// Nanoseconds per tick, from the counter and `Instant` read together at both ends of
/// [`CALIBRATION`]. Each end is a pair of reads taken close together (a pair split by a
/// preemption is read again).
fn calibrate() -> Option<f64> {
    let pair = || {
        (0..100).find_map(|_| {
            let before = ticks();
            let at = std::time::Instant::now();
            let after = ticks();
            (after.wrapping_sub(before) < 10_000).then_some((before / 2 + after / 2, at))
        })
    };
    let (t0, i0) = pair()?;
    let (t1, i1) = loop {
        let (t, i) = pair()?;
        if i.duration_since(i0) >= CALIBRATION {
            break (t, i);
        }
    };
    let ticks = t1.checked_sub(t0).filter(|&t| t > 0)?;
    Some(i1.duration_since(i0).as_nanos() as f64 / ticks as f64)
}

#[cfg(target_arch = "x86_64")]
fn ticks() -> u64 {
    // SAFETY: `rdtsc` has no preconditions; it is on every x86-64 CPU.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn ticks() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counter, where it is read, measures what `Instant` measures over the same span.
    #[test]
    fn the_counter_agrees_with_instant() {
        let watch = Stopwatch::for_runtime(true);
        if !watch.reads_counter() {
            eprintln!("no time-stamp counter as the clocksource here: nothing to compare");
            return;
        }
        for span in [Duration::from_micros(200), Duration::from_millis(20)] {
            let start = std::time::Instant::now();
            let mark = watch.start();
            while start.elapsed() < span {}
            let counted = watch.since(mark);
            let measured = start.elapsed();
            let error = (counted.as_secs_f64() - measured.as_secs_f64()).abs();
            assert!(
                error < measured.as_secs_f64() * 0.01 + 2e-6,
                "the counter said {counted:?} where Instant said {measured:?}"
            );
        }
    }

    /// On a current-thread runtime the stopwatch follows tokio's clock, paused or not.
    #[tokio::test(start_paused = true)]
    async fn a_current_thread_runtime_reads_tokios_clock() {
        let watch = Stopwatch::for_runtime(false);
        assert!(!watch.reads_counter());
        let mark = watch.start();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(watch.since(mark), Duration::from_secs(3));
    }
}

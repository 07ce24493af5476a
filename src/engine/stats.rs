//! A lock-free histogram of durations for the engine's own timings (store writes) and the
//! benchmarks' (frames): fixed memory, log-linear buckets of ~3 % width (32 per power of two),
//! snapshots that can be subtracted to get one interval's figures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two (relative bucket width 1/32 ≈ 3 %).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for any `u64` nanoseconds.
const BUCKETS: usize = (SUB as usize) * (64 - SUB_BITS as usize + 1);

/// The bucket of `v` (nanoseconds): exact below 32, then 32 buckets per power of two.
fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let top = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = top - SUB_BITS;
    let mantissa = (v >> shift) & (SUB - 1);
    (SUB as usize) * (shift as usize + 1) + mantissa as usize
}

/// The largest value that falls in bucket `b`.
fn upper(b: usize) -> u64 {
    let sub = SUB as usize;
    if b < sub {
        return b as u64;
    }
    let shift = (b / sub - 1) as u32;
    let mantissa = (b % sub) as u64;
    let low = (SUB + mantissa) << shift;
    low.saturating_add((1u64 << shift) - 1)
}

/// Counts of durations by bucket; record from any thread.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    total_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total_ns: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.snapshot();
        f.debug_struct("Histogram")
            .field("count", &s.count())
            .field("p99", &s.quantile(0.99))
            .finish()
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram::default()
    }

    pub fn record(&self, d: Duration) {
        self.record_value(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records a plain number (a count rather than nanoseconds): the snapshot's figures are then
    /// that number's, read as if nanoseconds.
    pub fn record_value(&self, v: u64) {
        self.counts[bucket(v)].fetch_add(1, Ordering::Relaxed);
        self.total_ns.fetch_add(v, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            total_ns: self.total_ns.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's counts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    counts: Vec<u64>,
    total_ns: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            counts: vec![0; BUCKETS],
            total_ns: 0,
        }
    }
}

impl Snapshot {
    /// What was recorded after `earlier` (a snapshot of the same histogram).
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            counts: self
                .counts
                .iter()
                .zip(earlier.counts.iter().chain(std::iter::repeat(&0)))
                .map(|(a, b)| a.saturating_sub(*b))
                .collect(),
            total_ns: self.total_ns.saturating_sub(earlier.total_ns),
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The sum of the values recorded (nanoseconds, or the numbers of `record_value`).
    pub fn sum(&self) -> u64 {
        self.total_ns
    }

    /// How many values are at most `bound`, counting a bucket whole when its largest value is
    /// at most `bound` (so within one bucket, ~3 %, of the exact count).
    pub fn count_at_most(&self, bound: u64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|(b, _)| upper(*b) <= bound)
            .map(|(_, c)| c)
            .sum()
    }

    pub fn mean(&self) -> Option<Duration> {
        let n = self.count();
        (n > 0).then(|| Duration::from_nanos(self.total_ns / n))
    }

    /// The smallest bucket bound at or below which at least `q` (0..=1) of the values lie: an
    /// upper estimate, within one bucket (~3 %). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_nanos(upper(b)));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 20) + 1, u64::MAX / 3, u64::MAX]) {
            let b = bucket(v);
            assert!(b < BUCKETS);
            assert!(b >= last, "buckets are monotonic");
            last = b;
            assert!(v <= upper(b), "{v} above its bucket's bound {}", upper(b));
            if b > 0 {
                assert!(v > upper(b - 1), "{v} belongs in an earlier bucket");
            }
            // At most ~3 % above the value.
            assert!(upper(b) - v <= v / 32 + 1, "{v}: bound {}", upper(b));
        }
    }

    #[test]
    fn p99_of_a_known_distribution() {
        let h = Histogram::new();
        // 990 fast writes of 1 ms and 10 slow ones of 50 ms: p99 is still 1 ms, p99.5 is 50 ms.
        for _ in 0..990 {
            h.record(Duration::from_millis(1));
        }
        for _ in 0..10 {
            h.record(Duration::from_millis(50));
        }
        let s = h.snapshot();
        let p99 = s.quantile(0.99).unwrap();
        assert!(p99 >= Duration::from_millis(1) && p99 < Duration::from_micros(1040));
        let p995 = s.quantile(0.995).unwrap();
        assert!(p995 >= Duration::from_millis(50) && p995 < Duration::from_micros(51_600));
        assert_eq!(s.count(), 1000);
        assert_eq!(s.mean(), Some(Duration::from_micros(1490)));
    }

    #[test]
    fn snapshots_subtract_to_one_interval() {
        let h = Histogram::new();
        for _ in 0..100 {
            h.record(Duration::from_millis(80));
        }
        let first = h.snapshot();
        for _ in 0..100 {
            h.record(Duration::from_millis(2));
        }
        let minute = h.snapshot().since(&first);
        assert_eq!(minute.count(), 100);
        let p99 = minute.quantile(0.99).unwrap();
        assert!(p99 < Duration::from_micros(2100), "{p99:?}");
        assert_eq!(Snapshot::default().quantile(0.99), None);
    }
}

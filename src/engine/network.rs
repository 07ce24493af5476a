//! The network: one shared semaphore of `limit` permits. Every message (a sensor reading or a crew
//! report) holds one permit from the moment it is sent until the collector has received it; the
//! simulated latency is spent holding the permit. A producer may send several of its messages in
//! one packet: the packet then holds one permit per message.
//!
//! Latency is real (wall-clock) time whatever the simulation speed: a network does not get faster
//! because the simulation does.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

use super::NetworkStats;
use crate::sensors::Reading;
use crate::wall::CrewReport;

/// Simulated latency of one message: `0`, `40ms`, `10..200ms` (uniform, seeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    Fixed(Duration),
    Range(Duration, Duration),
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Fixed(Duration::ZERO)
    }
}

impl Latency {
    /// Parses `0`, `40ms`, `1s`, `10..200ms` or `10ms..200ms`. A bare number other than 0 is
    /// refused (no unit).
    pub fn parse(s: &str) -> Result<Latency, String> {
        let s = s.trim();
        let bad = || format!("'{s}' is not a latency (use 0, 40ms or 10..200ms)");
        if let Some((lo, hi)) = s.split_once("..") {
            let unit = |t: &str| {
                t.trim_start_matches(|c: char| c.is_ascii_digit())
                    .to_string()
            };
            let hi_unit = unit(hi);
            let lo = if unit(lo).is_empty() {
                format!("{lo}{hi_unit}")
            } else {
                lo.to_string()
            };
            let lo = crate::config::parse_duration(&lo).map_err(|_| bad())?;
            let hi = crate::config::parse_duration(hi).map_err(|_| bad())?;
            if lo > hi {
                return Err(format!("'{s}': the range's low end is above its high end"));
            }
            return Ok(if lo == hi {
                Latency::Fixed(lo)
            } else {
                Latency::Range(lo, hi)
            });
        }
        if s == "0" {
            return Ok(Latency::Fixed(Duration::ZERO));
        }
        crate::config::parse_duration(s)
            .map(Latency::Fixed)
            .map_err(|_| bad())
    }

    pub fn is_zero(&self) -> bool {
        *self == Latency::Fixed(Duration::ZERO)
    }

    /// Mean latency, for throughput bounds.
    pub fn mean(&self) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Range(a, b) => (a + b) / 2,
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Fixed(d) => write!(f, "{}ms", d.as_millis()),
            Latency::Range(a, b) => write!(f, "{}..{}ms", a.as_millis(), b.as_millis()),
        }
    }
}

/// A test hook: told when messages take permits and when they are delivered (just before the
/// permits are released). An independent observer of the network.
pub trait NetworkProbe: Send + Sync {
    fn sent(&self, messages: usize);
    fn delivered(&self, messages: usize);
}

/// What crosses the network.
#[derive(Debug)]
pub enum Payload {
    /// One or more readings of one sensor (ids still 0).
    Readings(Vec<Reading>),
    CrewReport(CrewReport),
}

/// A payload in flight, with the permits it holds.
#[derive(Debug)]
pub struct Packet {
    pub payload: Payload,
    pub ticket: Ticket,
}

/// The permits of one packet. Dropping it (the collector does, on receipt) counts the delivery and
/// then releases the permits.
pub struct Ticket {
    counters: Arc<Counters>,
    messages: usize,
    _permit: OwnedSemaphorePermit,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("messages", &self.messages)
            .finish()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let c = &self.counters;
        if let Some(p) = &c.probe {
            p.delivered(self.messages);
        }
        c.in_flight.fetch_sub(self.messages, Ordering::AcqRel);
        c.delivered
            .fetch_add(self.messages as u64, Ordering::Relaxed);
        // `_permit` is released after this body.
    }
}

/// The network's counters, shared with the stats publisher.
pub struct Counters {
    limit: usize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    waiting: AtomicUsize,
    delivered: AtomicU64,
    waits: AtomicU64,
    wait_ns: AtomicU64,
    latencies: AtomicU64,
    latency_ns: AtomicU64,
    probe: Option<Arc<dyn NetworkProbe>>,
}

impl Counters {
    pub fn stats(&self) -> NetworkStats {
        let waits = self.waits.load(Ordering::Relaxed);
        let lats = self.latencies.load(Ordering::Relaxed);
        let mean = |ns: &AtomicU64, n: u64| {
            if n == 0 {
                0.0
            } else {
                ns.load(Ordering::Relaxed) as f64 / n as f64 / 1e6
            }
        };
        NetworkStats {
            limit: self.limit,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            max_in_flight: self.max_in_flight.load(Ordering::Relaxed),
            waiting: self.waiting.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            mean_wait_ms: mean(&self.wait_ns, waits),
            mean_latency_ms: mean(&self.latency_ns, lats),
        }
    }
}

/// Why a send failed: the collector is gone (only during a broken shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The shared network. Producers hold it in an `Arc`; when the last one drops it, the collector's
/// channel closes.
pub struct Network {
    semaphore: Arc<Semaphore>,
    latency: Latency,
    rng: Mutex<StdRng>,
    counters: Arc<Counters>,
    tx: mpsc::Sender<Packet>,
}

impl Network {
    /// A network of `limit` permits delivering into a channel to the collector. The channel holds
    /// `limit` packets, so it never fills before the semaphore does.
    pub fn new(
        limit: usize,
        latency: Latency,
        seed: u64,
        probe: Option<Arc<dyn NetworkProbe>>,
    ) -> (Network, mpsc::Receiver<Packet>) {
        let limit = limit.max(1);
        let (tx, rx) = mpsc::channel(limit);
        let counters = Arc::new(Counters {
            limit,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            wait_ns: AtomicU64::new(0),
            latencies: AtomicU64::new(0),
            latency_ns: AtomicU64::new(0),
            probe,
        });
        let network = Network {
            semaphore: Arc::new(Semaphore::new(limit)),
            latency,
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b21)),
            counters,
            tx,
        };
        (network, rx)
    }

    pub fn limit(&self) -> usize {
        self.counters.limit
    }

    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    pub fn stats(&self) -> NetworkStats {
        self.counters.stats()
    }

    /// Sends `payload` of `messages` messages (1..=limit): takes one permit per message (waiting
    /// in line, first come first served), spends the latency holding them, and hands the packet
    /// to the collector, which releases the permits on receipt.
    pub async fn send(&self, payload: Payload, messages: usize) -> Result<(), Closed> {
        let c = &self.counters;
        let messages = messages.clamp(1, c.limit);
        let started = Instant::now();
        let permit = match self
            .semaphore
            .clone()
            .try_acquire_many_owned(messages as u32)
        {
            Ok(p) => p,
            Err(_) => {
                c.waiting.fetch_add(1, Ordering::Relaxed);
                let p = self
                    .semaphore
                    .clone()
                    .acquire_many_owned(messages as u32)
                    .await;
                c.waiting.fetch_sub(1, Ordering::Relaxed);
                p.map_err(|_| Closed)?
            }
        };
        let waited = started.elapsed();
        c.waits.fetch_add(1, Ordering::Relaxed);
        c.wait_ns
            .fetch_add(waited.as_nanos() as u64, Ordering::Relaxed);
        let now = c.in_flight.fetch_add(messages, Ordering::AcqRel) + messages;
        c.max_in_flight.fetch_max(now, Ordering::AcqRel);
        if let Some(p) = &c.probe {
            p.sent(messages);
        }
        let ticket = Ticket {
            counters: self.counters.clone(),
            messages,
            _permit: permit,
        };
        let latency = match self.latency {
            Latency::Fixed(d) => d,
            Latency::Range(lo, hi) => {
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                Duration::from_nanos(rng.random_range(lo.as_nanos() as u64..=hi.as_nanos() as u64))
            }
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
            c.latencies.fetch_add(1, Ordering::Relaxed);
            c.latency_ns
                .fetch_add(latency.as_nanos() as u64, Ordering::Relaxed);
        }
        tracing::trace!(target: "network", messages, ?waited, ?latency, "sent");
        self.tx
            .send(Packet { payload, ticket })
            .await
            .map_err(|_| Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_specs() {
        let ms = Duration::from_millis;
        assert_eq!(Latency::parse("0"), Ok(Latency::Fixed(Duration::ZERO)));
        assert_eq!(Latency::parse("40ms"), Ok(Latency::Fixed(ms(40))));
        assert_eq!(
            Latency::parse("10..200ms"),
            Ok(Latency::Range(ms(10), ms(200)))
        );
        assert_eq!(
            Latency::parse("10ms..1s"),
            Ok(Latency::Range(ms(10), ms(1000)))
        );
        assert!(Latency::parse("200..10ms").is_err());
        assert!(Latency::parse("40").is_err());
        assert!(Latency::parse("fast").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn permits_are_held_until_receipt() {
        let (net, mut rx) = Network::new(2, Latency::Fixed(Duration::from_millis(10)), 0, None);
        let net = Arc::new(net);
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let net = net.clone();
            tasks.push(tokio::spawn(async move {
                let r = CrewReport {
                    id: 0,
                    timestamp: chrono::Utc::now(),
                    day: 1,
                    crew: 1,
                    profile: None,
                    section: None,
                    height: None,
                };
                net.send(Payload::CrewReport(r), 1).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Nobody receives: two in flight, three waiting.
        let s = net.stats();
        assert_eq!((s.in_flight, s.waiting, s.delivered), (2, 3, 0));
        for _ in 0..5 {
            let p = rx.recv().await.unwrap();
            drop(p);
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let s = net.stats();
        assert_eq!((s.in_flight, s.max_in_flight, s.delivered), (0, 2, 5));
        assert!(s.mean_wait_ms > 0.0);
    }
}

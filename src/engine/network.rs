//! The network: one shared semaphore of `limit` permits. Every message (a sensor reading or a crew
//! report) holds one permit from the moment it is sent until it is delivered to the collector, that
//! is until it is in the collector's mailbox; the simulated latency is spent holding the permit. A
//! producer may send several of its messages in one packet: the packet then holds one permit per
//! message.
//!
//! The mailbox is a bounded channel, the collector's receive window. When it is full, the
//! packets at its door wait in the network, still holding their permits, so the producers behind
//! them wait for permits: backpressure reaches the sensors, and the network never carries more
//! than `limit` messages at once.
//!
//! Latency is real (wall-clock) time whatever the simulation speed: a network does not get faster
//! because the simulation does.
//!
//! How the latency is spent: tokio's timer has a 1 ms resolution and rounds every deadline up, so
//! a 20 ms sleep holds the permit ~21 ms. On a multi-thread runtime (the binary) a packet with
//! latency therefore goes on the wire (`Wire`): one dedicated thread holding a heap of
//! in-flight packets by deadline (the instant the permits were taken + the latency), sleeping with
//! the OS's fine timer until just before the earliest deadline, spinning the last few dozen
//! microseconds, and handing each packet to the collector's channel at its deadline, never before.
//! On a current-thread runtime (the tests, whose clock may be paused) latency is a tokio sleep,
//! which follows the paused clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{Semaphore, TryAcquireError, mpsc, oneshot};

use super::NetworkStats;
use super::stopwatch::Stopwatch;
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
            let lo = crate::units::parse_duration(&lo).map_err(|_| bad())?;
            let hi = crate::units::parse_duration(hi).map_err(|_| bad())?;
            if lo > hi {
                return Err(format!("'{s}': the range's low end is above its high end"));
            }
            return super::options::check_latency(if lo == hi {
                Latency::Fixed(lo)
            } else {
                Latency::Range(lo, hi)
            });
        }
        if s == "0" {
            return Ok(Latency::Fixed(Duration::ZERO));
        }
        crate::units::parse_duration(s)
            .map_err(|_| bad())
            .map(Latency::Fixed)
            .and_then(super::options::check_latency)
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

/// What crosses the network. The rare kinds are boxed: every packet is moved through the
/// send futures and the mailbox's slots at the size of the largest kind, and readings are
/// nearly all of them (a `RemoteReading` is four times a `Vec`).
#[derive(Debug)]
pub enum Payload {
    /// One or more readings of one sensor (ids still 0).
    Readings(Vec<Reading>),
    CrewReport(Box<CrewReport>),
    /// A reading from an agent, through the broker (one message).
    Remote(Box<RemoteReading>),
}

/// A reading from an agent, as it crosses the network: its name is already `agent/sensor`.
/// (`remote` feeds these in; the collector keeps `agent` and `seq` as the reading's origin.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteReading {
    pub agent: String,
    pub seq: u64,
    pub reading: Reading,
}

/// The network's state as a ticket holds it: borrowed from the [`Network`] while its sender
/// awaits the delivery (no reference count to change per packet), owned when the ticket outlives
/// the call (on the wire thread, a remote message's permit).
enum StateRef<'a> {
    Borrowed(&'a NetworkState),
    Owned(Arc<NetworkState>),
}

impl std::ops::Deref for StateRef<'_> {
    type Target = NetworkState;
    fn deref(&self) -> &NetworkState {
        match self {
            StateRef::Borrowed(s) => s,
            StateRef::Owned(s) => s,
        }
    }
}

/// The permits of one packet. Dropping it (once the packet is in the mailbox) counts the delivery
/// and then releases the permits.
struct Ticket<'a> {
    state: StateRef<'a>,
    messages: usize,
    /// A remote message (counted apart as well).
    remote: bool,
    /// Whether its release counts as a delivery (a remote message refused at the collector's
    /// door, malformed or a redelivery, gives its permit back undelivered).
    delivered: bool,
    /// False once its permits passed to another ticket ([`Ticket::into_owned`]).
    armed: bool,
}

impl Ticket<'_> {
    /// The same ticket holding its own reference to the network's state (`state`, the one it
    /// borrows); this one is disarmed, releasing nothing.
    fn into_owned(mut self, state: &Arc<NetworkState>) -> Ticket<'static> {
        self.armed = false;
        Ticket {
            state: StateRef::Owned(state.clone()),
            messages: self.messages,
            remote: self.remote,
            delivered: self.delivered,
            armed: true,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let c = &*self.state;
        if let Some(p) = &c.probe {
            p.delivered(self.messages);
        }
        if self.delivered {
            c.delivered
                .fetch_add(self.messages as u64, Ordering::Relaxed);
        }
        if self.remote {
            c.remote_in_flight
                .fetch_sub(self.messages, Ordering::AcqRel);
            if self.delivered {
                c.remote_delivered
                    .fetch_add(self.messages as u64, Ordering::Relaxed);
            }
        }
        // Last, so the counters never show more remote messages in flight than permits taken.
        c.semaphore.add_permits(self.messages);
    }
}

/// The permit a remote message holds from its arrival until the collector's mailbox has it
/// ([`Network::deliver_remote`]) or it is refused ([`RemotePermit::refuse`], or dropped): only
/// a delivery counts as one.
pub struct RemotePermit(Ticket<'static>);

impl RemotePermit {
    /// Gives the permit back without a delivery (a malformed message, a redelivery).
    pub fn refuse(self) {}
}

/// What the network's packets and the stats publisher share: the permits (one semaphore; a
/// packet's permits are forgotten when taken and given back by its [`Ticket`], so a ticket holds
/// one reference, not two) and the counters.
pub struct NetworkState {
    /// Its permits taken are the messages in flight: no counter of its own to keep per packet.
    semaphore: Semaphore,
    limit: usize,
    max_in_flight: AtomicUsize,
    waiting: AtomicUsize,
    delivered: AtomicU64,
    latencies: AtomicU64,
    latency_ns: AtomicU64,
    /// How long each packet waited for its permits (zero when they were free).
    waited: super::stats::Histogram,
    stopwatch: Stopwatch,
    remote_in_flight: AtomicUsize,
    remote_delivered: AtomicU64,
    probe: Option<Arc<dyn NetworkProbe>>,
}

impl NetworkState {
    /// Messages holding a permit now.
    fn in_flight(&self) -> usize {
        self.limit
            .saturating_sub(self.semaphore.available_permits())
    }

    /// Each packet's wait for permits so far.
    pub fn waits(&self) -> super::stats::Snapshot {
        self.waited.snapshot()
    }

    pub fn stats(&self) -> NetworkStats {
        let waited = self.waited.snapshot();
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
            in_flight: self.in_flight(),
            max_in_flight: self.max_in_flight.load(Ordering::Relaxed),
            waiting: self.waiting.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            mean_wait_ms: waited.mean().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            mean_latency_ms: mean(&self.latency_ns, lats),
            remote_in_flight: self.remote_in_flight.load(Ordering::Relaxed),
            remote_delivered: self.remote_delivered.load(Ordering::Relaxed),
        }
    }
}

/// Why a send failed: the collector is gone (only during a broken shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The shared network. Producers hold it in an `Arc`; when the last one drops it, the collector's
/// mailbox closes.
pub struct Network {
    latency: Latency,
    rng: Mutex<StdRng>,
    state: Arc<NetworkState>,
    tx: mpsc::Sender<Payload>,
    /// The precise delivery thread, when latency is spent on it (see the module docs).
    wire: Option<Wire>,
}

impl Network {
    /// A network of `limit` permits delivering into the collector's mailbox, a channel of
    /// `mailbox` packets.
    pub fn new(
        limit: usize,
        latency: Latency,
        seed: u64,
        probe: Option<Arc<dyn NetworkProbe>>,
        mailbox: usize,
    ) -> (Network, mpsc::Receiver<Payload>) {
        // The engine refuses a limit out of range before it gets here; the semaphore panics
        // above its MAX_PERMITS, so never ask it for more.
        let limit = limit.clamp(1, *crate::units::NETWORK_LIMIT_RANGE.end());
        let (tx, rx) = mpsc::channel(mailbox.max(1));
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let state = Arc::new(NetworkState {
            semaphore: Semaphore::new(limit),
            limit,
            max_in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            latencies: AtomicU64::new(0),
            latency_ns: AtomicU64::new(0),
            waited: super::stats::Histogram::new(),
            stopwatch: Stopwatch::for_runtime(multi_thread),
            remote_in_flight: AtomicUsize::new(0),
            remote_delivered: AtomicU64::new(0),
            probe,
        });
        let wire = (multi_thread && !latency.is_zero()).then(|| Wire::start(tx.clone()));
        let network = Network {
            latency,
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b21)),
            state,
            tx,
            wire,
        };
        (network, rx)
    }

    pub fn limit(&self) -> usize {
        self.state.limit
    }

    pub fn state(&self) -> Arc<NetworkState> {
        self.state.clone()
    }

    pub fn stats(&self) -> NetworkStats {
        self.state.stats()
    }

    /// Whether latency is spent on the precise wire thread (else on tokio's timer).
    pub fn precise(&self) -> bool {
        self.wire.is_some()
    }

    /// Sends `payload` of `messages` messages (1..=limit): takes one permit per message (waiting
    /// in line, first come first served), spends the latency holding them, puts the packet in the
    /// collector's mailbox (waiting while it is full) and then releases the permits.
    pub async fn send(&self, payload: Payload, messages: usize) -> Result<(), Closed> {
        let ticket = self.take_permits(messages, false).await?;
        let c = &self.state;
        let latency = match self.latency {
            Latency::Fixed(d) => d,
            Latency::Range(lo, hi) => {
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                Duration::from_nanos(rng.random_range(nanos(lo)..=nanos(hi)))
            }
        };
        tracing::trace!(target: "network", messages, ?latency, "sent");
        if !latency.is_zero() {
            c.latencies.fetch_add(1, Ordering::Relaxed);
            c.latency_ns.fetch_add(nanos(latency), Ordering::Relaxed);
            if let Some(wire) = &self.wire {
                // The latency counts from here: the permits are held since before this instant.
                let deadline = std::time::Instant::now() + latency;
                return wire
                    .carry(deadline, payload, ticket.into_owned(&self.state))
                    .await;
            }
            tokio::time::sleep(latency).await;
        }
        let sent = self.tx.send(payload).await.map_err(|_| Closed);
        drop(ticket);
        sent
    }

    /// Takes the permit of one remote message (a reading that came through the broker) on its
    /// arrival: one permit of the same semaphore, waiting in line with local messages.
    pub async fn admit_remote(&self) -> Result<RemotePermit, Closed> {
        self.take_permits(1, true)
            .await
            .map(|t| RemotePermit(t.into_owned(&self.state)))
    }

    /// Puts an admitted remote message in the collector's mailbox (waiting while it is full),
    /// then gives its permit back. No simulated latency: it crossed a real network already.
    pub async fn deliver_remote(
        &self,
        mut permit: RemotePermit,
        payload: Payload,
    ) -> Result<(), Closed> {
        let sent = self.tx.send(payload).await.map_err(|_| Closed);
        permit.0.delivered = sent.is_ok();
        drop(permit);
        sent
    }

    /// Takes one permit per message (waiting in line, first come first served) and counts them
    /// in flight.
    async fn take_permits(&self, messages: usize, remote: bool) -> Result<Ticket<'_>, Closed> {
        let c = &self.state;
        let messages = messages.clamp(1, c.limit);
        // At most the limit, itself at most 65,536.
        let permits = u32::try_from(messages).unwrap_or(u32::MAX);
        // The permits go back when the packet's ticket is dropped, not with a permit guard.
        let waited = match c.semaphore.try_acquire_many(permits) {
            Ok(permit) => {
                permit.forget();
                Duration::ZERO
            }
            Err(TryAcquireError::Closed) => return Err(Closed),
            Err(TryAcquireError::NoPermits) => {
                let started = c.stopwatch.start();
                c.waiting.fetch_add(1, Ordering::Relaxed);
                let permit = c.semaphore.acquire_many(permits).await;
                c.waiting.fetch_sub(1, Ordering::Relaxed);
                permit.map_err(|_| Closed)?.forget();
                c.stopwatch.since(started)
            }
        };
        c.waited.record(waited);
        let now = c.in_flight();
        // The maximum rarely moves (it reaches the limit early): a plain load spares the
        // read-modify-write on almost every packet.
        if now > c.max_in_flight.load(Ordering::Acquire) {
            c.max_in_flight.fetch_max(now, Ordering::AcqRel);
        }
        if remote {
            c.remote_in_flight.fetch_add(messages, Ordering::AcqRel);
        }
        if let Some(p) = &c.probe {
            p.sent(messages);
        }
        Ok(Ticket {
            state: StateRef::Borrowed(&self.state),
            messages,
            remote,
            // A local packet is delivered when its ticket goes; a remote one only when
            // `deliver_remote` says so.
            delivered: !remote,
            armed: true,
        })
    }
}

/// Nanoseconds of `d`, saturating (584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How long before a deadline the wire stops sleeping and spins: covers the OS timer's slack
/// (50 µs by default on Linux) and the thread's wake-up.
const SPIN: Duration = Duration::from_micros(150);

/// A packet on the wire, ordered by deadline, then by the order it was sent.
struct InFlight {
    deadline: std::time::Instant,
    seq: u64,
    payload: Payload,
    ticket: Ticket<'static>,
    delivered: oneshot::Sender<Result<(), Closed>>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

/// The precise delivery thread. Dropping the handle closes its intake; the thread then delivers
/// what it still carries, each at its deadline, and ends (dropping its end of the collector's
/// mailbox).
struct Wire {
    intake: std::sync::mpsc::Sender<InFlight>,
    seq: AtomicU64,
}

impl Wire {
    fn start(tx: mpsc::Sender<Payload>) -> Wire {
        let (intake, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("wallwatch-wire".into())
            .spawn(move || wire_thread(rx, tx));
        if let Err(e) = spawned {
            // Without the thread every send fails (Closed) and the engine reports it.
            tracing::error!(target: "network", "cannot start the network thread: {e}");
        }
        Wire {
            intake,
            seq: AtomicU64::new(0),
        }
    }

    /// Puts the packet on the wire and waits until the collector's mailbox has it (at `deadline`
    /// or later, never earlier).
    async fn carry(
        &self,
        deadline: std::time::Instant,
        payload: Payload,
        ticket: Ticket<'static>,
    ) -> Result<(), Closed> {
        let (delivered, done) = oneshot::channel();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        self.intake
            .send(InFlight {
                deadline,
                seq,
                payload,
                ticket,
                delivered,
            })
            .map_err(|_| Closed)?;
        done.await.unwrap_or(Err(Closed))
    }
}

/// The wire's loop: a heap of packets by deadline; fine sleeps, then a short spin, then delivery
/// (which waits, holding the permits, while the mailbox is full).
fn wire_thread(rx: std::sync::mpsc::Receiver<InFlight>, tx: mpsc::Sender<Payload>) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut heap: BinaryHeap<Reverse<InFlight>> = BinaryHeap::new();
    let mut open = true;
    loop {
        let now = std::time::Instant::now();
        while heap.peek().is_some_and(|Reverse(f)| f.deadline <= now) {
            let Some(Reverse(f)) = heap.pop() else { break };
            let result = tx.blocking_send(f.payload).map_err(|_| Closed);
            drop(f.ticket);
            let _ = f.delivered.send(result);
        }
        let next = heap.peek().map(|Reverse(f)| f.deadline);
        match next {
            None if !open => return,
            None => match rx.recv() {
                Ok(f) => heap.push(Reverse(f)),
                Err(_) => return,
            },
            Some(deadline) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left > SPIN && open {
                    match rx.recv_timeout(left - SPIN) {
                        Ok(f) => heap.push(Reverse(f)),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => open = false,
                    }
                } else if left > SPIN {
                    std::thread::sleep(left - SPIN);
                } else {
                    while std::time::Instant::now() < deadline {
                        std::hint::spin_loop();
                    }
                }
            }
        }
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

    /// A packet keeps its permits until it is in the collector's mailbox: with the mailbox full,
    /// the packets at its door hold them, and the senders behind wait for a permit.
    #[tokio::test(start_paused = true)]
    async fn permits_are_held_until_the_mailbox_has_the_packet() {
        let (net, mut rx) = Network::new(2, Latency::Fixed(Duration::from_millis(10)), 0, None, 1);
        let net = Arc::new(net);
        let mut tasks = Vec::new();
        for d in 0..5 {
            let net = net.clone();
            tasks.push(tokio::spawn(async move { net.send(report(d), 1).await }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Nobody receives: one packet in the mailbox (its permit back), two at the door holding
        // both permits, two senders waiting for one.
        let s = net.stats();
        assert_eq!((s.in_flight, s.waiting, s.delivered), (2, 2, 1));
        for _ in 0..5 {
            rx.recv().await.unwrap();
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let s = net.stats();
        assert_eq!((s.in_flight, s.max_in_flight, s.delivered), (0, 2, 5));
        assert!(s.mean_wait_ms > 0.0);
    }

    fn report(day: u64) -> Payload {
        Payload::CrewReport(Box::new(CrewReport {
            id: 0,
            timestamp: chrono::Utc::now(),
            day,
            crew: 1,
            profile: None,
            section: None,
            height: None,
        }))
    }

    /// Records when permits are taken and released, in real time.
    #[derive(Default)]
    struct Clocked(Mutex<Vec<(bool, std::time::Instant)>>);
    impl NetworkProbe for Clocked {
        fn sent(&self, _: usize) {
            self.0
                .lock()
                .unwrap()
                .push((true, std::time::Instant::now()));
        }
        fn delivered(&self, _: usize) {
            self.0
                .lock()
                .unwrap()
                .push((false, std::time::Instant::now()));
        }
    }

    /// On a multi-thread runtime latency goes on the wire thread: with one permit, each message
    /// holds it at least the latency, from the moment it is taken until the collector's mailbox
    /// has the packet (real time; only the lower bound is asserted).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wire_holds_each_permit_at_least_the_latency() {
        let latency = Duration::from_millis(3);
        let probe = Arc::new(Clocked::default());
        let (net, mut rx) = Network::new(1, Latency::Fixed(latency), 0, Some(probe.clone()), 8);
        assert!(net.precise());
        let net = Arc::new(net);
        let senders: Vec<_> = (0..4)
            .map(|i| {
                let net = net.clone();
                tokio::spawn(async move {
                    for d in 0..5 {
                        net.send(report(i * 10 + d), 1).await.unwrap();
                    }
                })
            })
            .collect();
        let mut days = Vec::new();
        for _ in 0..20 {
            if let Payload::CrewReport(r) = rx.recv().await.unwrap() {
                days.push(r.day);
            }
        }
        for t in senders {
            t.await.unwrap();
        }
        days.sort_unstable();
        days.dedup();
        assert_eq!(days.len(), 20, "every message arrives once");
        let log = probe.0.lock().unwrap().clone();
        assert_eq!(log.len(), 40);
        for pair in log.chunks(2) {
            let [(true, taken), (false, released)] = pair else {
                panic!("one permit: taken and released in turn, got {pair:?}");
            };
            assert!(*released - *taken >= latency, "{:?}", *released - *taken);
        }
        assert_eq!(net.stats().max_in_flight, 1);
    }

    /// Random latencies: packets overtake each other on the wire; all arrive, within the limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wire_delivers_random_latencies_by_deadline() {
        let ms = Duration::from_millis;
        let (net, mut rx) = Network::new(4, Latency::Range(ms(1), ms(8)), 7, None, 8);
        let net = Arc::new(net);
        let senders: Vec<_> = (0..8)
            .map(|i| {
                let net = net.clone();
                tokio::spawn(async move {
                    for d in 0..10 {
                        net.send(report(i * 100 + d), 1).await.unwrap();
                    }
                })
            })
            .collect();
        let mut n = 0;
        while n < 80 {
            drop(rx.recv().await.unwrap());
            n += 1;
        }
        for t in senders {
            t.await.unwrap();
        }
        let s = net.stats();
        assert_eq!((s.delivered, s.in_flight), (80, 0));
        assert!(s.max_in_flight <= 4);
        // The wire's thread ends once the network is dropped, closing the collector's channel.
        drop(net);
        assert!(rx.recv().await.is_none());
    }

    /// The wire waits at a full mailbox too, its packets keeping their permits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wire_holds_the_permits_while_the_mailbox_is_full() {
        let (net, mut rx) = Network::new(2, Latency::Fixed(Duration::from_millis(1)), 0, None, 1);
        assert!(net.precise());
        let net = Arc::new(net);
        let senders: Vec<_> = (0..4)
            .map(|d| {
                let net = net.clone();
                tokio::spawn(async move { net.send(report(d), 1).await })
            })
            .collect();
        // Real time: the latency is spent on the wire thread.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while net.stats().in_flight < 2 || net.stats().waiting < 1 {
            assert!(std::time::Instant::now() < deadline, "{:?}", net.stats());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let s = net.stats();
        assert_eq!((s.in_flight, s.waiting, s.delivered), (2, 1, 1));
        for _ in 0..4 {
            rx.recv().await.unwrap();
        }
        for t in senders {
            t.await.unwrap().unwrap();
        }
        let s = net.stats();
        assert_eq!((s.in_flight, s.max_in_flight, s.delivered), (0, 2, 4));
    }

    /// A remote message holds its permit from its admission: with the limit taken by admitted
    /// messages, the next waits; a refused one gives its permit back without counting as
    /// delivered, a delivered one once the mailbox has it.
    #[tokio::test(start_paused = true)]
    async fn remote_messages_hold_a_permit_from_their_arrival() {
        let (net, mut rx) = Network::new(2, Latency::Fixed(Duration::from_millis(10)), 0, None, 8);
        let net = Arc::new(net);
        let first = net.admit_remote().await.unwrap();
        let second = net.admit_remote().await.unwrap();
        let s = net.stats();
        assert_eq!((s.in_flight, s.remote_in_flight), (2, 2));
        let waiting = {
            let net = net.clone();
            tokio::spawn(async move { net.admit_remote().await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(net.stats().waiting, 1, "a third waits for a permit");
        first.refuse();
        waiting.await.unwrap().unwrap();
        net.deliver_remote(second, report(1)).await.unwrap();
        assert!(rx.recv().await.is_some());
        let s = net.stats();
        assert_eq!((s.in_flight, s.remote_in_flight), (0, 0));
        assert_eq!(
            (s.delivered, s.remote_delivered),
            (1, 1),
            "refused or dropped ones are not delivered"
        );
        assert_eq!(s.max_in_flight, 2);
    }

    /// On the current-thread runtime of the tests (paused clock) latency stays a tokio sleep.
    #[tokio::test(start_paused = true)]
    async fn paused_clock_uses_tokio_timers() {
        let (net, _rx) = Network::new(2, Latency::Fixed(Duration::from_millis(10)), 0, None, 8);
        assert!(!net.precise());
    }
}

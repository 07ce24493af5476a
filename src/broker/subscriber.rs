//! The site's side: a subscriber that feeds agents' readings into the engine's network.
//!
//! Connected with MQTT v5 `clean_start = false`, a session expiry of [`SESSION_EXPIRY`] (the
//! broker keeps the site's queue while it is down), Receive Maximum = the network limit and
//! manual acknowledgements: the broker should send at most `limit` unacknowledged readings at
//! once and hold the rest (Mosquitto 2.0.11 does so only for its first window). Each message
//! takes a permit of the network's semaphore as it arrives ([`RemoteInlet::admit`]), waiting in
//! line with local messages (the broker and TCP hold what comes after it). Each message is
//! checked whole first ([`super::codec`], and against the seqs of its agent taken so far, as
//! ranges: one per run of the agent), and only one to deliver takes a permit:
//!
//! - malformed, oversized (whatever its size: the client takes packets up to MQTT's largest),
//!   a seq no store can hold, or a run that starts further ahead of the site's clock than any
//!   agent starts one: logged, counted rejected, acknowledged, never stored;
//! - a seq already taken (a redelivery): counted duplicate, acknowledged, and its range
//!   confirmed again if stored;
//! - the next of its run (the run's first taken and every seq up to this one), or the first of
//!   a new run: delivered into the collector's mailbox, holding its permit until the mailbox
//!   has it;
//! - after a gap (a reconnect race): counted out of order, acknowledged, not stored; the agent
//!   still holds it and sends it again in order.
//!
//! A stranger's message can so only take the seqs it names: with seq = first = 2^63 - 1 it was
//! the agent's new high-water mark, and every genuine reading after it counted as a duplicate.
//!
//! Acknowledgements go back in arrival order, each once its reading is in the mailbox (or
//! refused): a site killed after that loses what it held in memory, but its agents keep every
//! reading until the site's confirmation, published (retained) only after the store committed,
//! and send them again when they see the site's new run. Acks from before a reconnect are not
//! sent on the new connection (the broker sends those readings again).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet, Publish};
use rumqttc::v5::{AsyncClient, Event, EventLoop};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::codec::{self, Message};
use super::confirm;
use super::url::BrokerUrl;
use crate::engine::remote::{RemoteInlet, RemoteLink, RemoteReading};
use crate::sensors::Reading;
use crate::store::AgentMarks;

/// How long the broker keeps the site's session (its subscription and queue) while it is away.
pub const SESSION_EXPIRY: u32 = 7 * 24 * 3600;
/// How long connecting may take at start before it is an error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Keep-alive of every connection to the broker.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Requests (acks, confirmations) queued for the event loop.
const REQUESTS: usize = 1024;

/// A site connected to its broker, not yet feeding an engine.
pub struct Connected {
    client: AsyncClient,
    eventloop: EventLoop,
    site: String,
    url: BrokerUrl,
}

/// Connects (waiting for the broker's CONNACK, at most [`CONNECT_TIMEOUT`]). Errors are one line.
pub async fn connect(url: &BrokerUrl, site: &str, limit: usize) -> Result<Connected, String> {
    let limit = u16::try_from(limit).map_err(|_| {
        format!(
            "--network-limit: {limit} is more than MQTT's Receive Maximum can carry (65535) \
             with --broker"
        )
    })?;
    if let Some(warning) = url.cleartext_warning() {
        tracing::warn!(target: "broker", "{warning}");
    }
    let mut options = url.options(format!("wallwatch-site-{site}"))?;
    options
        .set_clean_start(false)
        .set_session_expiry_interval(Some(SESSION_EXPIRY))
        .set_receive_maximum(Some(limit))
        .set_manual_acks(true)
        .set_keep_alive(KEEP_ALIVE)
        .set_connection_timeout(CONNECT_TIMEOUT.as_secs())
        .set_last_will(LastWill::new(
            confirm::status_topic(site),
            confirm::OFFLINE.to_vec(),
            QoS::AtLeastOnce,
            true,
            None,
        ));
    let (client, mut eventloop) = AsyncClient::new(options, REQUESTS);
    first_connack(&mut eventloop, url).await?;
    Ok(Connected {
        client,
        eventloop,
        site: site.to_string(),
        url: url.clone(),
    })
}

/// Polls until the broker accepted the connection.
pub(crate) async fn first_connack(
    eventloop: &mut EventLoop,
    url: &BrokerUrl,
) -> Result<(), String> {
    let wait = async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => {
                    let advice = super::tls::advice(&e).or_else(|| {
                        (!url.tls && url.port == super::url::DEFAULT_TLS_PORT)
                            .then_some("8883 is MQTT over TLS's port: mqtts://?")
                    });
                    return Err((one_line(&e), advice));
                }
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), wait).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err((e, None))) => Err(format!("broker {url}: cannot connect ({e})")),
        Ok(Err((e, Some(advice)))) => Err(format!("broker {url}: cannot connect ({e}); {advice}")),
        Err(_) => Err(format!(
            "broker {url}: cannot connect (no answer within {}s)",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// An error on one line, without control characters.
pub(crate) fn one_line(e: &dyn std::fmt::Display) -> String {
    crate::text::sanitize(
        &e.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
    .into_owned()
}

/// A connection's ups and downs, for an event loop that polls through them: each loss is said
/// once and waited out with a backoff (rumqttc reconnects on the next poll), the reconnection
/// is said when it comes, and whether the link keeps failing ([`Reconnects::failing`]).
pub(crate) struct Reconnects {
    url: BrokerUrl,
    backoff: Duration,
    down: bool,
    /// When the link last went up or down.
    since: tokio::time::Instant,
    /// Connections in a row that failed within [`STABLE`] of being made.
    short_lived: u32,
    last_error: String,
}

/// A connection that lasts this long is a working link; a link down this long is failing.
pub const STABLE: Duration = Duration::from_secs(10);
/// Connections in a row lost within [`STABLE`] that make a failing link (one that connects
/// and fails again at once: a packet it cannot take, a broker that refuses it).
pub const SHORT_LIVED_FAILING: u32 = 3;

impl Reconnects {
    pub(crate) fn new(url: BrokerUrl) -> Reconnects {
        Reconnects {
            url,
            backoff: Duration::from_millis(100),
            down: false,
            since: tokio::time::Instant::now(),
            short_lived: 0,
            last_error: String::new(),
        }
    }

    /// A CONNACK: the backoff starts again, and a reconnection is said.
    pub(crate) fn connected(&mut self) {
        self.backoff = Duration::from_millis(100);
        if self.down {
            tracing::info!(target: "broker", "reconnected to {}", self.url);
            self.down = false;
            self.since = tokio::time::Instant::now();
        }
    }

    /// A poll failed: said once per loss.
    pub(crate) fn lost(&mut self, e: &dyn std::fmt::Display) {
        self.last_error = one_line(e);
        if !self.down {
            tracing::warn!(target: "broker", "lost the broker {}: {}; reconnecting", self.url, self.last_error);
            self.short_lived = if self.since.elapsed() < STABLE {
                self.short_lived + 1
            } else {
                1
            };
            self.down = true;
            self.since = tokio::time::Instant::now();
        }
    }

    /// Why the link keeps failing: down for [`STABLE`] or more, or lost again within
    /// [`STABLE`] of each of its last [`SHORT_LIVED_FAILING`] connections (and not up for
    /// [`STABLE`] since). `None` while it works.
    pub(crate) fn failing(&self) -> Option<String> {
        let for_a_while = self.since.elapsed() >= STABLE;
        if self.down && for_a_while {
            return Some(format!(
                "broker {} unreachable for {} s: {}",
                self.url,
                self.since.elapsed().as_secs(),
                self.last_error
            ));
        }
        if self.short_lived >= SHORT_LIVED_FAILING && (self.down || !for_a_while) {
            return Some(format!(
                "broker {}: the connection failed {} times in a row, each within {} s: {}",
                self.url,
                self.short_lived,
                STABLE.as_secs(),
                self.last_error
            ));
        }
        None
    }

    /// Waits before the next poll, twice as long each time, up to 2 s.
    pub(crate) async fn back_off(&mut self) {
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
    }
}

/// The running subscriber.
pub struct SiteBroker {
    client: AsyncClient,
    site: String,
    link: Arc<RemoteLink>,
    eventloop: JoinHandle<()>,
    finishing: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Connected {
    /// Starts feeding `inlet`: the event loop (which takes, checks, delivers and acknowledges
    /// each message) and the confirmations run as tasks until [`SiteBroker::finish`].
    pub fn start(self, inlet: RemoteInlet) -> SiteBroker {
        let Connected {
            client,
            eventloop,
            site,
            url,
        } = self;
        let link = inlet.link().clone();
        let (finishing, finishing_rx) = watch::channel(false);
        let run = run_id();
        // The first connection's CONNACK is already in: subscribe and announce now.
        tokio::spawn(on_connect(
            client.clone(),
            site.clone(),
            run,
            link.clone(),
            false,
        ));
        let marks = link.marks();
        let eventloop = tokio::spawn(event_loop(
            eventloop,
            EventLoopCtx {
                client: client.clone(),
                site: site.clone(),
                url,
                run,
                link: link.clone(),
                inlet,
                taken: marks,
                finishing: finishing_rx,
            },
        ));
        let tasks = vec![tokio::spawn(confirmer(
            client.clone(),
            site.clone(),
            link.clone(),
        ))];
        SiteBroker {
            client,
            site,
            link,
            eventloop,
            finishing,
            tasks,
        }
    }
}

impl SiteBroker {
    /// After the engine's shutdown (every reading taken is stored): publishes every agent's
    /// confirmation and `offline`, disconnects, and waits (at most a few seconds) for the
    /// event loop to send it all.
    pub async fn finish(self) {
        for t in &self.tasks {
            t.abort();
        }
        // What grew since the confirmer last took it, then every agent's latest range: the
        // confirmer may have been stopped half way through (retained: publishing again is
        // harmless), and the retained one is to be the latest.
        let ranges = self
            .link
            .take_changed()
            .into_iter()
            .chain(self.link.latest());
        for (agent, start, end) in ranges {
            publish_confirmation(&self.client, &self.site, &agent, start, end).await;
        }
        let _ = self
            .client
            .publish(
                confirm::status_topic(&self.site),
                QoS::AtLeastOnce,
                true,
                confirm::OFFLINE.to_vec(),
            )
            .await;
        let _ = self.finishing.send(true);
        let _ = self.client.disconnect().await;
        let mut eventloop = self.eventloop;
        if tokio::time::timeout(Duration::from_secs(5), &mut eventloop)
            .await
            .is_err()
        {
            tracing::warn!(target: "broker", "the broker did not take the last confirmations within 5 s");
            eventloop.abort();
        }
    }
}

/// A new run id for the site's status: the time and the process, hashed.
fn run_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    crate::hash::fnv1a(
        crate::hash::FNV_OFFSET,
        format!("{nanos}:{}", std::process::id()).as_bytes(),
    )
}

/// On every connection: (re)subscribe, say the site is online with its run, and publish every
/// agent's confirmation again (a broker that lost its retained messages gets them back).
async fn on_connect(client: AsyncClient, site: String, run: u64, link: Arc<RemoteLink>, all: bool) {
    let _ = client
        .subscribe(confirm::readings_filter(&site), QoS::AtLeastOnce)
        .await;
    let _ = client
        .publish(
            confirm::status_topic(&site),
            QoS::AtLeastOnce,
            true,
            confirm::online(run),
        )
        .await;
    if all {
        for (agent, start, end) in link.latest() {
            publish_confirmation(&client, &site, &agent, start, end).await;
        }
    }
}

async fn publish_confirmation(client: &AsyncClient, site: &str, agent: &str, start: u64, end: u64) {
    let topic = confirm::confirmed_topic(site, agent);
    if let Err(e) = client
        .publish(
            topic,
            QoS::AtLeastOnce,
            true,
            confirm::encode_confirmed(start, end),
        )
        .await
    {
        tracing::warn!(target: "broker", "cannot publish the confirmation of {agent}: {}", one_line(&e));
    }
}

struct EventLoopCtx {
    client: AsyncClient,
    site: String,
    url: BrokerUrl,
    run: u64,
    link: Arc<RemoteLink>,
    inlet: RemoteInlet,
    /// Every agent's seqs taken (the store's at the start, then those delivered).
    taken: AgentMarks,
    finishing: watch::Receiver<bool>,
}

/// Polls the connection for good, and takes each message as it arrives, in order:
///
/// 1. the checks ([`check`]), of the whole message;
/// 2. a reading to deliver takes its permit of the network ([`RemoteInlet::admit`]), waiting
///    in line with local messages (meanwhile the broker and TCP hold what comes after it), goes
///    into the collector's mailbox (waiting while it is full) and gives the permit back; any
///    other message takes none;
/// 3. its ack, queued in arrival order.
///
/// Acks go through rumqttc's request queue, which this same loop empties by polling: they are
/// never waited for here (an ack that finds the queue full waits in a backlog of its own, in
/// order, without its payload; with a broker that keeps to Receive Maximum it holds at most the
/// limit). Once the engine drains, messages are not taken, and from the first of them on nothing
/// is acknowledged: they stay with the broker for the site's next session. A lost connection is
/// logged and retried with backoff (rumqttc reconnects on the next poll); acks of the old
/// connection are dropped (the broker sends those messages again). Whether the link keeps
/// failing is told to the link after every poll (`/healthz` says it).
async fn event_loop(mut eventloop: EventLoop, mut ctx: EventLoopCtx) {
    let mut reconnects = Reconnects::new(ctx.url.clone());
    let mut acks: VecDeque<Publish> = VecDeque::new();
    let mut draining = false;
    loop {
        while let Some(p) = acks.front() {
            if ctx.client.try_ack(p).is_err() {
                break;
            }
            acks.pop_front();
        }
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                acks.clear();
                reconnects.connected();
                tokio::spawn(on_connect(
                    ctx.client.clone(),
                    ctx.site.clone(),
                    ctx.run,
                    ctx.link.clone(),
                    true,
                ));
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if draining {
                    continue;
                }
                if take(&mut ctx, &p).await {
                    let mut p = p;
                    p.payload = bytes::Bytes::new();
                    acks.push_back(p);
                } else {
                    // Draining: this reading and every later one stay unacknowledged.
                    draining = true;
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                acks.clear();
                if *ctx.finishing.borrow() {
                    return;
                }
                reconnects.lost(&e);
                ctx.link.set_failing(reconnects.failing());
                reconnects.back_off().await;
            }
        }
        ctx.link.set_failing(reconnects.failing());
    }
}

/// Checks one arrived message and delivers it (with its permit) or leaves it out; counts it.
/// Whether it was taken for good (to be acknowledged): not when the engine drains.
async fn take(ctx: &mut EventLoopCtx, publish: &Publish) -> bool {
    let link = &ctx.link;
    let topic = String::from_utf8_lossy(&publish.topic);
    let verdict = check(
        &ctx.site,
        &topic,
        &publish.payload,
        &mut ctx.taken,
        codec::now_micros(),
    );
    match verdict {
        Verdict::Deliver(m) => {
            let Ok(admitted) = ctx.inlet.admit().await else {
                return false;
            };
            let reading = RemoteReading {
                reading: Reading {
                    id: 0,
                    timestamp: m.timestamp,
                    sensor: format!("{}/{}", m.agent, m.sensor),
                    value: m.value,
                    stored_at: None,
                },
                agent: m.agent,
                seq: m.seq,
            };
            if admitted.deliver(reading).await.is_err() {
                return false;
            }
        }
        Verdict::Rejected(why) => {
            link.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target: "broker",
                "rejected a message on {}: {why}",
                crate::text::sanitize(&topic)
            );
        }
        Verdict::Duplicate(agent, seq) => {
            link.duplicates.fetch_add(1, Ordering::Relaxed);
            link.confirm_again(&agent, seq);
        }
        Verdict::OutOfOrder(agent, seq, first) => {
            link.out_of_order.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                target: "broker",
                "{agent}: seq {seq} of the run from {first} after a gap; left for the agent to send again"
            );
        }
    }
    link.received.fetch_add(1, Ordering::Relaxed);
    true
}

/// What to do with one message.
#[derive(Debug, PartialEq)]
enum Verdict {
    Deliver(Message),
    Rejected(String),
    /// `(agent, seq)` taken already.
    Duplicate(String, u64),
    /// `(agent, seq, first)`: its run is not taken up to the seq before it.
    OutOfOrder(String, u64, u64),
}

/// Checks a message against the codec and its agent's seqs taken, adding its seq when it is to
/// be delivered: the next of a run whose every seq from its first is taken, or the first of a
/// new run (at most [`codec::MAX_FIRST_AHEAD_MICROS`] above `now_micros`).
fn check(
    site: &str,
    topic: &str,
    payload: &[u8],
    taken: &mut AgentMarks,
    now_micros: u64,
) -> Verdict {
    let Some(agent) = confirm::agent_of(site, topic) else {
        return Verdict::Rejected("not a readings topic".into());
    };
    let m = match Message::decode(payload, agent) {
        Ok(m) => m,
        Err(e) => return Verdict::Rejected(e),
    };
    let seqs = taken.entry(m.agent.clone()).or_default();
    if seqs.contains(m.seq) {
        return Verdict::Duplicate(m.agent, m.seq);
    }
    let next_of_its_run = m.seq > m.first
        && seqs
            .range_of(m.seq - 1)
            .is_some_and(|(start, _)| start <= m.first);
    if m.seq == m.first && !codec::first_is_plausible(m.first, now_micros) {
        return Verdict::Rejected(format!(
            "seq {} starts a run {} s ahead of the site's clock: no agent starts one there",
            m.first,
            (m.first - now_micros) / 1_000_000
        ));
    }
    if next_of_its_run || m.seq == m.first {
        seqs.insert(m.seq);
        Verdict::Deliver(m)
    } else {
        Verdict::OutOfOrder(m.agent, m.seq, m.first)
    }
}

/// Publishes each agent's confirmation as its stored ranges grow (after the store committed).
async fn confirmer(client: AsyncClient, site: String, link: Arc<RemoteLink>) {
    loop {
        for (agent, start, end) in link.changed().await {
            publish_confirmation(&client, &site, &agent, start, end).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(agent: &str, seq: u64, first: u64) -> Vec<u8> {
        Message {
            agent: agent.into(),
            seq,
            first,
            sensor: "s".into(),
            timestamp: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            value: 1,
        }
        .encode()
    }

    const NOW: u64 = 1_790_000_000_000_000;

    fn kind(v: Verdict) -> String {
        match v {
            Verdict::Deliver(m) => format!("deliver {}", m.seq),
            Verdict::Duplicate(_, s) => format!("duplicate {s}"),
            Verdict::OutOfOrder(_, s, f) => format!("gap {s} of run {f}"),
            Verdict::Rejected(e) => format!("rejected: {e}"),
        }
    }

    /// The order rules: the next seq of a run or a new run's first is taken, a redelivery is a
    /// duplicate, a gap waits for the agent to send again.
    #[test]
    fn readings_are_taken_in_order_per_run() {
        let t = confirm::readings_topic("x", "a");
        let mut taken = AgentMarks::new();
        let mut step = |seq, first| kind(check("x", &t, &msg("a", seq, first), &mut taken, NOW));
        assert_eq!(step(1, 1), "deliver 1");
        assert_eq!(step(2, 1), "deliver 2");
        assert_eq!(step(2, 1), "duplicate 2");
        assert_eq!(step(4, 1), "gap 4 of run 1");
        assert_eq!(step(3, 1), "deliver 3");
        assert_eq!(step(4, 1), "deliver 4");
        // A restarted agent jumps to a new run.
        assert_eq!(step(1000, 1000), "deliver 1000");
        assert_eq!(step(4, 1), "duplicate 4");
        assert_eq!(step(1001, 1000), "deliver 1001");
        assert_eq!(step(1003, 1000), "gap 1003 of run 1000");
        // A run whose first was not taken waits for it.
        assert_eq!(step(2001, 2000), "gap 2001 of run 2000");
        let other = check(
            "x",
            "wallwatch/x/readings/b",
            &msg("a", 1, 1),
            &mut taken,
            NOW,
        );
        assert!(kind(other).contains("topic of agent"));
        let wrong_site = check("y", &t, &msg("a", 5, 5), &mut taken, NOW);
        assert!(kind(wrong_site).contains("not a readings topic"));
    }

    /// A stranger's message on a real agent's topic takes only the seqs it names: with seq =
    /// first = 2^63 - 1 (or u64::MAX) it is refused whole, and a forged run anywhere the clock
    /// allows leaves every genuine reading after it to be taken (it made them duplicates).
    #[test]
    fn a_forged_seq_cannot_make_genuine_readings_duplicates() {
        let t = confirm::readings_topic("x", "a");
        let mut taken = AgentMarks::new();
        let run = NOW - 60_000_000;
        let mut step = |seq, first| kind(check("x", &t, &msg("a", seq, first), &mut taken, NOW));
        assert_eq!(step(run, run), format!("deliver {run}"));
        assert!(step(u64::MAX, u64::MAX).contains("more than a store can hold"));
        let top = i64::MAX as u64;
        assert!(step(top, top).contains("ahead of the site's clock"));
        let ahead = NOW + 2 * codec::MAX_FIRST_AHEAD_MICROS;
        assert!(step(ahead, ahead).contains("ahead of the site's clock"));
        // Within the clock's allowance: a run of its own.
        assert_eq!(step(NOW + 1, NOW + 1), format!("deliver {}", NOW + 1));
        for seq in run + 1..run + 5 {
            assert_eq!(step(seq, run), format!("deliver {seq}"));
        }
        assert_eq!(
            taken.get("a").unwrap().iter().collect::<Vec<_>>(),
            [(run, run + 4), (NOW + 1, NOW + 1)]
        );
    }
}

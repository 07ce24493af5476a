//! `wallwatch agent`: sensors on another machine, publishing through the broker.
//!
//! The sensors are the engine's own sensor tasks (`engine::tasks::sensor_task`, made by the
//! `SensorFactory`, on the engine's `Clock`), sending into a local mailbox through a network of
//! [`HANDOFF_LIMIT`] permits. The agent numbers each reading (seq), keeps it in a bounded buffer
//! of `--buffer` readings and publishes it QoS 1 to `wallwatch/{site}/readings/{agent}`. A
//! reading leaves the buffer only when the site's retained confirmation
//! (`wallwatch/{site}/confirmed/{agent}`) says it is stored; when the buffer is full the agent
//! stops taking readings, its mailbox fills and its sensors wait.
//!
//! Everything unconfirmed is published again, in seq order: after each reconnect (a broker
//! that died may have lost what it held), when the site announces a new run (a killed site may
//! have lost what it had taken), and when no confirmation has come for [`RESEND_AFTER`] while
//! readings wait. The site leaves out what it already has. While disconnected nothing is
//! published (rumqttc would send queued messages ahead of the older unconfirmed ones).
//!
//! A restarted agent with the same id starts its seq above both the site's confirmation and the
//! clock in microseconds, so its new readings are never taken for redeliveries of the old run's
//! (which may have been stored without being confirmed); a confirmation further ahead of the
//! clock than any run starts is not the site's, and is left out.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, EventLoop};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::codec::Message;
use super::confirm;
use super::subscriber::{CONNECT_TIMEOUT, KEEP_ALIVE, Reconnects, first_connack, one_line};
use super::url::BrokerUrl;
use crate::engine::network::{Latency, Network, Payload};
use crate::engine::publisher::Publisher;
use crate::engine::tasks::{Alive, Shared, sensor_task};
use crate::sensors::{Reading, SensorFactory};
use crate::units::Speed;

/// Permits of the agent's own hand-off from its sensors to its buffer.
pub const HANDOFF_LIMIT: usize = 5;
/// Readings the agent keeps unconfirmed, by default.
pub const DEFAULT_BUFFER: usize = 10_000;
/// Unconfirmed readings are sent again when no confirmation came for this long.
pub const RESEND_AFTER: Duration = Duration::from_secs(15);
/// How long to wait at start for the site's retained confirmation after subscribing.
const RETAINED_GRACE: Duration = Duration::from_millis(300);

/// What an agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub url: BrokerUrl,
    pub site: String,
    pub agent: String,
    pub sensors: usize,
    pub sensor_kinds: Vec<String>,
    pub seed: u64,
    pub speed: Speed,
    pub duration: Option<Duration>,
    /// The most unconfirmed readings kept.
    pub buffer: usize,
    /// How long the agent waits for the last confirmations when stopping.
    pub drain_timeout: Duration,
}

/// The agent's JSON summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgentSummary {
    /// Readings its sensors made.
    pub produced: u64,
    /// Readings the site confirmed stored.
    pub confirmed: u64,
    /// Readings not confirmed when it stopped (`produced - confirmed`).
    pub pending: u64,
}

/// What the event loop tells the agent.
#[derive(Debug, Default)]
struct Heard {
    /// The site's last confirmation: a range of seqs it stored.
    confirmed: watch::Sender<Option<(u64, u64)>>,
    /// Connections made (each CONNACK), and whether connected now.
    connection: watch::Sender<(u64, bool)>,
    /// The site's run, when it is online.
    site_run: watch::Sender<Option<String>>,
    /// Subscriptions acknowledged.
    subscribed: watch::Sender<u64>,
}

/// Connects, then runs until `stop` fires (or `--duration`), then drains. Errors before the
/// sensors start (a bad or unreachable broker) are one line.
pub async fn run(
    opts: AgentOptions,
    stop: impl Future<Output = String>,
) -> Result<AgentSummary, String> {
    let (client, eventloop) = connect(&opts).await?;
    let heard = Arc::new(Heard::default());
    heard.connection.send_replace((1, true));
    let subscribed = heard.subscribed.subscribe();
    tokio::spawn(subscribe(
        client.clone(),
        opts.site.clone(),
        opts.agent.clone(),
    ));
    let events = tokio::spawn(event_loop(
        eventloop,
        heard.clone(),
        opts.url.clone(),
        client.clone(),
        (opts.site.clone(), opts.agent.clone()),
    ));
    let first = first_seq(&heard, subscribed).await;
    tracing::info!(
        target: "broker",
        "agent {} of site {}: {} sensors publishing to {} from seq {first}",
        opts.agent,
        opts.site,
        opts.sensors,
        opts.url
    );

    let (shared, mailbox) = sensors_shared(&opts);
    let (sensor_stop, sensor_stop_rx) = watch::channel(false);
    let sensor_tasks = start_sensors(&opts, &shared, sensor_stop_rx)?;
    let produced = Arc::new(AtomicU64::new(0));
    let mut publisher = Publishing {
        client: client.clone(),
        topic: confirm::readings_topic(&opts.site, &opts.agent),
        agent: opts.agent.clone(),
        first,
        next: first,
        pending: VecDeque::new(),
        confirmed: 0,
        produced: produced.clone(),
    };
    let stopping = stop_or_duration(stop, opts.duration);
    let sensors_done = async move {
        let _ = sensor_stop.send(true);
        for t in sensor_tasks {
            let _ = t.await;
        }
    };
    drop(shared);
    publisher
        .publish_until_drained(
            heard.clone(),
            mailbox,
            opts.buffer.max(1),
            stopping,
            sensors_done,
            opts.drain_timeout,
        )
        .await;
    let summary = AgentSummary {
        produced: produced.load(Ordering::Relaxed),
        confirmed: publisher.confirmed,
        pending: produced.load(Ordering::Relaxed) - publisher.confirmed,
    };
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), events).await;
    Ok(summary)
}

/// A clean session with the broker, as far as its first CONNACK.
async fn connect(opts: &AgentOptions) -> Result<(AsyncClient, EventLoop), String> {
    if let Some(warning) = opts.url.cleartext_warning() {
        tracing::warn!(target: "broker", "{warning}");
    }
    let mut mqtt = opts
        .url
        .options(format!("wallwatch-agent-{}-{}", opts.site, opts.agent))?;
    mqtt.set_clean_start(true)
        .set_keep_alive(KEEP_ALIVE)
        .set_connection_timeout(CONNECT_TIMEOUT.as_secs());
    let (client, mut eventloop) = AsyncClient::new(mqtt, 1024);
    first_connack(&mut eventloop, &opts.url).await?;
    Ok((client, eventloop))
}

/// The first seq of this run: above the site's confirmation and the clock in microseconds.
async fn first_seq(heard: &Heard, mut subscribed: watch::Receiver<u64>) -> u64 {
    // The site's retained confirmation comes right after the subscription's acknowledgement.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, subscribed.wait_for(|n| *n >= 1)).await;
    tokio::time::sleep(RETAINED_GRACE).await;
    let confirmed = heard.confirmed.borrow().map(|(_, end)| end);
    start_above(confirmed, super::codec::now_micros())
}

/// A run's first seq: above the clock in microseconds, and above `confirmed` (the end of the
/// site's retained confirmation) unless that is further ahead of the clock than any run
/// starts: then it is not the site's (anyone who may publish on the broker can publish a
/// confirmation), and following it would push the agent's numbering out of the site's reach.
fn start_above(confirmed: Option<u64>, now_micros: u64) -> u64 {
    let confirmed = confirmed.unwrap_or(0);
    if !super::codec::first_is_plausible(confirmed.saturating_add(1), now_micros) {
        tracing::warn!(
            target: "broker",
            "the retained confirmation {confirmed} is further ahead of the clock than any run \
             starts; left out"
        );
        return now_micros + 1;
    }
    confirmed.max(now_micros) + 1
}

/// Spawns `--sensors` sensor tasks, the kinds taken in turn, until `stop` says true.
fn start_sensors(
    opts: &AgentOptions,
    shared: &Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut factory = SensorFactory::new(opts.seed);
    let mut sensor_tasks = Vec::new();
    for i in 0..opts.sensors {
        let kind = &opts.sensor_kinds[i % opts.sensor_kinds.len().max(1)];
        let sensor = factory.make(kind).map_err(|e| e.to_string())?;
        sensor_tasks.push(tokio::spawn(sensor_task(
            sensor,
            Alive::new(shared),
            stop.clone(),
        )));
    }
    Ok(sensor_tasks)
}

/// Why the agent stops: `stop`'s reason, or the `--duration` reached first.
async fn stop_or_duration(
    stop: impl Future<Output = String>,
    duration: Option<Duration>,
) -> String {
    match duration {
        Some(d) => {
            tokio::select! {
                why = stop => why,
                _ = tokio::time::sleep(d) => "duration reached".to_string(),
            }
        }
        None => stop.await,
    }
}

/// The sensors' side: the engine's clock, a hand-off network into a local mailbox.
fn sensors_shared(opts: &AgentOptions) -> (Arc<Shared>, mpsc::Receiver<Payload>) {
    let (network, mailbox) = Network::new(
        HANDOFF_LIMIT,
        Latency::default(),
        opts.seed,
        None,
        crate::engine::collector::MAILBOX,
    );
    let shared = Arc::new(Shared::new(opts.speed, network, Publisher::new(), u64::MAX));
    (shared, mailbox)
}

async fn subscribe(client: AsyncClient, site: String, agent: String) {
    for topic in [
        confirm::confirmed_topic(&site, &agent),
        confirm::status_topic(&site),
    ] {
        if let Err(e) = client.subscribe(topic, QoS::AtLeastOnce).await {
            tracing::warn!(target: "broker", "cannot subscribe: {}", one_line(&e));
        }
    }
}

/// Polls the connection for good, telling the agent what it heard; never waits on the agent.
async fn event_loop(
    mut eventloop: EventLoop,
    heard: Arc<Heard>,
    url: BrokerUrl,
    client: AsyncClient,
    (site, agent): (String, String),
) {
    let mut reconnects = Reconnects::new(url);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                reconnects.connected();
                heard.connection.send_modify(|(n, up)| {
                    *n += 1;
                    *up = true;
                });
                // A clean session: subscribe again.
                tokio::spawn(subscribe(client.clone(), site.clone(), agent.clone()));
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                heard.subscribed.send_modify(|n| *n += 1);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let topic = String::from_utf8_lossy(&p.topic);
                if topic.ends_with("/status") {
                    heard.site_run.send_replace(confirm::run_of(&p.payload));
                } else if let Some(range) = confirm::decode_confirmed(&p.payload) {
                    // A range ending further ahead of the clock than any run starts is not the
                    // site's: it would make the agent forget readings never stored.
                    if super::codec::first_is_plausible(range.1, super::codec::now_micros()) {
                        heard.confirmed.send_replace(Some(range));
                    } else {
                        tracing::warn!(
                            target: "broker",
                            "a confirmation up to {} is further ahead of the clock than any run \
                             starts; left out",
                            range.1
                        );
                    }
                }
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(rumqttc::v5::ConnectionError::RequestsDone) => return,
            Err(e) => {
                reconnects.lost(&e);
                heard.connection.send_modify(|(_, up)| *up = false);
                reconnects.back_off().await;
            }
        }
    }
}

/// The agent's buffer of unconfirmed readings and its publishing.
struct Publishing {
    client: AsyncClient,
    topic: String,
    agent: String,
    first: u64,
    next: u64,
    /// Unconfirmed readings in seq order: (seq, payload).
    pending: VecDeque<(u64, Vec<u8>)>,
    confirmed: u64,
    produced: Arc<AtomicU64>,
}

impl Publishing {
    async fn publish(&self, payload: Vec<u8>) {
        if let Err(e) = self
            .client
            .publish(self.topic.clone(), QoS::AtLeastOnce, false, payload)
            .await
        {
            tracing::warn!(target: "broker", "cannot publish: {}", one_line(&e));
        }
    }

    /// Everything unconfirmed, again, in seq order.
    async fn republish(&self, why: &str) {
        if self.pending.is_empty() {
            return;
        }
        tracing::info!(
            target: "broker",
            "{}: sending {} unconfirmed readings again ({why})",
            self.agent,
            self.pending.len()
        );
        for (_, payload) in &self.pending {
            self.publish(payload.clone()).await;
        }
    }

    /// The site stored every seq of `start..=end`: the readings kept from the oldest on that
    /// it holds are forgotten. A range that is not of this run (another run's, a stranger's)
    /// holds none of them, and forgets nothing.
    fn confirm(&mut self, (start, end): (u64, u64)) -> bool {
        let mut any = false;
        while self
            .pending
            .front()
            .is_some_and(|(s, _)| (start..=end).contains(s))
        {
            self.pending.pop_front();
            self.confirmed += 1;
            any = true;
        }
        any
    }

    /// Numbers and publishes the mailbox's readings, at most `buffer` unconfirmed, and
    /// republishes when needed, until stopped (`stopping`) and every reading is confirmed
    /// (or `drain_timeout` has passed since the stop).
    async fn publish_until_drained(
        &mut self,
        heard: Arc<Heard>,
        mut mailbox: mpsc::Receiver<Payload>,
        buffer: usize,
        stopping: impl Future<Output = String>,
        sensors_done: impl Future<Output = ()>,
        drain_timeout: Duration,
    ) {
        let mut confirmed = heard.confirmed.subscribe();
        let mut connection = heard.connection.subscribe();
        let mut site_run = heard.site_run.subscribe();
        let mut known_run = site_run.borrow_and_update().clone();
        connection.borrow_and_update();
        let mut last_progress = Instant::now();
        tokio::pin!(stopping);
        tokio::pin!(sensors_done);
        let mut stop_reason: Option<String> = None;
        let mut sensors_ended = false;
        let mut mailbox_open = true;
        let mut drain_deadline = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let up = connection.borrow().1;
            if stop_reason.is_some() && sensors_ended && !mailbox_open && self.pending.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                why = &mut stopping, if stop_reason.is_none() => {
                    tracing::info!(target: "broker", "stopping ({why}): sensors stop, waiting for the site's confirmations");
                    stop_reason = Some(why);
                    drain_deadline = Some(Instant::now() + drain_timeout);
                }
                _ = &mut sensors_done, if stop_reason.is_some() && !sensors_ended => {
                    sensors_ended = true;
                }
                Ok(()) = confirmed.changed() => {
                    let range = *confirmed.borrow_and_update();
                    if range.is_some_and(|r| self.confirm(r)) {
                        last_progress = Instant::now();
                    }
                }
                Ok(()) = connection.changed() => {
                    let (_, now_up) = *connection.borrow_and_update();
                    if now_up {
                        self.republish("reconnected").await;
                        last_progress = Instant::now();
                    }
                }
                Ok(()) = site_run.changed() => {
                    let run = site_run.borrow_and_update().clone();
                    self.site_run_seen(run, &mut known_run).await;
                }
                packet = mailbox.recv(), if mailbox_open && self.pending.len() < buffer => {
                    let Some(packet) = packet else {
                        mailbox_open = false;
                        continue;
                    };
                    let Payload::Readings(readings) = packet else { continue };
                    self.take(readings, up).await;
                }
                _ = tick.tick() => {
                    if self.gave_up(drain_deadline, drain_timeout) {
                        break;
                    }
                    if up && !self.pending.is_empty() && last_progress.elapsed() >= RESEND_AFTER {
                        self.republish("no confirmation for a while").await;
                        last_progress = Instant::now();
                    }
                }
            }
        }
        self.count_left_in(&mut mailbox);
    }

    /// Whether the drain's deadline has passed (then it says so, with what is unconfirmed).
    fn gave_up(&self, drain_deadline: Option<Instant>, drain_timeout: Duration) -> bool {
        if let Some(deadline) = drain_deadline
            && Instant::now() >= deadline
        {
            tracing::warn!(
                target: "broker",
                "gave up waiting after {} s: {} readings unconfirmed",
                drain_timeout.as_secs(),
                self.pending.len()
            );
            return true;
        }
        false
    }

    /// The site announced `run`: everything unconfirmed goes again if it is a new run (a
    /// killed site may have lost what it had taken).
    async fn site_run_seen(&mut self, run: Option<String>, known_run: &mut Option<String>) {
        if run.is_some() && run != *known_run {
            if known_run.is_some() || !self.pending.is_empty() {
                self.republish("the site started again").await;
            }
            *known_run = run;
        }
    }

    /// Numbers the sensors' readings, publishes them if connected and keeps them until
    /// confirmed.
    async fn take(&mut self, readings: Vec<Reading>, up: bool) {
        self.produced
            .fetch_add(readings.len() as u64, Ordering::Relaxed);
        for r in readings {
            let seq = self.next;
            self.next += 1;
            let payload = Message {
                agent: self.agent.clone(),
                seq,
                first: self.first,
                sensor: r.sensor,
                timestamp: r.timestamp,
                value: r.value,
            }
            .encode();
            if up {
                self.publish(payload.clone()).await;
            }
            self.pending.push_back((seq, payload));
        }
    }

    /// Readings still in the mailbox (a drain that gave up) were produced and not confirmed.
    fn count_left_in(&self, mailbox: &mut mpsc::Receiver<Payload>) {
        while let Ok(packet) = mailbox.try_recv() {
            if let Payload::Readings(r) = packet {
                self.produced.fetch_add(r.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// This host's name as an agent id: the characters an id may have, at most 64 (else `agent`).
pub fn default_agent_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let id: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect();
    if id.is_empty() { "agent".into() } else { id }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_790_000_000_000_000;

    /// A run starts above the clock and the site's confirmation, but not above a confirmation
    /// no site of its runs could have published (a stranger's `2^63 - 1` pushed it there).
    #[test]
    fn a_run_starts_above_the_clock_and_a_plausible_confirmation() {
        assert_eq!(start_above(None, NOW), NOW + 1);
        assert_eq!(start_above(Some(5), NOW), NOW + 1);
        assert_eq!(start_above(Some(NOW + 10), NOW), NOW + 11);
        for forged in [
            i64::MAX as u64,
            u64::MAX,
            NOW + 2 * super::super::codec::MAX_FIRST_AHEAD_MICROS,
        ] {
            assert_eq!(start_above(Some(forged), NOW), NOW + 1, "{forged}");
        }
    }

    #[test]
    fn a_confirmation_forgets_only_the_readings_in_its_range() {
        let (client, _eventloop) =
            AsyncClient::new(rumqttc::v5::MqttOptions::new("t", "127.0.0.1", 1), 8);
        let mut p = Publishing {
            client,
            topic: "t".into(),
            agent: "a".into(),
            first: 100,
            next: 105,
            pending: (100..105).map(|s| (s, Vec::new())).collect(),
            confirmed: 0,
            produced: Arc::new(AtomicU64::new(5)),
        };
        // A stranger's range, or another run's, forgets nothing.
        assert!(!p.confirm((1_000, 2_000)));
        assert!(!p.confirm((1, 99)));
        assert!(p.confirm((100, 102)));
        assert_eq!(p.pending.front().map(|(s, _)| *s), Some(103));
        // A range the oldest kept is in forgets up to its end.
        assert!(p.confirm((0, 103)));
        assert_eq!((p.confirmed, p.pending.len()), (4, 1));
    }
}

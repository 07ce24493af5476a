//! `wallwatch bench broker`: agents' readings per second into SQLite through the broker at
//! Receive Maximum = the network limit, side by side with a plain rumqttc subscriber of the same
//! Receive Maximum that acknowledges each message on receipt, on the same broker in the same run;
//! and both again with an added round-trip latency L, against the bound limit / L.
//!
//! Each measurement first makes its client's session at the broker (clean_start = false, the
//! subscription), disconnects, and has a publisher queue `readings` valid readings (one agent,
//! seq 1..) for it; then it is timed until it has them all: the site from the moment its engine
//! and subscriber run (it connects before opening the store) until its store has every one
//! (`readings_stored`), the plain subscriber from connecting until it received every one.
//! What is timed is the consumer alone, not how fast a publisher can publish. The latency is a
//! TCP proxy between the broker and the consumer that holds every chunk L/2 each way.
//!
//! On a terminal (and without `--json`) standard error shows each step's readings done of the
//! leg's, the rate and the time left (`run 1 of 3 · site ██▌ 41,000 of 100,000 readings · …`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish};
use rumqttc::v5::{AsyncClient, Event};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::broker::codec::Message;
use crate::broker::subscriber::SESSION_EXPIRY;
use crate::broker::url::BrokerUrl;
use crate::broker::{BrokerOptions, confirm};
use crate::cmd::progress::{self, Progress};
use crate::config::Config;
use crate::config::cli::BrokerBenchArgs;
use crate::engine::{Latency, StartOptions};

use super::median;

/// One side-by-side pair.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pair {
    /// Readings per second stored by the site.
    pub site_per_s: f64,
    /// Messages per second received (and acknowledged on receipt) by the plain subscriber.
    pub plain_per_s: f64,
    pub ratio: f64,
}

/// The figures, medians of `runs` pairs each.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerResult {
    pub broker: String,
    pub network_limit: usize,
    pub readings: u64,
    pub runs: usize,
    /// Without added latency: medians, then every run.
    pub site_per_s: f64,
    pub plain_per_s: f64,
    pub ratio: f64,
    pub samples: Vec<Pair>,
    /// With the added round-trip latency (none when `--latency 0`).
    pub latency_ms: f64,
    pub latency_readings: u64,
    pub latency_site_per_s: Option<f64>,
    pub latency_plain_per_s: Option<f64>,
    /// `network_limit / latency`.
    pub latency_bound_per_s: Option<f64>,
    /// The site's rate over the bound.
    pub latency_ratio: Option<f64>,
    pub latency_samples: Vec<Pair>,
}

/// Runs the benchmark.
pub fn run(args: &BrokerBenchArgs) -> Result<BrokerResult, String> {
    let url = args
        .broker
        .clone()
        .or_else(|| std::env::var("WALLWATCH_TEST_MQTT").ok())
        .ok_or("--broker: no broker given (and WALLWATCH_TEST_MQTT is not set)")?;
    let url = BrokerUrl::parse(&url)?;
    let latency = match Latency::parse(&args.latency)? {
        Latency::Fixed(d) => d,
        Latency::Range(..) => return Err("--latency: one value, not a range".into()),
    };
    let runtime = crate::runtime::site()?;
    let shown = progress::wanted(args.json);
    runtime.block_on(async {
        let mut samples = Vec::new();
        let mut latency_samples = Vec::new();
        for run in 0..args.runs {
            let tag = format!("{}-{run}", std::process::id());
            let label = format!("run {} of {}", run + 1, args.runs);
            let progress = Progress::count(shown, &label, "readings", Some(args.readings));
            let leg = Leg {
                args,
                url: &url,
                tag: &tag,
                readings: args.readings,
                latency: Duration::ZERO,
                label: &label,
                progress: &progress,
            };
            samples.push(pair(&leg).await?);
            if !latency.is_zero() {
                let tag = format!("{tag}-l");
                let label = format!("{label} · {} ms", latency.as_millis());
                let progress =
                    Progress::count(shown, &label, "readings", Some(args.latency_readings));
                let leg = Leg {
                    tag: &tag,
                    readings: args.latency_readings,
                    latency,
                    label: &label,
                    progress: &progress,
                    ..leg
                };
                latency_samples.push(pair(&leg).await?);
            }
        }
        let pick = |s: &[Pair], f: fn(&Pair) -> f64| median(s.iter().map(f).collect());
        let bound = (!latency.is_zero()).then(|| args.network_limit as f64 / latency.as_secs_f64());
        let latency_site =
            (!latency_samples.is_empty()).then(|| pick(&latency_samples, |p| p.site_per_s));
        Ok(BrokerResult {
            broker: url.to_string(),
            network_limit: args.network_limit,
            readings: args.readings,
            runs: args.runs,
            site_per_s: pick(&samples, |p| p.site_per_s),
            plain_per_s: pick(&samples, |p| p.plain_per_s),
            ratio: pick(&samples, |p| p.ratio),
            samples,
            latency_ms: latency.as_secs_f64() * 1e3,
            latency_readings: args.latency_readings,
            latency_site_per_s: latency_site,
            latency_plain_per_s: (!latency_samples.is_empty())
                .then(|| pick(&latency_samples, |p| p.plain_per_s)),
            latency_bound_per_s: bound,
            latency_ratio: latency_site.zip(bound).map(|(s, b)| s / b),
            latency_samples,
        })
    })
}

/// One measurement of the site and of the plain subscriber: `readings` readings queued under
/// names made from `tag`, consumed through a proxy adding `latency`.
#[derive(Clone, Copy)]
struct Leg<'a> {
    args: &'a BrokerBenchArgs,
    url: &'a BrokerUrl,
    tag: &'a str,
    readings: u64,
    latency: Duration,
    /// The run's name on the progress line.
    label: &'a str,
    progress: &'a Progress,
}

impl Leg<'_> {
    /// The progress line counts `step`'s readings from 0.
    fn step(&self, step: &str) {
        self.progress.restart(&format!("{} · {step}", self.label));
    }
}

/// The site, then the plain subscriber, on the same broker (through the proxy with latency).
async fn pair(leg: &Leg<'_>) -> Result<Pair, String> {
    let site_per_s = site(leg).await?;
    let plain_per_s = plain(leg).await?;
    Ok(Pair {
        site_per_s,
        plain_per_s,
        ratio: site_per_s / plain_per_s,
    })
}

/// Where the consumer connects: the broker, or a proxy in front of it adding `latency`.
async fn consumer_url(url: &BrokerUrl, latency: Duration) -> Result<BrokerUrl, String> {
    if latency.is_zero() {
        return Ok(url.clone());
    }
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("proxy: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let target = (url.host.clone(), url.port);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(target).await {
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(delay_pump(cr, sw, latency / 2));
                    tokio::spawn(delay_pump(sr, cw, latency / 2));
                }
            });
        }
    });
    Ok(BrokerUrl {
        host: "127.0.0.1".into(),
        port,
        credentials: url.credentials.clone(),
        // The certificate is then checked against 127.0.0.1, the proxy's address.
        tls: url.tls,
        trust: url.trust.clone(),
    })
}

/// Copies `from` to `to`, each chunk `delay` after it was read, in order.
async fn delay_pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>)>(1024);
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at + delay).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx
                    .send((tokio::time::Instant::now(), buf[..n].to_vec()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// Makes a session for `client_id` subscribed to `filter`, then disconnects.
async fn make_session(url: &BrokerUrl, client_id: &str, filter: &str) -> Result<(), String> {
    let mut o = url.options(client_id)?;
    o.set_clean_start(false)
        .set_session_expiry_interval(Some(SESSION_EXPIRY));
    let (client, mut eventloop) = AsyncClient::new(o, 64);
    client
        .subscribe(filter, QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::SubAck(_))) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("broker {url}: {e}")),
        }
    }
    let _ = client.disconnect().await;
    while eventloop.poll().await.is_ok() {}
    Ok(())
}

/// Ends the session of `client_id` at the broker (a clean start with no expiry), so that the
/// benchmark leaves no sessions behind.
async fn drop_session(url: &BrokerUrl, client_id: &str) {
    let Ok(mut o) = url.options(client_id) else {
        return;
    };
    o.set_clean_start(true);
    let (client, mut eventloop) = AsyncClient::new(o, 8);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_disconnect();
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

/// Publishes `n` readings of agent `bench` to `topic`, QoS 1, waiting for every PUBACK.
async fn queue_readings(
    url: &BrokerUrl,
    topic: &str,
    n: u64,
    tag: &str,
    progress: &Progress,
) -> Result<(), String> {
    let o = url.options(format!("bench-pub-{tag}"))?;
    let (client, mut eventloop) = AsyncClient::new(o, 1024);
    let closer = client.clone();
    let topic = topic.to_string();
    let publisher = tokio::spawn(async move {
        let at = chrono::Utc::now();
        for seq in 1..=n {
            let m = Message {
                agent: "bench".into(),
                seq,
                first: 1,
                sensor: format!("sensor-{}", seq % 100),
                timestamp: at,
                value: (seq % 201) as i32 - 100,
            };
            if client
                .publish(topic.clone(), QoS::AtLeastOnce, false, m.encode())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let mut acked = 0u64;
    while acked < n {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                acked += 1;
                progress.inc();
            }
            Ok(_) => {}
            Err(e) => return Err(format!("broker {url}: publishing: {e}")),
        }
    }
    let _ = publisher.await;
    let _ = closer.disconnect().await;
    while eventloop.poll().await.is_ok() {}
    Ok(())
}

/// The site: the engine on a fresh SQLite file, taking the queued readings through the broker.
async fn site(leg: &Leg<'_>) -> Result<f64, String> {
    let tag = leg.tag;
    let site_name = format!("bench-{tag}");
    queue_for_site(leg, &format!("wallwatch-site-{site_name}"), &site_name).await?;
    leg.step("site");
    let db = std::env::temp_dir().join(format!("wallwatch-bench-broker-{tag}.db"));
    let _ = std::fs::remove_file(&db);
    let mut config = Config::example();
    config.engine.store = crate::store::StoreUrl::Sqlite(db.display().to_string());
    config.engine.sensors = 0;
    config.engine.network_limit = leg.args.network_limit;
    let broker = BrokerOptions {
        url: consumer_url(leg.url, leg.latency).await?,
        site: site_name,
    };
    let options = StartOptions {
        skip_rows: true,
        ..StartOptions::default()
    };
    let (engine, mut events, subscriber) =
        crate::broker::start_engine(&config.engine, Some(&broker), options)
            .await
            .map_err(|e| e.to_string())?;
    // From the moment the engine and the subscriber run (opening the store and starting the
    // engine are not the broker's cost).
    let started = Instant::now();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let deadline = started + Duration::from_secs(600);
    loop {
        let stored = engine.counters().readings_stored;
        leg.progress.set(stored);
        if stored >= leg.readings {
            break;
        }
        if Instant::now() > deadline {
            return Err("the site did not store every reading within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = engine.shutdown().await.map_err(|e| e.to_string())?;
    if let Some(s) = subscriber {
        s.finish().await;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    drop_session(leg.url, &format!("wallwatch-site-{}", broker.site)).await;
    if summary.network.max_in_flight > leg.args.network_limit {
        return Err(format!(
            "{} messages in flight, above the limit",
            summary.network.max_in_flight
        ));
    }
    Ok(leg.readings as f64 / seconds)
}

/// The plain subscriber: the same Receive Maximum, acknowledging each message on receipt.
async fn plain(leg: &Leg<'_>) -> Result<f64, String> {
    let tag = leg.tag;
    let site_name = format!("plain-{tag}");
    let id = format!("bench-plain-{tag}");
    queue_for_site(leg, &id, &site_name).await?;
    leg.step("plain subscriber");
    let to = consumer_url(leg.url, leg.latency).await?;
    let limit = u16::try_from(leg.args.network_limit).map_err(|e| e.to_string())?;
    let mut o = to.options(id)?;
    o.set_clean_start(false)
        .set_session_expiry_interval(Some(SESSION_EXPIRY))
        .set_receive_maximum(Some(limit))
        .set_manual_acks(true);
    let started = Instant::now();
    let (client, mut eventloop) = AsyncClient::new(o, 1024);
    let received = Arc::new(AtomicU64::new(0));
    // Acks wait here when rumqttc's request queue is full (this task is also the one that
    // empties it, by polling).
    let mut acks = std::collections::VecDeque::new();
    while received.load(Ordering::Relaxed) < leg.readings {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                received.fetch_add(1, Ordering::Relaxed);
                leg.progress.inc();
                acks.push_back(p);
            }
            Ok(_) => {}
            Err(e) => return Err(format!("broker {to}: {e}")),
        }
        ack_queued(&client, &mut acks);
    }
    let seconds = started.elapsed().as_secs_f64();
    // The last acks and the DISCONNECT go through the queue this task empties: keep polling
    // (never wait on the queue here).
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let mut sent = false;
        loop {
            ack_queued(&client, &mut acks);
            if acks.is_empty() && !sent {
                sent = client.try_disconnect().is_ok();
            }
            match eventloop.poll().await {
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    drop_session(leg.url, &format!("bench-plain-{tag}")).await;
    Ok(leg.readings as f64 / seconds)
}

/// Makes the session `client_id` subscribed to `site_name`'s readings, then queues the leg's
/// readings for it on the broker.
async fn queue_for_site(leg: &Leg<'_>, client_id: &str, site_name: &str) -> Result<(), String> {
    make_session(leg.url, client_id, &confirm::readings_filter(site_name)).await?;
    leg.step("queueing");
    queue_readings(
        leg.url,
        &confirm::readings_topic(site_name, "bench"),
        leg.readings,
        leg.tag,
        leg.progress,
    )
    .await
}

/// Acknowledges the messages waiting in `acks`, oldest first, until rumqttc's request queue is
/// full.
fn ack_queued(client: &AsyncClient, acks: &mut std::collections::VecDeque<Publish>) {
    while let Some(p) = acks.front() {
        if client.try_ack(p).is_err() {
            break;
        }
        acks.pop_front();
    }
}

/// `wallwatch bench broker`.
pub fn main(args: &BrokerBenchArgs) -> crate::cmd::Outcome {
    super::print_result(args.json, run(args), |r| {
        println!(
            "broker {}: {} readings, Receive Maximum {}, {} runs (medians)",
            r.broker, r.readings, r.network_limit, r.runs
        );
        println!("site into SQLite   {:>10.0} readings/s", r.site_per_s);
        println!(
            "plain subscriber   {:>10.0} messages/s (acks on receipt)",
            r.plain_per_s
        );
        println!("ratio              {:>10.3}", r.ratio);
        if let (Some(s), Some(p), Some(b)) = (
            r.latency_site_per_s,
            r.latency_plain_per_s,
            r.latency_bound_per_s,
        ) {
            println!(
                "with {} ms round trip ({} readings): site {s:.1}/s, plain {p:.1}/s, bound {b:.1}/s, site/bound {:.3}",
                r.latency_ms,
                r.latency_readings,
                s / b
            );
        }
    })
}

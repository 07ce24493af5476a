//! Agents through a real Mosquitto broker into a site on SQLite: every test starts its own broker
//! on a free loopback port (`support/mosquitto.rs`) and the real binary as site and agents.
//! Each checks, from the store itself, that what the agents produced is stored, and stored once.

#[path = "support/headless_site.rs"]
mod headless_site;
#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use headless_site::Site;
use mosquitto::Mosquitto;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

impl Site {
    /// A site on `broker`, no local sensors.
    fn start(broker: &Mosquitto, site: &str, db: &Path) -> Site {
        Site::start_with(&broker.url(), site, db, &["--sensors", "0"])
    }

    /// A site on `url` with `extra` options (`--sensors 0` unless they say otherwise).
    fn start_with(url: &str, site: &str, db: &Path, extra: &[&str]) -> Site {
        let mut args = extra.to_vec();
        args.extend(["--broker", url, "--site", site]);
        Site::launch(db, &args)
    }
}

/// `wallwatch agent` with `--sensors N --speed 20 --duration D` (default sensors: at speed 20,
/// each reports 4 times a second).
fn agent(broker: &Mosquitto, site: &str, id: &str, sensors: usize, duration: &str) -> Child {
    agent_with(broker, site, id, sensors, duration, &["--speed", "20"])
}

/// A busy agent: thermometers (1 s) at speed 50, so that readings flow without a pause and a
/// kill always finds some on their way.
fn busy_agent(broker: &Mosquitto, site: &str, id: &str, duration: &str) -> Child {
    let busy = ["--speed", "50", "--sensor-kinds", "thermometer"];
    agent_with(broker, site, id, 20, duration, &busy)
}

fn agent_with(
    broker: &Mosquitto,
    site: &str,
    id: &str,
    sensors: usize,
    duration: &str,
    extra: &[&str],
) -> Child {
    agent_on(&broker.url(), site, id, sensors, duration, extra)
}

fn agent_on(
    url: &str,
    site: &str,
    id: &str,
    sensors: usize,
    duration: &str,
    extra: &[&str],
) -> Child {
    Command::new(BIN)
        .args(["agent", "--broker", url, "--site", site])
        .args(["--agent-id", id, "--sensors", &sensors.to_string()])
        .args(["--seed", "7", "--duration", duration])
        .args(extra)
        .args(["--drain-timeout", "20s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The agent's summary; it must have stopped with everything confirmed.
fn finished(child: Child) -> (u64, u64) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "agent: {}\n{stderr}", out.status);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (produced, confirmed) = (
        v["produced"].as_u64().unwrap(),
        v["confirmed"].as_u64().unwrap(),
    );
    assert_eq!(v["pending"], 0, "{v}");
    assert_eq!(produced, confirmed, "{v}");
    (produced, confirmed)
}

/// Per agent: (readings stored, distinct seqs, lowest and highest seq).
fn stored(db: &Path) -> Vec<(String, u64, u64, u64, u64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT agent, count(*), count(DISTINCT seq), min(seq), max(seq) FROM readings \
             WHERE agent IS NOT NULL GROUP BY agent ORDER BY agent",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)? as u64,
            r.get::<_, i64>(2)? as u64,
            r.get::<_, i64>(3)? as u64,
            r.get::<_, i64>(4)? as u64,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Every agent's readings are stored once, with no seq missing between its first and last.
fn assert_all_once(db: &Path, produced: &[(&str, u64)]) {
    let rows = stored(db);
    assert_eq!(rows.len(), produced.len(), "{rows:?}");
    for ((agent, count, distinct, lo, hi), (id, made)) in rows.iter().zip(produced) {
        assert_eq!(agent, id);
        assert_eq!(count, made, "{agent}: stored {count} of {made}");
        assert_eq!(count, distinct, "{agent}: a seq stored twice");
        assert_eq!(hi - lo + 1, *count, "{agent}: a seq missing");
    }
}

fn max_in_flight(summary: &Value) -> u64 {
    summary["network"]["max_in_flight"].as_u64().unwrap()
}

#[test]
fn three_agents_of_a_hundred_sensors_store_everything_once_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let site = Site::start(&broker, "three", &db);
    let agents: Vec<_> = ["a1", "a2", "a3"]
        .iter()
        .map(|id| (*id, agent(&broker, "three", id, 100, "2s")))
        .collect();
    let produced: Vec<(&str, u64)> = agents
        .into_iter()
        .map(|(id, child)| (id, finished(child).0))
        .collect();
    let summary = site.stop();
    let total: u64 = produced.iter().map(|p| p.1).sum();
    assert!(total >= 3 * 100, "{produced:?}");
    assert_all_once(&db, &produced);
    assert_eq!(summary["remote"]["stored"], total, "{summary}");
    assert_eq!(summary["remote"]["rejected"], 0, "{summary}");
    let peak = max_in_flight(&summary);
    assert!((1..=5).contains(&peak), "{summary}");
}

#[test]
fn a_broker_killed_and_restarted_mid_run_loses_nothing_and_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let site = Site::start(&broker, "crash", &db);
    let a1 = busy_agent(&broker, "crash", "a1", "4s");
    let a2 = busy_agent(&broker, "crash", "a2", "4s");
    std::thread::sleep(Duration::from_millis(1500));
    broker.kill();
    std::thread::sleep(Duration::from_millis(500));
    broker.restart();
    let produced = [("a1", finished(a1).0), ("a2", finished(a2).0)];
    site.wait_for("reconnected to");
    let summary = site.stop();
    assert_all_once(&db, &produced);
    assert!(max_in_flight(&summary) <= 5, "{summary}");
}

#[test]
fn a_site_killed_and_restarted_on_the_same_store_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let site = Site::start(&broker, "phoenix", &db);
    let a1 = busy_agent(&broker, "phoenix", "a1", "4s");
    std::thread::sleep(Duration::from_millis(1500));
    site.kill();
    let before = stored(&db);
    assert!(!before.is_empty(), "nothing stored before the kill");
    std::thread::sleep(Duration::from_millis(500));
    let site = Site::start(&broker, "phoenix", &db);
    let produced = [("a1", finished(a1).0)];
    let summary = site.stop();
    assert_all_once(&db, &produced);
    assert!(max_in_flight(&summary) <= 5, "{summary}");
}

/// Readings queued while the site was away come as a flood (the broker keeps to the Receive
/// Maximum only for its first window): the site takes them all, and never wedges.
#[test]
fn a_backlog_queued_while_the_site_was_away_is_taken_whole() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    // The site's session exists (its subscription), then it stops.
    Site::start(&broker, "away", &db).stop();
    let extra = ["--speed", "100", "--sensor-kinds", "thermometer"];
    let a1 = agent_with(&broker, "away", "a1", 20, "2s", &extra);
    std::thread::sleep(Duration::from_millis(2500));
    let site = Site::start(&broker, "away", &db);
    let produced = [("a1", finished(a1).0)];
    assert!(produced[0].1 >= 3000, "{produced:?}");
    let summary = site.stop();
    assert_all_once(&db, &produced);
    assert!(max_in_flight(&summary) <= 5, "{summary}");
}

#[test]
fn what_a_killed_agent_had_confirmed_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let site = Site::start(&broker, "lost", &db);
    let mut a1 = busy_agent(&broker, "lost", "a1", "60s");
    std::thread::sleep(Duration::from_millis(2000));
    let _ = a1.kill();
    let _ = a1.wait();
    // The retained confirmation is a range `START END` of a1's seqs, every one stored.
    let retained = broker
        .retained("wallwatch/lost/confirmed/a1")
        .expect("the site confirmed something");
    let (start, end) = retained.split_once(' ').expect("a range");
    let (start, end): (u64, u64) = (start.parse().unwrap(), end.parse().unwrap());
    site.stop();
    let rows = stored(&db);
    let (_, count, distinct, first, _) = rows[0].clone();
    assert_eq!(count, distinct);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let within: i64 = conn
        .query_row(
            "SELECT count(*) FROM readings WHERE agent = 'a1' AND seq BETWEEN ?1 AND ?2",
            [start as i64, end as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(start, first, "{retained}");
    assert_eq!(
        within as u64,
        end - start + 1,
        "a confirmed reading is missing"
    );
}

/// An agent killed while the site was away (its readings queued at the broker, none confirmed),
/// started again with the same id before the site is back: its new run's seqs start above
/// everything the old run sent, so none of the new readings is taken for a redelivery of the
/// old run's when the site takes both.
#[test]
fn an_agent_restarted_with_the_same_id_has_every_new_reading_stored() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    // The site's session exists (its subscription), then it stops.
    Site::start(&broker, "again", &db).stop();
    let mut old = busy_agent(&broker, "again", "a1", "60s");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = old.kill();
    let _ = old.wait();
    let new = busy_agent(&broker, "again", "a1", "1s");
    std::thread::sleep(Duration::from_millis(500));
    let site = Site::start(&broker, "again", &db);
    let out = new.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let produced = v["produced"].as_u64().unwrap();
    assert_eq!(v["confirmed"], produced, "{v}");
    let first: i64 = stderr
        .split("from seq ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no first seq in the agent's log: {stderr}"));
    site.stop();
    // (A new reading taken for one the old run sent would be left out as a redelivery: the
    // agent would not see it confirmed in order and would give up, and the rows below would
    // not be the new run's.)
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (count, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT seq) FROM readings WHERE agent = 'a1' AND seq >= ?1",
            [first],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((count as u64, distinct as u64), (produced, produced));
    let old_run: i64 = conn
        .query_row(
            "SELECT count(*) FROM readings WHERE agent = 'a1' AND seq < ?1",
            [first],
            |r| r.get(0),
        )
        .unwrap();
    assert!(old_run > 0, "the old run stored nothing");
}

#[test]
fn malformed_and_oversized_payloads_are_rejected_counted_and_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let site = Site::start(&broker, "bad", &db);
    let good = |agent: &str, seq: u64, sensor: &str, value: i32| {
        serde_json::json!({
            "agent": agent, "seq": seq, "first": 1, "sensor": sensor,
            "timestamp": "2026-12-01T12:00:00Z", "value": value,
        })
        .to_string()
        .into_bytes()
    };
    let topic = "wallwatch/bad/readings/x";
    let bad: Vec<Vec<u8>> = vec![
        b"garbage".to_vec(),
        vec![b'{'; 2000],
        // Over rumqttc's default packet size: the site's client refused it, reconnected, got
        // it again, for good, and no reading was taken after it.
        vec![b' '; 100_000],
        // A direction override, which would draw the name reversed.
        good("x", 1, "temp\u{202e}3pmet", 1),
        good("y", 1, "s", 1),
        good("x", 1, "s", 500),
        good("x", 1, "s\u{1b}]52;c;aGk=\u{7}", 1),
        good("x", 0, "s", 1),
    ];
    for payload in &bad {
        broker.publish(topic, payload);
    }
    broker.publish(topic, &good("x", 1, "fine", 42));
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored(&db).is_empty() {
        assert!(Instant::now() < deadline, "the good reading was not stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = site.log.clone();
    let summary = site.stop();
    assert_eq!(summary["remote"]["rejected"], bad.len(), "{summary}");
    assert_eq!(summary["remote"]["stored"], 1, "{summary}");
    assert_eq!(stored(&db), vec![("x".to_string(), 1, 1, 1, 1)]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let sensor: String = conn
        .query_row("SELECT sensor FROM readings WHERE agent = 'x'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sensor, "x/fine");
    let log = log.lock().unwrap();
    assert_eq!(
        log.matches("rejected a message").count(),
        bad.len(),
        "{log}"
    );
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}') && !log.contains('\u{202e}'),
        "control characters logged"
    );
    assert!(!log.contains("lost the broker"), "{log}");
}

#[test]
fn a_bad_or_unreachable_broker_is_one_line_and_exit_2() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let unreachable = format!("mqtt://127.0.0.1:{port}");
    for broker in ["tcp://x:1", "mqtt://h:0", unreachable.as_str()] {
        for args in [
            vec!["agent", "--broker", broker, "--sensors", "1"],
            vec![
                "run",
                "--headless",
                "--store",
                "memory:",
                "--broker",
                broker,
            ],
            vec![
                "serve", "--store", "memory:", "--name", "nobroker", "--broker", broker,
            ],
        ] {
            let out = Command::new(BIN).args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
            assert_eq!(lines.len(), 1, "{args:?}: {err}");
            assert!(lines[0].contains("broker"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

/// The premise: a v5 subscriber connected with Receive Maximum 5 and manual acks is sent at most
/// 5 unacknowledged QoS 1 messages; the broker holds the rest until it acks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_maximum_holds_the_broker_to_five_unacknowledged_messages() {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let options = |id: &str| {
        let mut o = MqttOptions::new(id, "127.0.0.1", broker.port);
        o.set_clean_start(false)
            .set_session_expiry_interval(Some(600))
            .set_receive_maximum(Some(5))
            .set_manual_acks(true);
        o
    };
    // The session and its subscription, then 40 messages queued for it while it is away.
    {
        let (client, mut el) = AsyncClient::new(options("rm-sub"), 64);
        client.subscribe("rm/t", QoS::AtLeastOnce).await.unwrap();
        loop {
            if let Event::Incoming(Packet::SubAck(_)) = el.poll().await.unwrap() {
                break;
            }
        }
        client.disconnect().await.unwrap();
        while el.poll().await.is_ok() {}
    }
    for i in 0..40 {
        broker.publish("rm/t", format!("{i}").as_bytes());
    }
    let (client, mut el) = AsyncClient::new(options("rm-sub"), 64);
    let mut held = Vec::new();
    let quiet = tokio::time::sleep(Duration::from_millis(1500));
    tokio::pin!(quiet);
    loop {
        tokio::select! {
            _ = &mut quiet => break,
            ev = el.poll() => if let Event::Incoming(Packet::Publish(p)) = ev.unwrap() {
                held.push(p);
            },
        }
    }
    assert_eq!(held.len(), 5, "sent while none was acknowledged");
    let mut got = held.len();
    for p in &held {
        client.ack(p).await.unwrap();
    }
    while got < 40 {
        if let Event::Incoming(Packet::Publish(p)) = el.poll().await.unwrap() {
            got += 1;
            client.ack(&p).await.unwrap();
        }
    }
}

/// `wallwatch bench broker` runs both consumers side by side, with and without the latency
/// proxy, and reports every figure (no rate is asserted: those are for the README, measured on a
/// release build).
#[test]
fn bench_broker_measures_the_site_and_a_plain_subscriber_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let out = Command::new(BIN)
        .args([
            "bench",
            "broker",
            "--broker",
            &broker.url(),
            "--readings",
            "300",
        ])
        .args([
            "--latency",
            "20ms",
            "--latency-readings",
            "30",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "site_per_s",
        "plain_per_s",
        "ratio",
        "latency_site_per_s",
        "latency_plain_per_s",
    ] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
    assert_eq!(v["latency_bound_per_s"], 250.0, "{v}");
    assert_eq!(v["samples"].as_array().unwrap().len(), 1);
}

/// With agents, `status` shows the readings produced here and those taken in from agents, so
/// that their sum is what is stored: `produced 40 here + 57 from agents = 97 · stored 97`.
#[test]
fn status_shows_local_and_remote_readings_whose_sum_is_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let socket = dir.path().join("site.sock");
    let socket = socket.to_str().unwrap();
    let mut serve = Command::new(BIN)
        .args(["serve", "--socket", socket, "--store", "memory:"])
        .args(["--sensors", "2", "--speed", "20"])
        .args(["--broker", &broker.url(), "--site", "sums"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cli = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .args(["--socket", socket])
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cli(&["status"]).status.success() {
        assert!(Instant::now() < deadline, "the site did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (from_agent, _) = finished(agent(&broker, "sums", "pump", 3, "1s"));
    assert!(cli(&["pause"]).status.success());
    // Paused, the last local readings land; then the row's sums agree with what is stored.
    let row = loop {
        let out = cli(&["status"]);
        let table = String::from_utf8(out.stdout).unwrap();
        let row = table
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("readings  "))
            .unwrap_or_else(|| panic!("no readings row:\n{table}"))
            .to_string();
        let n = |s: &str| s.replace(',', "").parse::<u64>().unwrap();
        let words: Vec<&str> = row.split_whitespace().collect();
        // produced L here + R from agents = T · stored S
        let (local, remote, total, stored) = (n(words[1]), n(words[4]), n(words[8]), n(words[11]));
        assert_eq!(
            (words[2], words[5], words[7], words[10]),
            ("here", "from", "=", "stored"),
            "{row}"
        );
        assert_eq!(local + remote, total, "{row}");
        if stored == total {
            assert_eq!(remote, from_agent, "{row}");
            assert!(local > 0, "{row}");
            break row;
        }
        assert!(Instant::now() < deadline, "the sums never agreed: {row}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(row.starts_with("produced "), "{row}");
    // `stop` returns once the site's process is gone (with a broker it used to linger on after
    // its summary, for its connection to the broker).
    let out = cli(&["stop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exited = serve.try_wait().unwrap();
    assert!(
        exited.is_some(),
        "the site was still running when stop returned"
    );
    assert!(exited.unwrap().success());
}

/// One name for a site: `serve --site north` is the socket `north.sock` and the site `north` on
/// the broker, so an agent's `--site north` reaches it and `status --site north` (or the older
/// `--name north`) finds it.
#[test]
fn one_name_names_the_socket_and_the_site_on_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let wallwatch = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).env("XDG_RUNTIME_DIR", &runtime);
        c
    };
    let mut serve = wallwatch(&["serve", "--site", "north", "--store", "memory:"])
        .args(["--sensors", "0", "--broker", &broker.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socket = runtime.join("wallwatch/north.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "no socket {}", socket.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let (produced, _) = finished(agent(&broker, "north", "pump", 2, "1s"));
    for flag in ["--site", "--name"] {
        let out = wallwatch(&["status", "--json", flag, "north"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{flag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["remote"]["stored"], produced, "{status}");
    }
    let out = wallwatch(&["stop", "--site", "north"]).output().unwrap();
    assert!(out.status.success());
    assert!(serve.wait().unwrap().success());
}

/// The clock in microseconds, as agents number their runs.
fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// An agent's stored seqs, lowest first.
fn seqs_of(db: &Path, agent: &str) -> Vec<u64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq FROM readings WHERE agent = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([agent], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|s| s.unwrap() as u64)
        .collect()
}

/// A stranger's messages on a real agent's topic, with `seq` = `first` = 2^64 - 1 (no store
/// holds it: every write of the batch failed for good, local readings too, and SIGTERM hung),
/// 2^63 - 1 (a jump no agent makes: every genuine reading after it counted as a duplicate), and
/// one a second ahead of the clock (a run of its own), and a stranger's confirmation up to
/// 2^64 - 1: the agent's readings and the site's own are all stored, once, the site stops on
/// SIGTERM, and the agent started again numbers from the clock.
#[test]
fn forged_seqs_neither_stop_the_store_nor_hide_an_agents_readings() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let site = Site::start_with(
        &broker.url(),
        "forge",
        &db,
        &["--sensors", "2", "--speed", "20"],
    );
    let pump = agent(&broker, "forge", "pump", 3, "8s");
    let deadline = Instant::now() + Duration::from_secs(20);
    while seqs_of(&db, "pump").len() < 5 {
        assert!(Instant::now() < deadline, "no reading of pump stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    let forged = |seq: u64| {
        format!(
            r#"{{"agent":"pump","seq":{seq},"first":{seq},"sensor":"s","timestamp":"2026-12-01T12:00:00Z","value":1}}"#
        )
        .into_bytes()
    };
    let ahead = now_micros() + 1_000_000;
    let topic = "wallwatch/forge/readings/pump";
    for seq in [u64::MAX, i64::MAX as u64, ahead] {
        broker.publish(topic, &forged(seq));
    }
    assert!(broker.publish_with(
        "wallwatch/forge/confirmed/pump",
        b"1 18446744073709551615",
        &["-r"]
    ));
    let (produced, _) = finished(pump);
    let seqs = seqs_of(&db, "pump");
    assert_eq!(seqs.len() as u64, produced + 1, "{seqs:?}");
    let (run, stranger) = seqs.split_at(seqs.len() - 1);
    assert_eq!(stranger, [ahead]);
    assert_eq!(run[run.len() - 1] - run[0] + 1, produced, "a seq missing");

    // Started again, the agent numbers from the clock (the stranger's run, a second ahead,
    // is the highest confirmed: at most that far above it), not from 2^64 - 1.
    let before = now_micros();
    let again = agent(&broker, "forge", "pump", 3, "2s");
    let (again_produced, _) = finished(again);
    let seqs = seqs_of(&db, "pump");
    assert_eq!(seqs.len() as u64, produced + 1 + again_produced);
    let newest = *seqs.last().unwrap();
    assert!(
        newest > before && newest < now_micros() + 3_600_000_000,
        "{newest}"
    );

    let log = site.log.clone();
    let summary = site.stop();
    // `readings.stored` counts the site's own and the agents' together.
    let n = |v: &Value| v.as_u64().unwrap();
    assert_eq!(
        n(&summary["readings"]["stored"]),
        n(&summary["readings"]["produced"]) + n(&summary["remote"]["stored"]),
        "{summary}"
    );
    assert!(n(&summary["readings"]["produced"]) > 0, "{summary}");
    assert_eq!(summary["remote"]["rejected"], 2, "{summary}");
    assert_eq!(
        summary["remote"]["stored"],
        produced + 1 + again_produced,
        "{summary}"
    );
    let log = log.lock().unwrap();
    assert!(log.contains("more than a store can hold"), "{log}");
    assert!(log.contains("ahead of the site's clock"), "{log}");
    assert!(!log.contains("write of"), "a store write failed: {log}");
}

/// `/healthz` says when the link to the broker keeps failing (it stayed 200 while the site was
/// cut off from every agent), and is 200 again once it works.
#[test]
fn healthz_says_when_the_broker_link_keeps_failing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start(dir.path());
    let db = dir.path().join("site.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = format!("127.0.0.1:{port}");
    let site = Site::start_with(&broker.url(), "health", &db, &["--http", &http]);
    let health = || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    let wait_health = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let text = health();
            if text.contains(want) {
                return text;
            }
            assert!(Instant::now() < deadline, "no '{want}' in /healthz: {text}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_health("\r\n\r\nok\n");
    broker.kill();
    let text = wait_health("503 Service Unavailable");
    assert!(
        text.contains("agents cut off: broker mqtt://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("unreachable for"), "{text}");
    broker.restart();
    wait_health("\r\n\r\nok\n");
    site.stop();
}

/// A broker closed to strangers (a Mosquitto password file, no anonymous clients, the ACL of
/// docs/agents.md): the site and an agent log in with the username and password of their URL and everything is stored;
/// a stranger's message is refused by the broker; a wrong password is one line and exit 2,
/// which never shows the password.
#[test]
fn a_broker_with_a_password_file_takes_the_site_and_agents_by_their_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let passwords =
        Mosquitto::password_file(dir.path(), &[("site", "s3cret"), ("pump", "p@ss:word")]);
    // The ACL of docs/agents.md: each agent writes its own readings only.
    let acl = dir.path().join("acl");
    std::fs::write(
        &acl,
        "user site\ntopic read wallwatch/+/readings/+\ntopic readwrite wallwatch/+/confirmed/+\n\
         topic readwrite wallwatch/+/status\n\npattern write wallwatch/+/readings/%u\n\
         pattern read wallwatch/+/confirmed/%u\npattern read wallwatch/+/status\n",
    )
    .unwrap();
    let broker = Mosquitto::start_with(
        dir.path(),
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}",
            passwords.display(),
            acl.display()
        ),
    );
    let at = format!("127.0.0.1:{}", broker.port);
    let db = dir.path().join("site.db");
    let site = Site::start_with(
        &format!("mqtt://site:s3cret@{at}"),
        "closed",
        &db,
        &["--sensors", "0"],
    );
    let stranger = br#"{"agent":"pump","seq":1,"first":1,"sensor":"s","timestamp":"2026-12-01T12:00:00Z","value":1}"#;
    assert!(!broker.publish_with("wallwatch/closed/readings/pump", stranger, &[]));
    let pump = agent_on(
        &format!("mqtt://pump:p%40ss%3Aword@{at}"),
        "closed",
        "pump",
        3,
        "3s",
        &["--speed", "20"],
    );
    let (produced, _) = finished(pump);
    assert!(produced > 0);
    assert_all_once(&db, &[("pump", produced)]);
    for url in [format!("mqtt://pump:wrong@{at}"), format!("mqtt://{at}")] {
        let out = Command::new(BIN)
            .args([
                "agent",
                "--broker",
                &url,
                "--site",
                "closed",
                "--sensors",
                "1",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(!err.contains("wrong"), "{err}");
    }
    let log = site.log.clone();
    let summary = site.stop();
    assert_eq!(summary["remote"]["stored"], produced, "{summary}");
    let log = log.lock().unwrap();
    assert!(log.contains("mqtt://site:***@127.0.0.1:"), "{log}");
    assert!(!log.contains("s3cret"), "{log}");
}

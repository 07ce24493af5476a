//! The engine on tokio's paused clock: sensors' timing, the network's limit, draining, store
//! failures, crews and commands, pause, and determinism.

#[path = "support/example_config.rs"]
mod example_config;
#[path = "support/faulty_store.rs"]
mod faulty_store;
#[path = "support/postgres.rs"]
mod postgres;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use example_config::on_memory_store;
use faulty_store::FaultyStore;
use postgres::{Schema, postgres_url};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use wallwatch::config::Config;
use wallwatch::engine::{
    Asker, Command, Engine, Event, Latency, NetworkProbe, Outcome, Refusal, StartOptions, Summary,
};
use wallwatch::sensors::Reading;
use wallwatch::units::Speed;
use wallwatch::wall::{CrewReport, Crews, Works};

/// Starts the engine on `store` and collects its events in the background.
async fn start(
    config: &Config,
    store: &FaultyStore,
    probe: Option<Arc<dyn NetworkProbe>>,
) -> (Engine, JoinHandle<Vec<(Instant, Event)>>) {
    let options = StartOptions {
        store: Some(Box::new(store.clone())),
        probe,
        ..StartOptions::default()
    };
    let (engine, events) = Engine::start_with(&config.engine, options).await.unwrap();
    (engine, tokio::spawn(collect(events)))
}

async fn collect(mut events: mpsc::Receiver<Event>) -> Vec<(Instant, Event)> {
    let mut all = Vec::new();
    while let Some(e) = events.recv().await {
        all.push((Instant::now(), e));
    }
    all
}

/// Who asks in these tests.
fn asker() -> Asker {
    Asker("test".into())
}

fn assert_ids_strictly_increasing(ids: impl Iterator<Item = u64>) {
    let ids: Vec<u64> = ids.collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not strictly increasing"
    );
}

#[tokio::test(start_paused = true)]
async fn five_default_sensors_report_every_five_seconds() {
    let store = FaultyStore::default();
    let (engine, events) = start(&on_memory_store(), &store, None).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    assert!(matches!(events[0].1, Event::Started { .. }));
    let readings = store.readings();
    assert_eq!(summary.readings.produced, readings.len() as u64);
    let mut by_sensor: HashMap<String, Vec<Reading>> = HashMap::new();
    for r in readings {
        by_sensor.entry(r.sensor.clone()).or_default().push(r);
    }
    assert_eq!(by_sensor.len(), 5);
    for (name, rs) in by_sensor {
        assert!(
            (11..=13).contains(&rs.len()),
            "{name}: {} readings",
            rs.len()
        );
        for w in rs.windows(2) {
            assert_eq!(
                w[1].timestamp - w[0].timestamp,
                chrono::Duration::seconds(5),
                "{name}"
            );
        }
    }
}

/// Counts messages in flight itself, from the probe's calls.
#[derive(Default)]
struct Independent {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl NetworkProbe for Independent {
    fn sent(&self, messages: usize) {
        let now = self.now.fetch_add(messages, Ordering::SeqCst) + messages;
        self.max.fetch_max(now, Ordering::SeqCst);
    }
    fn delivered(&self, messages: usize) {
        self.now.fetch_sub(messages, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn fifty_sensors_fill_the_network_exactly_to_its_limit() {
    let mut c = on_memory_store();
    c.engine.sensors = 50;
    c.engine.sensor_kinds = vec!["thermometer".into(), "default".into()];
    c.engine.latency = Latency::parse("10..50ms").unwrap();
    let probe = Arc::new(Independent::default());
    let store = FaultyStore::default();
    let (engine, _events) = start(&c, &store, Some(probe.clone())).await;
    let mut waited = false;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = engine.network_stats();
        assert!(s.in_flight <= 5);
        waited |= s.waiting > 0;
    }
    let summary = engine.shutdown().await.unwrap();
    assert!(waited, "sensors had to wait for permits");
    assert_eq!(summary.network.limit, 5);
    assert_eq!(summary.network.max_in_flight, 5);
    assert_eq!(
        probe.max.load(Ordering::SeqCst),
        5,
        "the independent counter saw more than the limit"
    );
    assert_eq!(probe.now.load(Ordering::SeqCst), 0, "everything landed");
    assert!(summary.network.mean_wait_ms > 0.0);
    assert!(summary.network.mean_latency_ms >= 10.0 && summary.network.mean_latency_ms <= 50.0);
    assert_eq!(summary.readings.produced, summary.readings.stored);
    assert_eq!(
        summary.network.delivered,
        summary.readings.produced + summary.crew_reports.produced
    );
}

/// Store URLs the load test runs against. After the merge, add stores here (e.g. a `sqlite:` and a
/// `csv:` URL in a temporary directory, and `postgres://…` from the environment).
/// Every kind of store, fresh; PostgreSQL in a schema of its own (dropped with the guard).
fn store_urls(dir: &std::path::Path) -> (Vec<String>, Option<Schema>) {
    let mut urls = vec![
        "memory:".to_string(),
        format!("csv:{}", dir.join("load.csv").display()),
        format!("sqlite:{}", dir.join("load.db").display()),
    ];
    let schema = postgres_url().map(|base| Schema::new(&base, "engine_load"));
    urls.extend(schema.as_ref().map(|s| s.url.clone()));
    (urls, schema)
}

#[tokio::test(start_paused = true)]
async fn produced_equals_stored_after_shutdown_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let (urls, _schema) = store_urls(dir.path());
    for url in urls {
        let mut c = on_memory_store();
        c.engine.store = url.parse().unwrap();
        c.engine.sensors = 200;
        c.engine.sensor_kinds = vec!["thermometer".into()];
        c.engine.speed = Speed::Max;
        c.engine.batch_size = 97;
        let (engine, events) = Engine::start(&c.engine).await.unwrap();
        let events = tokio::spawn(collect(events));
        while engine.counters().readings_produced < 30_000 {
            tokio::task::yield_now().await;
        }
        // Shut down in the middle of the flood.
        let summary = engine.shutdown().await.unwrap();
        let events = events.await.unwrap();
        assert!(summary.readings.produced >= 30_000, "{url}");
        assert_eq!(summary.readings.produced, summary.readings.stored, "{url}");
        assert_eq!(
            summary.crew_reports.produced, summary.crew_reports.stored,
            "{url}"
        );
        assert_eq!(
            summary.store_rows.readings, summary.readings.stored,
            "{url}: fresh store"
        );
        assert!(summary.network.max_in_flight <= 5);
        // What the watcher saw is in id order (some may be coalesced, none reordered).
        let seen = events.iter().flat_map(|(_, e)| match e {
            Event::Readings(r) => r.iter().map(|r| r.id).collect(),
            _ => Vec::new(),
        });
        assert_ids_strictly_increasing(seen);
    }
}

/// Headless runs and benchmarks start with `skip_rows`: every row is still stored (after a failed
/// write too), but none is sent to the watcher; the other events still are.
#[tokio::test(start_paused = true)]
async fn skip_rows_stores_everything_and_sends_no_rows() {
    let store = FaultyStore::failing_with("disk on fire");
    store.fail_next(2);
    let mut c = on_memory_store();
    c.engine.sensors = 20;
    c.engine.days = Some(3);
    let options = StartOptions {
        store: Some(Box::new(store.clone())),
        skip_rows: true,
        ..StartOptions::default()
    };
    let (engine, events) = Engine::start_with(&c.engine, options).await.unwrap();
    let events = tokio::spawn(collect(events));
    tokio::time::sleep(Duration::from_secs(60)).await;
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    assert!(
        summary.readings.produced >= 20 * 12,
        "{:?}",
        summary.readings
    );
    assert_eq!(summary.readings.produced, summary.readings.stored);
    assert_eq!(store.readings().len() as u64, summary.readings.stored);
    assert_eq!(summary.crew_reports.produced, summary.crew_reports.stored);
    assert_eq!(
        store.crew_reports().len() as u64,
        summary.crew_reports.stored
    );
    assert!(summary.crew_reports.stored > 0);
    assert!(store.attempts() > 2, "the failed writes were retried");
    let rows = |e: &Event| matches!(e, Event::Readings(_) | Event::CrewReports(_));
    assert!(!events.iter().any(|(_, e)| rows(e)), "no rows sent");
    assert!(events.iter().any(|(_, e)| matches!(e, Event::Day(_))));
    assert!(events.iter().any(|(_, e)| matches!(e, Event::Network(_))));
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_loses_nothing() {
    let store = FaultyStore::failing_with("disk on fire");
    store.fail_next(3);
    let mut c = on_memory_store();
    c.engine.sensor_kinds = vec!["thermometer".into()];
    let (engine, events) = start(&c, &store, None).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    assert!(store.attempts() > 3);
    let readings = store.readings();
    assert_eq!(readings.len() as u64, summary.readings.produced);
    assert_eq!(summary.readings.stored, summary.readings.produced);
    let ids: Vec<u64> = readings.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        (1..=readings.len() as u64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    let reports = store.crew_reports();
    assert_eq!(reports.len() as u64, summary.crew_reports.produced);
    assert!(events.iter().any(
        |(_, e)| matches!(e, Event::Store { failing: Some(m), .. } if m.contains("disk on fire"))
    ));
}

#[tokio::test(start_paused = true)]
async fn ids_continue_after_the_store_rows() {
    let store = FaultyStore::default();
    let (engine, _) = start(&on_memory_store(), &store, None).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let first = engine.shutdown().await.unwrap();
    let (engine, _) = start(&on_memory_store(), &store, None).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let second = engine.shutdown().await.unwrap();
    let readings = store.readings();
    assert_eq!(
        readings.len() as u64,
        first.readings.stored + second.readings.stored
    );
    assert_ids_strictly_increasing(readings.iter().map(|r| r.id));
    assert_ids_strictly_increasing(store.crew_reports().iter().map(|r| r.id));
}

fn key(r: &CrewReport) -> (u64, u32, Option<u32>, Option<u32>, Option<u8>) {
    (r.day, r.crew, r.profile, r.section, r.height)
}

#[tokio::test(start_paused = true)]
async fn crew_days_advance_every_day_seconds_and_match_the_site() {
    let mut c = on_memory_store();
    c.engine.sensors = 0;
    c.engine.latency = Latency::parse("5..30ms").unwrap();
    let store = FaultyStore::default();
    let started = Instant::now();
    let (engine, events) = start(&c, &store, None).await;
    tokio::time::sleep(Duration::from_secs(51)).await;
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    let days: Vec<(Duration, u64)> = events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::Day(p) => Some((*t - started, p.day)),
            _ => None,
        })
        .collect();
    assert_eq!(
        days.iter().map(|d| d.1).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    for (t, day) in &days {
        let due = Duration::from_secs(5 * day);
        assert!(
            *t >= due && *t < due + Duration::from_secs(1),
            "day {day} at {t:?}"
        );
    }
    let mut site = Works::new((*c.engine.wall).clone(), Crews::Limited(3));
    let mut expected = Vec::new();
    for _ in 0..10 {
        expected.extend(site.step());
    }
    let mut stored: Vec<_> = store.crew_reports().iter().map(key).collect();
    stored.sort();
    let mut expected: Vec<_> = expected
        .iter()
        .map(|w| key(&CrewReport::from_work(w, chrono::Utc::now())))
        .collect();
    expected.sort();
    assert_eq!(stored, expected);
    assert_eq!(summary.wall.day, 10);
    assert_eq!(
        summary.wall.ice_to_date,
        site.feet_raised() * wallwatch::wall::ICE_PER_FOOT
    );
    assert_eq!(
        summary.wall.cost_to_date,
        site.feet_raised() * wallwatch::wall::COST_PER_FOOT
    );
    assert_ids_strictly_increasing(store.crew_reports().iter().map(|r| r.id));
}

#[tokio::test(start_paused = true)]
async fn crews_are_added_and_removed_by_command() {
    let mut c = on_memory_store();
    c.engine.sensors = 0;
    c.engine.crews = Crews::Limited(1);
    let store = FaultyStore::default();
    let (engine, events) = start(&c, &store, None).await;
    let commands = engine.command_sender();
    tokio::time::sleep(Duration::from_millis(5_500)).await; // day 1 done: crew 1 only
    let added = commands.ask(Command::AddCrews(1), asker()).await;
    assert_eq!(
        added,
        Ok(Outcome::CrewsAdded {
            numbers: vec![2],
            crews: 2
        })
    );
    tokio::time::sleep(Duration::from_secs(5)).await; // day 2: crews 1 and 2
    commands
        .send(Command::RemoveCrews(1), asker())
        .await
        .unwrap();
    // The last crew stays; a refusal is answered to the one who asked.
    let refused = commands.ask(Command::RemoveCrews(1), asker()).await;
    assert_eq!(refused, Err(Refusal::LastCrew { crews: 1 }));
    tokio::time::sleep(Duration::from_secs(5)).await; // day 3: crew 1
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    let changes: Vec<Crews> = events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::CrewsChanged(c) => Some(*c),
            _ => None,
        })
        .collect();
    assert_eq!(changes, [Crews::Limited(2), Crews::Limited(1)]);
    let days: Vec<(u64, u32)> = store
        .crew_reports()
        .iter()
        .map(|r| (r.day, r.crew))
        .collect();
    assert_eq!(days, [(1, 1), (2, 1), (2, 2), (3, 1)]);
    assert_eq!(summary.wall.day, 3);
}

#[tokio::test(start_paused = true)]
async fn unlimited_crews_refuse_changes() {
    let mut c = on_memory_store();
    c.engine.sensors = 0;
    c.engine.crews = Crews::Unlimited;
    let (engine, events) = start(&c, &FaultyStore::default(), None).await;
    let reply = engine
        .command_sender()
        .ask(Command::AddCrews(1), asker())
        .await;
    assert_eq!(reply, Err(Refusal::UnlimitedCrews));
    tokio::time::sleep(Duration::from_secs(1)).await;
    engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, Event::CrewsChanged(_))),
        "the crews did not change"
    );
}

#[tokio::test(start_paused = true)]
async fn sensors_are_added_and_removed_by_command() {
    let mut c = on_memory_store();
    c.engine.sensors = 1;
    let store = FaultyStore::default();
    let (engine, events) = start(&c, &store, None).await;
    let commands = engine.command_sender();
    let thermometer = Command::AddSensors {
        kind: Some("thermometer".into()),
        count: 1,
    };
    commands.send(thermometer, asker()).await.unwrap();
    let barometer = Command::AddSensors {
        kind: Some("barometer".into()),
        count: 1,
    };
    let refused = commands.ask(barometer, asker()).await;
    assert!(
        matches!(&refused, Err(Refusal::UnknownKind(m)) if m.contains("barometer")),
        "{refused:?}"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    commands
        .send(Command::RemoveNewestSensor, asker())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    assert!(events.iter().any(
        |(_, e)| matches!(e, Event::SensorAdded(s) if s.name == "thermo-1" && s.interval_ms == 1000)
    ));
    assert!(
        events
            .iter()
            .any(|(_, e)| matches!(e, Event::SensorRemoved(n) if n == "thermo-1"))
    );
    let thermo: Vec<Reading> = store
        .readings()
        .into_iter()
        .filter(|r| r.sensor == "thermo-1")
        .collect();
    assert!(
        (10..=12).contains(&thermo.len()),
        "{} thermometer readings",
        thermo.len()
    );
    assert_eq!(summary.readings.produced, summary.readings.stored);
}

#[tokio::test(start_paused = true)]
async fn pause_stops_time() {
    let store = FaultyStore::default();
    let (engine, events) = start(&on_memory_store(), &store, None).await;
    let commands = engine.command_sender();
    tokio::time::sleep(Duration::from_secs(12)).await;
    commands.send(Command::Pause, asker()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = engine.counters();
    let day = engine.progress().day;
    tokio::time::sleep(Duration::from_secs(120)).await;
    let after = engine.counters();
    assert_eq!(
        (after.readings_produced, after.crew_reports_produced),
        (before.readings_produced, before.crew_reports_produced),
        "nothing produced while paused"
    );
    assert_eq!(engine.progress().day, day);
    assert!(engine.simulated() < Duration::from_secs(13));
    commands.send(Command::Resume, asker()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(engine.counters().readings_produced > before.readings_produced);
    commands
        .send(Command::SetSpeed(Speed::Factor(2.0)), asker())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let simulated = engine.simulated();
    engine.shutdown().await.unwrap();
    assert!(
        simulated >= Duration::from_secs(41) && simulated < Duration::from_secs(43),
        "{simulated:?}"
    );
    let events = events.await.unwrap();
    let paused: Vec<bool> = events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Paused(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(paused, [true, false]);
    assert!(
        events
            .iter()
            .any(|(_, e)| *e == Event::SpeedChanged(Speed::Factor(2.0)))
    );
}

async fn values(seed: u64) -> (Vec<(String, i64, i32)>, Summary) {
    let mut c = on_memory_store();
    c.engine.seed = seed;
    c.engine.sensors = 4;
    c.engine.sensor_kinds = vec![
        "default".into(),
        "thermometer".into(),
        "strain".into(),
        "seismometer".into(),
    ];
    c.engine.latency = Latency::parse("1..20ms").unwrap();
    let store = FaultyStore::default();
    let (engine, _) = start(&c, &store, None).await;
    tokio::time::sleep(Duration::from_secs(40)).await;
    let summary = engine.shutdown().await.unwrap();
    let readings = store.readings();
    assert_eq!(readings.len() as u64, summary.readings.produced);
    let t0 = readings.iter().map(|r| r.timestamp).min().unwrap();
    let mut v: Vec<(String, i64, i32)> = readings
        .into_iter()
        .map(|r| (r.sensor, (r.timestamp - t0).num_milliseconds(), r.value))
        .collect();
    v.sort();
    (v, summary)
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_values() {
    let (a, sa) = values(5).await;
    let (b, sb) = values(5).await;
    let (c, _) = values(6).await;
    assert!(a.len() > 50, "{}", a.len());
    assert_eq!(a, b);
    assert_eq!(sa.wall, sb.wall);
    assert_ne!(a, c);
}

/// Issue 16: when the last running sensor ends (here: the readings budget is spent), the
/// collector writes its partial batch at once instead of after `flush_after`. The benchmark's
/// engine used to wait out the 50 ms flush for its last rows: ten times the whole run at 5,000
/// readings.
#[tokio::test(start_paused = true)]
async fn the_last_sensor_stopping_flushes_the_partial_batch() {
    let store = FaultyStore::default();
    let mut c = on_memory_store();
    c.engine.sensors = 7;
    c.engine.speed = Speed::Max;
    c.engine.max_readings = Some(1_000);
    c.engine.batch_size = 16_384;
    c.engine.flush_after = Duration::from_secs(3600);
    let (engine, events) = start(&c, &store, None).await;
    let started = Instant::now();
    while engine.counters().readings_stored < 1_000 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "stored after {:?}, not at once",
        started.elapsed()
    );
    let summary = engine.shutdown().await.unwrap();
    events.await.unwrap();
    assert_eq!(summary.readings.produced, 1_000);
    assert_eq!(store.readings().len(), 1_000);
}

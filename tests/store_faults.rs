//! Store faults: a store that keeps failing fills a bounded buffer and then holds the producers
//! back (nothing dropped, memory bounded); SQLite locked by another connection and a PostgreSQL
//! server stopped and started again mid-run are retried until everything is stored.

#[path = "support/example_config.rs"]
mod example_config;
#[path = "support/faulty_store.rs"]
mod faulty_store;
#[path = "support/http.rs"]
mod http;
#[path = "support/pg_server.rs"]
mod pg_server;

use std::sync::Arc;
use std::time::Duration;

use example_config::on_memory_store;
use faulty_store::FaultyStore;
use tokio::sync::mpsc;
use wallwatch::config::Config;
use wallwatch::engine::collector::WRITE_QUEUE;
use wallwatch::engine::{Engine, Event, StartOptions, Summary};
use wallwatch::store::{self, ReadingFilter};
use wallwatch::units::Speed;

async fn collect(mut events: mpsc::Receiver<Event>) -> Vec<Event> {
    let mut all = Vec::new();
    while let Some(e) = events.recv().await {
        all.push(e);
    }
    all
}

fn assert_no_loss(summary: &Summary, readings: &[u64], reports: &[u64]) {
    assert_eq!(summary.readings.produced, summary.readings.stored);
    assert_eq!(summary.crew_reports.produced, summary.crew_reports.stored);
    assert_eq!(readings.len() as u64, summary.readings.stored);
    assert_eq!(reports.len() as u64, summary.crew_reports.stored);
    assert_eq!(
        readings,
        (1..=readings.len() as u64).collect::<Vec<_>>(),
        "reading ids without gap or duplicate"
    );
    assert_eq!(
        reports,
        (1..=reports.len() as u64).collect::<Vec<_>>(),
        "crew report ids without gap or duplicate"
    );
}

/// The failing status shows, then clears.
fn assert_failed_then_recovered(events: &[Event], what: &str) {
    let first_failure = events
        .iter()
        .position(|e| matches!(e, Event::Store { failing: Some(m), .. } if m.contains(what)))
        .unwrap_or_else(|| panic!("no failing store event mentioning '{what}'"));
    assert!(
        events[first_failure..]
            .iter()
            .any(|e| matches!(e, Event::Store { failing: None, .. })),
        "the failure never cleared"
    );
}

#[tokio::test(start_paused = true)]
async fn a_store_down_for_ten_minutes_holds_producers_back_and_loses_nothing() {
    let store = FaultyStore::failing_with("store unreachable");
    let mut c = on_memory_store();
    c.engine.sensors = 200;
    c.engine.sensor_kinds = vec!["thermometer".into()];
    c.engine.speed = Speed::Factor(1.0);
    c.engine.batch_size = 64;
    let limit = c.engine.network_limit as u64;
    let batch = c.engine.batch_size as u64;
    // Readings taken by sensors waiting for a permit, messages in the network, the collector's
    // open batch (one packet over) and the one it is handing on, the writer's queue and the batch
    // being retried. Without backpressure 200 sensors make 120,000 readings in ten minutes.
    let bound =
        c.engine.sensors as u64 * limit + limit + (WRITE_QUEUE as u64 + 3) * (batch + limit);
    let (engine, events) = Engine::start_with(
        &c.engine,
        StartOptions {
            store: Some(Box::new(store.clone())),
            ..StartOptions::default()
        },
    )
    .await
    .unwrap();
    let events = tokio::spawn(collect(events));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(engine.counters().readings_stored > 0);
    store.set_down(true);
    let mut produced_at = Vec::new();
    let mut max_pending = 0;
    for second in 0..600 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = engine.counters();
        let pending = n.readings_produced - n.readings_stored + n.crew_reports_produced
            - n.crew_reports_stored;
        assert!(
            pending <= bound,
            "{pending} rows pending after {second} s down (bound {bound})"
        );
        produced_at.push(n.readings_produced);
        max_pending = max_pending.max(pending);
    }
    // The buffer did fill (the writer's queue and the batch being retried are full), so the
    // bound was tested under pressure, not respected by an idle run.
    let full = (WRITE_QUEUE as u64 + 1) * batch;
    assert!(
        max_pending >= full,
        "max pending {max_pending}, full buffers {full}"
    );
    assert!(store.failed() > 10, "it kept retrying");
    assert_eq!(
        produced_at[300], produced_at[599],
        "producers wait while the buffer is full"
    );
    // Recovery: everything waiting is stored, and the flow resumes.
    store.set_down(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        engine.counters().readings_produced > produced_at[599],
        "producers resumed"
    );
    let summary = engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    let readings: Vec<u64> = store.readings().iter().map(|r| r.id).collect();
    let reports: Vec<u64> = store.crew_reports().iter().map(|r| r.id).collect();
    assert_no_loss(&summary, &readings, &reports);
    assert_failed_then_recovered(&events, "store unreachable");
}

/// A run of 40 sensors at speed 20 on real time, with `fault` done in the middle.
async fn run_through_fault(
    url: &str,
    fault: impl FnOnce() + Send + 'static,
) -> (Summary, Vec<Event>) {
    let mut c = Config::example();
    c.engine.store = url.parse().unwrap();
    c.engine.sensors = 40;
    c.engine.sensor_kinds = vec!["thermometer".into()];
    c.engine.speed = Speed::Factor(20.0);
    c.engine.batch_size = 200;
    let (engine, events) = Engine::start(&c.engine).await.unwrap();
    let events = tokio::spawn(collect(events));
    while engine.counters().readings_stored == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::task::spawn_blocking(fault).await.unwrap();
    // Let the retries succeed and the flow go on a little.
    let stored = engine.counters().readings_stored;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while engine.counters().readings_stored < stored + 200 {
        assert!(tokio::time::Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary = engine.shutdown().await.unwrap();
    (summary, events.await.unwrap())
}

fn stored_ids(url: &str) -> (Vec<u64>, Vec<u64>) {
    let mut s = store::open(url).unwrap();
    let r = s
        .readings(&ReadingFilter::default())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let c = s.crew_reports().unwrap().iter().map(|r| r.id).collect();
    s.close().unwrap();
    (r, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_connection_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let url = format!("sqlite:{}", path.display());
    let (summary, events) = run_through_fault(&url, move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        // Longer than the store's busy timeout: its writes fail and are retried.
        std::thread::sleep(store::SQLITE_BUSY_TIMEOUT * 3);
        conn.execute_batch("COMMIT").unwrap();
    })
    .await;
    let (readings, reports) = stored_ids(&url);
    assert_no_loss(&summary, &readings, &reports);
    assert_failed_then_recovered(&events, "locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_again_is_retried() {
    let Some(server) = pg_server::PgServer::start() else {
        return;
    };
    let server = Arc::new(server);
    let url = server.url();
    let s = server.clone();
    let (summary, events) = run_through_fault(&url, move || {
        s.stop();
        std::thread::sleep(Duration::from_secs(3));
        s.start_again();
    })
    .await;
    let (readings, reports) = stored_ids(&url);
    assert_no_loss(&summary, &readings, &reports);
    assert_failed_then_recovered(&events, "");
}

/// `/healthz` over real HTTP: 200 `ok` while writes succeed, 503 with the store's reason while
/// they fail (the engine retrying), 200 again once they succeed; nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_while_the_store_is_down_and_200_after() {
    let store = FaultyStore::failing_with("store unreachable");
    let mut c = on_memory_store();
    c.engine.speed = Speed::Factor(20.0);
    let s = http::serve(c, Some(Box::new(store.clone()))).await;
    let within = Duration::from_secs(60);
    http::wait_until(within, || async { s.engine.counters().readings_stored > 0 }).await;
    let ok = s.get("/healthz").await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "ok\n"));
    store.set_down(true);
    http::wait_until(within, || async { s.get("/healthz").await.status == 503 }).await;
    let down = s.get("/healthz").await;
    assert_eq!(
        (down.status, down.body.as_str()),
        (503, "store writes failing: store unreachable\n")
    );
    // Reads are answered between the write's retries.
    let page = s.get("/readings?limit=5").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("\"id\":1,"), "{}", page.body);
    let m = s.get("/metrics").await.body;
    assert!(
        !m.contains("wallwatch_store_write_failures_total 0\n"),
        "{m}"
    );
    store.set_down(false);
    http::wait_until(within, || async { s.get("/healthz").await.status == 200 }).await;
    let summary = s.stop().await;
    assert!(store.failed() > 0);
    assert_eq!(summary.readings.produced, summary.readings.stored);
    assert_eq!(summary.crew_reports.produced, summary.crew_reports.stored);
}

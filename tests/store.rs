//! Every store through the `Store` trait: batches in, counts and rows out, filters, reopening,
//! big batches, all-or-nothing appends and errors that name the URL.
//!
//! PostgreSQL tests use the server in `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts
//! one); without it they fail when `CI=true` and are skipped with a note otherwise.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, Counts, ReadingFilter, Store};
use wallwatch::wall::CrewReport;

#[path = "support/postgres.rs"]
mod postgres;
use postgres::{Schema, admin_value, postgres_url};

/// A timestamp with microseconds, `n` steps of 1.000123 s after a fixed start.
fn at(n: i64) -> DateTime<Utc> {
    let micros = 1_790_000_000_000_000 + n * 1_000_123;
    DateTime::from_timestamp_micros(micros).unwrap()
}

fn reading(id: u64, sensor: &str, value: i32) -> Reading {
    Reading {
        id,
        timestamp: at(id as i64),
        sensor: sensor.to_string(),
        value,
    }
}

fn worked(id: u64, day: u64, crew: u32, profile: u32, section: u32, height: u8) -> CrewReport {
    CrewReport {
        id,
        timestamp: at(id as i64 * 7),
        day,
        crew,
        profile: Some(profile),
        section: Some(section),
        height: Some(height),
    }
}

fn relieved(id: u64, day: u64, crew: u32) -> CrewReport {
    CrewReport {
        id,
        timestamp: at(id as i64 * 7),
        day,
        crew,
        profile: None,
        section: None,
        height: None,
    }
}

/// Sensor names that need care: a comma, a quote, a newline, non-ASCII.
const SENSORS: [&str; 4] = ["thermo-1", "strain,2", "say \"seis\"", "two\nlines é"];

/// Three batches: readings from several sensors, crew reports including relieved ones, and one
/// batch with readings only.
fn batches() -> Vec<Batch> {
    let mut id = 0;
    let mut readings = |n: usize| -> Vec<Reading> {
        (0..n)
            .map(|i| {
                id += 1;
                reading(
                    id,
                    SENSORS[(id as usize) % SENSORS.len()],
                    (i as i32 * 37) % 201 - 100,
                )
            })
            .collect()
    };
    vec![
        Batch {
            readings: readings(5),
            crew_reports: vec![worked(1, 1, 1, 1, 1, 22), worked(2, 1, 2, 2, 1, 18)],
        },
        Batch {
            readings: readings(7),
            crew_reports: vec![worked(3, 2, 1, 1, 1, 30), relieved(4, 2, 2)],
        },
        Batch {
            readings: readings(3),
            crew_reports: vec![],
        },
        Batch {
            readings: vec![],
            crew_reports: vec![relieved(5, 3, 1)],
        },
    ]
}

fn all_readings(batches: &[Batch]) -> Vec<Reading> {
    batches.iter().flat_map(|b| b.readings.clone()).collect()
}

fn all_crew(batches: &[Batch]) -> Vec<CrewReport> {
    batches
        .iter()
        .flat_map(|b| b.crew_reports.clone())
        .collect()
}

fn expected_counts(readings: &[Reading], crew: &[CrewReport]) -> Counts {
    Counts {
        readings: readings.len() as u64,
        crew_reports: crew.len() as u64,
        last_reading_id: readings.last().map_or(0, |r| r.id),
        last_crew_report_id: crew.last().map_or(0, |c| c.id),
    }
}

/// Filters with their expected ids, worked out by hand from `batches()` (ids 1..=15, sensor
/// `SENSORS[id % 4]`, timestamps increasing with the id).
fn filter_cases() -> Vec<(ReadingFilter, Vec<u64>)> {
    let sensor = |s: &str| Some(s.to_string());
    vec![
        (ReadingFilter::default(), (1..=15).collect()),
        (
            ReadingFilter {
                sensor: sensor("strain,2"),
                ..Default::default()
            },
            vec![1, 5, 9, 13],
        ),
        (
            ReadingFilter {
                sensor: sensor("two\nlines é"),
                ..Default::default()
            },
            vec![3, 7, 11, 15],
        ),
        (
            ReadingFilter {
                sensor: sensor("nobody"),
                ..Default::default()
            },
            vec![],
        ),
        (
            ReadingFilter {
                limit: Some(3),
                ..Default::default()
            },
            vec![13, 14, 15],
        ),
        (
            ReadingFilter {
                limit: Some(0),
                ..Default::default()
            },
            vec![],
        ),
        (
            ReadingFilter {
                limit: Some(100),
                ..Default::default()
            },
            (1..=15).collect(),
        ),
        (
            ReadingFilter {
                sensor: sensor("thermo-1"),
                limit: Some(2),
                ..Default::default()
            },
            vec![8, 12],
        ),
        (
            ReadingFilter {
                since: Some(at(13)),
                ..Default::default()
            },
            vec![13, 14, 15],
        ),
        (
            ReadingFilter {
                until: Some(at(2)),
                ..Default::default()
            },
            vec![1, 2],
        ),
        // a bound between two readings, with nanoseconds a store cannot hold
        (
            ReadingFilter {
                since: Some(at(4) + chrono::Duration::nanoseconds(1)),
                until: Some(at(7) - chrono::Duration::nanoseconds(1)),
                ..Default::default()
            },
            vec![5, 6],
        ),
        (
            ReadingFilter {
                sensor: sensor("say \"seis\""),
                since: Some(at(3)),
                until: Some(at(11)),
                limit: Some(2),
            },
            vec![6, 10],
        ),
    ]
}

/// Appends `batches()` to an empty store and checks counts, rows and filters.
fn fill_and_check(store: &mut dyn Store) -> Vec<Batch> {
    assert_eq!(
        store.counts().unwrap(),
        Counts::default(),
        "{}: not empty",
        store.url()
    );
    let batches = batches();
    let mut readings = Vec::new();
    let mut crew = Vec::new();
    for batch in &batches {
        store.append(batch).unwrap();
        readings.extend(batch.readings.iter().cloned());
        crew.extend(batch.crew_reports.iter().cloned());
        assert_eq!(store.counts().unwrap(), expected_counts(&readings, &crew));
    }
    store.append(&Batch::default()).unwrap();
    check_contents(store, &batches);
    batches
}

fn check_contents(store: &mut dyn Store, batches: &[Batch]) {
    let readings = all_readings(batches);
    let crew = all_crew(batches);
    assert_eq!(store.counts().unwrap(), expected_counts(&readings, &crew));
    assert_eq!(store.readings(&ReadingFilter::default()).unwrap(), readings);
    assert_eq!(store.crew_reports().unwrap(), crew);
    let exactly_the_sample = readings == all_readings(&self::batches());
    for (filter, ids) in filter_cases() {
        let got: Vec<u64> = store
            .readings(&filter)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        // the in-memory reference filter agrees …
        let reference: Vec<u64> = filter
            .apply(readings.iter().cloned())
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(got, reference, "{}: {filter:?}", store.url());
        // … and so does the hand-worked answer, while the store holds just the sample
        if exactly_the_sample {
            assert_eq!(got, ids, "{}: {filter:?}", store.url());
        }
    }
}

/// A batch whose crew report repeats a stored id: it must fail and leave nothing behind.
fn check_all_or_nothing(store: &mut dyn Store) {
    let before = store.counts().unwrap();
    let bad = Batch {
        readings: vec![reading(before.last_reading_id + 1, "thermo-1", 1)],
        crew_reports: vec![relieved(before.last_crew_report_id, 9, 1)],
    };
    let err = store.append(&bad).unwrap_err();
    assert!(err.to_string().contains(store.url()), "{err}");
    assert_eq!(
        store.counts().unwrap(),
        before,
        "{}: half a batch stored",
        store.url()
    );
    // the same ids then go in fine
    let good = Batch {
        readings: bad.readings.clone(),
        crew_reports: vec![relieved(before.last_crew_report_id + 1, 9, 1)],
    };
    store.append(&good).unwrap();
    let after = store.counts().unwrap();
    assert_eq!(after.readings, before.readings + 1);
    assert_eq!(after.last_crew_report_id, before.last_crew_report_id + 1);
    assert_eq!(
        store
            .readings(&ReadingFilter {
                limit: Some(1),
                ..Default::default()
            })
            .unwrap(),
        good.readings
    );
}

fn big_batch(store: &mut dyn Store) {
    let start = store.counts().unwrap().last_reading_id;
    let readings: Vec<Reading> = (1..=10_000u64)
        .map(|i| {
            reading(
                start + i,
                &format!("s-{}", i % 1000),
                (i % 201) as i32 - 100,
            )
        })
        .collect();
    store
        .append(&Batch {
            readings: readings.clone(),
            crew_reports: vec![],
        })
        .unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(counts.readings, 10_000);
    assert_eq!(counts.last_reading_id, start + 10_000);
    assert_eq!(store.readings(&ReadingFilter::default()).unwrap(), readings);
    let one: Vec<u64> = store
        .readings(&ReadingFilter {
            sensor: Some("s-7".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        one,
        (0..10).map(|k| start + 7 + k * 1000).collect::<Vec<_>>()
    );
}

/// Reopens a store holding `batches()` and checks everything is there and ids continue.
fn check_reopen(url: &str, batches: &[Batch]) {
    let mut store = store::open(url).unwrap();
    check_contents(store.as_mut(), batches);
    let counts = store.counts().unwrap();
    let next = Batch {
        readings: vec![reading(counts.last_reading_id + 1, "thermo-1", 100)],
        crew_reports: vec![relieved(counts.last_crew_report_id + 1, 4, 1)],
    };
    store.append(&next).unwrap();
    store.close().unwrap();
    let mut store = store::open(url).unwrap();
    let mut all = batches.to_vec();
    all.push(next);
    check_contents(store.as_mut(), &all);
    store.close().unwrap();
}

/// The error opening `url`, which must fail.
fn open_err(url: &str) -> String {
    match store::open(url) {
        Ok(s) => panic!("{url}: opened as {}", s.url()),
        Err(e) => e.to_string(),
    }
}

fn open_existing_err(url: &str) -> String {
    match store::open_existing(url) {
        Ok(s) => panic!("{url}: opened as {}", s.url()),
        Err(e) => e.to_string(),
    }
}

fn temp_url(dir: &Path, scheme: &str, file: &str) -> String {
    format!("{scheme}:{}", dir.join(file).display())
}

#[test]
fn memory_store() {
    let mut store = store::open("memory:").unwrap();
    assert_eq!(store.url(), "memory:");
    fill_and_check(store.as_mut());
    store.close().unwrap();
    let mut store = store::open("memory:").unwrap();
    big_batch(store.as_mut());
}

#[test]
fn csv_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = temp_url(dir.path(), "csv", "run.csv");
    let mut store = store::open(&url).unwrap();
    assert_eq!(store.url(), url);
    let batches = fill_and_check(store.as_mut());
    store.close().unwrap();
    check_reopen(&url, &batches);

    let readings = std::fs::read_to_string(dir.path().join("run.csv")).unwrap();
    let crew = std::fs::read_to_string(dir.path().join("run.crew_reports.csv")).unwrap();
    let lines: Vec<&str> = readings.lines().collect();
    assert_eq!(lines[0], "id,timestamp,sensor,value");
    assert_eq!(
        readings.matches("id,timestamp").count(),
        1,
        "header written once"
    );
    assert_eq!(
        lines[1],
        format!("1,{},\"strain,2\",-100", store::format_timestamp(&at(1)))
    );
    assert_eq!(
        lines[3],
        format!("3,{},\"two", store::format_timestamp(&at(3)))
    );
    assert!(readings.contains(",\"say \"\"seis\"\"\","), "{readings}");
    let crew_lines: Vec<&str> = crew.lines().collect();
    assert_eq!(
        crew_lines[0],
        "id,timestamp,day,crew,profile,section,height"
    );
    assert_eq!(
        crew_lines[1],
        format!("1,{},1,1,1,1,22", store::format_timestamp(&at(7)))
    );
    assert_eq!(
        crew_lines[4],
        format!("4,{},2,2,,,", store::format_timestamp(&at(28)))
    );
    assert!(store::format_timestamp(&at(1)).ends_with('Z'));

    let mut store = store::open(&url).unwrap();
    check_all_or_nothing(store.as_mut());
    store.close().unwrap();

    let big = temp_url(dir.path(), "csv", "big.csv");
    let mut store = store::open(&big).unwrap();
    big_batch(store.as_mut());
}

#[test]
fn csv_store_rejects_foreign_and_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.csv");
    std::fs::write(&foreign, "a,b,c\n1,2,3\n").unwrap();
    let url = format!("csv:{}", foreign.display());
    let err = open_err(&url);
    assert!(
        err.starts_with(&format!("store '{url}': ")) && err.contains("header"),
        "{err}"
    );

    let cut = dir.path().join("cut.csv");
    std::fs::write(
        &cut,
        "id,timestamp,sensor,value\n1,2026-01-01T00:00:00.000000Z,a,",
    )
    .unwrap();
    let url = format!("csv:{}", cut.display());
    let err = open_err(&url);
    assert!(err.contains(&url) && err.contains("incomplete"), "{err}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,timestamp,sensor,value\n1,2026-01-01T00:00:00.000000Z,a,7\nx,y,z,w\n",
    )
    .unwrap();
    let url = format!("csv:{}", bad.display());
    let err = open_err(&url);
    assert!(err.contains(&format!("{}:3:", bad.display())), "{err}");
    assert!(!err.contains('\n'));
}

fn sqlite_pragma(path: &Path, pragma: &str) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("PRAGMA {pragma}"), [], |r| {
        r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        })
    })
    .unwrap()
}

#[test]
fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let url = format!("sqlite:{}", path.display());
    let mut store = store::open(&url).unwrap();
    assert_eq!(store.url(), url);
    let batches = fill_and_check(store.as_mut());
    check_all_or_nothing(store.as_mut());
    store.close().unwrap();
    assert!(store.counts().unwrap_err().to_string().contains("closed"));

    assert_eq!(sqlite_pragma(&path, "journal_mode"), "wal");
    assert_eq!(sqlite_pragma(&path, "user_version"), "1");
    assert_eq!(sqlite_pragma(&path, "integrity_check"), "ok");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let text: String = conn
        .query_row("SELECT timestamp FROM readings WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(text, store::format_timestamp(&at(1)));
    let uses_index: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM readings WHERE sensor = 'x' ORDER BY id",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(uses_index.contains("readings_sensor_id"), "{uses_index}");
    let nulls: (Option<i64>, Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT profile, section, height FROM crew_reports WHERE id = 4",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(nulls, (None, None, None));
    drop(conn);

    // the all-or-nothing check added one reading and one crew report
    let mut with_extra = batches.clone();
    with_extra.push(Batch {
        readings: vec![reading(16, "thermo-1", 1)],
        crew_reports: vec![relieved(6, 9, 1)],
    });
    check_reopen(&url, &with_extra);

    let big = temp_url(dir.path(), "sqlite", "big.db");
    let mut store = store::open(&big).unwrap();
    big_batch(store.as_mut());
}

#[test]
fn sqlite_store_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();

    let newer = dir.path().join("newer.db");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let url = format!("sqlite:{}", newer.display());
    let err = open_err(&url);
    assert!(
        err.starts_with(&format!("store '{url}': ")) && err.contains("version 99"),
        "{err}"
    );

    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "these are not the rows you are looking for\n".repeat(100),
    )
    .unwrap();
    let url = format!("sqlite:{}", text.display());
    let err = open_err(&url);
    assert!(
        err.starts_with(&format!("store '{url}': ")) && err.contains("not a database"),
        "{err}"
    );

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE readings (x TEXT)")
        .unwrap();
    let url = format!("sqlite:{}", foreign.display());
    let err = open_err(&url);
    assert!(
        err.contains(&url) && err.contains("not a wallwatch database"),
        "{err}"
    );

    let url = format!("sqlite:{}", dir.path().join("no/such/dir/run.db").display());
    let err = open_err(&url);
    assert!(err.starts_with(&format!("store '{url}': ")), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn bad_urls_are_named() {
    for url in [
        "",
        "nope",
        "nope:x",
        "memory:x",
        "csv:",
        "sqlite:",
        "mysql://u@h/db",
    ] {
        let err = open_err(url);
        assert!(
            err.starts_with(&format!("store '{url}': unknown store URL")),
            "{url}: {err}"
        );
    }
    let err = open_err("postgres://u:pw@127.0.0.1:notaport/db");
    assert!(
        err.starts_with("store 'postgres://u:***@127.0.0.1:notaport/db': "),
        "{err}"
    );
    assert!(!err.contains("pw@"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite:{}", dir.path().join("missing.db").display());
    let err = open_existing_err(&missing);
    assert!(err.starts_with(&format!("store '{missing}': ")), "{err}");
    assert!(
        !dir.path().join("missing.db").exists(),
        "open_existing created the file"
    );
}

#[test]
fn unreachable_postgres_fails_quickly_naming_the_url() {
    let start = Instant::now();
    let err = open_err("postgres://wallwatch:hunter2@127.0.0.1:1/db");
    assert!(
        err.starts_with("store 'postgres://wallwatch:***@127.0.0.1:1/db': "),
        "{err}"
    );
    assert!(err.contains("connect"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains('\n'), "{err}");
    // a generous bound: the point is that it does not hang
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn redacts_passwords() {
    assert_eq!(
        store::redact_url("postgres://a:b@h:5/d"),
        "postgres://a:***@h:5/d"
    );
    assert_eq!(
        store::redact_url("postgresql://a@h/d"),
        "postgresql://a@h/d"
    );
    assert_eq!(
        store::redact_url("postgres://h/d?user=a&password=b&x=1"),
        "postgres://h/d?user=a&password=***&x=1"
    );
    assert_eq!(store::redact_url("sqlite:a:b@c.db"), "sqlite:a:b@c.db");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

#[test]
fn postgres_store() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "main");
    let mut store = store::open(&schema.url).unwrap();
    assert_eq!(store.url(), store::redact_url(&schema.url));
    let batches = fill_and_check(store.as_mut());
    check_all_or_nothing(store.as_mut());
    store.close().unwrap();
    let mut with_extra = batches.clone();
    with_extra.push(Batch {
        readings: vec![reading(16, "thermo-1", 1)],
        crew_reports: vec![relieved(6, 9, 1)],
    });
    check_reopen(&schema.url, &with_extra);
}

#[test]
fn postgres_big_batch() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "big");
    let mut store = store::open(&schema.url).unwrap();
    big_batch(store.as_mut());
    store.close().unwrap();
}

/// The store is usable from inside an async runtime too (it never nests runtimes).
#[tokio::test]
async fn postgres_store_inside_a_runtime() {
    let Some(base) = postgres_url() else { return };
    // the test's own helper blocks, so it runs off the async workers
    let schema = tokio::task::spawn_blocking(move || Schema::new(&base, "rt"))
        .await
        .unwrap();
    let mut store = store::open(&schema.url).unwrap();
    store.append(&batches()[0]).unwrap();
    assert_eq!(store.counts().unwrap().readings, 5);
    store.close().unwrap();
    tokio::task::spawn_blocking(move || drop(schema))
        .await
        .unwrap();
}

/// A dropped connection costs one failed call at most; the store reconnects and the retried
/// batch lands once.
#[test]
fn postgres_store_reconnects() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "reconnect");
    let app = schema.name.clone();
    let url = format!("{}&application_name={app}", schema.url);
    let mut store = store::open(&url).unwrap();
    let batches = batches();
    store.append(&batches[0]).unwrap();
    let terminated = admin_value(
        &base,
        &format!(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{app}'"
        ),
    );
    assert_eq!(terminated, "1", "the store's connection was not found");
    let mut failures = 0;
    while let Err(e) = store.append(&batches[1]) {
        assert!(e.to_string().starts_with("store 'postgres://"), "{e}");
        failures += 1;
        assert!(failures < 3, "still failing: {e}");
    }
    let expected: Vec<Batch> = batches[..2].to_vec();
    check_contents(store.as_mut(), &expected);
    store.close().unwrap();
}

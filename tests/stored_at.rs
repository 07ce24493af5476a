//! Each reading keeps the wall-clock time it was stored beside its simulated timestamp: stores
//! made before that column are opened as they are (SQLite schema 5 is migrated to 6, a
//! PostgreSQL table gains the column, a CSV file keeps its own layout); their old readings have
//! no `stored_at`, the new ones have it; and a run's readings carry it to the export.

#[path = "support/postgres.rs"]
mod postgres;

use chrono::{DateTime, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, ReadingFilter, Store};

fn at(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_790_000_000_000_000 + n * 1_000_001).unwrap()
}

fn reading(id: u64, stored_at: Option<DateTime<Utc>>) -> Reading {
    Reading {
        id,
        timestamp: at(id as i64),
        sensor: "thermo-1".into(),
        value: id as i32,
        stored_at,
    }
}

fn all(s: &mut dyn Store) -> Vec<Reading> {
    s.readings_after(&ReadingFilter::default(), 0, 100).unwrap()
}

/// Opens `url` (a store of the older layout holding reading 1), appends reading 2 with its
/// stored time, and checks what comes back, and again after reopening.
fn old_and_new_readings(url: &str) {
    let mut s = store::open(url).unwrap();
    let new = reading(2, Some(at(1_000)));
    s.append(&Batch {
        readings: vec![new.clone()],
        crew_reports: vec![],
    })
    .unwrap();
    assert_eq!(all(s.as_mut()), [reading(1, None), new.clone()], "{url}");
    s.close().unwrap();
    let mut s = store::open_existing(url).unwrap();
    assert_eq!(all(s.as_mut()), [reading(1, None), new], "{url} reopened");
    s.close().unwrap();
}

/// The SQLite schema of version 5, before `stored_at`, with one reading.
const SQLITE_V5: &str = "
CREATE TABLE readings (id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, sensor TEXT NOT NULL,
    value INTEGER NOT NULL, agent TEXT, seq INTEGER);
CREATE INDEX readings_sensor_id ON readings (sensor, id);
CREATE UNIQUE INDEX readings_agent_seq ON readings (agent, seq) WHERE agent IS NOT NULL;
CREATE TABLE crew_reports (id INTEGER PRIMARY KEY, timestamp TEXT, day INTEGER, crew INTEGER,
    profile INTEGER, section INTEGER, height INTEGER);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX crew_reports_section ON crew_reports (profile, section, id, height);
CREATE INDEX crew_reports_day ON crew_reports (day);
CREATE TABLE site_changes (id INTEGER PRIMARY KEY, at TEXT NOT NULL, origin TEXT NOT NULL,
    change TEXT NOT NULL);
CREATE TABLE past_crew_reports (run INTEGER NOT NULL, id INTEGER NOT NULL, timestamp TEXT,
    day INTEGER, crew INTEGER, profile INTEGER, section INTEGER, height INTEGER,
    PRIMARY KEY (run, id));
PRAGMA user_version = 5;
";

#[test]
fn a_sqlite_file_of_schema_5_is_migrated_and_keeps_its_readings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(SQLITE_V5).unwrap();
    conn.execute(
        "INSERT INTO readings (id, timestamp, sensor, value) VALUES (1, ?1, 'thermo-1', 1)",
        [store::format_timestamp(&at(1))],
    )
    .unwrap();
    drop(conn);
    old_and_new_readings(&format!("sqlite:{}", path.display()));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 6);
    let stored: Option<String> = conn
        .query_row("SELECT stored_at FROM readings WHERE id = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, Some(store::format_timestamp(&at(1_000))));
}

#[test]
fn a_csv_file_begun_before_stored_at_keeps_its_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.csv");
    let ts = store::format_timestamp(&at(1));
    std::fs::write(
        &path,
        format!("id,timestamp,sensor,value\n1,{ts},thermo-1,1\n"),
    )
    .unwrap();
    let url = format!("csv:{}", path.display());
    let mut s = store::open(&url).unwrap();
    s.append(&Batch {
        readings: vec![reading(2, Some(at(1_000)))],
        crew_reports: vec![],
    })
    .unwrap();
    // Its own layout: four fields, so the time stored is not kept there.
    assert_eq!(all(s.as_mut()), [reading(1, None), reading(2, None)]);
    s.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!(
            "id,timestamp,sensor,value\n1,{ts},thermo-1,1\n2,{},thermo-1,2\n",
            store::format_timestamp(&at(2))
        )
    );
    // A new file has the column.
    let new = dir.path().join("new.csv");
    let mut s = store::open(&format!("csv:{}", new.display())).unwrap();
    s.append(&Batch {
        readings: vec![reading(1, Some(at(7)))],
        crew_reports: vec![],
    })
    .unwrap();
    s.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(&new).unwrap(),
        format!(
            "id,timestamp,sensor,value,stored_at\n1,{ts},thermo-1,1,{}\n",
            store::format_timestamp(&at(7))
        )
    );
}

#[test]
fn a_postgres_table_from_before_stored_at_gains_the_column() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "stored_at");
    postgres::admin(
        &schema.url,
        &format!(
            "CREATE TABLE readings (id BIGINT PRIMARY KEY, timestamp TIMESTAMPTZ NOT NULL, \
             sensor TEXT NOT NULL, value INTEGER NOT NULL); \
             INSERT INTO readings VALUES (1, '{}', 'thermo-1', 1);",
            store::format_timestamp(&at(1))
        ),
    );
    old_and_new_readings(&schema.url);
}

/// A run's readings reach the store with the wall-clock time they were written, while their
/// timestamps are simulated time: at speed 1000 they run far ahead of the clock.
#[test]
fn a_run_stores_each_reading_with_the_time_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("run.db");
    let before = Utc::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wallwatch"))
        .args(["run", "--headless", "--speed", "1000", "--duration", "1s"])
        .arg("--store")
        .arg(format!("sqlite:{}", db.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = Utc::now();
    let mut s = store::open_existing(&format!("sqlite:{}", db.display())).unwrap();
    let readings = all(s.as_mut());
    assert!(!readings.is_empty());
    for r in &readings {
        let stored = r.stored_at.unwrap_or_else(|| panic!("no stored_at: {r:?}"));
        assert!(before <= stored && stored <= after, "{r:?}");
    }
    let last = readings.last().unwrap();
    assert!(
        last.timestamp - last.stored_at.unwrap() > chrono::TimeDelta::seconds(60),
        "simulated time runs ahead at speed 1000: {last:?}"
    );
    s.close().unwrap();
}

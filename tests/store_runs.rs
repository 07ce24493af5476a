//! Every store keeps the runs before the running one (a loaded wall starts a new run): on
//! `start_run` the crew reports held move to the past run, kept, counted and named by their
//! wall; the store then holds the new run's only, and says which run it is. Starting a run
//! again (a restart finishing a start that a crash cut short) moves nothing twice. Readings and
//! site changes are not touched; `clear` removes the past runs too. A version-4 SQLite file
//! gains the table.
//!
//! PostgreSQL tests use the server in `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts
//! one), else one the test process starts for itself (see `support/postgres.rs`).

use chrono::{DateTime, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, PastRun, Store};
use wallwatch::wall::CrewReport;

#[path = "support/postgres.rs"]
mod postgres;
use postgres::{Schema, postgres_url};

fn at(n: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_790_000_000_000_000 + n as i64 * 1_000_000).unwrap()
}

/// Readings `ids` and crew reports `ids` (one per day, raising section 1 of profile 1).
fn batch(ids: std::ops::RangeInclusive<u64>) -> Batch {
    Batch {
        readings: ids
            .clone()
            .map(|id| Reading {
                id,
                timestamp: at(id),
                sensor: "sensor-1".into(),
                value: 3,
                stored_at: None,
            })
            .collect(),
        crew_reports: ids
            .map(|id| CrewReport {
                id,
                timestamp: at(id),
                day: id,
                crew: 1,
                profile: Some(1),
                section: Some(1),
                height: Some(id as u8),
            })
            .collect(),
    }
}

fn past(run: u32, hash: &str, crew_reports: u64) -> PastRun {
    PastRun {
        run,
        wall_hash: Some(hash.into()),
        crew_reports,
    }
}

/// The whole life of a store's runs; `reopen` gives the same store opened again (or the same
/// one, for `memory:`).
fn check(mut s: Box<dyn Store>, reopen: impl Fn(Box<dyn Store>) -> Box<dyn Store>) {
    s.meta_set(store::WALL_HASH_KEY, "aaaa").unwrap();
    assert_eq!(s.run().unwrap(), 1);
    s.append(&batch(1..=3)).unwrap();
    s.append_change(at(1), "cli", "{}").unwrap();
    s.start_run(2, "bbbb").unwrap();
    let mut s = reopen(s);
    assert_eq!(s.run().unwrap(), 2);
    assert_eq!(
        s.meta_get(store::WALL_HASH_KEY).unwrap().as_deref(),
        Some("bbbb")
    );
    assert_eq!(s.past_runs().unwrap(), [past(1, "aaaa", 3)]);
    let counts = s.counts().unwrap();
    assert_eq!(
        (counts.readings, counts.crew_reports),
        (3, 0),
        "readings stay"
    );
    assert_eq!(s.crew_reports().unwrap(), []);
    assert_eq!(s.changes().unwrap().len(), 1, "site changes stay");
    // The same start again (a restart after a crash): nothing moves.
    s.start_run(2, "bbbb").unwrap();
    s.start_run(1, "aaaa").unwrap();
    assert_eq!(s.past_runs().unwrap(), [past(1, "aaaa", 3)]);

    // The new run's reports, then a start cut short after its reports moved: done again, the
    // count and wall are the past run's.
    s.append(&batch(4..=5)).unwrap();
    assert_eq!(s.latest_crew_reports().unwrap().last_day, 5);
    assert_eq!(s.archive_crew_reports(2).unwrap(), 2);
    let mut s = reopen(s);
    assert_eq!(s.crew_reports().unwrap(), []);
    s.start_run(3, "cccc").unwrap();
    assert_eq!(
        s.past_runs().unwrap(),
        [past(1, "aaaa", 3), past(2, "bbbb", 2)]
    );
    assert_eq!(s.run().unwrap(), 3);

    s.clear().unwrap();
    let mut s = reopen(s);
    assert_eq!(s.run().unwrap(), 1);
    assert_eq!(s.past_runs().unwrap(), []);
    // Nothing of the past runs is left to be moved into a later one.
    s.append(&batch(1..=1)).unwrap();
    assert_eq!(s.archive_crew_reports(1).unwrap(), 1);
    s.close().unwrap();
}

#[test]
fn memory_store_keeps_past_runs() {
    check(store::open("memory:").unwrap(), |s| s);
}

#[test]
fn sqlite_store_keeps_past_runs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("runs.db").display());
    check(store::open(&url).unwrap(), |mut s| {
        s.close().unwrap();
        store::open(&url).unwrap()
    });
}

#[test]
fn csv_store_keeps_past_runs_in_files_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.csv");
    let url = format!("csv:{}", path.display());
    let mut s = store::open(&url).unwrap();
    s.append(&batch(1..=2)).unwrap();
    s.start_run(2, "bbbb").unwrap();
    let kept = std::fs::read_to_string(dir.path().join("runs.run-1.crew_reports.csv")).unwrap();
    assert_eq!(kept.lines().count(), 3, "{kept}");
    assert!(kept.starts_with("id,timestamp,day,crew,profile,section,height\n"));
    s.close().unwrap();
    check(
        store::open(&format!("csv:{}", dir.path().join("b.csv").display())).unwrap(),
        |mut s| {
            s.close().unwrap();
            store::open(&format!("csv:{}", dir.path().join("b.csv").display())).unwrap()
        },
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("b.run-"))
        .collect();
    assert_eq!(
        left,
        ["b.run-1.crew_reports.csv"],
        "clear removed runs 1 and 2, then one more was kept"
    );
}

#[test]
fn postgres_store_keeps_past_runs() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "runs");
    let url = schema.url.clone();
    check(store::open(&url).unwrap(), |mut s| {
        s.close().unwrap();
        store::open(&url).unwrap()
    });
}

#[test]
fn sqlite_version_4_file_gains_past_crew_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    let url = format!("sqlite:{}", path.display());
    let mut s = store::open(&url).unwrap();
    s.append(&batch(1..=2)).unwrap();
    s.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE past_crew_reports; PRAGMA user_version = 4;")
        .unwrap();
    drop(conn);
    let mut s = store::open(&url).unwrap();
    s.start_run(2, "bbbb").unwrap();
    assert_eq!(s.past_runs().unwrap()[0].crew_reports, 2);
    s.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 6);
}

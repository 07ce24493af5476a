//! Every store keeps a running site's accepted changes (`append_change`, `changes`): in order,
//! with ids 1, 2, … given by the store, their text exactly as written, durable once appended (a
//! process that never closes its store loses none), continued after reopening, removed by
//! `clear`. A version-3 SQLite file, and a PostgreSQL schema from before the table, gain it when
//! opened and keep the run they hold.
//!
//! PostgreSQL tests use the server in `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts
//! one), else one the test process starts for itself (see `support/postgres.rs`).

use std::path::Path;

use chrono::{DateTime, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, ReadingFilter, SiteChange, Store, WALL_HASH_KEY};

#[path = "support/old_schema.rs"]
mod old_schema;
#[path = "support/postgres.rs"]
mod postgres;
use old_schema::EarlierRun;
use postgres::{Schema, postgres_url};

/// A timestamp with microseconds, `n` steps of 1.000123 s after a fixed start.
fn at(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_790_000_000_000_000 + n * 1_000_123).unwrap()
}

/// Three changes whose text needs quoting and escaping in every store: commas, quotes, line
/// ends, non-ASCII and control characters (no NUL: PostgreSQL text cannot hold one).
fn awkward() -> Vec<(DateTime<Utc>, &'static str, &'static str)> {
    vec![
        (
            at(1),
            "key (viewer 2, uid 1000)",
            r#"{"add_crews":{"count":2,"note":"a, \"quoted\", thing"}}"#,
        ),
        (
            at(2),
            "cli (uid 1000)",
            "{\"pause\":null}\nsecond line\r\nthird, \"\" line,",
        ),
        (
            at(3),
            "http 127.0.0.1:53412",
            "\"Ünïcødé — 東京 ✓\u{1}\u{7}\u{1b}[2J\ttab\"",
        ),
    ]
}

fn expected(from_id: u64, changes: &[(DateTime<Utc>, &str, &str)]) -> Vec<SiteChange> {
    changes
        .iter()
        .zip(from_id..)
        .map(|(&(at, origin, change), id)| SiteChange {
            id,
            at,
            origin: origin.to_string(),
            change: change.to_string(),
        })
        .collect()
}

fn append_all(store: &mut dyn Store, changes: &[(DateTime<Utc>, &str, &str)]) -> Vec<u64> {
    changes
        .iter()
        .map(|&(at, origin, change)| store.append_change(at, origin, change).unwrap())
        .collect()
}

fn one_reading(id: u64) -> Batch {
    Batch {
        readings: vec![Reading {
            id,
            timestamp: at(id as i64),
            sensor: "thermo-1".into(),
            value: 7,
            stored_at: None,
        }],
        crew_reports: vec![],
    }
}

/// The whole life of a persistent store's changes, opened by `url` each time.
fn check_persistent(url: &str) {
    let mut s = store::open(url).unwrap();
    assert_eq!(s.changes().unwrap(), [], "{url}: a new store has none");
    s.append(&one_reading(1)).unwrap();
    assert_eq!(append_all(s.as_mut(), &awkward()), [1, 2, 3], "{url}");
    s.append(&one_reading(2)).unwrap();
    let three = expected(1, &awkward());
    assert_eq!(s.changes().unwrap(), three, "{url}");

    // Durable once appended: another opening sees them while this one is still open, and a
    // store never closed nor dropped (as in a killed process) loses none.
    let mut other = store::open(url).unwrap();
    assert_eq!(
        other.changes().unwrap(),
        three,
        "{url}: seen by another opening"
    );
    other.close().unwrap();
    drop(other);
    std::mem::forget(s);

    let mut s = store::open(url).unwrap();
    assert_eq!(s.changes().unwrap(), three, "{url}: after reopening");
    // Ids go on after reopening; times are kept to the microsecond (finer parts cut off).
    let fine = at(4) + chrono::Duration::nanoseconds(789);
    assert_eq!(s.append_change(fine, "cli (uid 0)", "{}").unwrap(), 4);
    let mut four = three.clone();
    four.extend(expected(4, &[(at(4), "cli (uid 0)", "{}")]));
    assert_eq!(s.changes().unwrap(), four, "{url}");
    assert_eq!(s.counts().unwrap().readings, 2, "{url}: readings untouched");
    s.close().unwrap();
    drop(s);

    let mut s = store::open(url).unwrap();
    assert_eq!(s.changes().unwrap(), four, "{url}: after reopening again");
    s.clear().unwrap();
    assert_eq!(s.changes().unwrap(), [], "{url}: clear removes them");
    s.close().unwrap();
    drop(s);

    let mut s = store::open(url).unwrap();
    assert_eq!(s.changes().unwrap(), [], "{url}: cleared for good");
    assert_eq!(s.append_change(at(9), "cli (uid 1)", "[]").unwrap(), 1);
    assert_eq!(
        s.changes().unwrap(),
        expected(1, &[(at(9), "cli (uid 1)", "[]")]),
        "{url}: ids start again at 1 after clear, as the readings' do"
    );
    s.close().unwrap();
}

#[test]
fn memory_store_keeps_changes() {
    let mut s = store::open("memory:").unwrap();
    assert_eq!(s.changes().unwrap(), []);
    assert_eq!(append_all(s.as_mut(), &awkward()), [1, 2, 3]);
    assert_eq!(s.changes().unwrap(), expected(1, &awkward()));
    assert_eq!(s.append_change(at(4), "cli (uid 0)", "{}").unwrap(), 4);
    assert_eq!(s.changes().unwrap().len(), 4);
    s.clear().unwrap();
    assert_eq!(s.changes().unwrap(), []);
    assert_eq!(s.append_change(at(5), "cli (uid 0)", "{}").unwrap(), 1);
}

#[test]
fn csv_store_keeps_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.csv");
    let url = format!("csv:{}", path.display());
    check_persistent(&url);
}

/// `run.csv` → `run.changes.csv`, made when the first change is appended, with its header,
/// one record per change, quoted as the other files are.
#[test]
fn csv_store_writes_changes_beside_the_readings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.csv");
    let changes = dir.path().join("run.changes.csv");
    assert_eq!(store::changes_path(&path), changes);
    assert_eq!(
        store::changes_path(Path::new("run")),
        Path::new("run.changes.csv")
    );
    let url = format!("csv:{}", path.display());
    let mut s = store::open(&url).unwrap();
    s.append(&one_reading(1)).unwrap();
    assert!(!changes.exists(), "no file before the first change");
    let t = store::format_timestamp(&at(1));
    s.append_change(at(1), "key (viewer 2, uid 1000)", r#"{"a":"b, c"}"#)
        .unwrap();
    s.append_change(at(1), "cli", "plain").unwrap();
    let text = std::fs::read_to_string(&changes).unwrap();
    assert_eq!(
        text,
        format!(
            "id,at,origin,change\n1,{t},\"key (viewer 2, uid 1000)\",\"{{\"\"a\"\":\"\"b, c\"\"}}\"\n\
             2,{t},cli,plain\n"
        )
    );
    s.clear().unwrap();
    assert!(!changes.exists(), "clear removes the file");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "id,timestamp,sensor,value,stored_at\n"
    );
}

#[test]
fn sqlite_store_keeps_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    check_persistent(&format!("sqlite:{}", path.display()));
    // Read back through a store opened for reading only, too.
    let url = format!("sqlite:{}", path.display());
    let mut s = store::open_existing(&url).unwrap();
    assert_eq!(s.changes().unwrap().len(), 1);
}

#[test]
fn postgres_store_keeps_changes() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "changes");
    check_persistent(&schema.url);
}

fn sqlite_value(path: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(sql, [], |r| {
        r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        })
    })
    .unwrap()
}

/// The earlier run is there as it was written: readings (the agent's seq too), crew reports and
/// the wall's fingerprint.
fn check_earlier_run_kept(s: &mut dyn Store, run: &EarlierRun) {
    let url = s.url().to_string();
    assert_eq!(
        s.readings(&ReadingFilter::default()).unwrap(),
        run.readings,
        "{url}: readings kept"
    );
    assert_eq!(s.crew_reports().unwrap(), run.crew_reports, "{url}");
    assert_eq!(
        s.meta_get(WALL_HASH_KEY).unwrap(),
        Some(old_schema::wall().fingerprint()),
        "{url}"
    );
    let (_, agent, seq) = run.remote;
    let marks = s.agent_marks().unwrap();
    assert!(marks.get(agent).is_some_and(|r| r.contains(seq)), "{url}");
}

#[test]
fn sqlite_version_3_file_gains_site_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let run = EarlierRun::new();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!("{}{}", old_schema::SQLITE_3, run.sql()))
        .unwrap();
    let url = format!("sqlite:{}", path.display());
    let mut s = store::open(&url).unwrap();
    assert_eq!(sqlite_value(&path, "PRAGMA user_version"), "6");
    check_earlier_run_kept(s.as_mut(), &run);
    assert_eq!(s.changes().unwrap(), []);
    assert_eq!(append_all(s.as_mut(), &awkward()), [1, 2, 3]);
    s.close().unwrap();
    drop(s);
    assert_eq!(
        sqlite_value(
            &path,
            "SELECT group_concat(name, ',') FROM pragma_table_info('site_changes')"
        ),
        "id,at,origin,change"
    );
    let mut s = store::open(&url).unwrap();
    assert_eq!(s.changes().unwrap(), expected(1, &awkward()));
    check_earlier_run_kept(s.as_mut(), &run);
    s.close().unwrap();
    assert_eq!(sqlite_value(&path, "PRAGMA user_version"), "6");
}

/// A PostgreSQL schema made by the wallwatch before `site_changes`, with a run in it: today's
/// store adds the table on connecting, keeps the run, and the table takes appends.
#[test]
fn postgres_store_from_before_site_changes_gains_the_table() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "before_changes");
    let run = EarlierRun::new();
    postgres::admin(
        &schema.url,
        &format!("{}{}", old_schema::POSTGRES_BEFORE_CHANGES, run.sql()),
    );
    let exists = "to_regclass('site_changes') IS NOT NULL";
    assert_eq!(postgres::admin_value(&schema.url, exists), "false");

    let mut s = store::open(&schema.url).unwrap();
    assert_eq!(postgres::admin_value(&schema.url, exists), "true");
    check_earlier_run_kept(s.as_mut(), &run);
    assert_eq!(s.changes().unwrap(), []);
    assert_eq!(append_all(s.as_mut(), &awkward()), [1, 2, 3]);
    s.close().unwrap();
    drop(s);
    assert_eq!(
        postgres::admin_value(
            &schema.url,
            "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' \
             ORDER BY ordinal_position) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'site_changes'"
        ),
        "id bigint NO, at timestamp with time zone NO, origin text NO, change text NO"
    );

    // Connecting again finds the table there and leaves it, and the run, as they are.
    let mut s = store::open(&schema.url).unwrap();
    assert_eq!(s.changes().unwrap(), expected(1, &awkward()));
    check_earlier_run_kept(s.as_mut(), &run);
    assert_eq!(s.append_change(at(4), "cli (uid 0)", "{}").unwrap(), 4);
    s.close().unwrap();
}

/// A new file is created at the latest version with the table, its timestamps in the fixed text form.
#[test]
fn sqlite_new_file_has_site_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let mut s = store::open(&format!("sqlite:{}", path.display())).unwrap();
    s.append_change(at(1), "cli", "{}").unwrap();
    s.close().unwrap();
    assert_eq!(sqlite_value(&path, "PRAGMA user_version"), "6");
    assert_eq!(
        sqlite_value(&path, "SELECT at FROM site_changes WHERE id = 1"),
        store::format_timestamp(&at(1))
    );
}

//! Every store's meta values (`meta_get`/`meta_set`) and `clear`: values survive reopening,
//! `clear` leaves no row and no value, and ids start again at 1.

#[path = "support/postgres.rs"]
mod postgres;

use chrono::{TimeZone, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, Counts, ReadingFilter};
use wallwatch::wall::CrewReport;

fn batch(first_id: u64) -> Batch {
    let t = Utc.timestamp_opt(1_780_000_000, 0).unwrap();
    Batch {
        readings: (first_id..first_id + 3)
            .map(|id| Reading {
                id,
                timestamp: t,
                sensor: "gate, \"north\"".into(),
                value: id as i32,
                stored_at: None,
            })
            .collect(),
        crew_reports: vec![CrewReport {
            id: first_id,
            timestamp: t,
            day: 1,
            crew: 1,
            profile: Some(1),
            section: Some(1),
            height: Some(22),
        }],
    }
}

fn check(url: &str, persistent: bool) {
    let mut s = store::open(url).unwrap();
    assert_eq!(s.meta_get("wall_hash").unwrap(), None, "{url}");
    s.meta_set("wall_hash", "00ff").unwrap();
    s.meta_set("note", "a, \"quoted\"\nvalue").unwrap();
    s.meta_set("wall_hash", "abcdef0123456789").unwrap();
    assert_eq!(
        s.meta_get("wall_hash").unwrap().as_deref(),
        Some("abcdef0123456789")
    );
    s.append(&batch(1)).unwrap();
    s.close().unwrap();
    drop(s);

    let mut s = store::open(url).unwrap();
    if persistent {
        assert_eq!(
            s.meta_get("wall_hash").unwrap().as_deref(),
            Some("abcdef0123456789"),
            "{url}: survives reopening"
        );
        assert_eq!(
            s.meta_get("note").unwrap().as_deref(),
            Some("a, \"quoted\"\nvalue")
        );
        assert_eq!(s.counts().unwrap().readings, 3);
    } else {
        assert_eq!(
            s.meta_get("wall_hash").unwrap(),
            None,
            "{url}: nothing persists"
        );
        s.append(&batch(1)).unwrap();
        s.meta_set("wall_hash", "x").unwrap();
    }
    s.clear().unwrap();
    assert_eq!(s.counts().unwrap(), Counts::default(), "{url}");
    assert_eq!(s.meta_get("wall_hash").unwrap(), None, "{url}");
    assert_eq!(s.meta_get("note").unwrap(), None, "{url}");
    // Ids start again at 1 after a clear.
    s.append(&batch(1)).unwrap();
    assert_eq!(s.readings(&ReadingFilter::default()).unwrap().len(), 3);
    assert_eq!(s.crew_reports().unwrap().len(), 1);
    s.close().unwrap();
    drop(s);
    if persistent {
        let mut s = store::open(url).unwrap();
        assert_eq!(s.counts().unwrap().readings, 3, "{url}: the clear lasted");
        assert_eq!(s.meta_get("wall_hash").unwrap(), None, "{url}");
        s.close().unwrap();
    }
}

#[test]
fn memory_meta_and_clear() {
    check("memory:", false);
}

#[test]
fn csv_meta_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.csv");
    check(&format!("csv:{}", path.display()), true);
    assert!(dir.path().join("run.crew_reports.csv").exists());
    assert_eq!(
        store::meta_path(&path),
        dir.path().join("run.meta.csv"),
        "the sidecar sits beside the readings"
    );
}

#[test]
fn sqlite_meta_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    check(
        &format!("sqlite:{}", dir.path().join("run.db").display()),
        true,
    );
}

#[test]
fn postgres_meta_and_clear() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "meta");
    check(&schema.url, true);
}

//! A site served on a store that the wallwatch before `site_changes` left (SQLite schema 3, a
//! PostgreSQL schema without the table), holding an earlier run of the same wall: today's binary
//! resumes it (ids go on from the stored ones, the wall from the day after the last stored day,
//! each section from its stored height), records a steering command in the new table, and a
//! restart applies that command again.
//!
//! PostgreSQL tests use the server in `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts
//! one); without it they fail when `CI=true` and are skipped with a note otherwise.

#[path = "support/old_schema.rs"]
mod old_schema;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/running.rs"]
mod running;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use old_schema::EarlierRun;
use running::Running;
use serde_json::Value;
use wallwatch::store::{self, ReadingFilter};
use wallwatch::wall::{CrewReport, MAX_HEIGHT};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

/// `serve` of the earlier run's wall on `url`, 2 crews, 4 wall days a second.
fn serve(dir: &Path, url: &str) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--store", url])
        .arg("--socket")
        .arg(dir.join("site.sock"))
        .arg("--profiles")
        .arg(dir.join("wall.txt"))
        .args([
            "--crews",
            "2",
            "--sensors",
            "2",
            "--speed",
            "20",
            "--seed",
            "3",
        ]);
    let mut site = Running::spawn(cmd);
    site.wait_for("serving the site at");
    site
}

/// The line containing `what` that the site logged before it said it serves.
fn said(site: &Running, what: &str) -> String {
    site.seen()
        .iter()
        .find(|l| l.contains(what))
        .cloned()
        .unwrap_or_else(|| panic!("no '{what}' line: {:?}", site.seen()))
}

/// `wallwatch ARGS --socket SOCKET`, which must succeed: its stdout.
fn cli(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--socket")
        .arg(dir.join("site.sock"))
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Every section's reports raise it one foot at a time from its height in the wall file, across
/// both runs; days never go back.
fn assert_wall_continues(reports: &[CrewReport]) {
    let wall = old_schema::wall();
    let mut heights: HashMap<(u32, u32), u8> = HashMap::new();
    let mut last_day = 0;
    for r in reports {
        assert!(r.day >= last_day, "day goes back at report {}", r.id);
        last_day = r.day;
        let (Some(p), Some(s), Some(h)) = (r.profile, r.section, r.height) else {
            continue;
        };
        let before = heights
            .get(&(p, s))
            .copied()
            .unwrap_or(wall.profile(p as usize - 1)[s as usize - 1]);
        assert_eq!(h, before + 1, "report {} of profile {p} section {s}", r.id);
        assert!(h <= MAX_HEIGHT);
        heights.insert((p, s), h);
    }
}

fn resumes_and_records_changes(url: &str, dir: &Path) {
    std::fs::write(dir.join("wall.txt"), old_schema::WALL).unwrap();
    let run = EarlierRun::new();
    let (old_readings, old_reports) = (run.readings.len() as u64, run.crew_reports.len() as u64);

    let site = serve(dir, url);
    let resumed = said(&site, "resuming run 1 of the wall");
    assert!(
        resumed.contains(&format!(
            "day {} done, 6 of 30 feet raised, {old_readings} readings and {old_reports} crew \
             reports already stored",
            run.last_day()
        )),
        "{resumed}"
    );

    // A steering command goes to the new table before it is answered.
    let added = cli(dir, &["crews", "add", "1"]);
    assert!(added.contains("crew 3"), "{added}");
    let mut s = store::open_existing(url).unwrap();
    let changes = s.changes().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].id, 1);
    assert!(changes[0].origin.starts_with("cli (uid "), "{changes:?}");
    drop(s);

    // Until the added crew has reported.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = store::open_existing(url).unwrap();
        if s.crew_reports().unwrap().iter().any(|r| r.crew == 3) {
            break;
        }
        drop(s);
        assert!(Instant::now() < deadline, "crew 3 never reported");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, out) = site.terminate();
    assert_eq!(code, 0, "{out}");
    let summary: Value = serde_json::from_str(&out).unwrap();

    let mut s = store::open_existing(url).unwrap();
    let counts = s.counts().unwrap();
    let readings = s.readings(&ReadingFilter::default()).unwrap();
    let reports = s.crew_reports().unwrap();
    s.close().unwrap();
    drop(s);
    // Ids go on from the stored ones, without a hole; the earlier run is as it was.
    assert_eq!(counts.readings, counts.last_reading_id, "{counts:?}");
    assert_eq!(
        counts.crew_reports, counts.last_crew_report_id,
        "{counts:?}"
    );
    let stored = |what: &str| summary[what]["stored"].as_u64().unwrap();
    assert_eq!(
        counts.readings,
        old_readings + stored("readings"),
        "{summary}"
    );
    assert_eq!(counts.crew_reports, old_reports + stored("crew_reports"));
    assert!(
        stored("readings") > 0 && stored("crew_reports") > 0,
        "{summary}"
    );
    assert_eq!(readings[..run.readings.len()], run.readings[..]);
    assert_eq!(reports[..run.crew_reports.len()], run.crew_reports[..]);
    // The wall goes on from the day after the last stored one, each section from its height.
    assert_eq!(reports[run.crew_reports.len()].day, run.last_day() + 1);
    assert_wall_continues(&reports);
    let feet = reports.iter().filter(|r| r.height.is_some()).count() as u64;
    assert_eq!(summary["wall"]["ice_to_date"].as_u64(), Some(feet * 195));

    // Started again: the change in the new table is applied again.
    let site = serve(dir, url);
    let line = said(&site, "earlier changes applied again");
    assert!(line.contains("1 earlier changes"), "{line}");
    let status: Value = serde_json::from_str(&cli(dir, &["status", "--json"])).unwrap();
    assert_eq!(status["crews"], 3, "{status}");
    let (code, _) = site.terminate();
    assert_eq!(code, 0);
}

#[test]
fn site_resumes_on_a_sqlite_file_of_schema_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "{}{}",
            old_schema::SQLITE_3,
            EarlierRun::new().sql()
        ))
        .unwrap();
    resumes_and_records_changes(&format!("sqlite:{}", path.display()), dir.path());
}

#[test]
fn site_resumes_on_a_postgres_schema_from_before_site_changes() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "upgrade");
    postgres::admin(
        &schema.url,
        &format!(
            "{}{}",
            old_schema::POSTGRES_BEFORE_CHANGES,
            EarlierRun::new().sql()
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    resumes_and_records_changes(&schema.url, dir.path());
}

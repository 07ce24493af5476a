//! The real binary killed with SIGKILL in the middle of a heavy run: the store stays whole (SQLite
//! passes `PRAGMA integrity_check`), ids have no hole, and a restart on the same store continues
//! the ids and the wall (the day after the last stored day, each section from its stored height).
//! A different wall is refused before anything is written unless `--fresh`.

#[path = "support/postgres.rs"]
mod postgres;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wallwatch::store::{self, Counts, WALL_HASH_KEY};
use wallwatch::wall::{CrewReport, Wall};

fn bin() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("wallwatch"))
}

/// A wall of 20 profiles × 50 sections, low enough to keep 20 crews busy for a long time.
fn write_wall(dir: &Path, name: &str, base: u8) -> (String, Wall) {
    let mut text = String::new();
    for p in 0..20u32 {
        let line: Vec<String> = (0..50u32)
            .map(|s| ((p * 7 + s * 3) % 10 + u32::from(base)).to_string())
            .collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, &text).unwrap();
    (
        path.display().to_string(),
        Wall::parse(text.as_bytes(), 2000).unwrap(),
    )
}

fn counts(url: &str) -> Counts {
    let mut s = store::open(url).unwrap();
    let c = s.counts().unwrap();
    s.close().unwrap();
    c
}

/// Starts a heavy run, waits until the store holds crew reports, then SIGKILLs it.
fn kill_mid_run(url: &str, profiles: &str) {
    let mut child = bin()
        .args(["run", "--headless", "--store", url, "--profiles", profiles])
        .args(["--sensors", "200", "--speed", "max", "--crews", "20"])
        .args(["--seed", "7"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("engine: started") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "ended early");
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::copy(&mut stderr, &mut sink);
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let c = counts(url);
        if c.crew_reports >= 100 && c.readings >= 20_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run stored too little: {c:?}"
        );
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    drain.join().unwrap();
}

/// Ids 1..=N with no hole: ids are unique keys from 1, so count = max id says it.
fn assert_contiguous(c: &Counts) {
    assert_eq!(
        c.readings, c.last_reading_id,
        "reading ids have a hole: {c:?}"
    );
    assert_eq!(
        c.crew_reports, c.last_crew_report_id,
        "crew report ids have a hole: {c:?}"
    );
}

fn crew_reports(url: &str) -> Vec<CrewReport> {
    let mut s = store::open(url).unwrap();
    let r = s.crew_reports().unwrap();
    s.close().unwrap();
    r
}

/// Every section's reports raise it one foot at a time from its height in the wall file, across
/// runs; days never go back.
fn assert_wall_continues(wall: &Wall, reports: &[CrewReport]) {
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
        heights.insert((p, s), h);
    }
}

fn run_for(url: &str, profiles: &str, extra: &[&str]) -> (std::process::Output, Option<Value>) {
    let out = bin()
        .args(["run", "--headless", "--store", url, "--profiles", profiles])
        .args(["--sensors", "50", "--speed", "200", "--crews", "20"])
        .args(["--duration", "1s"])
        .args(extra)
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&out.stdout).ok();
    (out, summary)
}

fn crash_then_resume(url: &str, dir: &Path, sqlite_file: Option<&Path>) {
    let (profiles, wall) = write_wall(dir, "wall.txt", 0);
    kill_mid_run(url, &profiles);

    if let Some(path) = sqlite_file {
        let conn = rusqlite::Connection::open(path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
    let before = counts(url);
    assert_contiguous(&before);
    let old = crew_reports(url);
    let old_day = old.iter().map(|r| r.day).max().unwrap();
    assert_wall_continues(&wall, &old);

    // Restart on the same store: ids and the wall continue.
    let (out, summary) = run_for(url, &profiles, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming run 1 of the wall"), "{stderr}");
    let s = summary.unwrap();
    let after = counts(url);
    assert_contiguous(&after);
    assert_eq!(
        after.readings,
        before.readings + s["readings"]["stored"].as_u64().unwrap()
    );
    assert_eq!(
        after.crew_reports,
        before.crew_reports + s["crew_reports"]["stored"].as_u64().unwrap()
    );
    assert!(s["crew_reports"]["stored"].as_u64().unwrap() > 0, "{s}");
    let all = crew_reports(url);
    let new: Vec<&CrewReport> = all.iter().filter(|r| r.id > before.crew_reports).collect();
    assert_eq!(new[0].day, old_day + 1, "the wall continues the next day");
    assert!(s["wall"]["day"].as_u64().unwrap() > old_day, "{s}");
    assert_wall_continues(&wall, &all);
    // Ice to date counts the stored days too: every report that raised a foot.
    let feet = all.iter().filter(|r| r.height.is_some()).count() as u64;
    assert_eq!(
        s["wall"]["ice_to_date"].as_u64().unwrap(),
        feet * 195,
        "{s}"
    );

    // Another wall on the same store: one line, exit 2, nothing written.
    let (other, other_wall) = write_wall(dir, "other.txt", 5);
    let (out, _) = run_for(url, &other, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    let err_lines: Vec<&str> = err.lines().collect();
    assert_eq!(err_lines.len(), 1, "{err}");
    assert!(err_lines[0].starts_with("error: store '"), "{err}");
    assert!(
        err_lines[0].contains("holds a run of another wall (hash")
            && err_lines[0].contains("use --fresh to start over or another store"),
        "{err}"
    );
    assert_eq!(counts(url), after, "nothing written");
    let mut st = store::open(url).unwrap();
    assert_eq!(
        st.meta_get(WALL_HASH_KEY).unwrap(),
        Some(wall.fingerprint())
    );
    st.close().unwrap();
    drop(st);

    // --fresh: cleared, said so, and a new run of the other wall from id 1 and day 1.
    let (out, summary) = run_for(url, &other, &["--fresh"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("--fresh: cleared store"), "{stderr}");
    let s = summary.unwrap();
    let fresh = counts(url);
    assert_contiguous(&fresh);
    assert_eq!(fresh.readings, s["readings"]["stored"].as_u64().unwrap());
    assert_eq!(
        fresh.crew_reports,
        s["crew_reports"]["stored"].as_u64().unwrap()
    );
    let reports = crew_reports(url);
    assert_eq!(reports[0].day, 1);
    assert_wall_continues(&other_wall, &reports);
    let mut st = store::open(url).unwrap();
    assert_eq!(
        st.meta_get(WALL_HASH_KEY).unwrap(),
        Some(other_wall.fingerprint())
    );
    st.close().unwrap();
}

#[test]
fn sqlite_survives_sigkill_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    crash_then_resume(
        &format!("sqlite:{}", path.display()),
        dir.path(),
        Some(&path),
    );
}

#[test]
fn postgres_survives_sigkill_and_resumes() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "crash");
    let dir = tempfile::tempdir().unwrap();
    crash_then_resume(&schema.url, dir.path(), None);
}

#[test]
fn csv_resumes_and_refuses_another_wall() {
    // CSV keeps the wall hash in its sidecar file.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("csv:{}", dir.path().join("run.csv").display());
    let (profiles, wall) = write_wall(dir.path(), "wall.txt", 0);
    let (out, _) = run_for(&url, &profiles, &[]);
    assert!(out.status.success());
    let first = crew_reports(&url);
    let (out, _) = run_for(&url, &profiles, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = crew_reports(&url);
    let day = first.last().unwrap().day;
    assert_eq!(all[first.len()].day, day + 1);
    assert_wall_continues(&wall, &all);
    let (other, _) = write_wall(dir.path(), "other.txt", 5);
    let (out, _) = run_for(&url, &other, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another wall"));
    assert_eq!(crew_reports(&url).len(), all.len());
}

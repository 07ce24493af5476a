//! A store file deleted under a running site: the site notices on its next write, says so in
//! the log and on `/healthz` (503), and does not count as stored what went nowhere. Its
//! summary's stored counts are exactly what the file held (read here through a hard link the
//! test made before deleting it), and what was not stored is named (counted as lost).

#[path = "support/running.rs"]
mod running;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use running::Running;
use serde_json::Value;
use wallwatch::store::{self, ReadingFilter};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

fn serve(dir: &Path, store: &str) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--socket"])
        .arg(dir.join("s.sock"))
        .args(["--store", store, "--speed", "20", "--seed", "4"])
        .args(["--http", "127.0.0.1:0", "--drain-timeout", "2s"])
        .current_dir(dir);
    Running::spawn(cmd)
}

/// `GET path` over a plain TCP connection: the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Polls `/healthz` until it is 503; its body.
fn healthz_failing(addr: &str) -> String {
    let start = Instant::now();
    loop {
        let (status, body) = get(addr, "/healthz");
        if status == 503 {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "still {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the site; its summary, checked to name as lost what it did not store.
fn stop(site: Running) -> Value {
    let (code, out) = site.terminate();
    assert_eq!(code, 1, "{out}");
    let summary: Value = serde_json::from_str(out.trim()).unwrap();
    let lost = &summary["not_stored"];
    assert_eq!(lost["outcome"], "lost", "{summary}");
    for kind in ["readings", "crew_reports"] {
        let produced = summary[kind]["produced"].as_u64().unwrap();
        let stored = summary[kind]["stored"].as_u64().unwrap();
        assert_eq!(
            produced,
            stored + lost[kind].as_u64().unwrap(),
            "{kind}: {summary}"
        );
    }
    assert!(lost["readings"].as_u64().unwrap() > 0, "{summary}");
    summary
}

/// Data lines of a CSV file (its header left out).
fn rows(path: &Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64 - 1
}

#[test]
fn a_csv_file_deleted_under_a_running_site_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let keep = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.csv");
    let crew = dir.path().join("site.crew_reports.csv");
    let mut site = serve(dir.path(), &format!("csv:{}", path.display()));
    site.wait_for("started:");
    let addr = site.http_addr();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(&addr, "/healthz"), (200, "ok\n".to_string()));
    std::fs::hard_link(&path, keep.path().join("site.csv")).unwrap();
    std::fs::hard_link(&crew, keep.path().join("crew.csv")).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(&crew).unwrap();

    let body = healthz_failing(&addr);
    assert!(body.contains("was deleted or replaced"), "{body}");
    assert!(body.contains(&path.display().to_string()), "{body}");
    site.wait_for("was deleted or replaced");
    let summary = stop(site);
    assert_eq!(
        Some(rows(&keep.path().join("site.csv"))),
        summary["readings"]["stored"].as_u64(),
        "{summary}"
    );
    assert_eq!(
        Some(rows(&keep.path().join("crew.csv"))),
        summary["crew_reports"]["stored"].as_u64(),
        "{summary}"
    );
    assert!(
        !path.exists(),
        "the file is not made again behind the user's back"
    );
}

#[test]
fn a_sqlite_files_directory_deleted_under_a_running_site_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    std::fs::create_dir(&store_dir).unwrap();
    let keep = tempfile::tempdir().unwrap();
    let db = store_dir.join("site.db");
    let mut site = serve(dir.path(), &format!("sqlite:{}", db.display()));
    site.wait_for("started:");
    let addr = site.http_addr();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(&addr, "/healthz").0, 200);
    for name in ["site.db", "site.db-wal"] {
        std::fs::hard_link(store_dir.join(name), keep.path().join(name)).unwrap();
    }
    std::fs::remove_dir_all(&store_dir).unwrap();

    let body = healthz_failing(&addr);
    assert!(body.contains("was deleted or replaced"), "{body}");
    site.wait_for("was deleted or replaced");
    let summary = stop(site);
    let url = format!("sqlite:{}", keep.path().join("site.db").display());
    let mut s = store::open(&url).unwrap();
    let held = s.readings(&ReadingFilter::default()).unwrap().len() as u64;
    let reports = s.crew_reports().unwrap().len() as u64;
    s.close().unwrap();
    assert_eq!(
        Some(held),
        summary["readings"]["stored"].as_u64(),
        "{summary}"
    );
    assert_eq!(
        Some(reports),
        summary["crew_reports"]["stored"].as_u64(),
        "{summary}"
    );
    assert!(!store_dir.exists());
}

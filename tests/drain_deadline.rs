//! SIGTERM always ends the site: with a store that never takes a write again (SQLite locked for
//! good by another process) the drain stops at `--drain-timeout` (or the config key
//! `drain-timeout`), the site exits 1, and its summary says exactly what was not stored (counted
//! as lost): produced = stored + lost, and the store holds exactly what the summary says it
//! stored. A store that cannot be written at start (a read-only file or directory, here as
//! another uid) is refused at start with one line, exit 2.

#[path = "support/running.rs"]
mod running;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use running::Running;
use serde_json::Value;
use wallwatch::store::{self, ReadingFilter};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

fn serve(dir: &Path, store: &str, extra: &[&str]) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--socket"])
        .arg(dir.join("s.sock"))
        .args(["--store", store, "--speed", "20", "--seed", "9"])
        .args(extra)
        .current_dir(dir);
    Running::spawn(cmd)
}

/// Runs a site on `db`, locks the file for good once it has stored something, stops the site
/// with SIGTERM; checks that it ends by its deadline and names what was lost.
fn locked_for_good(dir: &Path, db: &Path, extra: &[&str], timeout: Duration) {
    let url = format!("sqlite:{}", db.display());
    let mut site = serve(dir, &url, extra);
    site.wait_for("started:");
    site.socket();
    std::thread::sleep(Duration::from_millis(1500));
    let locker = rusqlite::Connection::open(db).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    site.wait_for("failed (attempt 2)");
    let stopped = Instant::now();
    let (code, out) = site.terminate();
    let took = stopped.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(10),
        "stopped after {took:?} with a deadline of {timeout:?}"
    );
    assert_eq!(code, 1, "{out}");
    let summary: Value = serde_json::from_str(out.trim()).unwrap();
    let lost = &summary["not_stored"];
    assert_eq!(lost["outcome"], "lost", "{summary}");
    assert!(
        lost["reason"]
            .as_str()
            .unwrap()
            .contains("database is locked"),
        "{summary}"
    );
    for kind in ["readings", "crew_reports"] {
        let produced = summary[kind]["produced"].as_u64().unwrap();
        let stored = summary[kind]["stored"].as_u64().unwrap();
        let not_stored = lost[kind].as_u64().unwrap();
        assert_eq!(produced, stored + not_stored, "{kind}: {summary}");
    }
    assert!(lost["readings"].as_u64().unwrap() > 0, "{summary}");
    drop(locker);
    let mut s = store::open(&url).unwrap();
    let held = s.readings(&ReadingFilter::default()).unwrap();
    let reports = s.crew_reports().unwrap();
    s.close().unwrap();
    assert_eq!(
        held.len() as u64,
        summary["readings"]["stored"].as_u64().unwrap()
    );
    assert_eq!(
        reports.len() as u64,
        summary["crew_reports"]["stored"].as_u64().unwrap()
    );
    // The lost ones are exactly those after the last one stored.
    let first_lost = lost["first_reading_id"].as_u64().unwrap();
    assert_eq!(first_lost, held.last().map_or(1, |r| r.id + 1), "{summary}");
}

#[test]
fn sigterm_ends_a_site_whose_store_never_recovers_at_the_drain_timeout() {
    let dir = tempfile::tempdir().unwrap();
    locked_for_good(
        dir.path(),
        &dir.path().join("site.db"),
        &["--drain-timeout", "3s"],
        Duration::from_secs(3),
    );
}

#[test]
fn the_drain_timeout_comes_from_the_config_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("w.toml");
    std::fs::write(&config, "drain-timeout = \"2s\"\n").unwrap();
    locked_for_good(
        dir.path(),
        &dir.path().join("site.db"),
        &["--config", config.to_str().unwrap()],
        Duration::from_secs(2),
    );
    // Out of range, named with its key.
    std::fs::write(&config, "drain-timeout = \"0s\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--headless", "--store", "memory:", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(":1:17: key 'drain-timeout'"), "{err}");
}

/// A copy of the binary that uid 65534 may run, in a directory of its own.
fn binary_for_nobody(dir: &Path) -> PathBuf {
    let bin = dir.join("wallwatch");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `wallwatch serve` as uid 65534 on `store`, its socket in a directory of that uid's.
fn serve_as_nobody(bin: &Path, sockets: &Path, store: &str) -> Output {
    for _ in 0..100 {
        let out = Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(bin)
            .args(["serve", "--store", store, "--duration", "5s", "--socket"])
            .arg(sockets.join("s.sock"))
            .stdin(Stdio::null())
            .output()
            .expect("setpriv (util-linux)");
        // Another test's fork may briefly hold the fresh copy open for writing (ETXTBSY).
        if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
            return out;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} stayed busy", bin.display());
}

fn mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_store_that_cannot_be_written_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    mode(tmp.path(), 0o755);
    let bin = binary_for_nobody(tmp.path());
    let sockets = tmp.path().join("sockets");
    std::fs::create_dir(&sockets).unwrap();
    std::os::unix::fs::chown(&sockets, Some(65534), Some(65534)).unwrap();

    // Files made by a run of ours (root), in a directory anyone may write.
    let open_dir = tmp.path().join("open");
    std::fs::create_dir(&open_dir).unwrap();
    mode(&open_dir, 0o777);
    let db = open_dir.join("site.db");
    let csv = open_dir.join("site.csv");
    for url in [
        format!("sqlite:{}", db.display()),
        format!("csv:{}", csv.display()),
    ] {
        let out = Command::new(BIN)
            .args(["run", "--headless", "--duration", "300ms", "--store", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A read-only file (0644, ours) in a directory the other uid may write (its lock file
    // made anew by that uid).
    for f in std::fs::read_dir(&open_dir).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "lock") {
            std::fs::remove_file(f).unwrap();
        }
    }
    for (url, why) in [
        (format!("sqlite:{}", db.display()), "opens read-only"),
        (format!("csv:{}", csv.display()), "Permission denied"),
    ] {
        let started = Instant::now();
        let out = serve_as_nobody(&bin, &sockets, &url);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "refused late: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("error: store '{url}': ")), "{err}");
        assert!(err.contains("cannot be written"), "{err}");
        assert!(err.contains(why), "{err}");
    }
    // A read-only directory: the file itself may be written, nothing beside it may be made.
    let closed_dir = tmp.path().join("closed");
    std::fs::create_dir(&closed_dir).unwrap();
    let db = closed_dir.join("site.db");
    let url = format!("sqlite:{}", db.display());
    let out = Command::new(BIN)
        .args(["run", "--headless", "--duration", "300ms", "--store", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    for f in std::fs::read_dir(&closed_dir).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e != "db") {
            std::fs::remove_file(f).unwrap();
        }
    }
    mode(&db, 0o666);
    mode(&closed_dir, 0o755);
    let out = serve_as_nobody(&bin, &sockets, &url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot be written"), "{err}");
    assert!(err.contains(&closed_dir.display().to_string()), "{err}");
}

/// The deadline is for a stuck store, not a slow network: readings still on the wire when the
/// stop comes (a `--latency` longer than `--drain-timeout`) are delivered and stored, and the
/// run ends with nothing lost.
#[test]
fn a_slow_network_is_not_cut_short_by_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["run", "--headless", "--store", "memory:", "--seed", "3"])
        .args([
            "--latency",
            "1500ms",
            "--drain-timeout",
            "200ms",
            "--duration",
            "1s",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        summary.get("not_stored").is_none_or(Value::is_null),
        "{summary}"
    );
    let readings = &summary["readings"];
    assert!(readings["produced"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(readings["produced"], readings["stored"], "{summary}");
}

//! One store has one running site: a second `serve` on a SQLite, CSV or PostgreSQL store that a
//! site is writing is refused with one line naming the first (exit 2) while the first runs on
//! and stores everything it produced; `wallwatch readings` still reads the store meanwhile.
//! And one socket has one site: several `serve` started at the same instant on one socket
//! leave exactly one running.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/running.rs"]
mod running;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use running::Running;
use serde_json::Value;
use wallwatch::store::{self, ReadingFilter};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");
/// How long a command that should end may run before the test kills it and fails.
const WITHIN: Duration = Duration::from_secs(30);

/// Runs a command to its end, killing it (and failing) after a while.
trait Within {
    fn within(&mut self, limit: Duration) -> Output;
}

impl Within for Command {
    fn within(&mut self, limit: Duration) -> Output {
        let mut child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "still running after {limit:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

fn serve(dir: &Path, socket: &str, store: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--socket"])
        .arg(dir.join(socket))
        .args(["--store", store, "--speed", "20", "--seed", "5"])
        .args(extra)
        .current_dir(dir);
    cmd
}

/// The first site on `url` runs; a second is refused naming it; the store can be read while the
/// first runs; the first stops with produced = stored and the store holds exactly that; then
/// the store is free for the next site.
fn second_site_is_refused(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Running::spawn(serve(dir.path(), "a.sock", url, &[]));
    first.socket();
    let pid = first.id();
    // Let it store something first.
    std::thread::sleep(Duration::from_millis(1500));

    let started = Instant::now();
    let out = serve(dir.path(), "b.sock", url, &[]).within(WITHIN);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{url}: {err}");
    assert!(started.elapsed() < Duration::from_secs(20), "refused late");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("error: store '"), "{err}");
    assert!(lines[0].contains("in use by another site"), "{err}");
    assert!(
        lines[0].contains(&format!("pid {pid}")),
        "names the first: {err}"
    );
    if !url.starts_with("postgres") {
        assert!(lines[0].contains("a.sock"), "names its socket: {err}");
    }
    assert!(out.stdout.is_empty(), "no summary: {:?}", out.stdout);
    assert!(
        !dir.path().join("b.sock").exists(),
        "the refused site left no socket"
    );

    // Readers still read while the site runs.
    let out = Command::new(BIN)
        .args(["readings", "--store", url, "--format", "csv"])
        .within(WITHIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 1);

    assert_eq!(first.try_exit(), None, "the first site runs on");
    let (code, out) = first.terminate();
    assert_eq!(code, 0, "{out}");
    let summary: Value = serde_json::from_str(out.trim()).unwrap();
    for kind in ["readings", "crew_reports"] {
        assert_eq!(
            summary[kind]["produced"], summary[kind]["stored"],
            "{url}: {summary}"
        );
    }
    let mut s = store::open(url).unwrap();
    let held = s.readings(&ReadingFilter::default()).unwrap().len() as u64;
    let reports = s.crew_reports().unwrap().len() as u64;
    s.close().unwrap();
    assert_eq!(Some(held), summary["readings"]["stored"].as_u64(), "{url}");
    assert_eq!(Some(reports), summary["crew_reports"]["stored"].as_u64());
    assert!(held > 0);

    // Free again once the first has stopped.
    let out = serve(dir.path(), "c.sock", url, &["--duration", "300ms"]).within(WITHIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_site_on_a_sqlite_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    second_site_is_refused(&format!("sqlite:{}", dir.path().join("two.db").display()));
}

#[test]
fn a_second_site_on_a_csv_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    second_site_is_refused(&format!("csv:{}", dir.path().join("two.csv").display()));
}

#[test]
fn a_second_site_on_a_postgres_schema_is_refused() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "lock");
    second_site_is_refused(&schema.url);
    // Another schema of the same database is another store: two sites run side by side.
    let other = postgres::Schema::new(&base, "lock");
    let dir = tempfile::tempdir().unwrap();
    let mut a = Running::spawn(serve(dir.path(), "a.sock", &schema.url, &[]));
    a.socket();
    let out = serve(dir.path(), "b.sock", &other.url, &["--duration", "300ms"]).within(WITHIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(a.terminate().0, 0);
}

/// A SQLite file reached by two names (a symlink) is one store.
#[test]
fn a_sqlite_store_under_another_name_is_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.db");
    let first_url = format!("sqlite:{}", real.display());
    let mut first = Running::spawn(serve(dir.path(), "a.sock", &first_url, &[]));
    first.socket();
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = serve(dir.path(), "b.sock", "sqlite:link.db", &[]).within(WITHIN);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("in use by another site"), "{err}");
    assert_eq!(first.terminate().0, 0);
}

/// Several `serve` started at once on one socket (each on a store of its own), the socket
/// there already from a site that died (stale) in every other round: exactly one runs, every
/// other is refused (exit 2), in every round.
#[test]
fn sites_started_at_the_same_instant_on_one_socket_leave_one_running() {
    const AT_ONCE: usize = 6;
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        if round % 2 == 0 {
            drop(std::os::unix::net::UnixListener::bind(dir.path().join("one.sock")).unwrap());
        }
        // Each reads its wall from standard input first: held there until all have started,
        // then let go together, they reach the socket at the same moment.
        let mut children: Vec<_> = (0..AT_ONCE)
            .map(|i| {
                serve(dir.path(), "one.sock", &format!("sqlite:s{i}.db"), &[])
                    .args(["--profiles", "-"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut gates: Vec<_> = children
            .iter_mut()
            .map(|c| c.stdin.take().unwrap())
            .collect();
        for gate in &mut gates {
            use std::io::Write;
            gate.write_all(b"21 25 28\n").unwrap();
        }
        drop(gates);
        // The refused ones end within seconds; the one that runs does not.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut ended = [None; AT_ONCE];
        while Instant::now() < deadline && ended.iter().filter(|e| e.is_none()).count() > 1 {
            for (i, c) in children.iter_mut().enumerate() {
                if ended[i].is_none() {
                    ended[i] = c.try_wait().unwrap().map(|s| s.code());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Give a late second runner time to show itself.
        std::thread::sleep(Duration::from_millis(500));
        for (i, c) in children.iter_mut().enumerate() {
            if ended[i].is_none() {
                ended[i] = c.try_wait().unwrap().map(|s| s.code());
            }
        }
        let running: Vec<usize> = (0..AT_ONCE).filter(|&i| ended[i].is_none()).collect();
        let mut errors = String::new();
        for (i, c) in children.iter_mut().enumerate() {
            if ended[i].is_some() {
                use std::io::Read;
                c.stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut errors)
                    .unwrap();
            }
        }
        for c in &mut children {
            let _ = c.kill();
            let _ = c.wait();
        }
        assert_eq!(running.len(), 1, "round {round}: {running:?} ran; {errors}");
        for (i, e) in ended.iter().enumerate() {
            if let Some(code) = e {
                assert_eq!(*code, Some(2), "round {round}, site {i}: {errors}");
            }
        }
        assert_eq!(
            errors.matches("a site is already running at").count(),
            AT_ONCE - 1,
            "round {round}: {errors}"
        );
    }
}

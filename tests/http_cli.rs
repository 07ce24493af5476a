//! `--http` and `--log-file` on the real binary: `run --headless` and `serve` answer the wall's
//! paths as `wallwatch query` prints them, write their log to a daily file, and refuse bad
//! flags in one line.

#[path = "support/dash.rs"]
mod dash;
#[path = "support/error_line.rs"]
mod error_line;
#[path = "support/running.rs"]
mod running;

use running::Running;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

/// GET over a fresh connection: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// What `wallwatch query FILE PATH --crews N` says: its stdout line, or its error line
/// without `error: `.
fn query(file: &str, path: &str, crews: &str) -> String {
    let out = Command::new(BIN)
        .args(["query", file, path, "--crews", crews])
        .output()
        .unwrap();
    if out.status.success() {
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    } else {
        let err = String::from_utf8(out.stderr).unwrap();
        err.trim_end().trim_start_matches("error: ").to_string()
    }
}

/// Today's file of `--log-file DIR/NAME` (or yesterday's, past midnight UTC since the run).
fn daily_file(dir: &std::path::Path, name: &str) -> String {
    let now = chrono::Utc::now();
    [now, now - chrono::Duration::days(1)]
        .iter()
        .find_map(|t| {
            let day = t.format("%Y-%m-%d");
            std::fs::read_to_string(dir.join(format!("{name}.{day}"))).ok()
        })
        .unwrap_or_else(|| panic!("no {name}.YYYY-MM-DD in {}", dir.display()))
}

const PATHS: &[&str] = &[
    "/profiles/1/days/1",
    "/profiles/2/days/5",
    "/profiles/3/overview/17",
    "/profiles/overview/1",
    "/profiles/overview/40",
    "/profiles/overview",
    "/profiles/1/days/0",
    "/profiles/4/overview/2",
    "/profiles/x/days/1",
];

fn same_as_query(addr: &str, file: &str, crews: &str) {
    for path in PATHS {
        let (status, body) = get(addr, path);
        let http = match serde_json::from_str::<serde_json::Value>(&body).unwrap() {
            serde_json::Value::Object(m) if m.contains_key("error") => {
                assert!(status >= 400, "{path}");
                m["error"].as_str().unwrap().to_string()
            }
            _ => {
                assert_eq!(status, 200, "{path}");
                body
            }
        };
        assert_eq!(http, query(file, path, crews), "{path}");
    }
}

#[test]
fn headless_answers_as_query_does_and_logs_to_a_daily_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("walls.txt");
    std::fs::write(&file, "21 25 28\n\n17\n17 22 17 19 17\n").unwrap();
    let file = file.to_str().unwrap();
    let log = dir.path().join("ww.log");
    let mut run = spawn(&[
        "run",
        "--headless",
        "--profiles",
        file,
        "--crews",
        "2",
        "--store",
        "memory:",
        "--day-seconds",
        "3600",
        "--http",
        "127.0.0.1:0",
        "--log-file",
        log.to_str().unwrap(),
        "--log-keep",
        "3",
    ]);
    let addr = run.http_addr();
    same_as_query(&addr, file, "2");
    let (code, out) = run.terminate();
    assert_eq!(code, 0);
    assert!(out.starts_with("{\"readings\""), "{out}");
    let written = daily_file(dir.path(), "ww.log");
    assert!(written.contains("engine: started"), "{written}");
    assert!(written.contains("HTTP API on http://"), "{written}");
    assert!(!written.contains('\x1b'), "no colour codes in the file");
}

#[test]
fn serve_answers_over_http_beside_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("site.sock");
    let mut serve = spawn(&[
        "serve",
        "--socket",
        socket.to_str().unwrap(),
        "--store",
        "memory:",
        "--day-seconds",
        "3600",
        "--http",
        "127.0.0.1:0",
    ]);
    let addr = serve.http_addr();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/profiles.txt");
    same_as_query(&addr, example, "3");
    let (status, body) = get(&addr, "/status");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["store"], "memory:");
    assert!(v.get("uptime_s").is_some());
    let (code, out) = serve.terminate();
    assert_eq!(code, 0);
    assert!(out.contains("\"store\":\"memory:\""), "{out}");
}

#[test]
fn a_non_loopback_address_is_allowed_with_a_warning() {
    let mut run = spawn(&[
        "run",
        "--headless",
        "--store",
        "memory:",
        "--http",
        "0.0.0.0:0",
    ]);
    let warning = run.wait_for("warning");
    assert!(
        warning.contains("reachable from other machines") && warning.contains("no authentication"),
        "{warning}"
    );
    let (code, _) = run.terminate();
    assert_eq!(code, 0);
}

#[test]
fn bad_http_and_log_flags_are_one_line_errors() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--http".into(), "localhost:80x".into()],
            "'localhost:80x' is not an address and port".into(),
        ),
        (
            vec!["--http".into(), taken.clone()],
            format!("error: --http {taken}: cannot listen:"),
        ),
        (
            vec!["--log-keep".into(), "0".into()],
            "'0' is not a number in range (1..=10000)".into(),
        ),
        (
            vec![
                "--log-file".into(),
                dir.path().join("no/such/dir/w.log").display().to_string(),
            ],
            "no such directory".into(),
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "run",
            "--headless",
            "--store",
            "memory:",
            "--duration",
            "5s",
        ];
        args.extend(extra.iter().map(String::as_str));
        let out = Command::new(BIN).args(&args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            error_line::error_line(&err).contains(&expected),
            "{extra:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// The dashboard with `--http`: the same API while the screen runs (the local dashboard is the
/// site's one viewer), the log to its file, and `q` ends both.
#[test]
fn the_dashboard_answers_over_http_too() {
    let dir = tempfile::tempdir().unwrap();
    // A free port, given back for the dashboard to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = dir.path().join("dash.log");
    let mut d = dash::Dash::spawn(
        dir.path(),
        &[
            "--store",
            "memory:",
            "--day-seconds",
            "3600",
            "--http",
            &addr,
            "--log-file",
            log.to_str().unwrap(),
        ],
        &[],
        120,
        40,
    );
    d.wait_screen("the panes", dash::panes_up);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/profiles.txt");
    same_as_query(&addr, example, "3");
    let (status, body) = get(&addr, "/status");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["viewers"], 1, "{v}");
    d.press("q");
    let (code, _) = d.finish();
    assert_eq!(code, 0);
    let written = daily_file(dir.path(), "dash.log");
    assert!(
        written.contains(&format!("HTTP API on http://{addr}")),
        "{written}"
    );
    assert!(written.contains("engine: started"), "{written}");
    // Not listening once the dashboard has ended.
    assert!(TcpStream::connect(&addr).is_err());
}

/// Runs the binary with `args`.
fn spawn(args: &[&str]) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    Running::spawn(cmd)
}

/// The scheduling policy of each of `pid`'s `wallwatch-http` threads (field 41 of their stat).
#[cfg(target_os = "linux")]
fn api_policies(pid: u32) -> Vec<i32> {
    let mut policies = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if comm.trim() != "wallwatch-http" {
            continue;
        }
        // After the name's closing parenthesis come fields 3 onwards.
        let (_, rest) = stat.rsplit_once(')').unwrap();
        policies.push(
            rest.split_whitespace()
                .nth(41 - 3)
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    policies
}

/// Waits up to 20 s for every API thread of `pid` to run at `policy`.
#[cfg(target_os = "linux")]
fn wait_for_policy(pid: u32, policy: i32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = api_policies(pid);
        if !now.is_empty() && now.iter().all(|&p| p == policy) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the API's threads are at {now:?}, not all at {policy}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether this process may leave `SCHED_IDLE` (the site, its child, inherits the same limits).
#[cfg(target_os = "linux")]
fn may_leave_sched_idle() -> bool {
    std::thread::spawn(|| {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: system calls on the calling (throwaway) thread.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0
                && libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) == 0
        }
    })
    .join()
    .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_apis_priority_follows_how_busy_the_pipeline_is() {
    const OTHER: i32 = libc::SCHED_OTHER;
    const IDLE: i32 = libc::SCHED_IDLE;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("site.sock");
    let socket = socket.to_str().unwrap();
    let mut serve = spawn(&[
        "serve",
        "--socket",
        socket,
        "--store",
        "memory:",
        "--http",
        "127.0.0.1:0",
    ]);
    let addr = serve.http_addr();
    // Quiet at the defaults: level with everyone.
    wait_for_policy(serve.id(), OTHER);
    assert_eq!(get(&addr, "/status").0, 200);
    let control = |speed: &str| {
        let out = Command::new(BIN)
            .args(["speed", speed, "--socket", socket])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    // Busy: after every other thread.
    control("max");
    wait_for_policy(serve.id(), IDLE);
    assert_eq!(get(&addr, "/status").0, 200);
    control("1");
    if may_leave_sched_idle() {
        wait_for_policy(serve.id(), OTHER);
    } else {
        serve.wait_for("stays at the lowest priority until the site restarts");
        assert!(api_policies(serve.id()).iter().all(|&p| p == IDLE));
    }
    let (code, _) = serve.terminate();
    assert_eq!(code, 0);
}

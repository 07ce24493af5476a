//! The real binary, headless: summaries, stop conditions, one-line errors and signals.

#[path = "support/error_line.rs"]
mod error_line;
#[path = "support/wallwatch_bin.rs"]
mod wallwatch_bin;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wallwatch_bin::wallwatch;

fn summary(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    assert_eq!(text.lines().count(), 1, "one JSON line on stdout: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

fn check_counts(s: &Value) {
    assert_eq!(s["readings"]["produced"], s["readings"]["stored"], "{s}");
    assert_eq!(
        s["crew_reports"]["produced"], s["crew_reports"]["stored"],
        "{s}"
    );
    let limit = s["network"]["limit"].as_u64().unwrap();
    assert!(
        s["network"]["max_in_flight"].as_u64().unwrap() <= limit,
        "{s}"
    );
}

#[test]
fn twenty_days_at_max_speed() {
    let out = wallwatch()
        .args([
            "run",
            "--headless",
            "--store",
            "memory:",
            "--speed",
            "max",
            "--days",
            "20",
            "--seed",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out.stdout);
    check_counts(&s);
    assert_eq!(s["wall"]["day"], 20);
    assert_eq!(s["network"]["limit"], 5);
    assert_eq!(s["store"], "memory:");
    assert!(s["readings"]["produced"].as_u64().unwrap() > 0);
    // 3 crews each raise one foot a day on the example wall (no section finishes idle before day 20
    // is not assumed: check against the crews' log instead).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let crew_lines = stderr.lines().filter(|l| l.contains(" crew: day ")).count() as u64;
    assert_eq!(crew_lines, s["crew_reports"]["produced"].as_u64().unwrap());
    assert!(
        stderr.contains("day 20 · crew 1 · "),
        "crew log lines reach stderr"
    );
}

#[test]
fn until_complete_stops_on_the_last_day() {
    let out = wallwatch()
        .args([
            "run",
            "--headless",
            "--store",
            "memory:",
            "--speed",
            "max",
            "--until-complete",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = summary(&out.stdout);
    check_counts(&s);
    assert_eq!(s["wall"]["complete"], true);
    // The example wall with 3 crews (DESIGN §1) is complete on day 31: 87 feet.
    assert_eq!(s["wall"]["day"], 31);
    assert_eq!(s["wall"]["done_on"], 31);
    assert_eq!(s["wall"]["ice_to_date"], 87 * 195);
    assert_eq!(s["wall"]["cost_to_date"], 32_233_500);
}

/// One day a wall is done, said alike everywhere: a run left going after it finished counts
/// one day more (the crews are told nothing is left), but its summary says the wall was done on
/// day 31, as `report --crews 3` does.
#[test]
fn a_wall_is_done_on_the_day_report_says() {
    let out = wallwatch()
        .args(["report", "assets/profiles.txt", "--crews", "3"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Done on day 31:"));
    let out = wallwatch()
        .args(["run", "--headless", "--store", "memory:", "--sensors", "0"])
        .args(["--speed", "200", "--duration", "1500ms"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = summary(&out.stdout);
    assert_eq!(s["wall"]["complete"], true, "{s}");
    assert_eq!(s["wall"]["day"], 32, "the relief day: {s}");
    assert_eq!(s["wall"]["done_on"], 31, "{s}");
}

fn one_line_error(args: &[&str]) -> String {
    let out = wallwatch().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty());
    let err = error_line::error_line(&String::from_utf8(out.stderr).unwrap());
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn bad_flags_config_and_profiles_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wallwatch.toml");
    std::fs::write(&cfg, "sensorz = 3\n").unwrap();
    let profiles = dir.path().join("profiles.txt");
    std::fs::write(&profiles, "21 25 28\n17 31\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let profiles = profiles.to_str().unwrap();

    one_line_error(&["run", "--headless", "--network-limit", "0"]);
    one_line_error(&["run", "--headless", "--no-such-flag"]);
    let e = one_line_error(&["run", "--headless", "--speed", "fast"]);
    assert!(e.contains("--speed"), "{e}");
    let e = one_line_error(&["run", "--headless", "--config", cfg]);
    assert!(
        e.trim_end()
            .ends_with("wallwatch.toml:1:1: unknown key 'sensorz'"),
        "{e}"
    );
    let e = one_line_error(&["run", "--headless", "--profiles", profiles]);
    assert!(
        e.trim_end()
            .ends_with("profiles.txt:2:4: '31' is not a height (0..=30)"),
        "{e}"
    );
    let e = one_line_error(&["run", "--headless", "--store", "floppy:/dev/fd0"]);
    assert!(e.contains("floppy:/dev/fd0"), "{e}");
    let e = one_line_error(&[
        "run",
        "--headless",
        "--store",
        "memory:",
        "--sensor-kinds",
        "default,barometer",
    ]);
    assert!(e.contains("barometer"), "{e}");
}

/// Starts a headless run, waits for the engine to start, sends `signal` with `kill`, and checks
/// the summary.
fn stops_cleanly_on(signal: &str) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("wallwatch"))
        .args([
            "run",
            "--headless",
            "--store",
            "memory:",
            "--speed",
            "20",
            "--sensors",
            "20",
        ])
        .args(["--sensor-kinds", "thermometer", "--latency", "1..10ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !line.contains("engine: started") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the run ended before starting"
        );
        assert!(Instant::now() < deadline);
    }
    // Let data flow, then signal in the middle of it.
    std::thread::sleep(Duration::from_millis(700));
    let status = StdCommand::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{signal}: {:?} {rest}", out.status);
    assert!(rest.contains(&format!("stopping (SIG{signal})")), "{rest}");
    let s = summary(&out.stdout);
    check_counts(&s);
    assert!(s["readings"]["produced"].as_u64().unwrap() > 20, "{s}");
}

#[test]
fn sigterm_drains_and_exits_zero() {
    stops_cleanly_on("TERM");
}

#[test]
fn sigint_drains_and_exits_zero() {
    stops_cleanly_on("INT");
}

#[test]
fn sighup_drains_and_exits_zero() {
    stops_cleanly_on("HUP");
}

#[test]
fn duration_stops_a_run() {
    let out = wallwatch()
        .args([
            "run",
            "--headless",
            "--store",
            "memory:",
            "--speed",
            "10",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = summary(&out.stdout);
    check_counts(&s);
    let secs = s["simulated_seconds"].as_f64().unwrap();
    assert!((9.0..60.0).contains(&secs), "{s}");
}

//! Issue 16: every run option has a range, and a panic in an engine task ends the run.
//!
//! Out of range, a flag or a config key is refused with one line naming it, exit 2 — never a
//! panic. A task that panics ends a headless run or a served site at once, with one line naming
//! the task and exit status 101. In range, the engine's time arithmetic saturates instead of
//! panicking, and `Command::SetSpeed` refuses speeds out of range.

#[path = "support/error_line.rs"]
mod error_line;

use std::process::{Command, Output, Stdio};

use clap::Parser;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wallwatch::config::Config;
use wallwatch::engine::{
    Command as EngineCommand, Engine, EngineError, EngineOptions, NetworkProbe, StartOptions,
};
use wallwatch::units::Speed;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

/// Who asks in these tests.
fn asker() -> wallwatch::engine::Asker {
    wallwatch::engine::Asker("test".into())
}

/// Runs the binary with `args` (a memory store, a short duration) and a 20 s guard.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--headless", "--store", "memory:"])
        .args(args)
        .stdin(Stdio::null())
        .env_remove("WALLWATCH_TEST_PANIC_AFTER_MS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        // Still running after 20 s: the run did not end as it should.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(guard);
    out
}

/// The one line of an error exit with status 2.
fn refused(args: &[&str]) -> String {
    let out = run(args, &[]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    let line = error_line::error_line(&err);
    assert!(out.stdout.is_empty(), "{args:?}");
    line
}

/// The known crashes of issue 16, each now one line naming the flag.
#[test]
fn the_known_crashes_are_refused_naming_the_flag() {
    for (flag, value) in [
        ("--speed", "1e20"),
        ("--speed", "1e-300"),
        ("--speed", "1e12"),
        ("--speed", "NaN"),
        ("--speed", "inf"),
        ("--network-limit", "18446744073709551615"),
        ("--network-limit", "65537"),
        ("--sensors", "100000000"),
        ("--sensors", "100001"),
        ("--crews", "4294967295"),
        ("--crews", "1000001"),
        ("--day-seconds", "1e9"),
        ("--day-seconds", "0.0001"),
        ("--duration", "367d"),
        ("--duration", "8785h"),
        ("--duration", "0s"),
        ("--days", "0"),
        ("--days", "1000000001"),
        ("--latency", "61s"),
        ("--latency", "0..2m"),
        ("--max-sections", "10000001"),
        ("--max-sections", "0"),
    ] {
        let e = refused(&[flag, value]);
        assert!(e.contains(flag), "{flag} {value}: {e}");
    }
}

#[test]
fn the_ends_of_every_range_are_accepted() {
    let args = |extra: &[&str]| {
        let mut all = vec!["wallwatch", "run", "--headless"];
        all.extend_from_slice(extra);
        match wallwatch::config::cli::Cli::try_parse_from(all)
            .unwrap()
            .command
        {
            Some(wallwatch::config::cli::Command::Run(args)) => args.into_run(),
            _ => unreachable!(),
        }
    };
    for extra in [
        &[
            "--speed",
            "1000000",
            "--network-limit",
            "65536",
            "--crews",
            "1000000",
        ][..],
        &[
            "--day-seconds",
            "0.001",
            "--days",
            "1000000000",
            "--latency",
            "0..60s",
        ],
        &[
            "--max-sections",
            "10000000",
            "--sensors",
            "100000",
            "--duration",
            "8784h",
        ],
        &[
            "--speed",
            "0.001",
            "--day-seconds",
            "86400",
            "--crews",
            "1",
            "--sensors",
            "0",
        ],
        &[
            "--network-limit",
            "1",
            "--days",
            "1",
            "--latency",
            "60s",
            "--duration",
            "1ms",
        ],
    ] {
        let c = Config::from_args(&args(extra), wallwatch::config::DEFAULT_CREWS);
        assert!(c.is_ok(), "{extra:?}: {:?}", c.err());
    }
    // And the binary runs at both ends of the speed range.
    for speed in ["1000000", "0.001"] {
        let out = run(&["--speed", speed, "--duration", "300ms"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn config_keys_out_of_range_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("speed = 1e20", "speed"),
        ("speed = \"1e-300\"", "speed"),
        ("network-limit = 9223372036854775807", "network-limit"),
        ("sensors = 100000000", "sensors"),
        ("crews = 4294967296", "crews"),
        ("day-seconds = 1e9", "day-seconds"),
        ("day-seconds = 4294967296", "day-seconds"),
        ("duration = \"9000h\"", "duration"),
        ("days = -1", "days"),
        ("latency = \"2m\"", "latency"),
        ("max-sections = 0", "max-sections"),
        ("seed = -1", "seed"),
    ] {
        let path = dir.path().join("w.toml");
        std::fs::write(&path, format!("# a comment\n{text}\n")).unwrap();
        let e = refused(&["--config", path.to_str().unwrap()]);
        assert!(e.contains("w.toml:2:"), "{text}: {e}");
        assert!(e.contains(&format!("key '{key}'")), "{text}: {e}");
    }
}

/// A panic in an engine task ends the run at once (no `--duration` here: without the fix the
/// run went on until killed) with one line naming the task, exit 101.
#[test]
fn a_panic_in_a_task_ends_a_headless_run_at_once_and_says_so() {
    let started = Instant::now();
    let out = run(&[], &[("WALLWATCH_TEST_PANIC_AFTER_MS", "300")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "error: the crew task panicked: test hook: WALLWATCH_TEST_PANIC_AFTER_MS=300 made the \
         crew task panic"
    );
    assert!(out.stdout.is_empty(), "no summary after a panic");
}

#[test]
fn a_panic_in_a_task_ends_a_served_site_at_once_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("site.sock");
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--store",
            "memory:",
            "--socket",
            socket.to_str().unwrap(),
        ])
        .env("WALLWATCH_TEST_PANIC_AFTER_MS", "500")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("serve went on after its crew task panicked");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(101), "{err}");
    assert!(
        err.trim_end()
            .ends_with("error: the crew task panicked: test hook: WALLWATCH_TEST_PANIC_AFTER_MS=500 made the crew task panic"),
        "{err}"
    );
    assert!(!socket.exists(), "the socket file is removed");
}

fn options(sensors: usize, speed: Speed) -> EngineOptions {
    let mut o = Config::example().engine;
    o.store = "memory:".parse().unwrap();
    o.sensors = sensors;
    o.speed = speed;
    o
}

#[tokio::test(start_paused = true)]
async fn set_speed_refuses_speeds_out_of_range() {
    let (engine, _events) = Engine::start(&options(0, Speed::Factor(1.0)))
        .await
        .unwrap();
    let commands = engine.command_sender();
    for f in [
        1e20,
        1e-300,
        0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        1_000_001.0,
        0.0009,
    ] {
        let reply = commands
            .ask(EngineCommand::SetSpeed(Speed::Factor(f)), asker())
            .await;
        let why = reply.expect_err(&format!("{f} refused")).to_string();
        assert!(why.contains("not a speed in range"), "{why}");
    }
    for speed in [Speed::Factor(1_000_000.0), Speed::Factor(0.001), Speed::Max] {
        assert!(
            commands
                .ask(EngineCommand::SetSpeed(speed), asker())
                .await
                .is_ok()
        );
    }
    engine.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_engine_refuses_options_out_of_range() {
    let mut o = options(1, Speed::Factor(1.0));
    o.network_limit = usize::MAX;
    match Engine::start(&o).await {
        Err(EngineError::Options(e)) => assert!(e.starts_with("--network-limit:"), "{e}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    let mut o = options(1, Speed::Factor(1e20));
    o.speed = Speed::Factor(1e20);
    assert!(matches!(
        Engine::start(&o).await,
        Err(EngineError::Options(_))
    ));
    let mut o = options(100_001, Speed::Factor(1.0));
    o.sensors = 100_001;
    assert!(matches!(
        Engine::start(&o).await,
        Err(EngineError::Options(_))
    ));
}

/// Issue 16: at `--speed 1e12` a sensor added later panicked (its timestamps overflowed chrono).
/// At the highest speed allowed, after 200 days, a new sensor's timestamps saturate instead.
#[tokio::test(start_paused = true)]
async fn a_sensor_added_late_at_the_highest_speed_does_not_panic() {
    let (engine, _events) = Engine::start(&options(0, Speed::Factor(1_000_000.0)))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(200 * 86_400)).await;
    let commands = engine.command_sender();
    let added = commands
        .ask(
            EngineCommand::AddSensors {
                kind: Some("default".into()),
                count: 1,
            },
            asker(),
        )
        .await;
    assert!(added.is_ok(), "{added:?}");
    // Let it send a few chunks. (No sleep: a sensor that is behind is always ready to run, so
    // the paused clock would never move on by itself.)
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    let counters = engine.counters();
    let summary = engine.shutdown().await.expect("no task panicked");
    assert!(counters.readings_produced > 0, "{counters:?}");
    assert_eq!(summary.readings.produced, summary.readings.stored);
}

/// A probe that panics the first time a message is sent: the sending task panics inside
/// the network.
struct PanicOnSend(AtomicBool);

impl NetworkProbe for PanicOnSend {
    fn sent(&self, _: usize) {
        if !self.0.swap(true, Ordering::SeqCst) {
            panic!("probe: boom");
        }
    }
    fn delivered(&self, _: usize) {}
}

/// A panicked task is noticed at once (`Engine::failed`) and `shutdown` returns it as an error
/// naming the task; before issue 16 the drain ignored it and returned a summary.
#[tokio::test(start_paused = true)]
async fn a_panic_in_a_sensor_task_is_an_error_from_shutdown() {
    let start = StartOptions {
        probe: Some(Arc::new(PanicOnSend(AtomicBool::new(false)))),
        ..StartOptions::default()
    };
    let (engine, _events) = Engine::start_with(&options(1, Speed::Factor(1.0)), start)
        .await
        .unwrap();
    let line = tokio::time::timeout(Duration::from_secs(60), engine.failed())
        .await
        .expect("the panic is noticed");
    assert!(line.ends_with("task panicked: probe: boom"), "{line}");
    match engine.shutdown().await {
        Err(EngineError::Panicked(e)) => assert_eq!(e, line),
        other => panic!("{other:?}"),
    }
}

/// `--help` states every range.
#[test]
fn help_states_the_ranges() {
    let out = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for range in [
        "0.001..=1000000, or `max`",
        "1..=65536",
        "0..=100000",
        "1..=1000000, or `unlimited`",
        "0.001..=86400",
        "1ms..=366 days",
        "1..=1000000000",
        "each end 0..=60s",
        "1..=10000000",
    ] {
        assert!(help.contains(range), "{range} missing from:\n{help}");
    }
}

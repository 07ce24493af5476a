//! Progress of long command-line work: on standard error when it is a terminal (a real
//! pseudo-terminal, with the output itself redirected to a file), with what is done, the rate
//! and the time left, cleared at the end; nothing at all when standard error is a pipe or the
//! command was asked for JSON.

#[path = "support/dash.rs"]
mod dash;
#[path = "support/mosquitto.rs"]
mod mosquitto;

use assert_cmd::Command;
use chrono::DateTime;
use dash::Dash;
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch};

const READINGS: u64 = 20_000;

/// A SQLite store of [`READINGS`] readings from two sensors.
fn big_store(dir: &std::path::Path) -> String {
    let url = format!("sqlite:{}", dir.join("big.db").display());
    let mut s = store::open(&url).unwrap();
    let readings: Vec<Reading> = (1..=READINGS)
        .map(|id| Reading {
            id,
            timestamp: DateTime::from_timestamp_micros(1_790_000_000_000_000 + id as i64 * 1000)
                .unwrap(),
            sensor: format!("s{}", id % 2),
            value: (id % 201) as i32 - 100,
            stored_at: None,
        })
        .collect();
    s.append(&Batch {
        readings,
        crew_reports: vec![],
    })
    .unwrap();
    s.close().unwrap();
    url
}

/// Runs wallwatch with `args` in a pseudo-terminal, standard output to `out` in `dir`: what
/// reached the terminal (standard error) and the screen it left.
fn on_a_terminal(dir: &std::path::Path, args: &str, out: &str) -> (u32, String, String) {
    let script = format!("exec \"$0\" {args} > {out}");
    let bin = env!("CARGO_BIN_EXE_wallwatch");
    let dash = Dash::spawn_program(dir, "/bin/sh", &["-c", &script, bin], &[], 120, 10);
    let (code, bytes) = dash.finish();
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let mut parser = vt100::Parser::new(10, 120, 0);
    parser.process(&bytes);
    (code, raw, parser.screen().contents().trim().to_string())
}

/// wallwatch with `args`, standard error a pipe: (exit code, standard error).
fn piped(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("wallwatch")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn readings_show_rows_done_rate_and_time_left_on_a_terminal_then_clear() {
    let dir = tempfile::tempdir().unwrap();
    let url = big_store(dir.path());
    let (code, raw, screen) = on_a_terminal(
        dir.path(),
        &format!("readings --store {url} --format csv"),
        "out.csv",
    );
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains("readings "), "{raw:?}");
    assert!(raw.contains(" of 20,000 rows · "), "{raw:?}");
    assert!(
        raw.contains(" rows/s · ") && raw.contains(" left"),
        "{raw:?}"
    );
    assert_eq!(screen, "", "the progress line is cleared at the end");
    // Nothing of it in the output, and every row there.
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, READINGS + 1);
    assert!(!csv.contains("rows/s"));
}

#[test]
fn the_table_shows_its_two_passes_and_a_sensor_shows_rows_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let url = big_store(dir.path());
    let (code, raw, _) = on_a_terminal(dir.path(), &format!("readings --store {url}"), "out.txt");
    assert_eq!(code, 0, "{raw}");
    assert!(
        raw.contains("measuring ") && raw.contains("writing "),
        "{raw:?}"
    );
    let (code, raw, _) = on_a_terminal(
        dir.path(),
        &format!("readings --store {url} --sensor s1 --format json"),
        "out.json",
    );
    assert_eq!(code, 0, "{raw}");
    // The total is not known for one sensor: no "of", no time left.
    assert!(
        raw.contains(" rows · ") && raw.contains(" rows/s"),
        "{raw:?}"
    );
    assert!(!raw.contains(" of ") && !raw.contains(" left"), "{raw:?}");
}

#[test]
fn piped_stderr_gets_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let url = big_store(dir.path());
    for format in ["csv", "json", "table"] {
        let (code, stderr) = piped(
            dir.path(),
            &["readings", "--store", &url, "--format", format],
        );
        assert_eq!((code, stderr.as_str()), (0, ""), "--format {format}");
    }
    std::fs::write(dir.path().join("w.txt"), "21 25 28\n17\n").unwrap();
    let (code, stderr) = piped(dir.path(), &["query", "w.txt", "/profiles/overview"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
}

#[test]
fn a_query_shows_the_bytes_read_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let line = "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n";
    let file = line.repeat(20_000);
    std::fs::write(dir.path().join("big.txt"), &file).unwrap();
    let size = format!(" of {}", indicatif::HumanBytes(file.len() as u64));
    let (code, raw, screen) = on_a_terminal(
        dir.path(),
        "query big.txt /profiles/overview/1",
        "answer.json",
    );
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains("reading ") && raw.contains(&size), "{raw:?}");
    assert_eq!(screen, "");
    let answer = std::fs::read_to_string(dir.path().join("answer.json")).unwrap();
    assert!(answer.starts_with("{\"day\":1,\"cost\":"), "{answer}");
    // A dated question with crews reads the file whole before it schedules: shown as well.
    let (code, raw, _) = on_a_terminal(
        dir.path(),
        "query big.txt /profiles/2/days/5 --crews 3",
        "answer.json",
    );
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains("reading ") && raw.contains(&size), "{raw:?}");
    // So does report's table, but not its JSON.
    let (code, raw, _) = on_a_terminal(dir.path(), "report big.txt", "report.txt");
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains(&size), "{raw:?}");
    let (code, raw, _) = on_a_terminal(dir.path(), "report big.txt --json", "report.json");
    assert_eq!((code, raw.trim()), (0, ""));
}

#[test]
fn bench_shows_readings_stored_on_a_terminal_but_not_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let bench = "bench pipeline --readings 5000 --sensors 10";
    let (code, raw, _) = on_a_terminal(dir.path(), bench, "table.txt");
    assert_eq!(code, 0, "{raw}");
    assert!(raw.contains("run 1 of 1 "), "{raw:?}");
    assert!(raw.contains(" of 5,000 readings · "), "{raw:?}");
    let (code, raw, _) = on_a_terminal(dir.path(), &format!("{bench} --json"), "bench.json");
    assert_eq!((code, raw.trim()), (0, ""));
    let json = std::fs::read_to_string(dir.path().join("bench.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["readings"], 5000);
}

/// `bench broker` shows each step of each run (queueing the readings, the site taking them, the
/// plain subscriber taking them) with readings done of the run's; nothing with `--json`.
#[test]
fn bench_broker_shows_each_step_on_a_terminal_but_not_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let broker = mosquitto::Mosquitto::start(dir.path());
    let bench = format!(
        "bench broker --broker {} --readings 3000 --latency 0 --runs 1",
        broker.url()
    );
    let (code, raw, screen) = on_a_terminal(dir.path(), &bench, "table.txt");
    assert_eq!(code, 0, "{raw}");
    for step in ["queueing", "site", "plain subscriber"] {
        assert!(
            raw.contains(&format!("run 1 of 1 · {step} ")),
            "{step}: {raw:?}"
        );
    }
    assert!(raw.contains(" of 3,000 readings · "), "{raw:?}");
    assert_eq!(screen, "", "the progress line is cleared at the end");
    let (code, raw, _) = on_a_terminal(dir.path(), &format!("{bench} --json"), "bench.json");
    assert_eq!((code, raw.trim()), (0, ""));
    let json = std::fs::read_to_string(dir.path().join("bench.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["readings"], 3000);
}

/// `bench tui` says once what it draws and for how long (one line, not a ticking one: its own
/// CPU is one of its figures); nothing with `--json`.
#[test]
fn bench_tui_says_what_it_draws_on_a_terminal_but_not_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let bench = "bench tui --seconds 0.5 --size 80x24";
    let (code, raw, _) = on_a_terminal(dir.path(), bench, "table.txt");
    assert_eq!(code, 0, "{raw}");
    assert!(
        raw.contains("bench tui: the dashboard at 80x24 for 0.5 s"),
        "{raw:?}"
    );
    let (code, raw, _) = on_a_terminal(dir.path(), &format!("{bench} --json"), "bench.json");
    assert_eq!((code, raw.trim()), (0, ""));
}

/// `bench web` names each of its steps as it comes to it, cleared at the end; nothing with
/// `--json` (the browser is needed as by tests/web_page.rs).
#[test]
fn bench_web_names_each_step_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let bench = "bench web --loads 1 --window 0.5 --rounds 1 --clients 1";
    let (code, raw, screen) = on_a_terminal(dir.path(), bench, "table.txt");
    assert_eq!(code, 0, "{raw}");
    for step in [
        "bench web ",
        "1. first render: load 1 of 1",
        "3. readings/s at --speed max with and without 1 clients: round 1 of 1",
        "4. a 1,000,000-section wall",
    ] {
        assert!(raw.contains(step), "{step}: {raw:?}");
    }
    assert_eq!(screen, "", "the progress line is cleared at the end");
}

//! The real binary in a pseudo-terminal (portable-pty), its screen read back by a terminal
//! emulator (vt100): panes, keys, help, quit, signals, a resize storm, hostile data and a panic
//! in a task. Every test runs in its own temp dir as cwd. Waits poll with generous timeouts.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/dash.rs"]
mod dash;
#[path = "support/postgres.rs"]
mod postgres;

use dash::*;

/// `(readings produced, stored, crew reports produced, stored)` from the exit summary.
fn summary(out: &[u8]) -> (u64, u64, u64, u64) {
    let text = String::from_utf8_lossy(out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("wallwatch: readings produced"))
        .unwrap_or_else(|| panic!("no exit summary in:\n{text}"));
    let num = |s: &str| -> u64 { s.replace(',', "").parse().unwrap() };
    let words: Vec<&str> = line.split([' ', ';']).collect();
    let after = |from: usize, w: &str| {
        let i = from + words[from..].iter().position(|x| *x == w).unwrap();
        (num(words[i + 1]), i + 1)
    };
    let (rp, i) = after(0, "produced");
    let (rs, i) = after(i, "stored");
    let (cp, i) = after(i, "produced");
    let (cs, _) = after(i, "stored");
    assert!(
        line.contains(&format!("produced {} = stored", thousands(rp))),
        "{line}"
    );
    (rp, rs, cp, cs)
}

fn thousands(n: u64) -> String {
    wallwatch::text::thousands(n)
}

fn store_arg(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("w.db").display())
}

#[test]
fn panes_keys_help_and_quit_leave_everything_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_arg(dir.path());
    let mut dash = Dash::spawn(
        dir.path(),
        &["--store", &store, "--seed", "7", "--speed", "20"],
        &[],
        120,
        40,
    );
    dash.wait_screen("the panes and the status bar", panes_up);
    dash.wait_screen("crews 3, sensors 5", |s| {
        status_number(s, "crews") == Some(3) && status_number(s, "sensors") == Some(5)
    });

    dash.press("c");
    dash.wait_screen("crews 4", |s| status_number(s, "crews") == Some(4));
    dash.press("s");
    dash.wait_screen("sensors 6", |s| status_number(s, "sensors") == Some(6));

    dash.press("?");
    dash.wait_text("Keys · ? or Esc closes");
    dash.wait_text("Everywhere");
    dash.press("?");
    dash.wait_screen("help closed", |s| {
        !s.contents().contains("Keys · ? or Esc closes") && panes_up(s)
    });
    // Let a few days pass so crew reports are stored too.
    dash.wait_screen("day 3", |s| status_number(s, "Day").is_some_and(|d| d >= 3));
    dash.press("q");
    let (code, out) = dash.finish();
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    assert_restored(&out);
    let (rp, rs, cp, cs) = summary(&out);
    assert_eq!((rp, cp), (rs, cs));
    assert!(rp > 0 && cp > 0, "readings {rp}, crew reports {cp}");

    let db = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
    let count = |table: &str| -> u64 {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as u64
    };
    assert_eq!(count("readings"), rs);
    assert_eq!(count("crew_reports"), cs);
}

/// The `q` column of the stop matrix: under load (200 sensors, latency 10..50ms, 20 crews), `q`
/// drains every store: the summary says produced = stored and the store holds those rows.
#[test]
fn q_under_load_stores_everything_in_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let schema = postgres::postgres_url().map(|base| postgres::Schema::new(&base, "pty_q"));
    let mut urls = vec![
        "memory:".to_string(),
        format!("csv:{}", dir.path().join("q.csv").display()),
        format!("sqlite:{}", dir.path().join("q.db").display()),
    ];
    urls.extend(schema.as_ref().map(|s| s.url.clone()));
    for url in urls {
        let mut dash = Dash::spawn(
            dir.path(),
            &[
                "--store",
                &url,
                "--sensors",
                "200",
                "--latency",
                "10..50ms",
                "--crews",
                "20",
                "--speed",
                "50",
            ],
            &[],
            100,
            30,
        );
        dash.wait_screen("the panes", panes_up);
        dash.wait_screen("rows stored", |s| {
            status_number(s, "rows").is_some_and(|r| r >= 200)
        });
        dash.press("q");
        let (code, out) = dash.finish();
        assert_eq!(code, 0, "{url}: {}", String::from_utf8_lossy(&out));
        assert_restored(&out);
        let (rp, rs, cp, cs) = summary(&out);
        assert_eq!((rp, cp), (rs, cs), "{url}");
        assert!(rp >= 200, "{url}: {rp} readings");
        if url != "memory:" {
            let counts = wallwatch::store::open(&url).unwrap().counts().unwrap();
            assert_eq!((counts.readings, counts.crew_reports), (rs, cs), "{url}");
        }
    }
}

fn stop_by_signal(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_arg(dir.path());
    let dash = Dash::spawn(
        dir.path(),
        &["--store", &store, "--speed", "20", "--sensors", "20"],
        &[],
        100,
        30,
    );
    dash.wait_screen("the panes", panes_up);
    dash.wait_screen("rows stored", |s| {
        status_number(s, "rows").is_some_and(|r| r >= 20)
    });
    dash.signal(name);
    let (code, out) = dash.finish();
    let text = String::from_utf8_lossy(&out);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("stopping (SIG{name})")), "{text}");
    assert_restored(&out);
    let (rp, rs, cp, cs) = summary(&out);
    assert_eq!((rp, cp), (rs, cs));
    assert!(rp >= 20);
    let db = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
    let stored = db
        .query_row("SELECT COUNT(*) FROM readings", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    assert_eq!(stored, rs);
}

#[test]
fn sigterm_restores_the_terminal_and_stores_everything() {
    stop_by_signal("TERM");
}

#[test]
fn sighup_restores_the_terminal_and_stores_everything() {
    stop_by_signal("HUP");
}

#[test]
fn a_resize_storm_leaves_a_live_correct_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut dash = Dash::spawn(dir.path(), &["--store", "memory:"], &[], 120, 40);
    dash.wait_screen("the panes", panes_up);
    let sizes = [
        (1, 1),
        (10, 3),
        (80, 24),
        (2, 50),
        (200, 50),
        (40, 12),
        (300, 1),
        (79, 23),
        (133, 41),
    ];
    let start = Instant::now();
    for i in 0..500 {
        let (w, h) = sizes[i % sizes.len()];
        dash.resize(w, h);
        // 500 in ~5 s, paced against the clock.
        let due = start + Duration::from_millis(10 * (i as u64 + 1));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    let (w, h) = (100u16, 30u16);
    dash.resize(w, h);
    // The final size is drawn in full: the first row holds the Wall and Network title bars out
    // to the last column, the last two rows are the status bar and the key hints.
    dash.wait_screen("the panes at 100x30", |s| {
        let top = row(s, 0);
        let status = row(s, h - 2);
        let hints = row(s, h - 1);
        panes_up(s)
            && top.contains("Wall")
            && top.contains("Network")
            && s.cell(0, w - 1)
                .is_some_and(|c| c.bgcolor() != vt100::Color::Default)
            && s.cell(0, w).is_none()
            && status.contains("crews 3")
            && hints.contains("? help")
    });
    // Still live: keys work.
    dash.press("c");
    dash.wait_screen("crews 4", |s| status_number(s, "crews") == Some(4));
    dash.press("q");
    let (code, out) = dash.finish();
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    assert_restored(&out);
}

/// A payload of every kind of dangerous control: OSC 52 (set clipboard) ended by BEL, CSI,
/// C1 CSI and C1 OSC.
const HOSTILE: &str = "x\u{1b}]52;c;SGVsbG8=\u{7}\u{1b}[31m\u{9b}2J\u{9d}0;t\u{7}y";
const HOSTILE_TOML: &str = "x\\u001b]52;c;SGVsbG8=\\u0007\\u001b[31m\\u009b2J\\u009d0;t\\u0007y";

/// No OSC, BEL, or C1 CSI/OSC anywhere in what reached the terminal (the dashboard itself only
/// ever writes 7-bit CSI sequences).
fn assert_no_raw_controls(out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(find(out, b"\x1b]").is_none(), "OSC in output: {text:?}");
    assert!(!out.contains(&0x07), "BEL in output: {text:?}");
    assert!(find(out, "\u{9b}".as_bytes()).is_none(), "C1 CSI: {text:?}");
    assert!(find(out, "\u{9d}".as_bytes()).is_none(), "C1 OSC: {text:?}");
    assert!(find(out, b"\x1b[31m").is_none(), "data CSI: {text:?}");
}

fn error_run(dir: &Path, args: &[&str]) -> String {
    let dash = Dash::spawn(dir, args, &[], 100, 30);
    let (code, out) = dash.finish();
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("error: "), "{text}");
    assert!(
        find(&out, b"\x1b[?1049h").is_none(),
        "the screen opened: {text}"
    );
    assert_no_raw_controls(&out);
    text
}

#[test]
fn hostile_file_names_and_contents_in_errors_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A profiles path that does not exist.
    let missing = d.join(format!("{HOSTILE}.txt"));
    let text = error_run(d, &["--profiles", missing.to_str().unwrap()]);
    assert!(text.contains("52;c;SGVsbG8="), "{text}");

    // A profiles file whose content is hostile.
    let profiles = d.join("profiles.txt");
    std::fs::write(&profiles, format!("1 2 3\n4 {HOSTILE} 5\n")).unwrap();
    let text = error_run(d, &["--profiles", profiles.to_str().unwrap()]);
    assert!(text.contains("profiles.txt:2"), "{text}");

    // A config file with a hostile value and one with a hostile key.
    let config = d.join("bad.toml");
    std::fs::write(&config, format!("sensor-kinds = [\"{HOSTILE_TOML}\"]\n")).unwrap();
    let text = error_run(d, &["--config", config.to_str().unwrap()]);
    assert!(text.contains("unknown sensor kind"), "{text}");
    std::fs::write(&config, format!("\"{HOSTILE_TOML}\" = 1\n")).unwrap();
    let text = error_run(d, &["--config", config.to_str().unwrap()]);
    assert!(text.contains("bad.toml"), "{text}");
}

#[test]
fn hostile_data_on_screen_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // A config file whose store path carries the payload: the SQLite file is made under that
    // name, and the URL shows in the log pane ("started: … store sqlite:…") and the summary.
    let config = dir.path().join("wallwatch.toml");
    let sub = dir.path().join("d");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        &config,
        format!("store = \"sqlite:d/{HOSTILE_TOML}.db\"\nseed = 3\n"),
    )
    .unwrap();
    let mut dash = Dash::spawn(
        dir.path(),
        &["--config", config.to_str().unwrap()],
        &[],
        200,
        40,
    );
    dash.wait_screen("the panes", panes_up);
    dash.wait_text("52;c;SGVsbG8=");
    dash.press("q");
    let (code, out) = dash.finish();
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    assert_no_raw_controls(&out);
    // The store really was made under the hostile name.
    let made: Vec<_> = std::fs::read_dir(&sub).unwrap().collect();
    assert!(
        made.iter()
            .any(|e| e.as_ref().unwrap().file_name().to_string_lossy() == format!("{HOSTILE}.db")),
        "{made:?}"
    );
}

#[test]
fn a_panic_in_a_task_restores_the_terminal_and_fails_with_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let dash = Dash::spawn(
        dir.path(),
        &["--store", "memory:"],
        &[("WALLWATCH_TEST_PANIC_AFTER_MS", "800")],
        100,
        30,
    );
    dash.wait_screen("the panes", panes_up);
    let (code, out) = dash.finish();
    let text = String::from_utf8_lossy(&out);
    assert_ne!(code, 0, "{text}");
    let message = "WALLWATCH_TEST_PANIC_AFTER_MS=800 made the crew task panic";
    assert!(text.contains(message), "{text}");
    // Restored before the message was printed.
    let at = find(&out, message.as_bytes()).unwrap();
    let leave = rfind(&out, LEAVE_ALT).unwrap();
    assert!(leave < at, "message printed inside the alternate screen");
    let mut parser = vt100::Parser::new(30, 100, 0);
    parser.process(&out);
    assert!(!parser.screen().alternate_screen());
    assert!(!parser.screen().hide_cursor());
}

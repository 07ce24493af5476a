//! The benchmark commands as a user runs them: their JSON, and `bench tui --record`.

use assert_cmd::Command;
use serde_json::Value;

fn wallwatch() -> Command {
    Command::cargo_bin("wallwatch").unwrap()
}

/// `bench tui` draws the real dashboard into a byte counter; `--record` keeps exactly the bytes
/// it counted, a complete opening paint in synchronized output.
#[test]
fn bench_tui_reports_its_figures_and_records_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stream.bin");
    let out = wallwatch()
        .args([
            "bench",
            "tui",
            "--seconds",
            "2",
            "--size",
            "100x30",
            "--json",
        ])
        .arg("--record")
        .arg(&file)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "bytes_per_s",
        "frames_per_s",
        "render_p50_us",
        "render_p99_us",
    ] {
        assert!(r[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
    }
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(100), Some(30))
    );
    let stream = std::fs::read(&file).unwrap();
    assert_eq!(stream.len() as u64, r["bytes"].as_u64().unwrap());
    assert!(
        stream.starts_with(b"\x1b[?2026h"),
        "frames are synchronized"
    );
    let text = String::from_utf8_lossy(&stream);
    assert_eq!(
        text.matches("\x1b[?2026h").count() as u64,
        r["frames"].as_u64().unwrap(),
        "one synchronized block per frame"
    );
    for pane in [" Wall ", " Network ", " Sensors ", " Log "] {
        assert!(text.contains(pane), "{pane} in the opening paint");
    }
}

#[test]
fn bench_tui_refuses_a_bad_size_in_one_line() {
    let out = wallwatch()
        .args(["bench", "tui", "--size", "wide"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--size"), "{err}");
}

//! The benchmark commands as a user runs them: their JSON, and `bench tui --record`.

#[path = "support/error_line.rs"]
mod error_line;
#[path = "support/wallwatch_bin.rs"]
mod wallwatch_bin;

use serde_json::Value;
use wallwatch_bin::wallwatch;

/// The one JSON object a successful `--json` run prints.
fn success_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
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
    let r = success_json(&out);
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
    for pane in ["Wall", "Network", "Sensors · ", "Log"] {
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

/// `bench pipeline --runs N` measures N runs (engine end to end, raw, minimal pipeline) and reports
/// the run with the median ratio, with every run in `samples`.
#[test]
fn bench_pipeline_reports_the_median_of_its_runs() {
    let out = wallwatch()
        .args(["bench", "pipeline", "--store", "memory:", "--sensors", "20"])
        .args(["--readings", "20000", "--runs", "3", "--json"])
        .output()
        .unwrap();
    let r = success_json(&out);
    let samples = r["samples"].as_array().unwrap();
    assert_eq!((r["runs"].as_u64(), samples.len()), (Some(3), 3));
    let mut ratios: Vec<f64> = samples
        .iter()
        .map(|s| s["ratio"].as_f64().unwrap())
        .collect();
    for s in samples {
        let (e2e, raw) = (
            s["readings_per_s"].as_f64().unwrap(),
            s["raw_per_s"].as_f64().unwrap(),
        );
        assert!(e2e > 0.0 && raw > 0.0, "{s}");
        assert!(s["minimal_per_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(
            (s["ratio"].as_f64().unwrap() - e2e / raw).abs() < 1e-9,
            "{s}"
        );
    }
    ratios.sort_by(f64::total_cmp);
    assert_eq!(r["ratio"].as_f64(), Some(ratios[1]), "{r}");
    let median = samples
        .iter()
        .find(|s| s["ratio"].as_f64() == Some(ratios[1]))
        .unwrap();
    assert_eq!(r["readings_per_s"], median["readings_per_s"]);
    assert_eq!(r["raw_per_s"], median["raw_per_s"]);
    assert_eq!(r["minimal_per_s"], median["minimal_per_s"]);
    assert!(r["max_in_flight"].as_u64().unwrap() <= 5);
    // The per-reading target: the engine over the minimal pipeline, the median over all runs.
    let mut per_minimal: Vec<f64> = samples
        .iter()
        .map(|s| {
            let e = s["engine_per_minimal"].as_f64().unwrap();
            let expected =
                s["readings_per_s"].as_f64().unwrap() / s["minimal_per_s"].as_f64().unwrap();
            assert!((e - expected).abs() < 1e-9, "{s}");
            e
        })
        .collect();
    per_minimal.sort_by(f64::total_cmp);
    assert_eq!(
        r["engine_per_minimal"].as_f64(),
        Some(per_minimal[1]),
        "{r}"
    );
}

/// With latency the benchmark reports the bound `limit / L` and what it achieved of it; the
/// minimal pipeline (a latency-free upper bound) is not run there.
#[test]
fn bench_pipeline_with_latency_reports_the_bound() {
    let out = wallwatch()
        .args(["bench", "pipeline", "--store", "memory:", "--sensors", "20"])
        .args(["--readings", "200", "--latency", "10ms", "--json"])
        .output()
        .unwrap();
    let r = success_json(&out);
    assert_eq!(r["latency_bound_per_s"].as_f64(), Some(500.0), "{r}");
    assert!(r["minimal_per_s"].is_null(), "{r}");
    assert!(r["engine_per_minimal"].is_null(), "{r}");
    assert!(r["readings_per_s"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["max_in_flight"].as_u64(), Some(5), "{r}");
}

/// `bench control` on tiny settings: real `serve` children, real viewers, every command's effect
/// seen in `/status` and in every viewer, the windows alternating, the rules held. No timing is
/// asserted: the figures are the benchmark's, not this test's.
#[test]
fn bench_control_reports_latency_and_throughput_on_real_sites() {
    let out = wallwatch()
        .args(["bench", "control", "--commands", "8", "--viewers", "2"])
        .args([
            "--window",
            "0.5",
            "--rounds",
            "2",
            "--write-rate",
            "20",
            "--json",
        ])
        .output()
        .unwrap();
    let r = success_json(&out);
    assert_eq!(r["store"], "memory:", "{r}");
    assert_eq!(r["viewers"].as_u64(), Some(2), "{r}");
    assert_eq!(r["network_limit"].as_u64(), Some(5), "{r}");
    let latency = r["latency"].as_array().unwrap();
    let speeds: Vec<&str> = latency
        .iter()
        .map(|l| l["speed"].as_str().unwrap())
        .collect();
    assert_eq!(speeds, ["1", "max"], "{r}");
    for l in latency {
        assert_eq!(l["commands"].as_u64(), Some(8), "{l}");
        for part in ["answer", "status", "status_poll", "viewers"] {
            let p = &l[part];
            let (p50, p99, max) = (
                p["p50_ms"].as_f64().unwrap(),
                p["p99_ms"].as_f64().unwrap(),
                p["max_ms"].as_f64().unwrap(),
            );
            assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{part}: {l}");
        }
        assert!(l["max_in_flight"].as_u64().unwrap() <= 5, "{l}");
        assert!(l["viewer_updates_per_s"].as_f64().unwrap() > 0.0, "{l}");
    }
    let t = &r["throughput"];
    let windows = t["windows"].as_array().unwrap();
    // Each round a fresh site, its window without writes first in every other round.
    let kinds: Vec<bool> = windows
        .iter()
        .map(|w| w["writes"].as_bool().unwrap())
        .collect();
    assert_eq!(kinds, [false, true, true, false], "{t}");
    for w in windows {
        assert!(w["readings_per_s"].as_f64().unwrap() > 0.0, "{w}");
        assert!(w["max_in_flight"].as_u64().unwrap() <= 5, "{w}");
        let writes = w["writes"].as_bool().unwrap();
        assert_eq!(w["answer"].is_null(), !writes, "{w}");
        assert_eq!(w["writes_per_s"].as_f64().unwrap() > 0.0, writes, "{w}");
    }
    let pairs: Vec<f64> = t["pair_ratios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    let rate = |i: usize| windows[i]["readings_per_s"].as_f64().unwrap();
    assert_eq!(pairs.len(), 2, "{t}");
    assert!((pairs[0] - rate(1) / rate(0)).abs() < 1e-9, "{t}");
    assert!((pairs[1] - rate(2) / rate(3)).abs() < 1e-9, "{t}");
    let with = t["readings_per_s_with"].as_f64().unwrap();
    let without = t["readings_per_s_without"].as_f64().unwrap();
    assert!(
        (t["ratio"].as_f64().unwrap() - with / without).abs() < 1e-9,
        "{t}"
    );
}

#[test]
fn bench_control_refuses_a_bad_window_in_one_line() {
    let out = wallwatch()
        .args(["bench", "control", "--window", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = error_line::error_line(&String::from_utf8_lossy(&out.stderr));
    assert!(err.contains("--window"), "{err}");
}

/// `bench web` in a real headless Chromium gives every figure (the browser is needed as by
/// tests/web_page.rs: without it this fails naming the packages, unless
/// WALLWATCH_SKIP_BROWSER=1 outside CI).
#[test]
fn bench_web_reports_the_pages_figures() {
    let out = wallwatch()
        .args([
            "bench", "web", "--loads", "2", "--window", "1", "--rounds", "1",
        ])
        .args(["--clients", "5", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if !out.status.success()
        && err.contains("apt-get install -y chromium chromium-driver")
        && !ci
        && std::env::var("WALLWATCH_SKIP_BROWSER").as_deref() == Ok("1")
    {
        eprintln!("skipping bench web (WALLWATCH_SKIP_BROWSER=1): {err}");
        return;
    }
    let v = success_json(&out);
    assert_eq!(v["loads"], 2);
    assert_eq!(v["clients"], 5);
    let positive = |k: &str| v[k].as_f64().is_some_and(|x| x > 0.0);
    // A second at the defaults may bring no update: the bytes are only figures here.
    for k in [
        "browser_bytes_per_s",
        "viewer_bytes_per_s",
        "site_cpu_pct_with",
    ] {
        assert!(v[k].as_f64().is_some_and(|x| x >= 0.0), "{k}: {v}");
    }
    for k in [
        "first_render_cold_ms",
        "pipeline_without",
        "pipeline_with",
        "pipeline_kept",
        "big_first_render_ms",
    ] {
        assert!(positive(k), "{k}: {v}");
    }
    assert!(v["first_render"]["max_ms"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["big_updates"].as_u64().unwrap() > 0, "{v}");
    assert!(v["big_update"]["p50_ms"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn bench_web_refuses_a_bad_window_in_one_line() {
    let out = wallwatch()
        .args(["bench", "web", "--window", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = error_line::error_line(&String::from_utf8_lossy(&out.stderr));
    assert!(err.contains("--window"), "{err}");
}

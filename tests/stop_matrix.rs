//! Every store × every way to stop a headless run (SIGINT, SIGTERM, SIGHUP, `--duration`), under
//! load: 200 sensors, latency 10..50ms, 20 crews, speed 50. Each run exits 0, its summary says
//! produced = stored for readings and crew reports, and a persistent store holds exactly those
//! rows. The cases run in parallel, a few at a time. (`q` in the dashboard needs a pty: see
//! tests/pty.rs.)

#[path = "support/postgres.rs"]
mod postgres;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wallwatch::store;

const STOPS: [&str; 4] = ["INT", "TERM", "HUP", "duration"];
/// Cases running at once.
const PARALLEL: usize = 8;

fn run_case(url: &str, stop: &str) -> Result<(), String> {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("wallwatch"));
    cmd.args(["run", "--headless", "--store", url])
        .args(["--sensors", "200", "--latency", "10..50ms", "--crews", "20"])
        .args(["--speed", "50", "--seed", "3"]);
    if stop == "duration" {
        cmd.args(["--duration", "1s"]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let mut line = String::new();
    while !line.contains("engine: started") {
        line.clear();
        if stderr.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err(format!("ended before starting: {log}"));
        }
        log.push_str(&line);
    }
    if stop != "duration" {
        // Let the network fill up, then stop in the middle of the flow.
        std::thread::sleep(Duration::from_millis(800));
        let ok = Command::new("kill")
            .args([&format!("-{stop}"), &child.id().to_string()])
            .status()
            .map_err(|e| e.to_string())?
            .success();
        if !ok {
            return Err("kill failed".into());
        }
    }
    stderr.read_to_string(&mut log).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let ctx = || format!("{url} {stop}: {log}");
    if !out.status.success() {
        return Err(format!("exit {:?}: {}", out.status, ctx()));
    }
    let want = if stop == "duration" {
        "stopping (duration reached)".to_string()
    } else {
        format!("stopping (SIG{stop})")
    };
    if !log.contains(&want) {
        return Err(format!("no '{want}': {}", ctx()));
    }
    let s: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", ctx()))?;
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    let (rp, rs) = (n(&s["readings"]["produced"]), n(&s["readings"]["stored"]));
    let (cp, cs) = (
        n(&s["crew_reports"]["produced"]),
        n(&s["crew_reports"]["stored"]),
    );
    if rp != rs || cp != cs || rp < 200 || cp == 0 {
        return Err(format!("produced != stored or too little: {s}"));
    }
    if n(&s["store_rows"]["readings"]) != rs || n(&s["store_rows"]["crew_reports"]) != cs {
        return Err(format!("summary's store rows differ from stored: {s}"));
    }
    if !url.starts_with("memory:") {
        let mut st = store::open(url).map_err(|e| e.to_string())?;
        let c = st.counts().map_err(|e| e.to_string())?;
        st.close().map_err(|e| e.to_string())?;
        if c.readings != rs || c.crew_reports != cs {
            return Err(format!("the store holds {c:?}, the summary says {s}"));
        }
        if c.last_reading_id != c.readings || c.last_crew_report_id != c.crew_reports {
            return Err(format!("ids have holes: {c:?}"));
        }
    }
    Ok(())
}

#[test]
fn every_store_and_every_stop_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = postgres::postgres_url();
    let mut schemas = Vec::new();
    let mut cases = Vec::new();
    for (i, stop) in STOPS.iter().enumerate() {
        cases.push(("memory:".to_string(), *stop));
        let csv = dir.path().join(format!("run{i}.csv"));
        cases.push((format!("csv:{}", csv.display()), *stop));
        let db = dir.path().join(format!("run{i}.db"));
        cases.push((format!("sqlite:{}", db.display()), *stop));
        if let Some(base) = &base {
            let schema = postgres::Schema::new(base, "stops");
            cases.push((schema.url.clone(), *stop));
            schemas.push(schema);
        }
    }
    let total = cases.len();
    let queue = Arc::new(Mutex::new(cases));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let queue = queue.clone();
            let failures = failures.clone();
            std::thread::spawn(move || {
                loop {
                    let Some((url, stop)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    if let Err(e) = run_case(&url, stop) {
                        failures.lock().unwrap().push(e);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 12);
}

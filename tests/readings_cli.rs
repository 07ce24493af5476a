//! `wallwatch readings` as a user runs it: the real binary against a SQLite store filled through
//! the `Store` trait.

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, format_timestamp};

fn at(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_790_000_000_000_000 + n * 1_250_001).unwrap()
}

/// A store with 6 readings from three sensors, one with a comma and one with an escape
/// sequence in its name; the last two have no `stored_at` (as a store kept them from before it
/// recorded the time).
fn filled() -> (tempfile::TempDir, String, Vec<Reading>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("w.db").display());
    let names = ["thermo-1", "strain,2", "evil\u{1b}[2J"];
    let readings: Vec<Reading> = (1..=6u64)
        .map(|id| Reading {
            id,
            timestamp: at(id as i64),
            sensor: names[(id as usize - 1) % 3].to_string(),
            value: [-100, 7, 100, 0, -5, 42][id as usize - 1],
            stored_at: (id <= 4).then(|| at(1_000 + id as i64)),
        })
        .collect();
    let mut s = store::open(&url).unwrap();
    s.append(&Batch {
        readings: readings[..4].to_vec(),
        crew_reports: vec![],
    })
    .unwrap();
    s.append(&Batch {
        readings: readings[4..].to_vec(),
        crew_reports: vec![],
    })
    .unwrap();
    s.close().unwrap();
    (dir, url, readings)
}

fn readings(args: &[&str]) -> (String, String, i32) {
    let out = Command::cargo_bin("wallwatch")
        .unwrap()
        .arg("readings")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn csv_format() {
    let (_dir, url, rs) = filled();
    let (out, err, code) = readings(&["--store", &url, "--format", "csv"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let mut expected = String::from("id,timestamp,sensor,value,stored_at\n");
    for r in &rs {
        let name = match r.sensor.as_str() {
            "strain,2" => "\"strain,2\"",
            "evil\u{1b}[2J" => "evil\\u{1b}[2J",
            other => other,
        };
        expected.push_str(&format!(
            "{},{},{},{},{}\n",
            r.id,
            format_timestamp(&r.timestamp),
            name,
            r.value,
            r.stored_at.as_ref().map_or(String::new(), format_timestamp)
        ));
    }
    assert_eq!(out, expected);

    let (out, _, code) = readings(&[
        "--store", &url, "--format", "csv", "--sensor", "strain,2", "--limit", "1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "id,timestamp,sensor,value,stored_at\n5,{},\"strain,2\",-5,\n",
            format_timestamp(&rs[4].timestamp)
        )
    );
}

#[test]
fn json_format() {
    let (_dir, url, rs) = filled();
    let (out, err, code) = readings(&["--store", &url, "--format", "json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(!out.contains('\u{1b}'), "raw escape in output");
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed.len(), rs.len());
    for (v, r) in parsed.iter().zip(&rs) {
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(v["id"], r.id);
        match &r.stored_at {
            Some(at) => assert_eq!(
                DateTime::parse_from_rfc3339(v["stored_at"].as_str().unwrap()).unwrap(),
                *at
            ),
            None => assert!(v["stored_at"].is_null(), "{v}"),
        }
        assert_eq!(v["sensor"], r.sensor.as_str());
        assert_eq!(v["value"], r.value);
        let t = DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap()).unwrap();
        assert_eq!(t, r.timestamp);
    }

    let (out, _, code) = readings(&["--store", &url, "--format", "json", "--sensor", "nobody"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap(),
        Vec::<serde_json::Value>::new()
    );
}

#[test]
fn table_format_is_the_default() {
    let (_dir, url, rs) = filled();
    let (out, err, code) = readings(&["--store", &url, "--limit", "3"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["id", "timestamp", "sensor", "value", "stored_at"]);
    // the last three readings, columns aligned: every row's timestamp starts where the
    // header's does, and values end at the same column
    let ts_col = lines[0].find("timestamp").unwrap();
    let sensor_col = lines[0].find("sensor").unwrap();
    let value_end = lines[0].find("value").unwrap() + "value".len();
    let stored_col = lines[0].find("stored_at").unwrap();
    for (line, r) in lines[1..].iter().zip(&rs[3..]) {
        let ts = format_timestamp(&r.timestamp);
        assert_eq!(line.find(&ts), Some(ts_col), "{line}");
        assert_eq!(
            line.split_whitespace().next(),
            Some(r.id.to_string().as_str())
        );
        assert!(
            line[sensor_col..].starts_with(&*wallwatch::text::sanitize(&r.sensor)),
            "{line}"
        );
        assert!(
            line[..value_end].ends_with(&r.value.to_string()),
            "values not right-aligned: {out}"
        );
        let stored = r
            .stored_at
            .as_ref()
            .map_or("–".to_string(), format_timestamp);
        assert_eq!(&line[stored_col..], stored, "{line}");
    }
}

#[test]
fn bad_stores_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite:{}", dir.path().join("none.db").display());
    for url in [
        missing.as_str(),
        "nope:",
        "postgres://u:secret@127.0.0.1:1/db",
    ] {
        let (out, err, code) = readings(&["--store", url, "--format", "csv"]);
        assert_eq!(code, 2, "{url}: {err}");
        assert_eq!(out, "", "{url}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: store '"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }
    assert!(
        !dir.path().join("none.db").exists(),
        "export created a store"
    );
}

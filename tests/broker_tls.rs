//! The site and agents over TLS (`mqtts://`) to a real Mosquitto whose one listener is TLS, with
//! a CA and a server certificate made by `openssl` for the test (`support/mosquitto.rs`). The
//! broker's certificate is checked: against the CA of `--broker-ca` (or the config file's
//! `broker-ca`) it is taken, without it (only the system's roots) it is refused, and a CA file
//! that is missing or bad is one line naming it. (With the cargo feature `tls`, on by default.)
#![cfg(feature = "tls")]

#[path = "support/headless_site.rs"]
mod headless_site;
#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::path::Path;
use std::process::{Command, Output};

use headless_site::Site;
use mosquitto::{Mosquitto, TestCerts};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

impl Site {
    /// A site with `args` (its broker among them), no local sensors.
    fn start(db: &Path, args: &[&str]) -> Site {
        Site::launch(db, &[&["--sensors", "0"], args].concat())
    }
}

/// (readings stored, distinct seqs, lowest and highest seq) of `agent`.
fn stored(db: &Path, agent: &str) -> (u64, u64, u64, u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM readings WHERE agent = ?1",
        [agent],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        },
    )
    .unwrap()
}

/// The one `error:` line of a command that must fail with exit 2 (and never panic).
fn one_error_line(args: &[&str], out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    lines[0].to_string()
}

/// `agent`, `run --headless` and `serve` with `broker` and `extra` options: each is refused
/// with one line and exit 2; the lines.
fn refused_everywhere(broker: &str, extra: &[&str]) -> Vec<String> {
    let commands: [&[&str]; 3] = [
        &["agent", "--sensors", "1", "--agent-id", "a"],
        &["run", "--headless", "--store", "memory:"],
        &["serve", "--store", "memory:", "--name", "tls-refused"],
    ];
    commands
        .iter()
        .map(|command| {
            let args = [*command, &["--broker", broker], extra].concat();
            let out = Command::new(BIN).args(&args).output().unwrap();
            one_error_line(&args, &out)
        })
        .collect()
}

/// An agent over `mqtts://` with `--broker-ca` sends its readings to a site over `mqtts://`
/// whose CA is the config file's `broker-ca` (relative to the file): produced = confirmed =
/// stored, each seq once, none missing, and the site's log names the broker as `mqtts://`.
#[test]
fn an_agent_over_mqtts_delivers_every_reading_to_a_site_over_mqtts() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::make(&dir.path().join("certs"), "wallwatch test CA");
    let broker = Mosquitto::start_tls(dir.path(), &certs);
    let url = broker.tls_url();
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        format!("broker = \"{url}\"\nbroker-ca = \"certs/ca.pem\"\nsite = \"tls\"\n"),
    )
    .unwrap();
    let db = dir.path().join("site.db");
    let site = Site::start(&db, &["--config", config.to_str().unwrap()]);
    let ca = certs.ca.to_str().unwrap();
    let agent = Command::new(BIN)
        .args([
            "agent",
            "--broker",
            &url,
            "--broker-ca",
            ca,
            "--site",
            "tls",
        ])
        .args(["--agent-id", "pump", "--sensors", "5", "--seed", "7"])
        .args([
            "--speed",
            "20",
            "--duration",
            "3s",
            "--drain-timeout",
            "20s",
        ])
        .output()
        .unwrap();
    let agent_log = String::from_utf8_lossy(&agent.stderr);
    assert!(
        agent.status.success(),
        "agent: {}\n{agent_log}",
        agent.status
    );
    assert!(
        agent_log.contains(&format!("publishing to {url}")),
        "{agent_log}"
    );
    let summary: Value = serde_json::from_slice(&agent.stdout).unwrap();
    let produced = summary["produced"].as_u64().unwrap();
    assert!(produced > 0, "{summary}");
    assert_eq!(summary["confirmed"], produced, "{summary}");
    assert_eq!(summary["pending"], 0, "{summary}");
    let (count, distinct, lo, hi) = stored(&db, "pump");
    assert_eq!(count, produced, "stored {count} of {produced}");
    assert_eq!(count, distinct, "a seq stored twice");
    assert_eq!(hi - lo + 1, count, "a seq missing");
    let log = site.log.clone();
    let site_summary = site.stop();
    assert_eq!(site_summary["remote"]["stored"], produced, "{site_summary}");
    let log = log.lock().unwrap();
    assert!(log.contains(&format!("from {url}")), "{log}");
    assert!(!log.contains("lost the broker"), "{log}");
}

/// Without the broker's CA (only the system's roots), or with another CA, the broker's
/// certificate is not trusted: `agent`, `run` and `serve` each say so in one line naming the
/// broker and the reason, exit 2. So is `mqtts://` to a listener without TLS.
#[test]
fn an_untrusted_broker_certificate_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::make(&dir.path().join("certs"), "wallwatch test CA");
    let other = TestCerts::make(&dir.path().join("other"), "another CA");
    let broker = Mosquitto::start_tls(dir.path(), &certs);
    let url = broker.tls_url();
    let other_ca = other.ca.to_str().unwrap();
    for extra in [&[][..], &["--broker-ca", other_ca][..]] {
        for line in refused_everywhere(&url, extra) {
            assert!(line.contains(&format!("broker {url}: ")), "{line}");
            assert!(line.contains("certificate"), "{line}");
            assert!(line.contains("--broker-ca"), "says what to do: {line}");
        }
    }
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = Mosquitto::start(plain_dir.path());
    let not_tls = format!("mqtts://127.0.0.1:{}", plain.port);
    let ca = certs.ca.to_str().unwrap();
    for line in refused_everywhere(&not_tls, &["--broker-ca", ca]) {
        assert!(line.contains(&format!("broker {not_tls}: ")), "{line}");
        assert!(line.contains("is it a listener with TLS?"), "{line}");
    }
}

/// A CA file that is missing, not PEM, holds no certificate, or is a directory: one line
/// naming it, exit 2, before any connection (the broker here is not even listening); as the
/// config file's `broker-ca`, the line names the file and the key. A CA file for an `mqtt://`
/// broker is refused too.
#[test]
fn a_bad_ca_file_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-ca.pem");
    let junk = dir.path().join("junk-ca.pem");
    std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\nnot base64 !\n").unwrap();
    let key_only = dir.path().join("key-only.pem");
    std::fs::write(
        &key_only,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let nowhere = "mqtts://127.0.0.1:1";
    for (file, why) in [
        (missing.as_path(), "cannot read"),
        (junk.as_path(), "not a PEM file"),
        (key_only.as_path(), "no certificate in it"),
        (dir.path(), "cannot read: not a regular file"),
    ] {
        let shown = file.display().to_string();
        for line in refused_everywhere(nowhere, &["--broker-ca", &shown]) {
            assert!(
                line.starts_with(&format!("error: --broker-ca: {shown}: {why}")),
                "{line}"
            );
        }
    }
    let config = dir.path().join("w.toml");
    std::fs::write(
        &config,
        format!("broker = \"{nowhere}\"\nbroker-ca = \"missing-ca.pem\"\n"),
    )
    .unwrap();
    let args = ["run", "--headless", "--store", "memory:", "--config"];
    let out = Command::new(BIN).args(args).arg(&config).output().unwrap();
    let line = one_error_line(&args, &out);
    assert!(
        line.contains(&format!("{}:2:", config.display()))
            && line.contains("key 'broker-ca'")
            && line.contains(&format!("{}: cannot read", missing.display())),
        "{line}"
    );
    let ca = missing.display().to_string();
    for line in refused_everywhere("mqtt://127.0.0.1:1", &["--broker-ca", &ca]) {
        assert!(
            line.contains("--broker-ca: ") && line.contains("mqtts://"),
            "{line}"
        );
    }
}

//! A site for the broker tests: `run --headless` on a SQLite store, its standard error collected
//! as it comes, started once it says it takes agents' readings.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

pub struct Site {
    pub child: Child,
    /// What it wrote to standard error so far.
    pub log: Arc<Mutex<String>>,
}

impl Site {
    /// `run --headless --network-limit 5 ARGS --store sqlite:DB`, once it takes agents' readings.
    pub fn launch(db: &Path, args: &[&str]) -> Site {
        let mut child = Command::new(BIN)
            .args(["run", "--headless", "--network-limit", "5"])
            .args(args)
            .arg("--store")
            .arg(format!("sqlite:{}", db.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let site = Site { child, log };
        site.wait_for("taking agents' readings");
        site
    }

    /// Waits (at most 30 s, and only while the site runs) until its log holds `text`.
    pub fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log.lock().unwrap().contains(text) {
            assert!(
                Instant::now() < deadline && self.running(),
                "no '{text}' in the site's log:\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn running(&self) -> bool {
        // SAFETY: signal 0 only checks that our child is there.
        unsafe { libc::kill(self.child.id() as i32, 0) == 0 }
    }

    /// SIGTERM, then the JSON summary.
    pub fn stop(mut self) -> Value {
        signal(&self.child, libc::SIGTERM);
        let mut out = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut out).unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "site: {status}\n{}",
            self.log.lock().unwrap()
        );
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

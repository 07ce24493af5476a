//! A `wallwatch` process a test runs and talks to: its stderr read line by line on a thread of
//! its own, waited on for what the site says (where it listens), stopped with SIGTERM for its
//! summary, and killed if the test ends first.
#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `cmd` with stdout and stderr piped (stdin closed).
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first stderr line containing `what` (within 60 s).
    pub fn wait_for(&mut self, what: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no '{what}' on stderr; saw {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(what) {
                return line;
            }
        }
    }

    /// Every stderr line read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// The HTTP API's address from its log line.
    pub fn http_addr(&mut self) -> String {
        let line = self.wait_for("HTTP API on http://");
        line.rsplit("http://").next().unwrap().trim().to_string()
    }

    /// The socket `serve` says it serves at.
    pub fn socket(&mut self) -> PathBuf {
        let line = self.wait_for("serving the site at ");
        let rest = line.split("serving the site at ").nth(1).unwrap();
        PathBuf::from(rest.split(';').next().unwrap())
    }

    /// SIGTERM, then the exit status and stdout.
    pub fn terminate(mut self) -> (i32, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), out)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The process's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if it has ended, without waiting.
    pub fn try_exit(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .unwrap()
            .map(|s| s.code().unwrap_or(-1))
    }
}

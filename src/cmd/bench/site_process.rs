//! A real site for the benchmarks: this binary's `wallwatch serve` as a child process, with its
//! socket, its HTTP API on a free loopback port and its token file in a directory of the
//! benchmark's. Stopped as a user stops it (SIGTERM), its final summary read from its stdout.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::engine::Summary;

/// How long a site has to start.
const START_WITHIN: Duration = Duration::from_secs(60);

/// A running `wallwatch serve`.
pub struct SiteProcess {
    child: Child,
    pub socket: PathBuf,
    pub http: SocketAddr,
    /// The bearer token its writes need.
    pub token: String,
    stdout: Option<JoinHandle<String>>,
}

impl SiteProcess {
    /// Starts `wallwatch serve` with `args` (run options), its socket `dir/NAME.sock`, its
    /// token file `dir/NAME.token`; returns once it says where it serves.
    pub fn start(dir: &Path, name: &str, args: &[String]) -> Result<SiteProcess, String> {
        let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
        let socket = dir.join(format!("{name}.sock"));
        let token_file = dir.join(format!("{name}.token"));
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .args(["--http", "127.0.0.1:0", "--http-token-file"])
            .arg(&token_file)
            .args(args)
            // The API's address is in its info line, whatever the caller's RUST_LOG.
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `wallwatch serve`: {e}"))?;
        let (Some(mut out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err("`wallwatch serve` has no stdout or stderr".into());
        };
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let (tx, lines) = mpsc::channel();
        // Read to the end, so the site never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut site = SiteProcess {
            child,
            socket,
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: String::new(),
            stdout: Some(stdout),
        };
        let mut last = String::new();
        let mut http = None;
        loop {
            let line = lines.recv_timeout(START_WITHIN).map_err(|_| {
                let why = if last.is_empty() { "no word" } else { &last };
                format!("`wallwatch serve` did not start: {why}")
            })?;
            if let Some((_, addr)) = line.rsplit_once("HTTP API on http://") {
                http = addr.trim().parse().ok();
            }
            // The last thing it says when the socket, the API and the token are all there.
            if line.starts_with("wallwatch: serving the site at") {
                break;
            }
            last = line;
        }
        site.http = http.ok_or("`wallwatch serve` did not say where its API is")?;
        site.token = std::fs::read_to_string(&token_file)
            .map_err(|e| format!("the token file {}: {e}", token_file.display()))?
            .trim()
            .to_string();
        Ok(site)
    }

    /// The site's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the site with SIGTERM and returns its final summary.
    pub fn stop(mut self) -> Result<Summary, String> {
        self.terminate();
        let status = self.child.wait().map_err(|e| e.to_string())?;
        let out = self
            .stdout
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(format!("`wallwatch serve` ended with {status}"));
        }
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).map_err(|e| format!("`wallwatch serve`'s summary: {e}"))
    }

    fn terminate(&self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: a signal to our own child, which we have not waited for yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

impl Drop for SiteProcess {
    fn drop(&mut self) {
        if self.stdout.is_some() {
            self.terminate();
            let _ = self.child.wait();
        }
    }
}

/// A private directory for the benchmark's sites, removed when dropped.
pub struct BenchDir(pub PathBuf);

impl BenchDir {
    pub fn new(what: &str) -> Result<BenchDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        let path =
            std::env::temp_dir().join(format!("wallwatch-bench-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(BenchDir(path))
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

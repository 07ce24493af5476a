//! A throwaway PostgreSQL server of one test's own, which the test can stop and start again
//! (the logic of `.ci/postgres.sh`): initdb into a temporary directory owned by `postgres`
//! (the server refuses to run as root; commands run through `runuser` when we are root), trust
//! authentication on 127.0.0.1 at a free port, fsync off.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Set to `1` to skip the PostgreSQL tests on a machine without PostgreSQL (never under CI).
pub const SKIP_VAR: &str = "WALLWATCH_SKIP_POSTGRES";

/// Without PostgreSQL's server: `None` when the user opted out (and not under CI), with a note
/// naming the variable; otherwise the test fails with one line saying what to install.
fn not_installed() -> Option<PgServer> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("note: {SKIP_VAR}=1: a PostgreSQL test is skipped");
        return None;
    }
    panic!(
        "PostgreSQL's server (initdb, pg_ctl, postgres) is not installed: `apt-get install -y \
         postgresql` (or set {SKIP_VAR}=1 to skip the PostgreSQL tests)"
    );
}

pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The directory holding initdb, pg_ctl and postgres, found like .ci/postgres.sh does.
fn bindir() -> Option<PathBuf> {
    let ok = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).exists())
    };
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        && out.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let Some(d) = std::fs::canonicalize(&p)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            && ok(&d)
        {
            return Some(d);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| ok(d))
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgServer {
    /// Starts a server; without PostgreSQL, see [`not_installed`].
    pub fn start() -> Option<PgServer> {
        let Some(bin) = bindir() else {
            return not_installed();
        };
        let dir = tempfile::Builder::new()
            .prefix("wallwatch-pgsrv")
            .tempdir()
            .unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:", dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(
                status.success(),
                "chown to postgres failed (is there a postgres user?)"
            );
        }
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let server = PgServer {
            bin,
            dir,
            port: free_port(),
        };
        let data = server.data();
        server.run(&[
            "initdb",
            "-D",
            &data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        server.start_again();
        server.run(&[
            "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            "wallwatch_restart",
        ]);
        Some(server)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, args: &[&str]) {
        let program = self.bin.join(args[0]);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd.args(&args[1..]).output().unwrap();
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{args:?} failed: {}{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of one server for the whole test process, started at the first call. A watchdog
    /// process stops it and removes its directory once this process has gone (a test binary
    /// runs no destructors of statics at exit).
    pub fn shared_url() -> Option<String> {
        static SHARED: OnceLock<Option<String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let server = PgServer::start()?;
                let url = server.url();
                server.stop_after_exit();
                Some(url)
            })
            .clone()
    }

    // The watchdog is meant to outlive this process: nobody waits for it.
    #[allow(clippy::zombie_processes)]
    fn stop_after_exit(self) {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let stop = if is_root() {
            format!("runuser -u postgres -- '{pg_ctl}'")
        } else {
            format!("'{pg_ctl}'")
        };
        let dir = self.dir.path().display().to_string();
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done; {stop} -D '{}' -m immediate -w \
             stop; rm -rf '{dir}'",
            std::process::id(),
            self.data()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts");
        // The watchdog stops it now, and removes the directory: no Drop here.
        std::mem::forget(self);
    }

    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/wallwatch_restart?connect_timeout=2",
            self.port
        )
    }

    /// `pg_ctl stop -m fast`: open connections are cut.
    pub fn stop(&self) {
        self.run(&["pg_ctl", "-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Starts the (stopped) server again on the same port.
    pub fn start_again(&self) {
        let log = self.dir.path().join("server.log").display().to_string();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        self.run(&[
            "pg_ctl",
            "-D",
            &self.data(),
            "-l",
            &log,
            "-w",
            "-t",
            "60",
            "-o",
            &opts,
            "start",
        ]);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        };
    }
}

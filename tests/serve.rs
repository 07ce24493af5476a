//! `wallwatch serve`, `attach`, `status` and `stop` as real binaries: viewers in
//! pseudo-terminals, raw protocol clients on the socket, another uid through `setpriv`.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/dash.rs"]
mod dash;

use dash::{Dash, LEAVE_ALT, WAIT, assert_restored, panes_up, rfind, status_number};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

/// A site served in the background from its own temp dir.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Server {
    /// `serve --socket DIR/site.sock --store sqlite:DIR/site.db` with `extra` options.
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("site.sock");
        let server = Server::spawn(dir, socket, extra);
        server.wait_listening();
        server
    }

    fn spawn(dir: tempfile::TempDir, socket: PathBuf, extra: &[&str]) -> Server {
        let store = format!("sqlite:{}", dir.path().join("site.db").display());
        let out = std::fs::File::create(dir.path().join("serve.out")).unwrap();
        let err = std::fs::File::create(dir.path().join("serve.err")).unwrap();
        let child = Command::new(BIN)
            .args([
                "serve",
                "--socket",
                socket.to_str().unwrap(),
                "--store",
                &store,
            ])
            .args(extra)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Server { child, dir, socket }
    }

    fn wait_listening(&self) {
        let start = Instant::now();
        while !self.stderr().contains("serving the site at") {
            assert!(
                start.elapsed() < WAIT,
                "serve did not start: {}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.err")).unwrap_or_default()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.out")).unwrap_or_default()
    }

    fn socket_arg(&self) -> &str {
        self.socket.to_str().unwrap()
    }

    /// `wallwatch status --json`.
    fn status(&self) -> Value {
        let out = client(&["status", "--socket", self.socket_arg(), "--json"]);
        assert!(out.status.success(), "status: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits until `pred` holds of the status.
    fn wait_status(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            assert!(start.elapsed() < WAIT, "timed out waiting for {what}: {s}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn attach(&self, extra: &[&str], cols: u16, rows: u16) -> Dash {
        let mut args = vec!["attach", "--socket", self.socket_arg()];
        args.extend(extra);
        Dash::spawn(self.dir.path(), &args, &[], cols, rows)
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits for the server to exit; its exit code.
    fn wait_exit(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < WAIT,
                "serve did not exit: {}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn n(v: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_u64()
        .unwrap_or_else(|| panic!("no {path:?} in {v}"))
}

/// Frames a payload as the protocol does: a 4-byte big-endian length, then the bytes.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// Reads one frame's payload (blocking, with a timeout).
fn read_frame(s: &mut UnixStream) -> Option<Value> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).ok()?;
    Some(serde_json::from_slice(&payload).unwrap())
}

fn raw_client(server: &Server, hello: &str) -> (UnixStream, Option<Value>) {
    let mut s = UnixStream::connect(&server.socket).unwrap();
    s.write_all(&frame(hello.as_bytes())).unwrap();
    let answer = read_frame(&mut s);
    (s, answer)
}

#[test]
fn viewers_detach_with_q_and_sighup_and_the_site_runs_on() {
    let server = Server::start(&["--speed", "20"]);
    let mut viewer = server.attach(&[], 120, 40);
    viewer.wait_screen("the panes", panes_up);
    viewer.wait_text("q detach");
    viewer.press("q");
    let (code, out) = viewer.finish();
    assert_eq!(code, 0);
    assert_restored(&out);
    assert!(
        text(&out).contains("detached from the site"),
        "{}",
        text(&out)
    );

    let before = server.status();
    // A dropped ssh session: the viewer gets SIGHUP.
    let viewer = server.attach(&[], 80, 24);
    viewer.wait_screen("the panes", panes_up);
    viewer.signal("HUP");
    let (code, out) = viewer.finish();
    assert_eq!(code, 0);
    assert_restored(&out);
    // The site went on without anyone watching.
    let later = server.wait_status("the site to go on", |s| {
        n(s, &["readings", "produced"]) > n(&before, &["readings", "produced"])
            && n(s, &["wall", "day"]) > n(&before, &["wall", "day"])
    });
    assert_eq!(n(&later, &["viewers"]), 0);
    // A viewer attaching again sees the current day.
    let viewer = server.attach(&[], 120, 40);
    viewer.wait_screen("the current day", |s| {
        status_number(s, "Day").is_some_and(|d| d >= n(&later, &["wall", "day"]))
    });
    assert!(viewer.contents().contains("sensor-5"));
}

#[test]
fn two_viewers_have_their_own_views_and_see_each_others_commands() {
    let server = Server::start(&["--speed", "1"]);
    let mut a = server.attach(&[], 120, 40);
    let mut b = server.attach(&["--read-only"], 120, 40);
    a.wait_screen("a's panes", panes_up);
    b.wait_screen("b's panes", panes_up);
    server.wait_status("two viewers", |s| n(s, &["viewers"]) == 2);
    // Help is one viewer's own.
    a.press("?");
    a.wait_text("Keys");
    assert!(!b.contents().contains("Keys"), "{}", b.contents());
    a.press("?");
    // A read-only viewer's `c` is refused, to it alone; the site does not change.
    b.press("c");
    b.wait_text("read-only viewer");
    assert!(!a.contents().contains("read-only viewer"));
    assert!(b.contents().contains("crews 3"));
    // A command from one viewer is answered to it and its effect shows in the other.
    a.press("c");
    a.wait_text("add crew: crew 4 joins tomorrow");
    b.wait_screen("crews 4 in b", |s| status_number(s, "crews") == Some(4));
    assert!(
        !b.contents().contains("add crew:"),
        "the answer is a's alone"
    );
    a.press("s");
    b.wait_text("sensor-6");
    a.press(" ");
    b.wait_text("PAUSED");
}

#[test]
fn a_read_only_viewers_command_is_refused_by_the_server_too() {
    let server = Server::start(&[]);
    let hello = format!(
        r#"{{"hello":{{"version":{},"role":{{"viewer":{{"read_only":true}}}}}}}}"#,
        wallwatch::serve::protocol::VERSION
    );
    let (mut s, hello) = raw_client(&server, &hello);
    assert_eq!(
        hello.unwrap()["hello"]["version"],
        wallwatch::serve::protocol::VERSION
    );
    s.write_all(&frame(
        br#"{"command":{"id":42,"command":{"add_crews":1}}}"#,
    ))
    .unwrap();
    let reply = loop {
        let msg = read_frame(&mut s).expect("the site answers");
        if msg.get("reply").is_some() {
            break msg;
        }
    };
    assert_eq!(reply["reply"]["id"], 42);
    assert_eq!(
        reply["reply"]["reply"]["Err"]["refusal"], "read_only",
        "{reply}"
    );
    let status = server.status();
    assert_eq!(n(&status, &["network", "limit"]), 5);
    assert_eq!(n(&status, &["crews"]), 3, "nothing changed");
}

#[test]
fn the_socket_is_private_and_another_uid_is_refused() {
    // The default place: $XDG_RUNTIME_DIR/wallwatch/NAME.sock, in a 0700 directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let store = format!("sqlite:{}", dir.path().join("site.db").display());
    let mut child = Command::new(BIN)
        .args(["serve", "--name", "north", "--store", &store])
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let socket = runtime.join("wallwatch/north.sock");
    let start = Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < WAIT, "no socket at {}", socket.display());
        thread::sleep(Duration::from_millis(20));
    }
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&runtime.join("wallwatch")), 0o700);
    assert_eq!(mode(&socket), 0o600);
    let status = client(&["status", "--name", "north"]);
    let _ = child.kill();
    let _ = child.wait();
    // (status without XDG_RUNTIME_DIR looks elsewhere and finds nothing.)
    assert_eq!(status.status.code(), Some(1));

    // A directory others may enter is refused, before anything else happens.
    std::fs::set_permissions(
        runtime.join("wallwatch"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--name", "north", "--store", &store])
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("others may enter it"),
        "{}",
        text(&out.stderr)
    );

    // Another uid: refused by the socket's mode, and — should the mode be opened up — by the
    // peer check.
    let server = Server::start(&[]);
    std::fs::set_permissions(server.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A copy of the binary nobody can run, wherever the build directory is.
    let bin = server.dir.path().join("wallwatch");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = || {
        // Another test's fork may briefly hold the fresh copy open for writing (ETXTBSY).
        for _ in 0..100 {
            let out = Command::new("setpriv")
                .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
                .arg(&bin)
                .args(["status", "--socket", server.socket_arg()])
                .stdin(Stdio::null())
                .output()
                .expect("setpriv (util-linux)");
            if !text(&out.stderr).contains("Text file busy") {
                return out;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("{} stayed busy", bin.display());
    };
    let out = as_nobody();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    std::fs::set_permissions(&server.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_nobody();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused"),
        "{}",
        text(&out.stderr)
    );
    let start = Instant::now();
    while !server
        .stderr()
        .contains("refused a connection from uid 65534")
    {
        assert!(start.elapsed() < WAIT, "not logged: {}", server.stderr());
        thread::sleep(Duration::from_millis(20));
    }
    // Our own uid still gets in.
    assert_eq!(n(&server.status(), &["network", "limit"]), 5);
}

#[test]
fn garbage_oversized_frames_and_a_wrong_version_stop_only_their_connection() {
    let server = Server::start(&[]);
    let mut s = UnixStream::connect(&server.socket).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    drop(s);
    let mut s = UnixStream::connect(&server.socket).unwrap();
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    // The server may already have closed it.
    let _ = s.write_all(&[b'{'; 1024]);
    assert!(read_frame(&mut s).is_none(), "the connection is closed");
    let (_s, answer) = raw_client(&server, "not json");
    assert!(answer.is_none());
    let (_s, answer) = raw_client(&server, r#"{"hello":{"version":999,"role":"status"}}"#);
    let err = answer.unwrap()["error"].as_str().unwrap().to_string();
    assert!(err.contains("protocol version 999"), "{err}");
    // The site and its socket are fine.
    let status = server.status();
    assert_eq!(n(&status, &["network", "limit"]), 5);
    let log = server.stderr();
    assert!(log.contains("connection closed"), "{log}");
}

#[test]
fn a_second_server_on_a_live_socket_fails_and_a_stale_one_is_replaced() {
    let mut server = Server::start(&[]);
    let out = Command::new(BIN)
        .args([
            "serve",
            "--socket",
            server.socket_arg(),
            "--store",
            "memory:",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already running"),
        "{}",
        text(&out.stderr)
    );
    // A screen option is a mistake, not something to ignore.
    let out = client(&["serve", "--socket", server.socket_arg(), "--headless"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--headless"),
        "{}",
        text(&out.stderr)
    );
    // SIGHUP does not stop it.
    server.signal("HUP");
    thread::sleep(Duration::from_millis(300));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP stopped serve"
    );
    server.status();
    // Killed, it leaves a stale socket file, which the next server replaces.
    server.signal("KILL");
    server.wait_exit();
    assert!(server.socket.exists());
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("site.sock");
    std::fs::rename(&server.socket, &socket).unwrap();
    let next = Server::spawn(dir, socket, &[]);
    next.wait_listening();
    next.status();
}

#[test]
fn stop_drains_and_every_reading_produced_is_in_the_store() {
    let mut server = Server::start(&["--speed", "50", "--sensors", "40"]);
    server.wait_status("readings", |s| n(s, &["readings", "stored"]) > 100);
    let out = client(&["stop", "--socket", server.socket_arg()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // `stop` returns once the site's process is gone, not only once it has sent its summary.
    assert!(
        server.child.try_wait().unwrap().is_some(),
        "the site was still running when stop returned"
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(server.wait_exit(), 0);
    let produced = n(&summary, &["readings", "produced"]);
    assert_eq!(n(&summary, &["readings", "stored"]), produced);
    assert_eq!(
        n(&summary, &["crew_reports", "stored"]),
        n(&summary, &["crew_reports", "produced"])
    );
    // serve printed the same summary.
    let printed: Value = serde_json::from_str(server.stdout().trim()).unwrap();
    assert_eq!(printed, summary);
    let db = rusqlite::Connection::open(server.dir.path().join("site.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as u64, produced);
    assert!(!server.socket.exists(), "the socket file is removed");
    for command in ["status", "stop"] {
        let out = client(&[command, "--socket", server.socket_arg()]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = text(&out.stderr);
        assert!(
            err.contains("no site at") && err.lines().count() == 1,
            "{err}"
        );
    }
}

/// A viewer's `shutdown` command stops the whole site as `wallwatch stop` does: it drains,
/// prints its summary, every reading produced is stored, and the socket goes. It stopped only
/// the engine, and `serve` ran on with frozen counters.
#[test]
fn a_viewers_shutdown_stops_the_whole_site_and_loses_nothing() {
    let mut server = Server::start(&["--speed", "50", "--sensors", "40"]);
    server.wait_status("readings", |s| n(s, &["readings", "stored"]) > 100);
    let hello = format!(
        r#"{{"hello":{{"version":{},"role":{{"viewer":{{"read_only":false}}}}}}}}"#,
        wallwatch::serve::protocol::VERSION
    );
    let (mut s, hello) = raw_client(&server, &hello);
    assert!(hello.is_some());
    s.write_all(&frame(br#"{"command":{"id":9,"command":"shutdown"}}"#))
        .unwrap();
    let reply = loop {
        let msg = read_frame(&mut s).expect("the site answers");
        if msg.get("reply").is_some() {
            break msg;
        }
    };
    assert_eq!(
        reply["reply"]["reply"]["Ok"]["outcome"], "stopping",
        "{reply}"
    );
    assert_eq!(server.wait_exit(), 0, "{}", server.stderr());
    assert!(
        server.stderr().contains("asked to stop"),
        "{}",
        server.stderr()
    );
    let summary: Value = serde_json::from_str(server.stdout().trim()).unwrap();
    let produced = n(&summary, &["readings", "produced"]);
    assert_eq!(n(&summary, &["readings", "stored"]), produced);
    let db = rusqlite::Connection::open(server.dir.path().join("site.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM readings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as u64, produced);
    assert!(!server.socket.exists(), "the socket file is removed");
}

#[test]
fn a_viewer_whose_server_is_killed_restores_the_terminal_and_exits_1() {
    let server = Server::start(&[]);
    let viewer = server.attach(&[], 100, 30);
    viewer.wait_screen("the panes", panes_up);
    server.signal("KILL");
    let (code, out) = viewer.finish();
    assert_eq!(code, 1);
    assert_restored(&out);
    let tail = text(&out[rfind(&out, LEAVE_ALT).unwrap()..]);
    assert!(
        tail.contains(&format!("the site at {} stopped", server.socket_arg())),
        "{tail}"
    );
}

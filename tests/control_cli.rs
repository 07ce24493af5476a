//! Steering a served site from the command line: `crews`, `sensors`, `pause`, `resume` and
//! `speed` as real binaries against real `wallwatch serve` processes on temp sockets and stores.
//! Each command's words, JSON and exit status; refusals; bad input refused before connecting;
//! the `control` log line; a dropped connection retried once with the same key; and every
//! change remembered across a SIGKILL (SQLite, CSV, and PostgreSQL when
//! `WALLWATCH_TEST_POSTGRES_URL` is set), also for random sequences of commands.

#[path = "support/error_line.rs"]
mod error_line;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use serde_json::{Value, json};

#[path = "support/postgres.rs"]
mod postgres;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");
const WAIT: Duration = Duration::from_secs(30);

/// A site served in the background; it can be killed and started again on the same store.
struct Site {
    child: Child,
    dir: tempfile::TempDir,
    socket: PathBuf,
    store: String,
    /// Starts so far (each has its own stderr file).
    starts: usize,
}

impl Site {
    /// `serve` on a SQLite store in a temp dir.
    fn start(extra: &[&str]) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("site.db").display());
        Site::start_on(dir, store, extra)
    }

    fn start_on(dir: tempfile::TempDir, store: String, extra: &[&str]) -> Site {
        let socket = dir.path().join("site.sock");
        let child = spawn(dir.path(), &socket, &store, 1, extra);
        let site = Site {
            child,
            dir,
            socket,
            store,
            starts: 1,
        };
        site.wait_listening();
        site
    }

    /// SIGKILL, then `serve` again on the same store and socket with `extra`.
    fn kill_and_restart(&mut self, extra: &[&str]) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.starts += 1;
        self.child = spawn(
            self.dir.path(),
            &self.socket,
            &self.store,
            self.starts,
            extra,
        );
        self.wait_listening();
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

    /// The stderr of the latest start.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("serve-{}.err", self.starts)))
            .unwrap_or_default()
    }

    fn socket_arg(&self) -> &str {
        self.socket.to_str().unwrap()
    }

    /// `wallwatch ARGS --socket SOCKET`.
    fn cli(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--socket", self.socket_arg()]);
        wallwatch(&all)
    }

    /// `wallwatch ARGS --socket SOCKET`, which must succeed: its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `wallwatch ARGS --socket SOCKET --json`, which must succeed: the outcome.
    fn ok_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// `wallwatch status --json`.
    fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, socket: &Path, store: &str, start: usize, extra: &[&str]) -> Child {
    let out = std::fs::File::create(dir.join(format!("serve-{start}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("serve-{start}.err"))).unwrap();
    Command::new(BIN)
        .args([
            "serve",
            "--socket",
            socket.to_str().unwrap(),
            "--store",
            store,
        ])
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

fn wallwatch(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A failed command's stderr: one line (or clap's message for a mistake in the command line),
/// its first line returned.
fn one_line(out: &Output, code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    error_line::error_line(&text(&out.stderr))
}

/// What steering changes, as `status --json` shows it.
fn steered(status: &Value) -> Value {
    json!({
        "crews": status["crews"],
        "sensors": status["sensors"],
        "sensor_names": status["sensor_names"],
        "speed": status["speed"],
        "paused": status["paused"],
        "run": status["run"],
        "wall_fingerprint": status["wall_fingerprint"],
    })
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// The uid this test runs as (the owner of a file it made).
fn my_uid(dir: &Path) -> u32 {
    std::fs::metadata(dir).unwrap().uid()
}

#[test]
fn crews_are_added_and_removed_and_the_last_crew_stays() {
    let site = Site::start(&[]);
    assert_eq!(site.status()["crews"], 3);
    assert_eq!(
        site.ok(&["crews", "add", "2"]),
        "crews 4, 5 join tomorrow\n"
    );
    assert_eq!(site.status()["crews"], 5);
    let added = site.ok_json(&["crews", "add"]);
    assert_eq!(
        added,
        json!({"outcome": "crews_added", "numbers": [6], "crews": 6})
    );
    assert_eq!(site.ok(&["crews", "remove"]), "crew 6 leaves\n");
    let removed = site.ok_json(&["crews", "remove", "4"]);
    assert_eq!(removed["outcome"], "crews_removed");
    assert_eq!(removed["crews"], 1);
    assert_eq!(site.status()["crews"], 1);

    // The last crew stays: refused, one line, exit 1, nothing changed.
    let out = site.cli(&["crews", "remove"]);
    assert_eq!(
        one_line(&out, 1),
        "wallwatch: refused: the last crew stays (a wall with no crew is never finished)"
    );
    assert!(out.stdout.is_empty());
    let out = site.cli(&["crews", "remove", "--json"]);
    one_line(&out, 1);
    let refusal: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        refusal,
        json!({"refusal": "last_crew", "detail": {"crews": 1}})
    );
    assert_eq!(site.status()["crews"], 1);

    // Every change is in the site's log with who asked.
    let uid = my_uid(site.dir.path());
    let log = site.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("crews 4, 5 join tomorrow"))
        .unwrap_or_else(|| panic!("no log line of the command in:\n{log}"));
    assert!(line.contains("control"), "{line}");
    assert!(line.contains(&format!("cli (uid {uid})")), "{line}");
    assert!(
        log.lines().any(|l| l.contains(&format!("cli (uid {uid})"))
            && l.contains("refused")
            && l.contains("the last crew stays")),
        "{log}"
    );
}

#[test]
fn sensors_are_added_by_kind_and_removed_by_name() {
    let site = Site::start(&[]);
    let before = names(&site.status()["sensor_names"]);
    assert_eq!(before.len(), 5);
    let added = site.ok_json(&["sensors", "add", "--kind", "thermometer", "--count", "2"]);
    assert_eq!(added["outcome"], "sensors_added");
    let new: Vec<String> = added["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["kind"], "thermometer", "{s}");
            s["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(new.len(), 2);
    let status = site.status();
    assert_eq!(status["sensors"], 7);
    let mut expected = before.clone();
    expected.extend(new.clone());
    assert_eq!(names(&status["sensor_names"]), expected);

    // Without --kind: the kinds in turn; the words name the sensor.
    let one = site.ok(&["sensors", "add"]);
    assert!(
        one.starts_with("sensor ") && one.ends_with(" added\n"),
        "{one}"
    );

    assert_eq!(
        site.ok(&["sensors", "remove", &new[0]]),
        format!("sensor {} removed\n", new[0])
    );
    let status = site.status();
    assert_eq!(status["sensors"], 7);
    assert!(!names(&status["sensor_names"]).contains(&new[0]));

    // An unknown name is refused, naming it; none of the names given is removed.
    let out = site.cli(&["sensors", "remove", &new[1], "no-such-sensor"]);
    let line = one_line(&out, 1);
    assert!(line.starts_with("wallwatch: refused: "), "{line}");
    assert!(line.contains("'no-such-sensor'"), "{line}");
    assert!(names(&site.status()["sensor_names"]).contains(&new[1]));
}

#[test]
fn pause_resume_and_speed() {
    let site = Site::start(&[]);
    assert_eq!(site.status()["paused"], false);
    assert_eq!(site.ok(&["pause"]), "paused\n");
    assert_eq!(site.status()["paused"], true);
    assert_eq!(
        site.ok_json(&["pause"]),
        json!({"outcome": "paused", "paused": true})
    );
    assert_eq!(site.ok(&["resume"]), "resumed\n");
    assert_eq!(site.status()["paused"], false);

    assert_eq!(site.ok(&["speed", "10"]), "speed ×10\n");
    assert_eq!(site.status()["speed"].as_f64(), Some(10.0));
    assert_eq!(site.ok(&["speed", "max"]), "speed max\n");
    assert_eq!(site.status()["speed"], "max");
    let status = wallwatch(&["status", "--socket", site.socket_arg()]);
    let table = text(&status.stdout);
    assert!(table.lines().any(|l| l.trim() == "speed  max"), "{table}");
    assert!(table.lines().any(|l| l.trim() == "crews  3"), "{table}");
    assert!(table.lines().any(|l| l.trim() == "sensors  5"), "{table}");
}

#[test]
fn commands_are_answered_at_speed_max() {
    // The store is always behind at max: a command's change must not wait for it to catch up.
    // A wall that lasts at max (the example wall is done within a second, and a crew added to
    // a complete wall is refused).
    let walls = tempfile::tempdir().unwrap();
    let wall = walls.path().join("long.txt");
    std::fs::write(&wall, format!("{}\n", vec!["0"; 100].join(" ")).repeat(10)).unwrap();
    let site = Site::start(&["--speed", "max", "--profiles", wall.to_str().unwrap()]);
    thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    assert_eq!(site.ok(&["crews", "add"]), "crew 4 joins tomorrow\n");
    site.ok(&["speed", "1"]);
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn bad_counts_and_speeds_exit_2_without_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("listening.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let s = socket.to_str().unwrap();
    let cases: [&[&str]; 11] = [
        &["crews", "add", "0"],
        &["crews", "add", "1001"],
        &["crews", "remove", "-1"],
        &["sensors", "add", "--count", "0"],
        &["sensors", "add", "--count", "-1"],
        &["speed", "-1"],
        &["sensors", "add", "--kind", "barometer"],
        &["speed", "0"],
        &["speed", "fast"],
        &["speed", "2000000"],
        &["sensors", "remove"],
    ];
    for args in cases {
        let mut all = args.to_vec();
        all.extend(["--socket", s]);
        let out = wallwatch(&all);
        let line = one_line(&out, 2);
        assert!(out.stdout.is_empty(), "{args:?}");
        if args[0] == "crews" || args.contains(&"--count") {
            assert!(line.contains("1..=1000"), "{args:?}: {line}");
        }
        if args[0] == "speed" {
            assert!(line.contains("'max'"), "{args:?}: {line}");
        }
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a command with bad input connected: {other:?}"),
    }
}

#[test]
fn no_site_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody.sock");
    for args in [
        vec!["crews", "add"],
        vec!["sensors", "remove", "sensor-1"],
        vec!["pause"],
        vec!["speed", "max"],
    ] {
        let mut all = args.clone();
        all.extend(["--socket", socket.to_str().unwrap()]);
        let out = wallwatch(&all);
        let line = one_line(&out, 2);
        assert!(line.starts_with("wallwatch: "), "{line}");
        assert!(out.stdout.is_empty());
    }
}

/// With `--json`, no site is an answer in JSON too: `{"error": "…"}` on stdout, the same words
/// as the line on stderr, the same exit status as without it (`status` 1, steering 2).
#[test]
fn with_json_no_site_is_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody.sock");
    for (args, code) in [
        (vec!["status", "--json"], 1),
        (vec!["pause", "--json"], 2),
        (vec!["crews", "add", "--json"], 2),
    ] {
        let mut all = args.clone();
        all.extend(["--socket", socket.to_str().unwrap()]);
        let out = wallwatch(&all);
        let line = one_line(&out, code);
        let stdout = text(&out.stdout);
        assert_eq!(stdout.lines().count(), 1, "{args:?}: {stdout}");
        let json: Value = serde_json::from_str(&stdout).unwrap();
        let error = json["error"].as_str().unwrap_or_else(|| panic!("{json}"));
        assert!(error.starts_with("no site at "), "{error}");
        assert_eq!(line, format!("wallwatch: {error}"));
        assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
    }
    // Without --json, nothing on stdout.
    let out = wallwatch(&["status", "--socket", socket.to_str().unwrap()]);
    one_line(&out, 1);
    assert!(out.stdout.is_empty());
}

/// Frames a payload as the protocol does: a 4-byte big-endian length, then the bytes.
fn write_frame(s: &mut UnixStream, msg: &Value) {
    let payload = serde_json::to_vec(msg).unwrap();
    s.write_all(&(payload.len() as u32).to_be_bytes()).unwrap();
    s.write_all(&payload).unwrap();
}

fn read_frame(s: &mut UnixStream) -> Option<Value> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).ok()?;
    Some(serde_json::from_slice(&payload).unwrap())
}

/// A stand-in site that takes `connections` control connections, answering their hello; it
/// answers the command of those `answer` picks and drops the others. The commands it got.
fn fake_site(
    socket: &Path,
    connections: usize,
    answer: impl Fn(usize) -> bool + Send + 'static,
) -> thread::JoinHandle<Vec<Value>> {
    let listener = UnixListener::bind(socket).unwrap();
    let shown = socket.display().to_string();
    thread::spawn(move || {
        let mut commands = Vec::new();
        for i in 0..connections {
            let (mut s, _) = listener.accept().unwrap();
            let hello = read_frame(&mut s).unwrap();
            assert_eq!(hello["hello"]["role"], "control", "{hello}");
            let version = hello["hello"]["version"].clone();
            write_frame(
                &mut s,
                &json!({"hello": {"version": version, "socket": shown}}),
            );
            let command = read_frame(&mut s).unwrap();
            if answer(i) {
                let id = command["command"]["id"].clone();
                let reply = json!({"Ok": {"outcome": "paused", "paused": true}});
                write_frame(&mut s, &json!({"reply": {"id": id, "reply": reply}}));
            }
            commands.push(command);
        }
        commands
    })
}

/// A site that sends its summary but whose process does not go away (here a stand-in in the
/// test's own process): `stop` prints the summary, waits its bound, then says it gave up, exit 1.
#[test]
fn stop_says_so_when_the_site_s_process_does_not_exit() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("lingering.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let site = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let hello = read_frame(&mut s).unwrap();
        assert_eq!(hello["hello"]["role"], "stop", "{hello}");
        let version = hello["hello"]["version"].clone();
        write_frame(
            &mut s,
            &json!({"hello": {"version": version, "socket": "x"}}),
        );
        write_frame(&mut s, &json!({"stopped": "{\"readings\":{}}"}));
        // Held open until the client goes: this process lives on.
        let _ = read_frame(&mut s);
    });
    let started = std::time::Instant::now();
    let out = wallwatch(&["stop", "--socket", socket.to_str().unwrap()]);
    let line = one_line(&out, 1);
    assert_eq!(text(&out.stdout), "{\"readings\":{}}\n");
    assert!(
        line.starts_with(&format!(
            "wallwatch: the site's process {} had not exited",
            std::process::id()
        )),
        "{line}"
    );
    assert!(line.contains("gave up"), "{line}");
    assert!(started.elapsed() >= wallwatch::cmd::status::EXIT_WITHIN);
    site.join().unwrap();
}

#[test]
fn a_connection_dropped_before_the_answer_is_retried_once_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("flaky.sock");
    let site = fake_site(&socket, 2, |i| i == 1);
    let out = wallwatch(&["pause", "--socket", socket.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "paused\n");
    let commands = site.join().unwrap();
    let keys: Vec<&Value> = commands.iter().map(|c| &c["command"]["key"]).collect();
    assert!(keys[0].as_str().is_some_and(|k| !k.is_empty()), "{keys:?}");
    assert_eq!(keys[0], keys[1], "the retry has the first key");
    assert_eq!(commands[0]["command"]["command"], "pause");
    assert_eq!(commands[0], commands[1]);

    // Dropped twice: no third try; exit 2 with one line.
    let socket = dir.path().join("gone.sock");
    let site = fake_site(&socket, 2, |_| false);
    let out = wallwatch(&["pause", "--socket", socket.to_str().unwrap()]);
    let line = one_line(&out, 2);
    assert!(
        line.contains("closed the connection before answering"),
        "{line}"
    );
    let again = site.join().unwrap();
    assert_eq!(again.len(), 2);
    // Another invocation has another key.
    assert_ne!(again[0]["command"]["key"], commands[0]["command"]["key"]);
}

#[test]
fn a_keyed_command_given_again_changes_the_site_once() {
    let site = Site::start(&[]);
    let version = wallwatch::serve::protocol::VERSION;
    let give = |key: &str| {
        let mut s = UnixStream::connect(&site.socket).unwrap();
        write_frame(
            &mut s,
            &json!({"hello": {"version": version, "role": "control"}}),
        );
        assert!(read_frame(&mut s).unwrap().get("hello").is_some());
        write_frame(
            &mut s,
            &json!({"command": {"id": 9, "command": {"add_crews": 1}, "key": key}}),
        );
        read_frame(&mut s).unwrap()
    };
    let first = give("retry-me");
    assert_eq!(first["reply"]["id"], 9);
    assert_eq!(first["reply"]["reply"]["Ok"]["numbers"], json!([4]));
    assert_eq!(give("retry-me"), first, "the retry gets the first answer");
    assert_eq!(site.status()["crews"], 4);
    // Another key is another command.
    assert_eq!(
        give("another")["reply"]["reply"]["Ok"]["numbers"],
        json!([5])
    );
    assert_eq!(site.status()["crews"], 5);
}

/// Steers a site through every kind of change, SIGKILLs it right after the last answer, starts
/// it again on the same store: the same crews, sensors (same names), speed and pause. Then
/// `--fresh` starts over without them.
fn remembered_after_sigkill(mut site: Site) {
    site.ok(&["crews", "add", "2"]);
    let added = site.ok_json(&["sensors", "add", "--kind", "thermometer", "--count", "2"]);
    site.ok(&["sensors", "remove", "sensor-2"]);
    site.ok(&["sensors", "add", "--count", "2"]);
    site.ok(&["crews", "remove"]);
    site.ok(&["speed", "10"]);
    site.ok(&["pause"]);
    let before = steered(&site.status());
    assert_eq!(before["crews"], 4);
    assert_eq!(before["sensors"], 8);
    assert_eq!(before["speed"].as_f64(), Some(10.0));
    assert_eq!(before["paused"], true);
    let kept = names(&before["sensor_names"]);
    assert!(!kept.contains(&"sensor-2".to_string()), "{kept:?}");
    assert!(kept.contains(&added["sensors"][1]["name"].as_str().unwrap().to_string()));

    site.kill_and_restart(&[]);
    assert_eq!(steered(&site.status()), before, "{}", site.stderr());
    assert!(
        site.stderr().contains("earlier changes applied again"),
        "{}",
        site.stderr()
    );
    // Running on from there: the next change is remembered too.
    site.ok(&["resume"]);
    site.kill_and_restart(&[]);
    let mut resumed = before.clone();
    resumed["paused"] = json!(false);
    assert_eq!(steered(&site.status()), resumed);

    site.kill_and_restart(&["--fresh"]);
    let fresh = steered(&site.status());
    assert_eq!(fresh["crews"], 3);
    assert_eq!(
        names(&fresh["sensor_names"]),
        ["sensor-1", "sensor-2", "sensor-3", "sensor-4", "sensor-5"]
    );
    assert_eq!(fresh["speed"].as_f64(), Some(1.0));
    assert_eq!(fresh["paused"], false);
}

#[test]
fn changes_are_remembered_after_sigkill_on_sqlite() {
    remembered_after_sigkill(Site::start(&[]));
}

#[test]
fn changes_are_remembered_after_sigkill_on_csv() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("csv:{}", dir.path().join("site.csv").display());
    remembered_after_sigkill(Site::start_on(dir, store, &[]));
}

#[test]
fn changes_are_remembered_after_sigkill_on_postgres() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "control");
    let dir = tempfile::tempdir().unwrap();
    remembered_after_sigkill(Site::start_on(dir, schema.url.clone(), &[]));
}

/// `wall load`: a bad file is refused before any site is asked; a good one starts run 2 of its
/// wall with its crews; after a SIGKILL the site comes back on that wall and run, with the crews
/// changed since, and the first run's crew reports kept in the store.
fn wall_load_remembered_after_sigkill(mut site: Site) {
    // Days worked on the first wall (days of 0.05 s), so that it has crew reports to keep.
    let start = Instant::now();
    while site.status()["wall"]["day"].as_u64().unwrap_or(0) < 2 {
        assert!(start.elapsed() < WAIT, "no day ended");
        thread::sleep(Duration::from_millis(20));
    }
    let dir = site.dir.path().to_path_buf();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "1 2\n3 31\n").unwrap();
    let line = one_line(&site.cli(&["wall", "load", bad.to_str().unwrap()]), 2);
    assert!(line.contains("bad.txt:2:3: "), "{line}");
    let before = site.status();
    assert_eq!(before["run"], 1);

    let file = dir.join("two.txt");
    std::fs::write(&file, "21 25 28\n17\n").unwrap();
    let f = file.to_str().unwrap();
    let loaded = site.ok_json(&["wall", "load", f, "--crews", "2"]);
    assert_eq!(loaded["outcome"], "wall_loaded", "{loaded}");
    assert_eq!(
        (
            &loaded["run"],
            &loaded["profiles"],
            &loaded["sections"],
            &loaded["crews"]
        ),
        (&json!(2), &json!(2), &json!(4), &json!(2))
    );
    let fingerprint = loaded["fingerprint"].as_str().unwrap().to_string();
    assert_ne!(before["wall_fingerprint"], json!(fingerprint));
    site.ok(&["crews", "add"]);
    let status = site.status();
    assert_eq!(
        (
            &status["run"],
            &status["wall_fingerprint"],
            &status["crews"]
        ),
        (&json!(2), &json!(fingerprint), &json!(3))
    );
    // The words, for a person.
    let words = site.ok(&["wall", "load", f]);
    assert!(words.contains("loaded as run 3"), "{words}");
    assert!(
        words.contains("(2 profiles, 4 sections, 3 crews)"),
        "{words}"
    );

    site.kill_and_restart(&[]);
    let after = site.status();
    assert_eq!(
        (&after["run"], &after["wall_fingerprint"], &after["crews"]),
        (&json!(3), &json!(fingerprint), &json!(3)),
        "{}",
        site.stderr()
    );
    assert!(
        site.stderr()
            .contains("the site runs the wall loaded last (run 3"),
        "{}",
        site.stderr()
    );
    // Both earlier runs are kept: the first with its days' crew reports.
    let mut store = wallwatch::store::open(&site.store).unwrap();
    let past = store.past_runs().unwrap();
    assert_eq!(past.len(), 2, "{past:?}");
    assert_eq!((past[0].run, past[1].run), (1, 2));
    assert_eq!(
        past[0].wall_hash.as_ref(),
        before["wall_fingerprint"]
            .as_str()
            .map(String::from)
            .as_ref()
    );
    assert!(past[0].crew_reports > 0, "{past:?}");
    assert_eq!(past[1].wall_hash.as_deref(), Some(fingerprint.as_str()));
    assert_eq!(store.run().unwrap(), 3);
    store.close().unwrap();

    site.kill_and_restart(&["--fresh"]);
    assert_eq!(site.status()["run"], 1);
    let mut store = wallwatch::store::open(&site.store).unwrap();
    assert_eq!(
        store.past_runs().unwrap(),
        [],
        "--fresh clears the past runs too"
    );
}

#[test]
fn a_loaded_wall_is_remembered_after_sigkill_on_sqlite() {
    wall_load_remembered_after_sigkill(Site::start(&["--day-seconds", "0.05"]));
}

#[test]
fn a_loaded_wall_is_remembered_after_sigkill_on_csv() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("csv:{}", dir.path().join("site.csv").display());
    wall_load_remembered_after_sigkill(Site::start_on(dir, store, &["--day-seconds", "0.05"]));
}

#[test]
fn a_loaded_wall_is_remembered_after_sigkill_on_postgres() {
    let Some(base) = postgres::postgres_url() else {
        return;
    };
    let schema = postgres::Schema::new(&base, "wall_load");
    let dir = tempfile::tempdir().unwrap();
    wall_load_remembered_after_sigkill(Site::start_on(
        dir,
        schema.url.clone(),
        &["--day-seconds", "0.05"],
    ));
}

/// One step of a random sequence of commands.
#[derive(Debug, Clone)]
enum Step {
    AddCrews(u32),
    RemoveCrews(u32),
    AddSensors(Option<&'static str>, u32),
    /// The sensor at this index (modulo the sensors there are) or, past them, an unknown one.
    RemoveSensor(usize),
    Pause,
    Resume,
    Speed(&'static str),
    /// One of two small walls, with these crews.
    LoadWall(usize, &'static str),
}

/// The walls a random sequence loads.
const WALLS: [&str; 2] = ["21 25 28\n17\n", "0 30 5\n"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1..3u32).prop_map(Step::AddCrews),
        (1..3u32).prop_map(Step::RemoveCrews),
        (
            prop::option::of(prop::sample::select(vec!["thermometer", "strain", "cpu"])),
            1..3u32
        )
            .prop_map(|(k, n)| Step::AddSensors(k, n)),
        (0..8usize).prop_map(Step::RemoveSensor),
        Just(Step::Pause),
        Just(Step::Resume),
        prop::sample::select(vec!["0.5", "10", "max", "3"]).prop_map(Step::Speed),
        (0..2usize, prop::sample::select(vec!["1", "4", "unlimited"]))
            .prop_map(|(w, c)| Step::LoadWall(w, c)),
    ]
}

/// Gives `step` through the CLI; refusals (the last crew, an unknown sensor) are exit 1.
fn give(site: &Site, step: &Step, sensors: &[String]) {
    let count;
    let name;
    let args: Vec<&str> = match step {
        Step::AddCrews(n) => {
            count = n.to_string();
            vec!["crews", "add", &count]
        }
        Step::RemoveCrews(n) => {
            count = n.to_string();
            vec!["crews", "remove", &count]
        }
        Step::AddSensors(kind, n) => {
            count = n.to_string();
            let mut a = vec!["sensors", "add", "--count", &count];
            if let Some(k) = kind {
                a.extend(["--kind", k]);
            }
            a
        }
        Step::RemoveSensor(i) => {
            name = sensors
                .get(i % (sensors.len() + 1))
                .cloned()
                .unwrap_or_else(|| "no-such-sensor".into());
            vec!["sensors", "remove", &name]
        }
        Step::Pause => vec!["pause"],
        Step::Resume => vec!["resume"],
        Step::Speed(x) => vec!["speed", x],
        Step::LoadWall(w, crews) => {
            let file = site.dir.path().join(format!("wall-{w}.txt"));
            std::fs::write(&file, WALLS[*w]).unwrap();
            name = file.to_str().unwrap().to_string();
            vec!["wall", "load", &name, "--crews", crews]
        }
    };
    let out = site.cli(&args);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{args:?}: {code:?} {}",
        text(&out.stderr)
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        max_shrink_iters: 4,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(22),
        ..ProptestConfig::default()
    })]

    /// Any sequence of commands applied live, then a SIGKILL and a restart on the same store:
    /// the same crews, sensors, speed, pause, run and wall as the site had before it stopped.
    #[test]
    fn a_random_sequence_of_commands_survives_a_restart(
        steps in prop::collection::vec(step(), 3..=8)
    ) {
        let mut site = Site::start(&["--day-seconds", "0.2"]);
        let mut sensors = names(&site.status()["sensor_names"]);
        for s in &steps {
            give(&site, s, &sensors);
            sensors = names(&site.status()["sensor_names"]);
        }
        let before = steered(&site.status());
        site.kill_and_restart(&["--day-seconds", "0.2"]);
        prop_assert_eq!(steered(&site.status()), before, "{:?}", steps);
    }
}

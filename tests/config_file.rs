//! Issue 22 §8: a config file key for every service flag of `run` and `serve` (`http`,
//! `broker`, `site`, `log-file`, `log-keep`, `name`, `socket`), on the real binary. Each key
//! takes effect, a flag beats it, its range is the flag's, every relative path in the file is
//! relative to the file (a flag's to the working directory), and a key spelled with `_` for
//! `-` gets a hint.

#[path = "support/error_line.rs"]
mod error_line;
#[path = "support/mosquitto.rs"]
mod mosquitto;
#[path = "support/running.rs"]
mod running;

use running::Running;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

/// A config file `w.toml` in a directory of its own, and another directory to run from.
struct Dirs {
    conf: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

impl Dirs {
    fn new(toml: &str) -> Dirs {
        let dirs = Dirs {
            conf: tempfile::tempdir().unwrap(),
            cwd: tempfile::tempdir().unwrap(),
        };
        std::fs::write(dirs.config(), toml).unwrap();
        dirs
    }

    fn config(&self) -> PathBuf {
        self.conf.path().join("w.toml")
    }

    /// `wallwatch ARGS --config w.toml` from the other directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.cwd.path())
            .env("XDG_RUNTIME_DIR", self.cwd.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs to the end (each run here has a `--duration`).
    fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Running {
        Running::spawn(self.command(args))
    }
}

/// The one line of a refusal (exit 2), without `error: `.
fn refusal(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    error_line::error_line(&err)
        .trim_start_matches("error: ")
        .to_string()
}

/// GET over a fresh connection: the JSON body of a 200.
fn get_json(addr: &str, path: &str) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {text}");
    serde_json::from_str(body).unwrap()
}

/// The names of the files in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn http_log_and_store_keys_take_effect_with_paths_beside_the_file() {
    let dirs = Dirs::new(
        "http = \"127.0.0.1:0\"\nlog-file = \"ww.log\"\nlog-keep = 3\nstore = \"sqlite:run.db\"\n",
    );
    let mut run = dirs.spawn(&["run", "--headless", "--duration", "60s"]);
    let config = get_json(&run.http_addr(), "/config");
    let conf = dirs.conf.path();
    assert_eq!(config["log_keep"], 3, "{config}");
    assert_eq!(
        config["log_file"],
        conf.join("ww.log").display().to_string(),
        "{config}"
    );
    assert_eq!(
        config["store"],
        format!("sqlite:{}", conf.join("run.db").display()),
        "{config}"
    );
    let (code, out) = run.terminate();
    assert_eq!(code, 0, "{out}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary["store"],
        format!("sqlite:{}", conf.join("run.db").display())
    );
    // Beside the file, and nothing where the run was started but the site's runtime folder
    // with the HTTP token (the test's $XDG_RUNTIME_DIR is that same folder).
    let beside = names(conf);
    assert!(beside.contains(&"run.db".to_string()), "{beside:?}");
    assert!(
        beside.iter().any(|n| n.starts_with("ww.log.")),
        "{beside:?}"
    );
    assert_eq!(names(dirs.cwd.path()), ["wallwatch"]);
    assert_eq!(names(&dirs.cwd.path().join("wallwatch")), ["default.token"]);
}

#[test]
fn flags_beat_the_keys_and_their_relative_paths_stay_with_the_working_directory() {
    // The file's address is taken: the run would fail if the key were used.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dirs = Dirs::new(&format!(
        "http = \"{}\"\nlog-file = \"file.log\"\nlog-keep = 3\nstore = \"sqlite:file.db\"\n",
        taken.local_addr().unwrap()
    ));
    let mut run = dirs.spawn(&[
        "run",
        "--headless",
        "--duration",
        "60s",
        "--http",
        "127.0.0.1:0",
        "--log-file",
        "flag.log",
        "--log-keep",
        "5",
        "--store",
        "sqlite:flag.db",
    ]);
    let config = get_json(&run.http_addr(), "/config");
    assert_eq!(config["log_keep"], 5, "{config}");
    assert_eq!(config["log_file"], "flag.log", "{config}");
    assert_eq!(config["store"], "sqlite:flag.db", "{config}");
    let (code, out) = run.terminate();
    assert_eq!(code, 0, "{out}");
    let here = names(dirs.cwd.path());
    assert!(here.contains(&"flag.db".to_string()), "{here:?}");
    assert!(here.iter().any(|n| n.starts_with("flag.log.")), "{here:?}");
    assert_eq!(names(dirs.conf.path()), ["w.toml"]);
}

#[test]
fn log_keep_out_of_range_is_refused_in_the_flags_words() {
    for value in ["0", "10001"] {
        let dirs = Dirs::new(&format!("# the key\nlog-keep = {value}\n"));
        let key = refusal(&dirs.output(&["run", "--headless", "--duration", "1s"]));
        let w = dirs.config().display().to_string();
        assert_eq!(
            key,
            format!("{w}:2:12: key 'log-keep': {value} is out of range (1..=10000)")
        );
        let flag = refusal(&dirs.output(&["run", "--headless", "--log-keep", value]));
        assert!(flag.contains("--log-keep"), "{flag}");
        assert!(flag.contains(" range (1..=10000)"), "{flag}");
    }
}

#[test]
fn a_key_spelled_with_underscores_gets_a_hint() {
    let dirs = Dirs::new("seed = 1\nlog_file = \"x.log\"\n");
    let e = refusal(&dirs.output(&["run", "--headless", "--duration", "1s"]));
    let w = dirs.config().display().to_string();
    assert_eq!(
        e,
        format!("{w}:2:1: unknown key 'log_file' (did you mean 'log-file'?)")
    );
    let dirs = Dirs::new("network_limit = 5\n");
    let e = refusal(&dirs.output(&["run", "--headless", "--duration", "1s"]));
    assert!(
        e.ends_with(":1:1: unknown key 'network_limit' (did you mean 'network-limit'?)"),
        "{e}"
    );
}

#[test]
fn broker_and_site_keys_take_effect_and_flags_beat_them() {
    let broker_dir = tempfile::tempdir().unwrap();
    let broker = mosquitto::Mosquitto::start(broker_dir.path());
    let url = broker.url();
    let dirs = Dirs::new(&format!(
        "broker = \"{url}\"\nsite = \"north\"\nstore = \"memory:\"\n"
    ));
    let mut run = dirs.spawn(&["run", "--headless", "--duration", "60s"]);
    run.wait_for(&format!("of site north from {url}"));
    assert_eq!(run.terminate().0, 0);
    // A broker nobody answers in the file, the flags' one that does.
    let dirs =
        Dirs::new("broker = \"mqtt://127.0.0.1:1\"\nsite = \"north\"\nstore = \"memory:\"\n");
    let mut run = dirs.spawn(&[
        "run",
        "--headless",
        "--duration",
        "60s",
        "--broker",
        &url,
        "--site",
        "south",
    ]);
    run.wait_for(&format!("of site south from {url}"));
    assert_eq!(run.terminate().0, 0);
    // And the file's broker is the one tried without the flag.
    let e = refusal(&dirs.output(&["run", "--headless", "--duration", "1s"]));
    assert!(
        e.starts_with("broker mqtt://127.0.0.1:1: cannot connect"),
        "{e}"
    );
}

/// `status --json` of the site at `socket`, from `cwd`.
fn status(cwd: &Path, socket: &Path) -> Value {
    let out = Command::new(BIN)
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn serve_listens_on_the_files_socket_beside_the_file_unless_a_flag_says() {
    let dirs = Dirs::new("socket = \"site.sock\"\nstore = \"memory:\"\n");
    let mut serve = dirs.spawn(&["serve", "--duration", "60s"]);
    let socket = serve.socket();
    assert_eq!(socket, dirs.conf.path().join("site.sock"));
    status(dirs.cwd.path(), &socket);
    assert_eq!(serve.terminate().0, 0);
    // `--name` beats the file's `socket`: under $XDG_RUNTIME_DIR, as without a file.
    let mut serve = dirs.spawn(&["serve", "--duration", "60s", "--name", "flagged"]);
    let socket = serve.socket();
    assert_eq!(socket, dirs.cwd.path().join("wallwatch/flagged.sock"));
    status(dirs.cwd.path(), &socket);
    assert_eq!(serve.terminate().0, 0);
}

#[test]
fn serve_takes_the_files_name_and_a_flag_beats_it() {
    let dirs = Dirs::new("name = \"north\"\nstore = \"memory:\"\n");
    let mut serve = dirs.spawn(&["serve", "--duration", "60s"]);
    let line = serve.wait_for("serving the site at ");
    let socket = dirs.cwd.path().join("wallwatch/north.sock");
    assert!(line.contains(&socket.display().to_string()), "{line}");
    // How to name it again is said with the name.
    assert!(line.contains("`wallwatch attach --site north`"), "{line}");
    status(dirs.cwd.path(), &socket);
    assert_eq!(serve.terminate().0, 0);
    // A relative `--socket` is relative to the working directory.
    let mut serve = dirs.spawn(&["serve", "--duration", "60s", "--socket", "here.sock"]);
    assert_eq!(serve.socket(), PathBuf::from("here.sock"));
    status(dirs.cwd.path(), Path::new("here.sock"));
    assert_eq!(serve.terminate().0, 0);
}

/// A string of 900,000 characters in a setting (a config file is read up to 1 MiB) is cut in
/// its error line, which keeps its start (the file, line and key) and its end (what is wrong);
/// it was echoed whole.
#[test]
fn a_huge_setting_is_cut_in_its_one_error_line() {
    let huge = "x".repeat(900_000);
    let dirs = Dirs::new(&format!("speed = \"{huge}\"\n"));
    let line = refusal(&dirs.output(&["run", "--headless", "--duration", "1s"]));
    assert!(line.len() < 1000, "{} bytes", line.len());
    assert!(line.contains("w.toml:1:9: key 'speed': 'xxx"), "{line}");
    assert!(line.contains("characters cut]…"), "{line}");
    let dirs = Dirs::new(&format!("store = \"{huge}\"\n"));
    let line = refusal(&dirs.output(&["run", "--headless", "--duration", "1s"]));
    assert!(line.len() < 1000, "{} bytes", line.len());
    assert!(line.ends_with("sqlite:PATH or postgres://…)"), "{line}");
    // A flag holds at most 128 KiB.
    let flag = format!("sqlite:{}", &huge[..100_000]);
    let out = Command::new(BIN)
        .args(["run", "--headless", "--duration", "1s", "--store", &flag])
        .current_dir(dirs.cwd.path())
        .output()
        .unwrap();
    let line = refusal(&out);
    assert!(line.len() < 1000, "{} bytes", line.len());
}

/// `sqlite:x.db?mode=ro` is refused with one line, and no file named `x.db?mode=ro` (or
/// `x.db`) is made; it made one.
#[test]
fn a_query_on_a_sqlite_url_is_refused_and_makes_no_file() {
    let dirs = Dirs::new("");
    for url in ["sqlite:x.db?mode=ro", "csv:r.csv?x=1"] {
        let out = Command::new(BIN)
            .args(["run", "--headless", "--duration", "1s", "--store", url])
            .current_dir(dirs.cwd.path())
            .output()
            .unwrap();
        let line = refusal(&out);
        assert!(line.starts_with(&format!("store '{url}': ")), "{line}");
        assert!(line.contains("no query"), "{line}");
    }
    assert_eq!(names(dirs.cwd.path()), Vec::<String>::new());
}

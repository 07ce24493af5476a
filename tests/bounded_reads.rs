//! Every file a run reads is read with a bound: a path that is not a regular file (here
//! `/dev/zero`) as profiles, config, token file or CSV store is refused with one line, exit 2;
//! profiles from standard input are checked as they come (`--max-sections` while reading, not
//! after the end); a CSV store's record longer than its bound is refused naming its line.
//! Each child runs with its address space bounded, so a regression fails here instead of taking
//! the machine's memory.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");
/// A child's address space: far above what a run of the example wall uses, far below what
/// reading `/dev/zero` would take.
const ADDRESS_SPACE: u64 = 4 << 30;
/// How long a refusal may take.
const WITHIN: Duration = Duration::from_secs(20);

fn wallwatch(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Runs `cmd` (stdin from `stdin`, or closed) to its end, killing it after [`WITHIN`].
fn run(mut cmd: Command, stdin: Stdio) -> Output {
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait(&mut child)
}

fn wait(child: &mut std::process::Child) -> Output {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            child
                .stdout
                .take()
                .unwrap()
                .read_to_end(&mut stdout)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_end(&mut stderr)
                .unwrap();
            return Output {
                status,
                stdout,
                stderr,
            };
        }
        if start.elapsed() > WITHIN {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {WITHIN:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Exit 2 and one line on stderr, which is returned.
fn refused(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.trim_end().to_string()
}

#[test]
fn dev_zero_as_profiles_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let mut serve = wallwatch(&["serve", "--profiles", "/dev/zero", "--store", "memory:"]);
    serve.arg("--socket").arg(&sock);
    let err = refused(&run(serve, Stdio::null()));
    assert_eq!(
        err,
        "error: /dev/zero: cannot read: not a regular file (a character device)"
    );
    let headless = wallwatch(&[
        "run",
        "--headless",
        "--profiles",
        "/dev/zero",
        "--store",
        "memory:",
    ]);
    let err = refused(&run(headless, Stdio::null()));
    assert!(err.contains("not a regular file"), "{err}");
    // A directory too.
    let mut headless = wallwatch(&["run", "--headless", "--store", "memory:", "--profiles"]);
    headless.arg(dir.path());
    let err = refused(&run(headless, Stdio::null()));
    assert!(err.contains("not a regular file (a directory)"), "{err}");
}

#[test]
fn dev_zero_as_a_csv_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = wallwatch(&["serve", "--store", "csv:/dev/zero"]);
    serve.arg("--socket").arg(dir.path().join("s.sock"));
    let err = refused(&run(serve, Stdio::null()));
    assert!(
        err.starts_with("error: store 'csv:/dev/zero': /dev/zero:"),
        "{err}"
    );
    assert!(
        err.contains("not a regular file (a character device)"),
        "{err}"
    );
    let export = wallwatch(&["readings", "--store", "csv:/dev/zero"]);
    let err = refused(&run(export, Stdio::null()));
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn dev_zero_as_config_or_token_file_is_refused() {
    let run_with = |args: &[&str]| {
        let mut cmd = wallwatch(&["run", "--headless", "--store", "memory:"]);
        cmd.args(args).args(["--duration", "1s"]);
        refused(&run(cmd, Stdio::null()))
    };
    let err = run_with(&["--config", "/dev/zero"]);
    assert_eq!(
        err,
        "error: /dev/zero: cannot read: not a regular file (a character device)"
    );
    let err = run_with(&["--http", "127.0.0.1:0", "--http-token-file", "/dev/zero"]);
    assert!(err.contains("/dev/zero"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    // A config file larger than any config is refused without reading it whole.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let mut f = std::fs::File::create(&big).unwrap();
    let line = format!("# {}\n", "x".repeat(1021));
    for _ in 0..2048 {
        f.write_all(line.as_bytes()).unwrap();
    }
    drop(f);
    let err = run_with(&["--config", big.to_str().unwrap()]);
    assert!(err.contains("big.toml: cannot read: larger than"), "{err}");
}

/// Standard input never ends here: a profile over `--max-sections` must be refused as soon as
/// it is read, and `/dev/zero` as standard input at its first byte.
#[test]
fn profiles_from_standard_input_are_checked_as_they_come() {
    let mut cmd = wallwatch(&[
        "run",
        "--headless",
        "--store",
        "memory:",
        "--max-sections",
        "2000",
        "--profiles",
        "-",
    ]);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // 2001 sections on line 2, and more of the line to come.
    stdin.write_all(b"1 2 3\n").unwrap();
    stdin.write_all("7 ".repeat(2001).as_bytes()).unwrap();
    stdin.flush().unwrap();
    let out = wait(&mut child);
    drop(stdin);
    let err = refused(&out);
    assert_eq!(
        err,
        "error: <stdin>:2:4001: profile has more than 2000 sections (raise the limit with \
         --max-sections)"
    );

    // One very long line of spaces and digits, never ended, is refused at its bound.
    let mut cmd = wallwatch(&["run", "--headless", "--store", "memory:", "--profiles", "-"]);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let spaces = vec![b' '; 64 * 1024];
        // Stops when the reader has gone.
        while stdin.write_all(&spaces).is_ok() {}
    });
    let err = refused(&wait(&mut child));
    writer.join().unwrap();
    assert!(err.starts_with("error: <stdin>:1:"), "{err}");
    assert!(err.contains("line is longer than"), "{err}");

    let zero = std::fs::File::open("/dev/zero").unwrap();
    let cmd = wallwatch(&["run", "--headless", "--store", "memory:", "--profiles", "-"]);
    let err = refused(&run(cmd, Stdio::from(zero)));
    // A token of NULs, quoted escaped and cut.
    let nuls = "\\u{0}".repeat(24);
    assert_eq!(
        err,
        format!("error: <stdin>:1:1: '{nuls}…' is not a height (0..=30)")
    );
}

/// A CSV store's record (a line, or lines inside quotes) is read up to its bound: a store whose
/// readings file has a record longer than that is refused naming the file and line.
#[test]
fn a_csv_record_over_its_bound_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"id,timestamp,sensor,value\n").unwrap();
    f.write_all(b"1,2026-12-01T00:00:00.000000Z,s,1\n").unwrap();
    // An open quote that runs on for 8 MiB, lines and all.
    f.write_all(b"2,2026-12-01T00:00:00.000000Z,\"").unwrap();
    let line = format!("{}\n", "a".repeat(1023));
    for _ in 0..8192 {
        f.write_all(line.as_bytes()).unwrap();
    }
    drop(f);
    let url = format!("csv:{}", path.display());
    let export = wallwatch(&["readings", "--store", &url]);
    let err = refused(&run(export, Stdio::null()));
    assert!(
        err.starts_with(&format!("error: store '{url}': {}:3:", path.display())),
        "{err}"
    );
    assert!(err.contains("longer than"), "{err}");
}

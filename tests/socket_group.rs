//! `serve --socket-group` as a system service runs it: the socket's directory 0750 and the
//! socket 0660 with the group; a member (another uid, through `setpriv --groups`) watches and
//! asks the status but is refused commands and stops unless `--group-may-steer`; a uid outside
//! the group is refused by the modes and, with them opened up, by the peer check; bad groups
//! and directories are one line and exit 2. And the readiness notices a `Type=notify` unit
//! waits for.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/dash.rs"]
mod dash;

use dash::{Dash, WAIT, panes_up};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");
/// The uid and gid the other user runs as (Debian's nobody and nogroup).
const OTHER: &str = "65534";

/// A group of this machine that is not root's: the socket's group in these tests.
fn test_group() -> (String, u32) {
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    groups
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse::<u32>().ok()?))
        })
        .find(|(name, gid)| name == "users" || (*gid >= 100 && *gid < 65534))
        .expect("a group other than root's in /etc/group")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A site served under `DIR/run` (as a unit's runtime directory: `--name site`), with a copy
/// of the binary that other uids may run.
struct Site {
    child: Child,
    dir: tempfile::TempDir,
}

impl Site {
    fn start(extra: &[&str], env: &[(&str, &str)]) -> Site {
        let site = Site::spawn(extra, env);
        site.wait_for("serving the site at");
        site
    }

    fn spawn(extra: &[&str], env: &[(&str, &str)]) -> Site {
        let dir = tempfile::tempdir().unwrap();
        for d in [dir.path().to_path_buf(), dir.path().join("run")] {
            std::fs::create_dir_all(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let bin = dir.path().join("wallwatch");
        std::fs::copy(BIN, &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = format!("sqlite:{}", dir.path().join("site.db").display());
        let child = Command::new(BIN)
            .args(["serve", "--name", "site", "--store", &store])
            .args(extra)
            .env("XDG_RUNTIME_DIR", dir.path().join("run"))
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("serve.out")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("serve.err")).unwrap())
            .spawn()
            .unwrap();
        Site { child, dir }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/wallwatch/site.sock")
    }

    fn socket_arg(&self) -> String {
        self.socket().to_str().unwrap().to_string()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.err")).unwrap_or_default()
    }

    fn wait_for(&self, line: &str) {
        let start = Instant::now();
        while !self.stderr().contains(line) {
            assert!(start.elapsed() < WAIT, "no '{line}': {}", self.stderr());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The binary's copy as uid 65534 with these `setpriv` group options.
    fn as_other(&self, groups: &[&str], args: &[&str]) -> Output {
        let bin = self.dir.path().join("wallwatch");
        // Another test's fork may briefly hold a fresh copy open for writing (ETXTBSY).
        for _ in 0..100 {
            let out = Command::new("setpriv")
                .args(["--reuid", OTHER, "--regid", OTHER])
                .args(groups)
                .arg(&bin)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("setpriv (util-linux)");
            if !text(&out.stderr).contains("Text file busy") {
                return out;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("{} stayed busy", bin.display());
    }

    /// `wallwatch status --json` as the site's own user.
    fn status(&self) -> Value {
        let out = Command::new(BIN)
            .args(["status", "--json", "--socket", &self.socket_arg()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < WAIT, "serve did not stop");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode_and_gid(path: &Path) -> (u32, u32) {
    let meta = std::fs::metadata(path).unwrap();
    (meta.mode() & 0o777, meta.gid())
}

#[test]
fn a_member_of_the_socket_group_watches_but_may_not_steer_or_stop() {
    let (group, gid) = test_group();
    let site = Site::start(&["--socket-group", &group], &[]);
    let socket = site.socket();
    assert_eq!(mode_and_gid(socket.parent().unwrap()), (0o750, gid));
    assert_eq!(mode_and_gid(&socket), (0o660, gid));
    let member = ["--groups", &gid.to_string()];
    let sock = site.socket_arg();

    let out = site.as_other(&member, &["status", "--json", "--socket", &sock]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["crews"], 3);

    let out = site.as_other(&member, &["crews", "add", "--socket", &sock]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("wallwatch: refused: read-only:"),
        "{}",
        text(&out.stderr)
    );
    let out = site.as_other(&member, &["stop", "--socket", &sock]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("may only watch"),
        "{}",
        text(&out.stderr)
    );
    site.wait_for(&format!("refused a stop from uid {OTHER}"));

    // The whole dashboard, attached without --read-only: the site makes it read-only.
    let bin = site.dir.path().join("wallwatch");
    let mut args = vec!["--reuid", OTHER, "--regid", OTHER];
    args.extend(member);
    let bin = bin.to_str().unwrap();
    args.extend([bin, "attach", "--socket", &sock]);
    let mut viewer = Dash::spawn_program(site.dir.path(), "setpriv", &args, &[], 120, 40);
    viewer.wait_screen("the panes", panes_up);
    site.wait_for(&format!("attached (read-only), uid {OTHER}"));
    viewer.press("c");
    viewer.wait_text("refused: read-only");
    viewer.press("q");
    assert_eq!(viewer.finish().0, 0);

    assert_eq!(site.status()["crews"], 3, "nothing changed the site");
    // Its own user still steers it.
    let out = Command::new(BIN)
        .args(["crews", "add", "--socket", &sock])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    site.stop();
}

#[test]
fn with_group_may_steer_a_members_command_works() {
    let (group, gid) = test_group();
    let site = Site::start(&["--socket-group", &group, "--group-may-steer"], &[]);
    let member = ["--groups", &gid.to_string()];
    let sock = site.socket_arg();
    let out = site.as_other(&member, &["crews", "add", "--socket", &sock]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "crew 4 joins tomorrow");
    site.wait_for(&format!("cli (uid {OTHER}): crew 4 joins tomorrow"));
    let out = site.as_other(&member, &["stop", "--socket", &sock]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["readings"]["produced"],
        summary["readings"]["stored"]
    );
}

#[test]
fn a_uid_outside_the_group_is_refused_by_the_modes_and_by_the_peer_check() {
    let (group, gid) = test_group();
    let site = Site::start(&["--socket-group", &group], &[]);
    let sock = site.socket_arg();
    let outside = ["--clear-groups"];
    let out = site.as_other(&outside, &["status", "--socket", &sock]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Permission denied")
            && text(&out.stderr).contains("members of its socket group may connect"),
        "{}",
        text(&out.stderr)
    );
    // Should the modes be opened up, the peer check still refuses, and says so.
    let socket = site.socket();
    for (path, mode) in [(socket.parent().unwrap(), 0o755), (&socket, 0o666)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = site.as_other(&outside, &["status", "--socket", &sock]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused the connection"),
        "{}",
        text(&out.stderr)
    );
    site.wait_for(&format!("refused a connection from uid {OTHER} (pid "));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    site.wait_for(&format!(
        "only uid {me} and the group {group} (gid {gid}) may attach"
    ));
    site.stop();
}

#[test]
fn an_unknown_group_and_a_directory_open_to_others_are_one_line_and_exit_2() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--socket-group",
            "no-such-group-here",
            "--store",
            "memory:",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: --socket-group: no such group 'no-such-group-here'\n"
    );
    let out = Command::new(BIN)
        .args(["serve", "--group-may-steer", "--store", "memory:"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: --group-may-steer: only with --socket-group"),
        "{}",
        text(&out.stderr)
    );

    let (group, gid) = test_group();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallwatch");
    let serve = |mode: u32, owner_gid: u32| {
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::chown(&dir, None, Some(owner_gid)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--socket-group", &group, "--store", "memory:"])
            .env("XDG_RUNTIME_DIR", tmp.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr).lines().count(),
            1,
            "{}",
            text(&out.stderr)
        );
        text(&out.stderr)
    };
    let e = serve(0o755, gid);
    assert!(e.contains("has mode 755: others may enter it"), "{e}");
    let e = serve(0o770, gid);
    assert!(e.contains("has mode 770"), "{e}");
    // Open to another group than the socket's: not ours to hand to this one.
    let e = serve(0o750, 0);
    assert!(e.contains("has mode 750 and belongs to gid 0"), "{e}");
}

#[test]
fn the_config_files_socket_group_applies_and_an_unknown_one_names_its_line() {
    let (group, gid) = test_group();
    let cfg = tempfile::tempdir().unwrap();
    let file = cfg.path().join("w.toml");
    std::fs::write(&file, format!("socket-group = \"{group}\"\n")).unwrap();
    let site = Site::start(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(mode_and_gid(&site.socket()), (0o660, gid));
    site.stop();

    std::fs::write(&file, "crews = 2\nsocket-group = \"no-such-group-here\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}:2:16: key 'socket-group': no such group 'no-such-group-here'\n",
            file.display()
        )
    );
}

/// What systemd hears on `$NOTIFY_SOCKET`, one datagram at a time.
fn notice(socket: &UnixDatagram) -> String {
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a notice");
    text(&buf[..n])
}

#[test]
fn systemd_hears_ready_once_the_site_serves_and_stopping_when_it_drains() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("notify");
    let systemd = UnixDatagram::bind(&path).unwrap();
    let site = Site::spawn(&[], &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    assert_eq!(notice(&systemd), "READY=1");
    // By then it answers.
    assert_eq!(site.status()["crews"], 3);
    let _ = Command::new("kill")
        .args(["-TERM", &site.child.id().to_string()])
        .status();
    assert_eq!(notice(&systemd), "STOPPING=1");
    site.stop();
}

#[test]
fn an_abstract_notify_socket_is_reached_too() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("wallwatch-test-notify-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let systemd = UnixDatagram::bind_addr(&addr).unwrap();
    let site = Site::spawn(&[], &[("NOTIFY_SOCKET", &format!("@{name}"))]);
    assert_eq!(notice(&systemd), "READY=1");
    site.stop();
}

//! Where a site listens: `--socket PATH`, else `$XDG_RUNTIME_DIR/wallwatch/NAME.sock`, else
//! `/tmp/wallwatch-UID/NAME.sock`. The directory is made 0700 and refused, as tmux refuses its
//! own, when another user owns it or others may enter it; the socket is 0600. With
//! `--socket-group` both are opened to that group (0750, 0660) and to nobody else. Who may
//! connect is [`crate::serve::access`]'s to say.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

use crate::lockfile::{LockError, LockFile};
use crate::serve::access::{self, Group};

/// The site's name when none is given.
pub const DEFAULT_NAME: &str = "default";
/// Where a system service's sockets are (its unit's `RuntimeDirectory=wallwatch`): the
/// clients look there for a site of that name when the user has none of their own.
pub const SYSTEM_DIR: &str = "/run/wallwatch";

/// This process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Where the socket of site `name` is, or `socket` when given. `runtime_dir` is
/// `$XDG_RUNTIME_DIR` (passed in so tests need not change the environment).
pub fn resolve(
    socket: Option<&Path>,
    name: Option<&str>,
    runtime_dir: Option<&str>,
) -> Result<PathBuf, String> {
    if let Some(path) = socket {
        return Ok(path.to_path_buf());
    }
    let name = name.unwrap_or(DEFAULT_NAME);
    check_name(name).map_err(|why| format!("--site '{}': {why}", crate::text::sanitize(name)))?;
    let dir = match runtime_dir.filter(|d| !d.is_empty()) {
        Some(d) => Path::new(d).join("wallwatch"),
        None => PathBuf::from(format!("/tmp/wallwatch-{}", euid())),
    };
    Ok(dir.join(format!("{name}.sock")))
}

/// Whether `name` may name a site's socket file; if not, what a name may be.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err("use letters, digits, '-', '_' and '.' (at most 64, not starting with '.')")
    }
}

/// [`resolve`] with this process's `$XDG_RUNTIME_DIR`.
pub fn resolve_env(socket: Option<&Path>, name: Option<&str>) -> Result<PathBuf, String> {
    let runtime_dir = std::env::var("XDG_RUNTIME_DIR").ok();
    resolve(socket, name, runtime_dir.as_deref())
}

/// Where a client finds site `name`: the user's own socket ([`resolve_env`]) if it is there,
/// else the system service's under [`SYSTEM_DIR`] if that is there, else the user's (whose
/// absence the connection reports).
pub fn resolve_client(socket: Option<&Path>, name: Option<&str>) -> Result<PathBuf, String> {
    let own = resolve_env(socket, name)?;
    if socket.is_some() || own.exists() {
        return Ok(own);
    }
    let system = Path::new(SYSTEM_DIR).join(format!("{}.sock", name.unwrap_or(DEFAULT_NAME)));
    // A service's socket in a directory we may not enter (we are outside its group) is still
    // the one meant: connecting then says who may, rather than "no site" at our own path.
    let meant = match system.try_exists() {
        Ok(there) => there,
        Err(e) => e.kind() == io::ErrorKind::PermissionDenied,
    };
    Ok(if meant { system } else { own })
}

/// Makes the socket's directory (0700) if it is ours to make, and checks it: a directory (not
/// a link), owned by us, that nobody else may enter — or, with `group`, that only that group
/// may enter and read (it is then made 0750 with that group, from 0700 or as it was).
pub fn ensure_private_dir(dir: &Path, group: Option<&Group>) -> Result<(), String> {
    let shown = dir.display();
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create the socket directory {shown}: {e}")),
    }
    let meta =
        std::fs::symlink_metadata(dir).map_err(|e| format!("socket directory {shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("socket directory {shown} is not a directory"));
    }
    if meta.uid() != euid() {
        return Err(format!(
            "socket directory {shown} belongs to uid {}, not to you (uid {}): refusing to use it",
            meta.uid(),
            euid()
        ));
    }
    let mode = meta.mode() & 0o777;
    let Some(group) = group else {
        if mode & 0o077 != 0 {
            return Err(format!(
                "socket directory {shown} has mode {mode:o}: others may enter it; it must be 700"
            ));
        }
        return Ok(());
    };
    let gid = group.gid;
    let name = crate::text::sanitize(&group.name);
    if mode & 0o027 != 0 {
        return Err(format!(
            "socket directory {shown} has mode {mode:o}: others may enter it or its group may \
             write to it; it must be 700 or 750 (group {name})"
        ));
    }
    if mode & 0o070 != 0 && meta.gid() != gid {
        return Err(format!(
            "socket directory {shown} has mode {mode:o} and belongs to gid {}: that group may \
             enter it, not only {name} (gid {gid})",
            meta.gid()
        ));
    }
    access::chgrp(dir, group)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))
        .map_err(|e| format!("cannot make the socket directory {shown} mode 750: {e}"))
}

/// A socket listened on, and the lock that makes it this site's alone.
#[derive(Debug)]
pub struct Listening {
    pub listener: UnixListener,
    pub lock: LockFile,
}

/// Listens on `path`: an error if a site already runs there (it holds the socket's lock, or
/// answers on it) or the path is something else; a stale socket (nobody answers) is
/// replaced. The lock is taken first, so the check and the replacement are one step: of sites
/// started at the same moment, one listens and the others are refused. The socket is made 0600
/// before it appears under its name.
pub async fn listen(path: &Path) -> Result<Listening, String> {
    let shown = path.display();
    // `NAME.sock.lock`, held by the site listening here for as long as it runs.
    let lock_path = crate::lockfile::beside(path);
    let lock = match LockFile::take(
        &lock_path,
        &crate::lockfile::this_process("wallwatch serve"),
    ) {
        Ok(lock) => lock,
        Err(LockError::Held(by)) => {
            return Err(format!("a site is already running at {shown} ({by})"));
        }
        Err(LockError::Io(e)) => {
            return Err(format!("cannot lock {}: {e}", lock_path.display()));
        }
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path).await {
            Ok(_) => return Err(format!("a site is already running at {shown}")),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path)
                    .map_err(|e| format!("cannot replace the stale socket {shown}: {e}"))?;
            }
            Err(e) => return Err(format!("{shown}: {e}")),
        },
        Ok(_) => return Err(format!("{shown} exists and is not a socket")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{shown}: {e}")),
    }
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}.new", std::process::id()));
    let staging = PathBuf::from(staging);
    let _ = std::fs::remove_file(&staging);
    let listener =
        UnixListener::bind(&staging).map_err(|e| format!("cannot listen at {shown}: {e}"))?;
    let ready = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&staging, path));
    if let Err(e) = ready {
        let _ = std::fs::remove_file(&staging);
        return Err(format!("cannot listen at {shown}: {e}"));
    }
    Ok(Listening { listener, lock })
}

/// Connects to the site at `path`; the error says plainly that no site is there.
pub async fn connect(path: &Path) -> Result<UnixStream, String> {
    UnixStream::connect(path).await.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
            "no site at {} (is `wallwatch serve` running?)",
            path.display()
        ),
        io::ErrorKind::PermissionDenied => format!(
            "cannot connect to {}: {e} (only the user running the site and the members of its \
             socket group may connect; `id -nG` lists your groups)",
            path.display()
        ),
        _ => format!("cannot connect to {}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_path_follows_the_runtime_dir_then_tmp() {
        assert_eq!(
            resolve(None, None, Some("/run/user/1000")).unwrap(),
            PathBuf::from("/run/user/1000/wallwatch/default.sock")
        );
        assert_eq!(
            resolve(None, Some("north"), None).unwrap(),
            PathBuf::from(format!("/tmp/wallwatch-{}/north.sock", euid()))
        );
        assert_eq!(
            resolve(Some(Path::new("/x/y.sock")), Some("north"), Some("/r")).unwrap(),
            PathBuf::from("/x/y.sock")
        );
        for bad in ["", "../etc", ".hidden", "a/b", "a b"] {
            assert!(resolve(None, Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_directory_others_may_enter_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ww");
        ensure_private_dir(&dir, None).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = ensure_private_dir(&dir, None).unwrap_err();
        assert!(e.contains("mode 755"), "{e}");
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(
            ensure_private_dir(&file, None)
                .unwrap_err()
                .contains("not a directory")
        );
    }

    #[test]
    fn a_group_may_enter_only_its_own_directory_and_others_never() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ww");
        // Our own primary group: one we may give a directory to without being root.
        // SAFETY: getegid has no preconditions and cannot fail.
        let ours = Group {
            name: "ours".into(),
            gid: unsafe { libc::getegid() },
        };
        ensure_private_dir(&dir, Some(&ours)).unwrap();
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!((meta.mode() & 0o777, meta.gid()), (0o750, ours.gid));
        // As it is left: checked again, unchanged.
        ensure_private_dir(&dir, Some(&ours)).unwrap();
        // Without the group it is refused, as any directory another may enter.
        assert!(
            ensure_private_dir(&dir, None)
                .unwrap_err()
                .contains("mode 750")
        );
        for mode in [0o751, 0o770, 0o755] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = ensure_private_dir(&dir, Some(&ours)).unwrap_err();
            assert!(e.contains(&format!("mode {mode:o}")), "{e}");
        }
        // Another group's directory, open to that group, is not ours to take over.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        let other = Group {
            name: "other".into(),
            gid: ours.gid + 1,
        };
        let e = ensure_private_dir(&dir, Some(&other)).unwrap_err();
        assert!(e.contains(&format!("belongs to gid {}", ours.gid)), "{e}");
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("s.sock");
        let first = listen(&path).await.unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().mode() & 0o777,
            0o600,
            "socket mode"
        );
        let e = listen(&path).await.unwrap_err();
        assert!(e.contains("already running"), "{e}");
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        // A live site that holds no lock (an older wallwatch) is found by answering.
        let Listening { listener, lock } = first;
        drop(lock);
        let e = listen(&path).await.unwrap_err();
        assert!(e.contains("already running"), "{e}");
        let first = listener;
        drop(first); // The file stays: a stale socket.
        assert!(path.exists());
        let _second = listen(&path).await.unwrap();
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert!(listen(&plain).await.unwrap_err().contains("not a socket"));
    }
}

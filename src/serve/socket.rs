//! Where a site listens, and who may connect: `--socket PATH`, else
//! `$XDG_RUNTIME_DIR/wallwatch/NAME.sock`, else `/tmp/wallwatch-UID/NAME.sock`. The directory is
//! made 0700 and refused, as tmux refuses its own, when another user owns it or others may
//! enter it; the socket is 0600; each connection's peer uid (SO_PEERCRED) must be ours.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

/// The site's name when none is given.
pub const DEFAULT_NAME: &str = "default";

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

/// Makes the socket's directory (0700) if it is ours to make, and checks it: a directory (not
/// a link), owned by us, that nobody else may enter.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
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
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "socket directory {shown} has mode {:o}: others may enter it; it must be 700",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Listens on `path`: an error if a live site already answers there or the path is something
/// else; a stale socket (nobody answers) is replaced. The socket is made 0600 before it
/// appears under its name.
pub async fn listen(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
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
    Ok(listener)
}

/// Whether the peer of `stream` runs as our user; the refusal says who it was.
pub fn check_peer(stream: &UnixStream) -> Result<u32, String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
    if cred.uid() == euid() {
        Ok(cred.uid())
    } else {
        Err(format!(
            "refused a connection from uid {} (pid {}): only uid {} may attach",
            cred.uid(),
            cred.pid()
                .map_or_else(|| "?".to_string(), |p| p.to_string()),
            euid()
        ))
    }
}

/// Connects to the site at `path`; the error says plainly that no site is there.
pub async fn connect(path: &Path) -> Result<UnixStream, String> {
    UnixStream::connect(path).await.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
            "no site at {} (is `wallwatch serve` running?)",
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
        ensure_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = ensure_private_dir(&dir).unwrap_err();
        assert!(e.contains("mode 755"), "{e}");
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(
            ensure_private_dir(&file)
                .unwrap_err()
                .contains("not a directory")
        );
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
        drop(first); // The file stays: a stale socket.
        assert!(path.exists());
        let _second = listen(&path).await.unwrap();
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert!(listen(&plain).await.unwrap_err().contains("not a socket"));
    }
}

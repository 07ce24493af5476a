//! A lock file held for as long as a process needs it: an exclusive `flock` on a file beside
//! what it guards (made if absent, 0600), which ends with the process however it ends (the
//! kernel drops it on a SIGKILL too, so a lock is never left stale), and which holds one line
//! saying who holds it, for the process that is refused. The file stays when its holder ends:
//! removing it would let a process that opened it just before lock a file no one else sees.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The most of a holder's line read back.
const MAX_HOLDER: u64 = 4096;

/// A lock taken; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct LockFile {
    _file: File,
    path: PathBuf,
}

/// Why a lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; what its line says.
    Held(String),
    /// The lock file cannot be made, opened or locked.
    Io(io::Error),
}

impl LockFile {
    /// Takes the lock of `path` for `holder` (one line, written into the file), without
    /// waiting: if another process holds it, says who.
    pub fn take(path: &Path, holder: &str) -> Result<LockFile, LockError> {
        // A lock on a device or a FIFO guards nothing.
        let mut file = crate::files::open_regular_with(
            path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
        )
        .map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut line = Vec::new();
                let _ = (&mut file).take(MAX_HOLDER).read_to_end(&mut line);
                let line = String::from_utf8_lossy(&line);
                let line = crate::text::sanitize(line.trim()).into_owned();
                return Err(LockError::Held(if line.is_empty() {
                    "a process that has not said which yet".to_string()
                } else {
                    line
                }));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Io(e)),
        }
        // Who holds it: only for the one refused, so a failure to say is no failure to lock.
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(format!("{holder}\n").as_bytes()));
        Ok(LockFile {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// Where the lock file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file beside `path`: `PATH.lock`.
pub fn beside(path: &Path) -> PathBuf {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    PathBuf::from(lock)
}

/// This process as a lock's holder line says it: `pid 4242 on host north, WHAT, since …`.
pub fn this_process(what: &str) -> String {
    format!(
        "pid {} on host {}, {what}, since {}",
        std::process::id(),
        host_name(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// The machine's host name (`?` if it has none to give).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // fails.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    if ok && end > 0 {
        crate::text::sanitize(&String::from_utf8_lossy(&buf[..end])).into_owned()
    } else {
        "?".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_it_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = LockFile::take(&path, "the first").unwrap();
        match LockFile::take(&path, "the second") {
            Err(LockError::Held(by)) => assert_eq!(by, "the first"),
            other => panic!("{other:?}"),
        }
        drop(first);
        let second = LockFile::take(&path, "the second").unwrap();
        assert_eq!(second.path(), path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the second\n");
    }

    #[test]
    fn a_lock_file_that_is_not_a_file_is_refused() {
        match LockFile::take(Path::new("/dev/null"), "x") {
            Err(LockError::Io(e)) => assert!(e.to_string().contains("not a regular file"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

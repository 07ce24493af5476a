//! One store, one running site: what makes a store the writing site's alone, and what tells
//! the site that its file went away.
//!
//! A `sqlite:` or `csv:` store is locked by a lock file beside its file (`PATH.lock`, an flock
//! held while the store is open, see [`crate::lockfile`]), named after the file's real path so
//! that two names of one file (a symlink, `./x.db`) are one store. Readers (`wallwatch
//! readings`) take no lock: SQLite's WAL and the CSV files' appends let them read while the site
//! writes. PostgreSQL's lock is an advisory lock of the schema, held by the writing connection
//! (see `postgres.rs`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::StoreError;
use crate::lockfile::{LockError, LockFile};

/// The lock file of the file store at `path`: `REALPATH.lock`, the file's symlinks (or its
/// directory's, while the file does not exist yet) resolved.
pub fn lock_path(path: &Path) -> PathBuf {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path.file_name().unwrap_or_default();
        std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or_else(|_| path.to_path_buf())
    });
    crate::lockfile::beside(&real)
}

/// Takes the lock of the file store `shown` at `path` for `holder` (this process's line), or
/// says who holds it. A lock file that cannot be made (a read-only directory) means the store
/// cannot be written.
pub fn lock_beside(shown: &str, path: &Path, holder: &str) -> Result<LockFile, StoreError> {
    let lock = lock_path(path);
    LockFile::take(&lock, holder).map_err(|e| match e {
        LockError::Held(by) => in_use(shown, &by),
        LockError::Io(e) => StoreError(format!(
            "store '{shown}': cannot be written: {}: cannot make its lock file ({e})",
            lock.display()
        )),
    })
}

/// The refusal of a second site: `store 'URL': in use by another site: WHO; …`.
pub fn in_use(shown: &str, by: &str) -> StoreError {
    StoreError(format!("store '{shown}': {}", refusal(by)))
}

/// What a second site is told, the store aside: `in use by another site: WHO; …` (PostgreSQL's
/// lock says it too).
pub(super) fn refusal(by: &str) -> String {
    format!("in use by another site: {by}; stop that site first, or use another store")
}

/// The identity (device and inode) of a store's file when it was opened, checked on each
/// write: a file deleted or replaced under a running site is noticed at the next write, which
/// then fails (the batch kept, the failure on `/healthz`) instead of going on into a file no
/// one will see again.
#[derive(Debug, Clone)]
pub struct FileIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    /// The identity of the open file `meta` (its `fstat`), which is at `path`.
    pub fn of(path: &Path, meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Whether `path` is still the file opened; the error names the store and the file.
    pub fn check(&self, shown: &str) -> Result<(), StoreError> {
        let why = match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => return Ok(()),
            Ok(_) => "another file is there now".to_string(),
            Err(e) => e.to_string(),
        };
        Err(StoreError(format!(
            "store '{shown}': {} was deleted or replaced while the site ran ({why}); nothing \
             more is written to it, and what waits is not stored",
            self.path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_names_of_one_file_have_one_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        std::fs::write(&real, "").unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(lock_path(&real), lock_path(&link));
        let fresh = dir.path().join("sub/../fresh.db");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(
            lock_path(&fresh),
            std::fs::canonicalize(dir.path())
                .unwrap()
                .join("fresh.db.lock")
        );
    }

    #[test]
    fn a_file_deleted_or_replaced_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "a").unwrap();
        // Held open, as the store holds its file: its inode cannot go to the next file.
        let open = std::fs::File::open(&path).unwrap();
        let id = FileIdentity::of(&path, &open.metadata().unwrap());
        id.check("csv:x.csv").unwrap();
        std::fs::remove_file(&path).unwrap();
        let e = id.check("csv:x.csv").unwrap_err();
        assert!(e.0.contains("was deleted or replaced"), "{e}");
        std::fs::write(&path, "b").unwrap();
        let e = id.check("csv:x.csv").unwrap_err();
        assert!(e.0.contains("another file is there now"), "{e}");
    }
}

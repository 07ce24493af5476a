//! SQLite's checkpoints off the write path: a thread of the store's own, with a connection of
//! its own, copies the write-ahead log back into the database while the writer goes on.
//!
//! SQLite's own checkpoint runs in the commit that takes the log past its size: that commit
//! copies the whole log (64 MB here, with an fsync) before it returns, and every sixteenth
//! batch or so paid for it. Those commits were the p99 of the store's writes, and they grew as
//! the file grew (a soak's p99 write rose 28 % in 5 minutes). Here the writer's commit only asks
//! (the log's size comes with SQLite's WAL hook); the copy is a PASSIVE checkpoint on this
//! thread, which takes no lock the writer needs. Durability is as before: each commit is in the
//! log, synced as `synchronous=NORMAL` says, before it returns.
//!
//! Should the thread fall behind (the log at [`BEHIND_PAGES`]), the writer checkpoints in its
//! commit again, as SQLite would have, so the log stays bounded.

use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::Connection;

/// The log's size, in pages (4 KiB), at which a checkpoint is asked for: 64 MB. With a
/// thousand sensors each batch rewrites ~1000 index leaf pages, and a checkpoint this far apart
/// copies each hot page once per ~16 batches instead of on nearly every commit.
pub const CHECKPOINT_PAGES: i32 = 16 * 1024;
/// The log's size at which the writer checkpoints itself: the thread is this far behind.
pub const BEHIND_PAGES: i32 = 4 * CHECKPOINT_PAGES;

/// The checkpointing thread of one database, started at the first request and stopped (joined)
/// when dropped.
pub struct Checkpointer {
    url: String,
    path: String,
    /// Where requests go, and the thread taking them; none before the first request.
    running: Option<(SyncSender<()>, JoinHandle<()>)>,
}

impl Checkpointer {
    /// For the database at `path` (`url` names it in the log).
    pub fn new(url: &str, path: &str) -> Checkpointer {
        Checkpointer {
            url: url.to_string(),
            path: path.to_string(),
            running: None,
        }
    }

    /// What the writer's WAL hook does after each commit, with the log's size in pages.
    pub fn committed(&mut self, wal: &mut rusqlite::hooks::Wal, pages: i32) {
        if pages >= BEHIND_PAGES {
            // Busy (the thread is copying) or failing: the next commit asks again.
            let _ = wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE);
        } else if pages >= CHECKPOINT_PAGES {
            self.request();
        }
    }

    /// Asks for a checkpoint; one already asked for and not yet begun stands for this one.
    pub fn request(&mut self) {
        if self.running.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let (url, path) = (self.url.clone(), self.path.clone());
            let spawned = std::thread::Builder::new()
                .name("wallwatch-checkpoint".into())
                .spawn(move || checkpoint_on_request(&url, &path, &rx));
            match spawned {
                Ok(thread) => self.running = Some((tx, thread)),
                // No thread: the writer's own checkpoint at BEHIND_PAGES keeps the log bounded.
                Err(e) => {
                    tracing::warn!(target: "store", "{}: no checkpoint thread: {e}", self.url);
                    return;
                }
            }
        }
        if let Some((tx, _)) = &self.running {
            // Full: one is waiting already. Gone: the thread could not open the database and
            // said so; the writer's own checkpoint at BEHIND_PAGES bounds the log.
            let _ = tx.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The thread ends once its channel is closed, after the checkpoint it may be copying.
        if let Some((requests, thread)) = self.running.take() {
            drop(requests);
            let _ = thread.join();
        }
    }
}

/// The thread: a PASSIVE checkpoint per request until the channel closes. A failure is said
/// once; the requests go on (the writer's own checkpoint bounds the log meanwhile).
fn checkpoint_on_request(url: &str, path: &str, requests: &Receiver<()>) {
    let conn = match Connection::open(path) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(target: "store", "{url}: checkpoints stay in the writes: {e}");
            return;
        }
    };
    let _ = conn.busy_timeout(super::sqlite::BUSY_TIMEOUT);
    let mut failing = false;
    while requests.recv().is_ok() {
        match catch_up(&conn) {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                let e = crate::text::one_line(&e);
                tracing::warn!(target: "store", "{url}: a checkpoint failed: {e}");
            }
            Err(_) => {}
        }
    }
}

/// Most passes of one catch-up: each copies what the writer committed during the last.
const PASSES: usize = 16;

/// PASSIVE checkpoints until every frame in the log is in the database. One pass copies the
/// log as it was when the pass began; the writer commits meanwhile, and the log starts again
/// from its beginning only at a commit that finds all of it copied. Without the passes that
/// follow it would grow past every checkpoint, and each commit with it.
fn catch_up(conn: &Connection) -> rusqlite::Result<()> {
    for _ in 0..PASSES {
        let (log, copied): (i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })?;
        if copied >= log {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_copies_the_log_into_the_database_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let path = path.to_str().unwrap();
        let writer = Connection::open(path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
                 WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
                 INSERT INTO t SELECT i, printf('%0100d', i) FROM c;",
            )
            .unwrap();
        let size = || std::fs::metadata(path).map_or(0, |m| m.len());
        // Every page but the first (written when the journal became WAL) is still in the log.
        assert!(size() <= 4096, "the database holds {} bytes", size());
        let mut checkpointer = Checkpointer::new("sqlite:c.db", path);
        checkpointer.request();
        // Dropping joins the thread after the request it holds.
        drop(checkpointer);
        assert!(size() > 500_000, "the database holds {} bytes", size());
        drop(writer);
        let reader = Connection::open(path).unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 5000);
    }
}

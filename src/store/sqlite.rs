//! `sqlite:PATH` — the default store: one SQLite file in WAL mode, one transaction per batch.
//!
//! Schema version 2 (`PRAGMA user_version`):
//! `readings(id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, sensor TEXT NOT NULL, value INTEGER
//! NOT NULL)` with an index on `(sensor, id)`, `crew_reports(id INTEGER PRIMARY KEY, timestamp
//! TEXT, day INTEGER, crew INTEGER, profile INTEGER, section INTEGER, height INTEGER)` with indexes
//! on `(profile, section, id, height)` and `(day)` (for resuming: each section's latest report and
//! the last day without reading every report), and `meta(key TEXT PRIMARY KEY, value TEXT)`.
//! Timestamps are RFC 3339 UTC text in one fixed format (`2026-11-23T12:00:00.000000Z`), so text
//! order is time order. Version 1 (the same without the two crew report indexes) is migrated to
//! version 2 when opened (building the indexes once).
//!
//! Schema version 3 adds to `readings` the columns `agent TEXT` and `seq INTEGER` (null for a
//! local sensor's reading; an agent's id and its sequence number for a reading that came through
//! the broker) with a unique index on `(agent, seq)`: a redelivered reading is left out
//! (`INSERT … ON CONFLICT … DO NOTHING`). The index is partial (`WHERE agent IS NOT NULL`), so
//! a local reading costs no entry in it. Versions 1 and 2 are migrated when opened (the columns
//! are added, null for every reading there).
//!
//! Schema version 4 adds `site_changes(id INTEGER PRIMARY KEY, at TEXT NOT NULL, origin TEXT NOT
//! NULL, change TEXT NOT NULL)`: a running site's accepted changes, oldest first, each appended
//! in a transaction of its own (ids given by SQLite, one above the greatest; `clear` empties the
//! table, so they start again at 1). Versions 1 to 3 are migrated when opened (the table is
//! created, empty).
//!
//! Schema version 5 adds `past_crew_reports(run INTEGER NOT NULL, id, timestamp, day, crew,
//! profile, section, height, PRIMARY KEY (run, id))`: the crew reports of the runs before the
//! running one (a loaded wall starts a new run; the old run's reports move here, in one
//! transaction). Versions 1 to 4 are migrated when opened (the table is created, empty).
//!
//! Schema version 6 adds to `readings` the column `stored_at TEXT`: the wall-clock time the
//! reading was written (its `timestamp` is the run's simulated time), in the same format.
//! Versions 1 to 5 are migrated when opened (the column is added, null for every reading there).
//!
//! A running site's store ([`SqliteStore::open_for_site`]) holds the lock file beside the file,
//! is refused at the start unless it can be written, and checks at each write that its file is
//! still there (see `site_lock`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::checkpointer::Checkpointer;
use super::site_lock::{FileIdentity, lock_beside};
use super::{
    AgentMarks, Batch, Counts, HistoryScan, LAST_DAY_SQL, Origin, ReadingFilter,
    SECTION_HISTORY_SQL, SiteChange, Store, StoreError, ceil_micros, format_timestamp,
    parse_timestamp,
};
use crate::lockfile::LockFile;
use crate::sensors::Reading;
use crate::text::one_line;
use crate::wall::{CrewReport, LatestReports};

/// A run's page cache, in KiB (SQLite's negative `cache_size`): see [`SqliteStore::open`].
const RUN_CACHE_KIB: i64 = -64 * 1024;
/// SQLite's default (2 MB), for reads that visit each page once.
const SCAN_CACHE_KIB: i64 = -2000;

/// How long a statement waits for another connection's lock before failing with "database is
/// locked". Short, so that a held lock shows as a failing store (the collector then retries with
/// backoff, keeping the batch) instead of a silent stall.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: i64 = 6;

const SCHEMA: &str = "
CREATE TABLE readings (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    sensor TEXT NOT NULL,
    value INTEGER NOT NULL,
    agent TEXT,
    seq INTEGER,
    stored_at TEXT
);
CREATE INDEX readings_sensor_id ON readings (sensor, id);
CREATE UNIQUE INDEX readings_agent_seq ON readings (agent, seq)
    WHERE agent IS NOT NULL;
CREATE TABLE crew_reports (
    id INTEGER PRIMARY KEY,
    timestamp TEXT,
    day INTEGER,
    crew INTEGER,
    profile INTEGER,
    section INTEGER,
    height INTEGER
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
";

/// Version 1 → 2: the indexes that let a run resume without reading every crew report back.
const CREW_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS crew_reports_section ON crew_reports (profile, section, id, height);
CREATE INDEX IF NOT EXISTS crew_reports_day ON crew_reports (day);
";

/// Version 2 → 3: agents' readings, each (agent, seq) stored at most once.
const AGENT_COLUMNS: &str = "
ALTER TABLE readings ADD COLUMN agent TEXT;
ALTER TABLE readings ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX IF NOT EXISTS readings_agent_seq ON readings (agent, seq)
    WHERE agent IS NOT NULL;
";

/// Version 3 → 4 (and part of a new file's schema): a running site's accepted changes.
const SITE_CHANGES: &str = "
CREATE TABLE IF NOT EXISTS site_changes (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    origin TEXT NOT NULL,
    change TEXT NOT NULL
);
";

/// Version 4 → 5 (and part of a new file's schema): the crew reports of past runs.
const PAST_CREW_REPORTS: &str = "
CREATE TABLE IF NOT EXISTS past_crew_reports (
    run INTEGER NOT NULL,
    id INTEGER NOT NULL,
    timestamp TEXT,
    day INTEGER,
    crew INTEGER,
    profile INTEGER,
    section INTEGER,
    height INTEGER,
    PRIMARY KEY (run, id)
);
";

/// Version 5 → 6: the wall-clock time each reading was stored.
const STORED_AT_COLUMN: &str = "ALTER TABLE readings ADD COLUMN stored_at TEXT;";

/// An agent's reading; left out when its (agent, seq) is stored already.
const INSERT_REMOTE: &str = "INSERT INTO readings (id, timestamp, sensor, value, agent, seq, \
                             stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                             ON CONFLICT (agent, seq) WHERE agent IS NOT NULL DO NOTHING";

/// The crew reports whose ids are in the JSON array `?1`, one row lookup each.
const LATEST_BY_ID: &str = "SELECT c.id, c.timestamp, c.day, c.crew, c.profile, c.section, \
                            c.height FROM json_each(?1) AS j JOIN crew_reports AS c ON c.id = j.value";

const INSERT_READING: &str = "INSERT INTO readings (id, timestamp, sensor, value, stored_at) \
                              VALUES (?1, ?2, ?3, ?4, ?5)";
const INSERT_CREW: &str = "INSERT INTO crew_reports (id, timestamp, day, crew, profile, section, \
                           height) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// The `sqlite:PATH` store.
#[derive(Debug)]
pub struct SqliteStore {
    url: String,
    conn: Option<Connection>,
    /// The writing site's: its lock and the file's identity, checked at each write.
    site: Option<(LockFile, FileIdentity)>,
}

impl SqliteStore {
    /// Opens (creating) the database at `path`, sets WAL, `synchronous=NORMAL` and a busy
    /// timeout, and creates the schema in a new database.
    pub fn open(url: &str, path: &str) -> Result<SqliteStore, StoreError> {
        let err = |e: rusqlite::Error| StoreError(format!("store '{url}': {}", one_line(&e)));
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") && path != ":memory:" {
            return Err(StoreError(format!(
                "store '{url}': cannot use WAL (journal mode is {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // The (sensor, id) index takes each batch at one leaf page per sensor; with a thousand
        // sensors those pages outgrow SQLite's default 2 MB cache and every insert goes to disk
        // (8k rows/s instead of 100k+ at a million rows). The cache grows only as it is used.
        conn.pragma_update(None, "cache_size", RUN_CACHE_KIB)
            .map_err(err)?;
        // Checkpoints run on a thread of their own, asked for by the commits (see
        // `checkpointer`); the hook replaces SQLite's own checkpoint in the commit.
        if path != ":memory:" {
            let mut checkpointer = Checkpointer::new(url, path);
            conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
                checkpointer.committed(wal, pages);
                Ok(())
            }))
            .map_err(err)?;
        }
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        match version {
            0 => {
                let has_tables: Option<String> = conn
                    .query_row(
                        "SELECT name FROM sqlite_schema WHERE name IN ('readings', 'crew_reports') \
                         LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(err)?;
                if let Some(t) = has_tables {
                    return Err(StoreError(format!(
                        "store '{url}': has a '{t}' table but no wallwatch schema version; not a \
                         wallwatch database"
                    )));
                }
                conn.execute_batch(&format!(
                    "BEGIN IMMEDIATE; {SCHEMA} {CREW_INDEXES} {SITE_CHANGES} {PAST_CREW_REPORTS} \
                     PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(err)?;
            }
            1..=5 => migrate(&mut conn).map_err(err)?,
            SCHEMA_VERSION => {}
            v => {
                return Err(StoreError(format!(
                    "store '{url}': schema version {v} is not one this wallwatch knows (it \
                     reads version {SCHEMA_VERSION}); a newer wallwatch wrote it"
                )));
            }
        }
        Ok(SqliteStore {
            url: url.to_string(),
            conn: Some(conn),
            site: None,
        })
    }

    /// Opens the database at `path` for the site that writes it: locked first (a second site
    /// is refused naming the first), then refused unless it can be written now (a file that
    /// SQLite could only open read-only, for its mode or its directory's, is refused at the
    /// start instead of failing every write for ever); its file is checked at each write.
    pub fn open_for_site(url: &str, path: &str, holder: &str) -> Result<SqliteStore, StoreError> {
        if path == ":memory:" {
            return SqliteStore::open(url, path);
        }
        let lock = lock_beside(url, Path::new(path), holder)?;
        let mut store = SqliteStore::open(url, path)?;
        let cannot = |why: String| StoreError(format!("store '{url}': cannot be written: {why}"));
        let conn = store.conn()?;
        if conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| cannot(one_line(&e)))?
        {
            return Err(cannot(format!(
                "{path} opens read-only (see its mode and its directory's)"
            )));
        }
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(|e| cannot(one_line(&e)))?;
        let meta = std::fs::metadata(path).map_err(|e| cannot(format!("{path}: {e}")))?;
        store.site = Some((lock, FileIdentity::of(Path::new(path), &meta)));
        Ok(store)
    }

    /// The store for reading back what is there (`wallwatch readings`): SQLite's default page
    /// cache (2 MB) instead of a run's 64 MB, since a read in id order visits each page once.
    pub fn for_reading(mut self) -> Result<SqliteStore, StoreError> {
        self.with_conn(|conn| conn.pragma_update(None, "cache_size", SCAN_CACHE_KIB))?;
        Ok(self)
    }

    fn conn(&mut self) -> Result<&mut Connection, StoreError> {
        open_conn(&mut self.conn, &self.url)
    }

    /// The rows of one prepared (cached) query.
    fn query<T>(
        &mut self,
        sql: &str,
        args: &[Box<dyn rusqlite::ToSql>],
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
    }

    /// Runs `f` on the connection (an error when the store is closed), its error in the store's
    /// words.
    fn with_conn<T>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let result = f(self.conn()?);
        result.map_err(|e| self.err(e))
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError(format!("store '{}': {}", self.url, one_line(&e)))
    }

    /// Writes `batch` in one transaction; returns the ids of the agents' readings (`origins`,
    /// in id order) left out as stored already. The writing site's file is checked before the
    /// commit: a batch is not committed into a file that was deleted.
    fn write(&mut self, batch: &Batch, origins: &[Origin]) -> Result<Vec<u64>, StoreError> {
        // The fields apart, so that the file and the URL are borrowed, not copied, while the
        // connection is.
        let SqliteStore { url, conn, site } = self;
        let file = site.as_ref().map(|(_, file)| file);
        if let Some(file) = file {
            file.check(url)?;
        }
        let conn = open_conn(conn, url)?;
        let err = |e: rusqlite::Error| StoreError(format!("store '{url}': {}", one_line(&e)));
        let tx = conn.transaction().map_err(err)?;
        let skipped = SqliteStore::insert(&tx, batch, origins).map_err(err)?;
        if let Some(file) = file {
            // Dropped uncommitted on an error: rolled back.
            file.check(url)?;
        }
        tx.commit().map_err(err)?;
        Ok(skipped)
    }

    /// The rows of `batch`, inserted in the transaction `tx`.
    fn insert(
        tx: &rusqlite::Transaction<'_>,
        batch: &Batch,
        origins: &[Origin],
    ) -> rusqlite::Result<Vec<u64>> {
        let mut skipped = Vec::new();
        {
            let mut insert = tx.prepare_cached(INSERT_READING)?;
            let mut remote = tx.prepare_cached(INSERT_REMOTE)?;
            let mut origins = origins.iter().peekable();
            for r in &batch.readings {
                let timestamp = format_timestamp(&r.timestamp);
                let stored_at = r.stored_at.as_ref().map(format_timestamp);
                if let Some(o) = origins.next_if(|o| o.id == r.id) {
                    let seq = to_i64(o.seq)?;
                    let id = to_i64(r.id)?;
                    let row = params![id, timestamp, r.sensor, r.value, o.agent, seq, stored_at];
                    if remote.execute(row)? == 0 {
                        skipped.push(r.id);
                    }
                    continue;
                }
                let row = params![to_i64(r.id)?, timestamp, r.sensor, r.value, stored_at];
                insert.execute(row)?;
            }
            let mut insert = tx.prepare_cached(INSERT_CREW)?;
            for c in &batch.crew_reports {
                insert.execute(params![
                    to_i64(c.id)?,
                    format_timestamp(&c.timestamp),
                    to_i64(c.day)?,
                    c.crew,
                    c.profile,
                    c.section,
                    c.height
                ])?;
            }
        }
        Ok(skipped)
    }
}

/// Versions 1 to 5 → 6 in one transaction, holding the write lock from its start, and checking
/// the version again inside it, should another process migrate the file at the same time.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 2 {
        tx.execute_batch(CREW_INDEXES)?;
    }
    if version < 3 {
        tx.execute_batch(AGENT_COLUMNS)?;
    }
    if version < 4 {
        tx.execute_batch(SITE_CHANGES)?;
    }
    if version < 5 {
        tx.execute_batch(PAST_CREW_REPORTS)?;
    }
    // Checked, not assumed: a file another process began migrating may have it already.
    let has_stored_at: bool = tx.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('readings') WHERE name = 'stored_at'",
        [],
        |r| r.get(0),
    )?;
    if version < 6 && !has_stored_at {
        tx.execute_batch(STORED_AT_COLUMN)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

fn to_i64(v: u64) -> rusqlite::Result<i64> {
    i64::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn conversion(col: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Integer, Box::new(e))
}

fn timestamp(
    row: &rusqlite::Row<'_>,
    col: usize,
) -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
    let text: String = row.get(col)?;
    parse_timestamp(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            Box::<dyn std::error::Error + Send + Sync>::from(e),
        )
    })
}

/// `SELECT id, timestamp, sensor, value, stored_at FROM readings WHERE {id_cond}?1` and
/// `filter`'s sensor
/// and time conditions, with its arguments (`id` first).
fn select_readings(
    filter: &ReadingFilter,
    id_cond: &str,
    id: u64,
) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut args: Vec<Box<dyn rusqlite::ToSql>> =
        vec![Box::new(i64::try_from(id).unwrap_or(i64::MAX))];
    let mut sql = format!("SELECT {READING_COLUMNS} FROM readings WHERE {id_cond}?1");
    if let Some(s) = &filter.sensor {
        args.push(Box::new(s.clone()));
        write!(sql, " AND sensor = ?{}", args.len()).expect("writing to a String");
    }
    if let Some(t) = filter.since {
        args.push(Box::new(format_timestamp(&ceil_micros(t))));
        write!(sql, " AND timestamp >= ?{}", args.len()).expect("writing to a String");
    }
    if let Some(t) = filter.until {
        args.push(Box::new(format_timestamp(&t)));
        write!(sql, " AND timestamp <= ?{}", args.len()).expect("writing to a String");
    }
    (sql, args)
}

/// The columns [`reading_row`] reads, in its order.
const READING_COLUMNS: &str = "id, timestamp, sensor, value, stored_at";

fn reading_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Reading> {
    let stored_at = match row.get::<_, Option<String>>(4)? {
        None => None,
        Some(_) => Some(timestamp(row, 4)?),
    };
    Ok(Reading {
        id: u64::try_from(row.get::<_, i64>(0)?).map_err(|e| conversion(0, e))?,
        timestamp: timestamp(row, 1)?,
        sensor: row.get(2)?,
        value: row.get(3)?,
        stored_at,
    })
}

/// The rows of both tables and the last id of each.
fn count_rows(conn: &Connection) -> rusqlite::Result<Counts> {
    let count = |table: &str| -> rusqlite::Result<(u64, u64)> {
        let (n, last): (i64, i64) = conn.query_row(
            &format!("SELECT count(*), coalesce(max(id), 0) FROM {table}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((n.max(0) as u64, last.max(0) as u64))
    };
    let (readings, last_reading_id) = count("readings")?;
    let (crew_reports, last_crew_report_id) = count("crew_reports")?;
    Ok(Counts {
        readings,
        crew_reports,
        last_reading_id,
        last_crew_report_id,
    })
}

fn crew_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CrewReport> {
    Ok(CrewReport {
        id: u64::try_from(row.get::<_, i64>(0)?).map_err(|e| conversion(0, e))?,
        timestamp: timestamp(row, 1)?,
        day: u64::try_from(row.get::<_, i64>(2)?).map_err(|e| conversion(2, e))?,
        crew: row.get(3)?,
        profile: row.get(4)?,
        section: row.get(5)?,
        height: row.get(6)?,
    })
}

/// The store's connection, or the error of a closed store.
fn open_conn<'a>(
    conn: &'a mut Option<Connection>,
    url: &str,
) -> Result<&'a mut Connection, StoreError> {
    conn.as_mut()
        .ok_or_else(|| StoreError(format!("store '{url}': closed")))
}

impl Store for SqliteStore {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.append_remote(batch, &[]).map(drop)
    }

    fn append_remote(&mut self, batch: &Batch, origins: &[Origin]) -> Result<Vec<u64>, StoreError> {
        self.write(batch, origins)
    }

    /// From the unique index on `(agent, seq)`.
    fn agent_marks(&mut self) -> Result<AgentMarks, StoreError> {
        let rows = self.query(super::AGENT_RANGES_SQL, &[], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        Ok(super::marks_of_ranges(rows))
    }

    fn last_reading_id(&mut self) -> Result<u64, StoreError> {
        let ids = self.query("SELECT coalesce(max(id), 0) FROM readings", &[], |row| {
            row.get::<_, i64>(0)
        })?;
        Ok(ids.first().map_or(0, |&id| id.max(0) as u64))
    }

    /// Counting scans a whole index once: in the small cache, so that a count of millions of
    /// rows at a start does not leave the run's cache full of pages no write needs (a store of
    /// 10,000,000 readings took the process from 12 to 79 MB).
    fn counts(&mut self) -> Result<Counts, StoreError> {
        self.with_conn(|conn| {
            conn.pragma_update(None, "cache_size", SCAN_CACHE_KIB)?;
            let counts = count_rows(conn);
            conn.pragma_update(None, "cache_size", RUN_CACHE_KIB)?;
            counts
        })
    }

    /// One indexed range: `id > after_id` on the primary key, or on `(sensor, id)` with a
    /// sensor.
    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        let (mut sql, mut args) = select_readings(filter, "id > ", after_id);
        args.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
        write!(sql, " ORDER BY id LIMIT ?{}", args.len()).expect("writing to a String");
        self.query(&sql, &args, reading_row)
    }

    /// From the index, newest first: the `n + 1`-th most recent matching id.
    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        let (sql, mut args) = select_readings(filter, "id <= ", up_to_id);
        let sql = sql.replacen(READING_COLUMNS, "id", 1);
        args.push(Box::new(i64::try_from(n).unwrap_or(i64::MAX)));
        let sql = format!("{sql} ORDER BY id DESC LIMIT 1 OFFSET ?{}", args.len());
        let ids = self.query(&sql, &args, |row| row.get::<_, i64>(0))?;
        Ok(ids.first().map_or(0, |&id| u64::try_from(id).unwrap_or(0)))
    }

    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, timestamp, day, crew, profile, section, height FROM crew_reports \
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([], crew_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
    }

    /// From the index on `day`.
    fn crew_reports_of_days(
        &mut self,
        from_day: u64,
        to_day: u64,
        limit: usize,
    ) -> Result<Vec<CrewReport>, StoreError> {
        let day = |d: u64| i64::try_from(d).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, timestamp, day, crew, profile, section, height FROM crew_reports \
                 WHERE day BETWEEN ?1 AND ?2 ORDER BY id LIMIT ?3",
            )?;
            let rows = stmt.query_map((day(from_day), day(to_day), limit), crew_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
    }

    /// Three queries in one read transaction ([`super::SECTION_HISTORY_SQL`]): the sections'
    /// histories from an index, their latest reports by id, the last day from an index.
    fn latest_crew_reports(&mut self) -> Result<LatestReports, StoreError> {
        let (scan, latest, last_day) = self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let mut scan = HistoryScan::default();
            {
                let mut stmt = tx.prepare_cached(SECTION_HISTORY_SQL)?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let id = u64::try_from(row.get::<_, i64>(3)?).map_err(|e| conversion(3, e))?;
                    scan.push(row.get(0)?, row.get(1)?, row.get(2)?, id);
                }
            }
            let ids = scan.latest_ids();
            let mut json = String::with_capacity(ids.len() * 9 + 2);
            for id in &ids {
                json.push(if json.is_empty() { '[' } else { ',' });
                let _ = write!(json, "{id}"); // writing to a String cannot fail
            }
            json.push_str(if json.is_empty() { "[]" } else { "]" });
            let latest = {
                let mut stmt = tx.prepare_cached(LATEST_BY_ID)?;
                let rows = stmt.query_map([json], crew_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            let last_day: i64 = tx.query_row(LAST_DAY_SQL, [], |r| r.get(0))?;
            let last_day = u64::try_from(last_day).map_err(|e| conversion(0, e))?;
            tx.finish()?;
            Ok((scan, latest, last_day))
        })?;
        scan.finish(latest, last_day)
            .map_err(|e| StoreError(format!("store '{}': {e}", self.url)))
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
        })
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "DELETE FROM readings; DELETE FROM crew_reports; DELETE FROM meta; \
                 DELETE FROM site_changes; DELETE FROM past_crew_reports;",
            )?;
            tx.commit()
        })
    }

    /// Closes the connection, then lets go of the site's lock.
    fn close(&mut self) -> Result<(), StoreError> {
        match self.conn.take() {
            None => Ok(()),
            Some(conn) => conn.close().map_err(|(conn, e)| {
                let err = self.err(e);
                self.conn = Some(conn);
                err
            }),
        }?;
        self.site = None;
        Ok(())
    }

    fn url(&self) -> &str {
        &self.url
    }

    /// One transaction (a commit in WAL mode is in the file once it returns: a killed process
    /// loses nothing; `synchronous=NORMAL` leaves only a power cut to lose the last ones).
    fn append_change(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let id: i64 = tx.query_row(
                "INSERT INTO site_changes (at, origin, change) VALUES (?1, ?2, ?3) RETURNING id",
                params![format_timestamp(&at), origin, change],
                |r| r.get(0),
            )?;
            tx.commit()?;
            u64::try_from(id).map_err(|e| conversion(0, e))
        })
    }

    /// One transaction: copied, then deleted.
    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO past_crew_reports (run, id, timestamp, day, crew, profile, section, \
                 height) SELECT ?1, id, timestamp, day, crew, profile, section, height FROM \
                 crew_reports",
                [run],
            )?;
            tx.execute("DELETE FROM crew_reports", [])?;
            let kept: i64 = tx.query_row(
                "SELECT count(*) FROM past_crew_reports WHERE run = ?1",
                [run],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(kept.max(0) as u64)
        })
    }

    fn changes(&mut self) -> Result<Vec<SiteChange>, StoreError> {
        self.query(
            "SELECT id, at, origin, change FROM site_changes ORDER BY id",
            &[],
            |row| {
                Ok(SiteChange {
                    id: u64::try_from(row.get::<_, i64>(0)?).map_err(|e| conversion(0, e))?,
                    at: timestamp(row, 1)?,
                    origin: row.get(2)?,
                    change: row.get(3)?,
                })
            },
        )
    }
}

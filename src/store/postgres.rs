//! `postgres://…` / `postgresql://…` — PostgreSQL through tokio-postgres (no TLS).
//!
//! The [`Store`] trait is synchronous, so the store owns a worker thread with its own
//! current-thread tokio runtime: the client, its connection task and every query live there, and
//! the store's methods send requests to it and wait for the answers. This works from a blocking
//! thread and from inside another runtime alike. A lost connection is re-established on the next
//! request (so the collector's retry can succeed).
//!
//! Tables (created if absent, in the connection's search path — pick a schema with
//! `?options=-csearch_path%3Dname`): `readings(id BIGINT PRIMARY KEY, timestamp TIMESTAMPTZ NOT
//! NULL, sensor TEXT NOT NULL, value INTEGER NOT NULL)` with an index on `(sensor, id)`,
//! `crew_reports(id BIGINT PRIMARY KEY, timestamp TIMESTAMPTZ, day BIGINT, crew BIGINT, profile
//! BIGINT, section BIGINT, height INTEGER)` with indexes on `(profile, section, id, height)` and
//! `(day)` (for resuming without reading every crew report; created on connecting when absent,
//! which takes a while once on a big table from before) and `meta(key TEXT PRIMARY KEY, value
//! TEXT)`. Each batch is one transaction of two `INSERT … SELECT FROM UNNEST(arrays)` statements.
//!
//! A running site's accepted changes go to `site_changes(id BIGINT PRIMARY KEY, at TIMESTAMPTZ
//! NOT NULL, origin TEXT NOT NULL, change TEXT NOT NULL)`, one transaction each, which takes the
//! next id (one above the greatest, so `clear` starts them again at 1) under a lock of the table.
//!
//! The crew reports of the runs before the running one (a loaded wall starts a new run) move to
//! `past_crew_reports(run BIGINT NOT NULL, id BIGINT NOT NULL, …, PRIMARY KEY (run, id))`, in one
//! transaction. Every table is created on connecting when absent, so a database of an older
//! wallwatch gains the new ones, empty.
//!
//! The store of a running site ([`PostgresStore::open_for_site`]) holds an advisory lock on a key
//! of its schema on its connection (taken before anything else, and again on each reconnect): a
//! second site on the same schema is refused naming the connection that holds it.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::{
    Batch, Counts, HistoryScan, LAST_DAY_SQL, ReadingFilter, SECTION_HISTORY_SQL, SiteChange,
    Store, StoreError, ceil_micros, redact_url,
};
use crate::sensors::Reading;
use crate::wall::{CrewReport, LatestReports};

/// How long to wait for the TCP connection when the URL does not say (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take in all (TCP, startup, authentication, schema).
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

// Notices ("relation already exists, skipping") would reach the log as noise on every start.
const SCHEMA: &str = "
SET client_min_messages TO warning;
CREATE TABLE IF NOT EXISTS readings (
    id BIGINT PRIMARY KEY,
    timestamp TIMESTAMPTZ NOT NULL,
    sensor TEXT NOT NULL,
    value INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_sensor_id ON readings (sensor, id);
ALTER TABLE readings ADD COLUMN IF NOT EXISTS agent TEXT;
ALTER TABLE readings ADD COLUMN IF NOT EXISTS seq BIGINT;
CREATE UNIQUE INDEX IF NOT EXISTS readings_agent_seq ON readings (agent, seq)
    WHERE agent IS NOT NULL;
ALTER TABLE readings ADD COLUMN IF NOT EXISTS stored_at TIMESTAMPTZ;
CREATE TABLE IF NOT EXISTS crew_reports (
    id BIGINT PRIMARY KEY,
    timestamp TIMESTAMPTZ,
    day BIGINT,
    crew BIGINT,
    profile BIGINT,
    section BIGINT,
    height INTEGER
);
CREATE INDEX IF NOT EXISTS crew_reports_section ON crew_reports (profile, section, id, height);
CREATE INDEX IF NOT EXISTS crew_reports_day ON crew_reports (day);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS site_changes (
    id BIGINT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    origin TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS past_crew_reports (
    run BIGINT NOT NULL,
    id BIGINT NOT NULL,
    timestamp TIMESTAMPTZ,
    day BIGINT,
    crew BIGINT,
    profile BIGINT,
    section BIGINT,
    height INTEGER,
    PRIMARY KEY (run, id)
);
";

/// One site change with the next id. The lock (taken in the same transaction) lets no other
/// writer pick the same id meanwhile; readers go on.
const INSERT_CHANGE: &str = "INSERT INTO site_changes (id, at, origin, change) \
     SELECT coalesce(max(id), 0) + 1, $1, $2, $3 FROM site_changes RETURNING id";

const INSERT_READINGS: &str = "INSERT INTO readings (id, timestamp, sensor, value, stored_at) \
     SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], $4::integer[], \
     $5::timestamptz[])";
/// Readings of a batch with agents' readings in it: a reading whose (agent, seq) is stored
/// already is left out; the ids stored come back.
const INSERT_REMOTE: &str = "INSERT INTO readings (id, timestamp, sensor, value, agent, seq, \
     stored_at) SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], \
     $4::integer[], $5::text[], $6::bigint[], $7::timestamptz[]) \
     ON CONFLICT (agent, seq) WHERE agent IS NOT NULL DO NOTHING RETURNING id";
const INSERT_CREW: &str = "INSERT INTO crew_reports (id, timestamp, day, crew, profile, section, height) \
     SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[], \
     $5::bigint[], $6::bigint[], $7::integer[])";

/// A batch as column arrays, built on the caller's thread.
struct Columns {
    ids: Vec<i64>,
    timestamps: Vec<DateTime<Utc>>,
    sensors: Vec<String>,
    values: Vec<i32>,
    /// When each was stored (wall-clock time).
    stored_at: Vec<Option<DateTime<Utc>>>,
    /// With agents' readings: each reading's agent and seq (none for a local one); else empty.
    agents: Vec<Option<String>>,
    seqs: Vec<Option<i64>>,
    crew_ids: Vec<i64>,
    crew_timestamps: Vec<DateTime<Utc>>,
    days: Vec<i64>,
    crews: Vec<i64>,
    profiles: Vec<Option<i64>>,
    sections: Vec<Option<i64>>,
    heights: Vec<Option<i32>>,
}

type Reply<T> = SyncSender<Result<T, String>>;

enum Request {
    Append(Box<Columns>, Reply<Vec<u64>>),
    Counts(Reply<Counts>),
    LastReadingId(Reply<u64>),
    ReadingsAfter(ReadingFilter, u64, usize, Reply<Vec<Reading>>),
    StartOfLast(ReadingFilter, usize, u64, Reply<u64>),
    CrewReports(Reply<Vec<CrewReport>>),
    LatestCrewReports(Reply<LatestReports>),
    MetaGet(String, Reply<Option<String>>),
    MetaSet(String, String, Reply<()>),
    Clear(Reply<()>),
    AgentMarks(Reply<super::AgentMarks>),
    AppendChange(DateTime<Utc>, String, String, Reply<u64>),
    Changes(Reply<Vec<SiteChange>>),
    ArchiveCrewReports(u32, Reply<u64>),
}

/// The PostgreSQL store.
#[derive(Debug)]
pub struct PostgresStore {
    /// The URL without its password.
    url: String,
    requests: Option<UnboundedSender<Request>>,
    worker: Option<JoinHandle<()>>,
}

impl PostgresStore {
    /// Connects (within a few seconds or fails), creates the tables if absent.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(url, false)
    }

    /// [`PostgresStore::open`] for the site that writes the store: its connection holds the
    /// schema's advisory lock (taken again when it reconnects), so a second site is refused
    /// naming the first; its `application_name` (unless the URL gives one) says which process
    /// it is, so it takes no holder line as the file stores do.
    pub fn open_for_site(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(url, true)
    }

    fn connect(url: &str, site: bool) -> Result<PostgresStore, StoreError> {
        let shown = redact_url(url);
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError(format!("store '{shown}': {}", describe(&e)))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name(&if site {
                site_application_name()
            } else {
                "wallwatch".to_string()
            });
        }
        let (tx, rx) = unbounded_channel();
        let (ready_tx, ready_rx) = sync_channel(1);
        let worker = std::thread::Builder::new()
            .name("wallwatch-postgres".into())
            .spawn(move || worker(config, site, rx, ready_tx))
            .map_err(|e| StoreError(format!("store '{shown}': cannot start its thread ({e})")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(PostgresStore {
                url: shown,
                requests: Some(tx),
                worker: Some(worker),
            }),
            Ok(Err(e)) => Err(StoreError(format!("store '{shown}': {e}"))),
            Err(_) => Err(StoreError(format!(
                "store '{shown}': its thread ended unexpectedly"
            ))),
        }
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, StoreError> {
        let url = &self.url;
        let requests = self
            .requests
            .as_ref()
            .ok_or_else(|| StoreError(format!("store '{url}': closed")))?;
        let (tx, rx) = sync_channel(1);
        requests
            .send(make(tx))
            .map_err(|_| StoreError(format!("store '{url}': its thread has ended")))?;
        match rx.recv() {
            Ok(result) => result.map_err(|e| StoreError(format!("store '{url}': {e}"))),
            Err(_) => Err(StoreError(format!("store '{url}': its thread has ended"))),
        }
    }
}

fn to_i64(what: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError(format!("{what} {v} is too large for PostgreSQL")))
}

/// [`to_i64`] of each of `values`.
fn to_i64s(what: &str, values: impl Iterator<Item = u64>) -> Result<Vec<i64>, StoreError> {
    values.map(|v| to_i64(what, v)).collect()
}

impl Store for PostgresStore {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.append_remote(batch, &[]).map(drop)
    }

    /// One transaction; with agents' readings in the batch, one `INSERT … ON CONFLICT (agent,
    /// seq) DO NOTHING RETURNING id` for the readings.
    fn append_remote(
        &mut self,
        batch: &Batch,
        origins: &[super::Origin],
    ) -> Result<Vec<u64>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let with_url = |e: StoreError| StoreError(format!("store '{}': {e}", self.url));
        let r = &batch.readings;
        let c = &batch.crew_reports;
        let columns = Columns {
            ids: to_i64s("reading id", r.iter().map(|r| r.id)).map_err(with_url)?,
            timestamps: r.iter().map(|r| r.timestamp).collect(),
            sensors: r.iter().map(|r| r.sensor.clone()).collect(),
            values: r.iter().map(|r| r.value).collect(),
            stored_at: r.iter().map(|r| r.stored_at).collect(),
            agents: Vec::new(),
            seqs: Vec::new(),
            crew_ids: to_i64s("crew report id", c.iter().map(|c| c.id)).map_err(with_url)?,
            crew_timestamps: c.iter().map(|c| c.timestamp).collect(),
            days: to_i64s("day", c.iter().map(|c| c.day)).map_err(with_url)?,
            crews: c.iter().map(|c| i64::from(c.crew)).collect(),
            profiles: c.iter().map(|c| c.profile.map(i64::from)).collect(),
            sections: c.iter().map(|c| c.section.map(i64::from)).collect(),
            heights: c.iter().map(|c| c.height.map(i32::from)).collect(),
        };
        let mut columns = columns;
        if !origins.is_empty() {
            let mut o = origins.iter().peekable();
            for r in r {
                match o.next_if(|o| o.id == r.id) {
                    Some(o) => {
                        columns.agents.push(Some(o.agent.clone()));
                        columns
                            .seqs
                            .push(Some(to_i64("seq", o.seq).map_err(with_url)?));
                    }
                    None => {
                        columns.agents.push(None);
                        columns.seqs.push(None);
                    }
                }
            }
        }
        self.call(|reply| Request::Append(Box::new(columns), reply))
    }

    fn agent_marks(&mut self) -> Result<super::AgentMarks, StoreError> {
        self.call(Request::AgentMarks)
    }

    fn counts(&mut self) -> Result<Counts, StoreError> {
        self.call(Request::Counts)
    }

    fn last_reading_id(&mut self) -> Result<u64, StoreError> {
        self.call(Request::LastReadingId)
    }

    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        self.call(|reply| Request::ReadingsAfter(filter.clone(), after_id, limit, reply))
    }

    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        self.call(|reply| Request::StartOfLast(filter.clone(), n, up_to_id, reply))
    }

    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError> {
        self.call(Request::CrewReports)
    }

    fn latest_crew_reports(&mut self) -> Result<LatestReports, StoreError> {
        self.call(Request::LatestCrewReports)
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.call(|reply| Request::MetaGet(key.to_string(), reply))
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.call(|reply| Request::MetaSet(key.to_string(), value.to_string(), reply))
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        self.call(Request::Clear)
    }

    fn close(&mut self) -> Result<(), StoreError> {
        self.requests.take();
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            return Err(StoreError(format!(
                "store '{}': its thread panicked",
                self.url
            )));
        }
        Ok(())
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn append_change(
        &mut self,
        at: DateTime<Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError> {
        let (origin, change) = (origin.to_string(), change.to_string());
        self.call(|reply| Request::AppendChange(at, origin, change, reply))
    }

    fn changes(&mut self) -> Result<Vec<SiteChange>, StoreError> {
        self.call(Request::Changes)
    }

    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError> {
        self.call(|reply| Request::ArchiveCrewReports(run, reply))
    }
}

/// The ids of the agents' readings of `c` that are not among `stored` (sorted).
fn remote_ids_not_in(c: &Columns, stored: &[i64]) -> Vec<u64> {
    c.ids
        .iter()
        .zip(&c.agents)
        .filter(|(id, agent)| agent.is_some() && stored.binary_search(id).is_err())
        .map(|(id, _)| u64::try_from(*id).unwrap_or(0))
        .collect()
}

/// A tokio-postgres error with its causes, on one line.
fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::text::one_line(&text)
}

/// The first key of a writing site's advisory lock (`pg_try_advisory_lock(int, int)`),
/// wallwatch's own; the second is the schema's ([`TRY_LOCK`]). Advisory locks are per database.
const LOCK_CLASS: i32 = 0x5757_5354;

/// Takes the site's lock of the schema tables are made in, without waiting: whether it was
/// taken, and the second key.
const TRY_LOCK: &str = "WITH k AS (SELECT hashtext(coalesce(current_schema(), '')) & 2147483647      AS schema) SELECT pg_try_advisory_lock($1, k.schema), k.schema FROM k";

/// Who holds the lock `(LOCK_CLASS, $2)`: its backend's pid, application name, client and
/// start (as far as this role may see them).
const LOCK_HOLDER: &str = "SELECT a.pid, coalesce(a.application_name, ''),      coalesce(host(a.client_addr), 'a local socket'), coalesce(a.backend_start::text, '?')      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2      AND l.objsubid = 2";

/// A writing site's connection's name: which process it is (PostgreSQL keeps 63 bytes).
fn site_application_name() -> String {
    let mut name = format!(
        "wallwatch pid {} on {}",
        std::process::id(),
        crate::lockfile::host_name()
    );
    name.truncate(name.floor_char_boundary(63));
    name
}

/// Takes the site's advisory lock on `client`'s schema, or says which connection holds it.
async fn take_site_lock(client: &Client) -> Result<(), String> {
    let fail = |e: tokio_postgres::Error| describe(&e);
    let row = client
        .query_one(TRY_LOCK, &[&LOCK_CLASS])
        .await
        .map_err(fail)?;
    let (taken, schema): (bool, i32) = (row.get(0), row.get(1));
    if taken {
        return Ok(());
    }
    let class = LOCK_CLASS as u32;
    let schema = schema as u32;
    let holder = client
        .query_opt(LOCK_HOLDER, &[&class, &schema])
        .await
        .map_err(fail)?;
    let by = match holder {
        Some(row) => {
            let (pid, app, from, since): (i32, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let app = if app.is_empty() {
                String::new()
            } else {
                format!("{}, ", crate::text::sanitize(&app))
            };
            format!("{app}server process {pid}, connected from {from} since {since}")
        }
        None => "a connection that has just let go of it (try again)".to_string(),
    };
    Err(super::site_lock::refusal(&by))
}

/// A live connection with its prepared statements.
struct Conn {
    client: Client,
    insert_readings: Statement,
    insert_crew: Statement,
    insert_remote: Statement,
}

impl Conn {
    /// Connects; for a writing `site`, takes the schema's lock first.
    async fn connect(config: &Config, site: bool) -> Result<Conn, String> {
        let setup = async {
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(|e| format!("cannot connect ({})", describe(&e)))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(target: "store", "postgres connection ended: {}", describe(&e));
                }
            });
            let fail = |e: tokio_postgres::Error| describe(&e);
            if site {
                take_site_lock(&client).await?;
            }
            client.batch_execute(SCHEMA).await.map_err(fail)?;
            let insert_readings = client.prepare(INSERT_READINGS).await.map_err(fail)?;
            let insert_crew = client.prepare(INSERT_CREW).await.map_err(fail)?;
            let insert_remote = client.prepare(INSERT_REMOTE).await.map_err(fail)?;
            Ok(Conn {
                client,
                insert_readings,
                insert_crew,
                insert_remote,
            })
        };
        match tokio::time::timeout(SETUP_TIMEOUT, setup).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "cannot connect (no answer within {}s)",
                SETUP_TIMEOUT.as_secs()
            )),
        }
    }

    /// Returns the ids of agents' readings left out as stored already.
    async fn append(&mut self, c: &Columns) -> Result<Vec<u64>, tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        let mut skipped = Vec::new();
        if !c.agents.is_empty() {
            let rows = tx
                .query(
                    &self.insert_remote,
                    &[
                        &c.ids,
                        &c.timestamps,
                        &c.sensors,
                        &c.values,
                        &c.agents,
                        &c.seqs,
                        &c.stored_at,
                    ],
                )
                .await?;
            let mut stored: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            stored.sort_unstable();
            skipped = remote_ids_not_in(c, &stored);
        } else if !c.ids.is_empty() {
            tx.execute(
                &self.insert_readings,
                &[&c.ids, &c.timestamps, &c.sensors, &c.values, &c.stored_at],
            )
            .await?;
        }
        if !c.crew_ids.is_empty() {
            tx.execute(
                &self.insert_crew,
                &[
                    &c.crew_ids,
                    &c.crew_timestamps,
                    &c.days,
                    &c.crews,
                    &c.profiles,
                    &c.sections,
                    &c.heights,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(skipped)
    }

    async fn agent_marks(&self) -> Result<super::AgentMarks, String> {
        let rows = self
            .client
            .query(super::AGENT_RANGES_SQL, &[])
            .await
            .map_err(|e| describe(&e))?;
        let mut ranges = Vec::with_capacity(rows.len());
        for row in rows {
            let agent: String = row.try_get(0).map_err(|e| describe(&e))?;
            let start: i64 = row.try_get(1).map_err(|e| describe(&e))?;
            let end: i64 = row.try_get(2).map_err(|e| describe(&e))?;
            ranges.push((agent, start, end));
        }
        Ok(super::marks_of_ranges(ranges))
    }

    /// Whether every row of `c` is stored already: after a failed append the commit may still
    /// have happened (the connection broke after the server committed), and a retry must then
    /// not insert the rows twice. A transaction stores all of a batch or none of it.
    /// Whether the batch `c` is stored already (`Some` of the ids its agents' readings left out
    /// as redeliveries): after a failed append the commit may still have happened (the
    /// connection broke after the server committed), and a retry must then not insert the rows
    /// twice. A transaction stores all of a batch or none of it, and the collector numbers each
    /// batch above every id stored before, so one of its ids in the table means it committed.
    async fn holds(&self, c: &Columns) -> Result<Option<Vec<u64>>, String> {
        let rows = self
            .client
            .query(
                "SELECT id FROM readings WHERE id = ANY($1) \
                 UNION ALL SELECT id FROM crew_reports WHERE id = ANY($2) LIMIT 1",
                &[&c.ids, &c.crew_ids],
            )
            .await
            .map_err(|e| describe(&e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        if c.agents.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let rows = self
            .client
            .query("SELECT id FROM readings WHERE id = ANY($1)", &[&c.ids])
            .await
            .map_err(|e| describe(&e))?;
        let mut stored: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        stored.sort_unstable();
        Ok(Some(remote_ids_not_in(c, &stored)))
    }

    async fn meta_get(&self, key: &str) -> Result<Option<String>, String> {
        let row = self
            .client
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .await
            .map_err(|e| describe(&e))?;
        row.map(|r| r.try_get(0).map_err(|e| describe(&e)))
            .transpose()
    }

    async fn meta_set(&self, key: &str, value: &str) -> Result<(), String> {
        self.client
            .execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .await
            .map(drop)
            .map_err(|e| describe(&e))
    }

    async fn clear(&mut self) -> Result<(), String> {
        let tx = self.client.transaction().await.map_err(|e| describe(&e))?;
        tx.batch_execute(
            "DELETE FROM readings; DELETE FROM crew_reports; DELETE FROM meta; \
             DELETE FROM site_changes; DELETE FROM past_crew_reports;",
        )
        .await
        .map_err(|e| describe(&e))?;
        tx.commit().await.map_err(|e| describe(&e))
    }

    /// One transaction, committed before the id comes back.
    async fn append_change(
        &mut self,
        at: &DateTime<Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, String> {
        let fail = |e: tokio_postgres::Error| describe(&e);
        let tx = self.client.transaction().await.map_err(fail)?;
        tx.batch_execute("LOCK TABLE site_changes IN EXCLUSIVE MODE")
            .await
            .map_err(fail)?;
        let row = tx
            .query_one(INSERT_CHANGE, &[at, &origin, &change])
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        conv(id, "site change id")
    }

    /// One transaction: copied, then deleted.
    async fn archive_crew_reports(&mut self, run: u32) -> Result<u64, String> {
        let fail = |e: tokio_postgres::Error| describe(&e);
        let run = i64::from(run);
        let tx = self.client.transaction().await.map_err(fail)?;
        tx.execute(
            "INSERT INTO past_crew_reports (run, id, timestamp, day, crew, profile, section, \
             height) SELECT $1, id, timestamp, day, crew, profile, section, height FROM \
             crew_reports",
            &[&run],
        )
        .await
        .map_err(fail)?;
        tx.execute("DELETE FROM crew_reports", &[])
            .await
            .map_err(fail)?;
        let row = tx
            .query_one(
                "SELECT count(*) FROM past_crew_reports WHERE run = $1",
                &[&run],
            )
            .await
            .map_err(fail)?;
        let kept: i64 = row.try_get(0).map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        conv(kept, "past crew reports")
    }

    async fn changes(&self) -> Result<Vec<SiteChange>, String> {
        let fail = |e: tokio_postgres::Error| describe(&e);
        let rows = self
            .client
            .query(
                "SELECT id, at, origin, change FROM site_changes ORDER BY id",
                &[],
            )
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| {
                Ok(SiteChange {
                    id: conv(row.try_get(0).map_err(fail)?, "site change id")?,
                    at: row.try_get(1).map_err(fail)?,
                    origin: row.try_get(2).map_err(fail)?,
                    change: row.try_get(3).map_err(fail)?,
                })
            })
            .collect()
    }

    /// From the primary key, without counting the rows.
    async fn last_reading_id(&self) -> Result<u64, String> {
        let row = self
            .client
            .query_one("SELECT coalesce(max(id), 0) FROM readings", &[])
            .await
            .map_err(|e| describe(&e))?;
        let id: i64 = row.try_get(0).map_err(|e| describe(&e))?;
        u64::try_from(id).map_err(|_| format!("negative reading id {id}"))
    }

    async fn counts(&self) -> Result<Counts, String> {
        let row = self
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM readings), \
                        (SELECT coalesce(max(id), 0) FROM readings), \
                        (SELECT count(*) FROM crew_reports), \
                        (SELECT coalesce(max(id), 0) FROM crew_reports)",
                &[],
            )
            .await
            .map_err(|e| describe(&e))?;
        let get = |i: usize| -> Result<u64, String> {
            let v: i64 = row.try_get(i).map_err(|e| describe(&e))?;
            u64::try_from(v).map_err(|_| format!("negative count or id {v}"))
        };
        Ok(Counts {
            readings: get(0)?,
            last_reading_id: get(1)?,
            crew_reports: get(2)?,
            last_crew_report_id: get(3)?,
        })
    }

    /// `SELECT {columns} FROM readings WHERE {id_cond}$1` and `filter`'s sensor and time
    /// conditions, then `tail` with the next argument, `extra`.
    async fn select_readings(
        &self,
        columns: &str,
        filter: &ReadingFilter,
        id_cond: &str,
        id: u64,
        tail: &str,
        extra: usize,
    ) -> Result<Vec<tokio_postgres::Row>, String> {
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> =
            vec![Box::new(i64::try_from(id).unwrap_or(i64::MAX))];
        let mut sql = format!("SELECT {columns} FROM readings WHERE {id_cond}$1");
        if let Some(s) = &filter.sensor {
            args.push(Box::new(s.clone()));
            sql.push_str(&format!(" AND sensor = ${}", args.len()));
        }
        if let Some(t) = filter.since {
            args.push(Box::new(ceil_micros(t)));
            sql.push_str(&format!(" AND timestamp >= ${}", args.len()));
        }
        if let Some(t) = filter.until {
            args.push(Box::new(t));
            sql.push_str(&format!(" AND timestamp <= ${}", args.len()));
        }
        args.push(Box::new(i64::try_from(extra).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" {tail}${}", args.len()));
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        self.client
            .query(&sql, &params)
            .await
            .map_err(|e| describe(&e))
    }

    async fn readings_after(
        &self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, String> {
        let rows = self
            .select_readings(
                "id, timestamp, sensor, value, stored_at",
                filter,
                "id > ",
                after_id,
                "ORDER BY id LIMIT ",
                limit,
            )
            .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get(0).map_err(|e| describe(&e))?;
                Ok(Reading {
                    id: u64::try_from(id).map_err(|_| format!("negative reading id {id}"))?,
                    timestamp: row.try_get(1).map_err(|e| describe(&e))?,
                    sensor: row.try_get(2).map_err(|e| describe(&e))?,
                    value: row.try_get(3).map_err(|e| describe(&e))?,
                    stored_at: row.try_get(4).map_err(|e| describe(&e))?,
                })
            })
            .collect()
    }

    async fn start_of_last(
        &self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, String> {
        let rows = self
            .select_readings(
                "id",
                filter,
                "id <= ",
                up_to_id,
                "ORDER BY id DESC LIMIT 1 OFFSET ",
                n,
            )
            .await?;
        match rows.first() {
            None => Ok(0),
            Some(row) => {
                let id: i64 = row.try_get(0).map_err(|e| describe(&e))?;
                u64::try_from(id).map_err(|_| format!("negative reading id {id}"))
            }
        }
    }

    async fn crew_reports(&self) -> Result<Vec<CrewReport>, String> {
        let rows = self
            .client
            .query(
                "SELECT id, timestamp, day, crew, profile, section, height FROM crew_reports \
                 ORDER BY id",
                &[],
            )
            .await
            .map_err(|e| describe(&e))?;
        rows.iter().map(crew_row).collect()
    }

    /// Three queries ([`super::SECTION_HISTORY_SQL`]) in one read-only snapshot: the sections'
    /// histories (rows taken as they arrive), their latest reports by id, the last day.
    async fn latest_crew_reports(&mut self) -> Result<LatestReports, String> {
        use futures_util::TryStreamExt;
        let fail = |e: tokio_postgres::Error| describe(&e);
        let tx = self
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(fail)?;
        let mut scan = HistoryScan::default();
        let rows = tx
            .query_raw(SECTION_HISTORY_SQL, std::iter::empty::<i64>())
            .await
            .map_err(fail)?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await.map_err(fail)? {
            let get = |i: usize| -> Result<i64, String> { row.try_get(i).map_err(fail) };
            let h: i32 = row.try_get(2).map_err(fail)?;
            scan.push(
                small(get(0)?, "profile")?,
                small(get(1)?, "section")?,
                height(h)?,
                conv(get(3)?, "id")?,
            );
        }
        let ids: Vec<i64> = scan
            .latest_ids()
            .into_iter()
            .map(|id| to_i64("crew report id", id).map_err(|e| e.0))
            .collect::<Result<_, _>>()?;
        let mut latest = Vec::with_capacity(ids.len());
        let rows = tx
            .query_raw(
                "SELECT id, timestamp, day, crew, profile, section, height FROM crew_reports \
                 WHERE id = ANY($1)",
                [&ids],
            )
            .await
            .map_err(fail)?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await.map_err(fail)? {
            latest.push(crew_row(&row)?);
        }
        let last_day: i64 = tx
            .query_one(LAST_DAY_SQL, &[])
            .await
            .map_err(fail)?
            .try_get(0)
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        scan.finish(latest, conv(last_day, "day")?)
    }
}

fn conv(v: i64, what: &str) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("negative {what} {v}"))
}

fn small(v: i64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} {v} out of range"))
}

fn height(h: i32) -> Result<u8, String> {
    u8::try_from(h).map_err(|_| format!("height {h} out of range"))
}

/// A crew report from the columns `id, timestamp, day, crew, profile, section, height`.
fn crew_row(row: &tokio_postgres::Row) -> Result<CrewReport, String> {
    let get =
        |i: usize| -> Result<Option<i64>, String> { row.try_get(i).map_err(|e| describe(&e)) };
    let h: Option<i32> = row.try_get(6).map_err(|e| describe(&e))?;
    Ok(CrewReport {
        id: conv(get(0)?.unwrap_or_default(), "id")?,
        timestamp: row.try_get(1).map_err(|e| describe(&e))?,
        day: conv(get(2)?.unwrap_or_default(), "day")?,
        crew: get(3)?
            .map(|v| small(v, "crew"))
            .transpose()?
            .unwrap_or_default(),
        profile: get(4)?.map(|v| small(v, "profile")).transpose()?,
        section: get(5)?.map(|v| small(v, "section")).transpose()?,
        height: h.map(height).transpose()?,
    })
}

/// The worker thread: connects, reports readiness, then serves requests until the store is
/// closed or dropped.
fn worker(config: Config, site: bool, mut requests: UnboundedReceiver<Request>, ready: Reply<()>) {
    let runtime = match crate::runtime::current_thread() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let mut conn = match Conn::connect(&config, site).await {
            Ok(conn) => {
                let _ = ready.send(Ok(()));
                conn
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        // The last append failed: its commit may have happened all the same.
        let mut uncertain = false;
        while let Some(request) = requests.recv().await {
            if conn.client.is_closed() {
                match Conn::connect(&config, site).await {
                    Ok(fresh) => conn = fresh,
                    Err(e) => {
                        uncertain |= matches!(request, Request::Append(..));
                        request.fail(e);
                        continue;
                    }
                }
            }
            match request {
                Request::Append(columns, reply) => {
                    let result = if uncertain {
                        match conn.holds(&columns).await {
                            Ok(Some(skipped)) => Ok(skipped),
                            Ok(None) => conn.append(&columns).await.map_err(|e| describe(&e)),
                            Err(e) => Err(e),
                        }
                    } else {
                        conn.append(&columns).await.map_err(|e| describe(&e))
                    };
                    uncertain = result.is_err();
                    let _ = reply.send(result);
                }
                Request::MetaGet(key, reply) => {
                    let _ = reply.send(conn.meta_get(&key).await);
                }
                Request::MetaSet(key, value, reply) => {
                    let _ = reply.send(conn.meta_set(&key, &value).await);
                }
                Request::Clear(reply) => {
                    let _ = reply.send(conn.clear().await);
                }
                Request::AgentMarks(reply) => {
                    let _ = reply.send(conn.agent_marks().await);
                }
                Request::AppendChange(at, origin, change, reply) => {
                    let _ = reply.send(conn.append_change(&at, &origin, &change).await);
                }
                Request::Changes(reply) => {
                    let _ = reply.send(conn.changes().await);
                }
                Request::ArchiveCrewReports(run, reply) => {
                    let _ = reply.send(conn.archive_crew_reports(run).await);
                }
                Request::Counts(reply) => {
                    let _ = reply.send(conn.counts().await);
                }
                Request::LastReadingId(reply) => {
                    let _ = reply.send(conn.last_reading_id().await);
                }
                Request::ReadingsAfter(filter, after_id, limit, reply) => {
                    let _ = reply.send(conn.readings_after(&filter, after_id, limit).await);
                }
                Request::StartOfLast(filter, n, up_to_id, reply) => {
                    let _ = reply.send(conn.start_of_last(&filter, n, up_to_id).await);
                }
                Request::CrewReports(reply) => {
                    let _ = reply.send(conn.crew_reports().await);
                }
                Request::LatestCrewReports(reply) => {
                    let _ = reply.send(conn.latest_crew_reports().await);
                }
            }
        }
    });
}

impl Request {
    fn fail(self, e: String) {
        // A caller that stopped waiting is no one to tell.
        match self {
            Request::Append(_, reply) => drop(reply.send(Err(e))),
            Request::Counts(reply) => drop(reply.send(Err(e))),
            Request::LastReadingId(reply) => drop(reply.send(Err(e))),
            Request::ReadingsAfter(_, _, _, reply) => drop(reply.send(Err(e))),
            Request::StartOfLast(_, _, _, reply) => drop(reply.send(Err(e))),
            Request::CrewReports(reply) => drop(reply.send(Err(e))),
            Request::LatestCrewReports(reply) => drop(reply.send(Err(e))),
            Request::MetaGet(_, reply) => drop(reply.send(Err(e))),
            Request::MetaSet(_, _, reply) => drop(reply.send(Err(e))),
            Request::Clear(reply) => drop(reply.send(Err(e))),
            Request::AgentMarks(reply) => drop(reply.send(Err(e))),
            Request::AppendChange(_, _, _, reply) => drop(reply.send(Err(e))),
            Request::Changes(reply) => drop(reply.send(Err(e))),
            Request::ArchiveCrewReports(_, reply) => drop(reply.send(Err(e))),
        }
    }
}

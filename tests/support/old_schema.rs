//! The stores as the wallwatch before `site_changes` left them, and an earlier run in them.
//!
//! The DDL is copied from git history (`git show 2771c1a^:src/store/sqlite.rs` and
//! `…:src/store/postgres.rs`), not rebuilt from today's code, so that a change to today's schema
//! cannot quietly change what "the previous schema" means here.
#![allow(dead_code)] // each test file uses its own part of this

use chrono::{DateTime, Utc};
use wallwatch::sensors::Reading;
use wallwatch::store::{WALL_HASH_KEY, format_timestamp};
use wallwatch::wall::{CrewReport, Wall};

/// A new SQLite file as that wallwatch made it: its `SCHEMA`, `CREW_INDEXES` and user_version 3.
pub const SQLITE_3: &str = "
CREATE TABLE readings (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    sensor TEXT NOT NULL,
    value INTEGER NOT NULL,
    agent TEXT,
    seq INTEGER
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
CREATE INDEX IF NOT EXISTS crew_reports_section ON crew_reports (profile, section, id, height);
CREATE INDEX IF NOT EXISTS crew_reports_day ON crew_reports (day);
PRAGMA user_version = 3;
";

/// What that wallwatch's PostgreSQL store ran on connecting (its `SCHEMA`): no `site_changes`.
pub const POSTGRES_BEFORE_CHANGES: &str = "
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
";

/// The wall of the earlier run: 2 profiles × 3 sections.
pub const WALL: &str = "20 25 28\n27 29 21\n";

pub fn wall() -> Wall {
    Wall::parse(WALL.as_bytes(), 2000).unwrap()
}

/// An earlier run of [`WALL`] with 2 crews over 3 days, as that wallwatch stored it.
pub struct EarlierRun {
    pub readings: Vec<Reading>,
    /// The reading that came from an agent through the broker: its id, agent and seq.
    pub remote: (u64, &'static str, u64),
    pub crew_reports: Vec<CrewReport>,
}

fn at(second: i64) -> DateTime<Utc> {
    // Microseconds, as the stores keep them.
    DateTime::from_timestamp_micros(1_795_435_200_000_000 + second * 1_000_000 + 123_456).unwrap()
}

impl EarlierRun {
    pub fn new() -> EarlierRun {
        // A sensor name that needs quoting in SQL, and an agent's reading (named agent/sensor).
        let sensors = [
            "sensor-1",
            "gate 'north'",
            "sensor-1",
            "gate 'north'",
            "a/s",
        ];
        let readings = sensors
            .iter()
            .zip(1..)
            .map(|(&sensor, id)| Reading {
                id,
                timestamp: at(id as i64),
                sensor: sensor.into(),
                value: 10 * id as i32 - 25,
                stored_at: None,
            })
            .collect();
        // Crew 1 on profile 1 section 1 (20 ft), crew 2 on section 2 (25 ft), a foot a day each.
        let mut crew_reports = Vec::new();
        for day in 1..=3u64 {
            for (crew, from) in [(1u32, 20u8), (2, 25)] {
                crew_reports.push(CrewReport {
                    id: crew_reports.len() as u64 + 1,
                    timestamp: at(5 * day as i64),
                    day,
                    crew,
                    profile: Some(1),
                    section: Some(crew),
                    height: Some(from + day as u8),
                });
            }
        }
        EarlierRun {
            readings,
            remote: (5, "a", 9),
            crew_reports,
        }
    }

    /// INSERTs of the run into either store's tables (the same SQL serves both), with the
    /// wall's fingerprint in `meta` as a run stored it.
    pub fn sql(&self) -> String {
        let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let time = |t: &DateTime<Utc>| text(&format_timestamp(t));
        let mut sql = String::new();
        for r in &self.readings {
            let (agent, seq) = if r.id == self.remote.0 {
                (text(self.remote.1), self.remote.2.to_string())
            } else {
                ("NULL".into(), "NULL".into())
            };
            sql += &format!(
                "INSERT INTO readings (id, timestamp, sensor, value, agent, seq) VALUES \
                 ({}, {}, {}, {}, {agent}, {seq});\n",
                r.id,
                time(&r.timestamp),
                text(&r.sensor),
                r.value
            );
        }
        for c in &self.crew_reports {
            sql += &format!(
                "INSERT INTO crew_reports (id, timestamp, day, crew, profile, section, height) \
                 VALUES ({}, {}, {}, {}, {}, {}, {});\n",
                c.id,
                time(&c.timestamp),
                c.day,
                c.crew,
                c.profile.unwrap(),
                c.section.unwrap(),
                c.height.unwrap()
            );
        }
        sql += &format!(
            "INSERT INTO meta (key, value) VALUES ({}, {});\n",
            text(WALL_HASH_KEY),
            text(&wall().fingerprint())
        );
        sql
    }

    pub fn last_day(&self) -> u64 {
        self.crew_reports.last().unwrap().day
    }
}

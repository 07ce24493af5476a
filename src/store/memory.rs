//! `memory:` — rows kept in the process; gone when it exits. For tests, benchmarks and demos.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Batch, Counts, ReadingFilter, SiteChange, Store, StoreError};
use crate::hash::BuildFnv;
use crate::sensors::Reading;
use crate::wall::{CrewReport, LatestReports};

#[derive(Debug, Default)]
pub struct MemoryStore {
    readings: Vec<Row>,
    /// When readings were stored, run-length by id: each entry holds from its reading id until
    /// the next entry's (a batch shares one time, so this costs an entry a batch, not a row).
    stored_at: Vec<(u64, Option<DateTime<Utc>>)>,
    sensors: SensorNames,
    crew_reports: Vec<CrewReport>,
    meta: std::collections::BTreeMap<String, String>,
    /// The highest seq stored per agent.
    marks: super::AgentMarks,
    /// A running site's accepted changes, oldest first.
    changes: Vec<SiteChange>,
    /// The crew reports of past runs, by run.
    past_crew_reports: std::collections::BTreeMap<u32, Vec<CrewReport>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The stored row as a reading, with the time it was stored.
    fn reading(&self, row: &Row) -> Reading {
        let at = self.stored_at.partition_point(|(id, _)| *id <= row.id);
        Reading {
            stored_at: at.checked_sub(1).and_then(|i| self.stored_at[i].1),
            ..row.reading(&self.sensors)
        }
    }
}

impl Store for MemoryStore {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let sensors = &mut self.sensors;
        self.readings
            .extend(batch.readings.iter().map(|r| Row::new(r, sensors)));
        for r in &batch.readings {
            if self
                .stored_at
                .last()
                .is_none_or(|(_, at)| *at != r.stored_at)
            {
                self.stored_at.push((r.id, r.stored_at));
            }
        }
        self.crew_reports.extend_from_slice(&batch.crew_reports);
        Ok(())
    }

    fn append_remote(
        &mut self,
        batch: &Batch,
        origins: &[super::Origin],
    ) -> Result<Vec<u64>, StoreError> {
        let (kept, skipped, marks) = super::dedup_by_marks(batch, origins, &self.marks);
        self.append(&kept)?;
        self.marks = marks;
        Ok(skipped)
    }

    fn agent_marks(&mut self) -> Result<super::AgentMarks, StoreError> {
        Ok(self.marks.clone())
    }

    fn counts(&mut self) -> Result<Counts, StoreError> {
        Ok(Counts {
            readings: self.readings.len() as u64,
            crew_reports: self.crew_reports.len() as u64,
            last_reading_id: self.readings.last().map_or(0, |r| r.id),
            last_crew_report_id: self.crew_reports.last().map_or(0, |r| r.id),
        })
    }

    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        let start = self.readings.partition_point(|r| r.id <= after_id);
        let wanted = RowFilter::new(filter, &self.sensors);
        Ok(self.readings[start..]
            .iter()
            .filter(|r| wanted.matches(r))
            .take(limit)
            .map(|r| self.reading(r))
            .collect())
    }

    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        let end = self.readings.partition_point(|r| r.id <= up_to_id);
        let wanted = RowFilter::new(filter, &self.sensors);
        Ok(self.readings[..end]
            .iter()
            .rev()
            .filter(|r| wanted.matches(r))
            .nth(n)
            .map_or(0, |r| r.id))
    }

    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError> {
        Ok(self.crew_reports.clone())
    }

    fn crew_reports_of_days(
        &mut self,
        from_day: u64,
        to_day: u64,
        limit: usize,
    ) -> Result<Vec<CrewReport>, StoreError> {
        Ok(super::crew_reports_of_days(
            &self.crew_reports,
            from_day,
            to_day,
            limit,
        ))
    }

    fn latest_crew_reports(&mut self) -> Result<LatestReports, StoreError> {
        LatestReports::from_reports(self.crew_reports.iter().cloned().map(Ok))
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.meta.get(key).cloned())
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.meta.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        *self = MemoryStore::new();
        Ok(())
    }

    fn close(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn url(&self) -> &str {
        "memory:"
    }

    fn append_change(
        &mut self,
        at: DateTime<Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError> {
        let id = self.changes.last().map_or(1, |c| c.id + 1);
        self.changes.push(SiteChange {
            id,
            at,
            origin: origin.to_string(),
            change: change.to_string(),
        });
        Ok(id)
    }

    fn changes(&mut self) -> Result<Vec<SiteChange>, StoreError> {
        Ok(self.changes.clone())
    }

    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError> {
        let past = self.past_crew_reports.entry(run).or_default();
        past.append(&mut self.crew_reports);
        Ok(past.len() as u64)
    }
}

/// A stored reading with its sensor's name kept once in [`SensorNames`]: 32 bytes and no
/// allocation per row, where a [`Reading`] with its own `String` takes about 90. A site at
/// `--speed max` stores millions a second; at 90 bytes each it filled the machine's free memory
/// in seconds and then ran at half speed while the kernel reclaimed its page cache.
#[derive(Debug, Clone, Copy)]
struct Row {
    id: u64,
    timestamp: DateTime<Utc>,
    sensor: u32,
    value: i32,
}

impl Row {
    fn new(r: &Reading, sensors: &mut SensorNames) -> Row {
        Row {
            id: r.id,
            timestamp: r.timestamp,
            sensor: sensors.index_of(&r.sensor),
            value: r.value,
        }
    }

    fn reading(&self, sensors: &SensorNames) -> Reading {
        Reading {
            id: self.id,
            timestamp: self.timestamp,
            sensor: sensors.names[self.sensor as usize].clone(),
            value: self.value,
            stored_at: None,
        }
    }
}

/// Every sensor name stored, each once, numbered in order of first arrival.
#[derive(Debug, Default)]
struct SensorNames {
    names: Vec<String>,
    index: HashMap<String, u32, BuildFnv>,
}

impl SensorNames {
    fn index_of(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 2^32 sensor names");
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
}

/// A [`ReadingFilter`] on rows: its sensor name looked up once.
struct RowFilter<'a> {
    /// `None`: any sensor; `Some(None)`: a sensor never stored, so no row.
    sensor: Option<Option<u32>>,
    filter: &'a ReadingFilter,
}

impl<'a> RowFilter<'a> {
    fn new(filter: &'a ReadingFilter, sensors: &SensorNames) -> RowFilter<'a> {
        let sensor = filter
            .sensor
            .as_deref()
            .map(|name| sensors.index.get(name).copied());
        RowFilter { sensor, filter }
    }

    fn matches(&self, r: &Row) -> bool {
        self.sensor.is_none_or(|s| s == Some(r.sensor)) && self.filter.in_window(r.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn reading(id: u64, sensor: &str, second: i64, value: i32) -> Reading {
        Reading {
            id,
            timestamp: Utc.timestamp_opt(1_700_000_000 + second, 7).unwrap(),
            sensor: sensor.to_string(),
            value,
            stored_at: None,
        }
    }

    #[test]
    fn rows_give_back_the_readings_stored_and_filter_as_readings_do() {
        let stored: Vec<Reading> = (1..=60)
            .map(|i| {
                reading(
                    i,
                    ["a", "b", "sensor-3"][i as usize % 3],
                    i as i64,
                    i as i32 - 30,
                )
            })
            .collect();
        let mut store = MemoryStore::new();
        for chunk in stored.chunks(7) {
            let batch = Batch {
                readings: chunk.to_vec(),
                crew_reports: Vec::new(),
            };
            store.append(&batch).unwrap();
        }
        assert_eq!(store.sensors.names, ["b", "sensor-3", "a"]);
        let t = |s: i64| Some(Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap());
        let filters = [
            ReadingFilter::default(),
            ReadingFilter {
                sensor: Some("a".into()),
                ..Default::default()
            },
            ReadingFilter {
                sensor: Some("nobody".into()),
                ..Default::default()
            },
            ReadingFilter {
                since: t(10),
                until: t(20),
                ..Default::default()
            },
            ReadingFilter {
                sensor: Some("sensor-3".into()),
                since: t(31),
                ..Default::default()
            },
        ];
        for filter in &filters {
            let want: Vec<Reading> = stored
                .iter()
                .filter(|r| filter.matches(r))
                .cloned()
                .collect();
            assert_eq!(
                store.readings_after(filter, 0, usize::MAX).unwrap(),
                want,
                "{filter:?}"
            );
            let after: Vec<Reading> = want.iter().filter(|r| r.id > 25).take(4).cloned().collect();
            assert_eq!(
                store.readings_after(filter, 25, 4).unwrap(),
                after,
                "{filter:?}"
            );
        }
        assert_eq!(store.counts().unwrap().last_reading_id, 60);
    }

    #[test]
    fn a_row_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<Row>(), 32);
    }
}

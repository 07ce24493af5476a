//! `memory:` — rows kept in the process; gone when it exits. For tests, benchmarks and demos.

use super::{Batch, Counts, ReadingFilter, Store, StoreError};
use crate::sensors::Reading;
use crate::wall::{CrewReport, LatestReports};

#[derive(Debug, Default)]
pub struct MemoryStore {
    readings: Vec<Reading>,
    crew_reports: Vec<CrewReport>,
    meta: std::collections::BTreeMap<String, String>,
    /// The highest seq stored per agent.
    marks: super::AgentMarks,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.readings.extend_from_slice(&batch.readings);
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
        Ok(self.readings[start..]
            .iter()
            .filter(|r| filter.matches(r))
            .take(limit)
            .cloned()
            .collect())
    }

    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        let end = self.readings.partition_point(|r| r.id <= up_to_id);
        Ok(self.readings[..end]
            .iter()
            .rev()
            .filter(|r| filter.matches(r))
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
        Ok(self
            .crew_reports
            .iter()
            .filter(|r| (from_day..=to_day).contains(&r.day))
            .take(limit)
            .cloned()
            .collect())
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
}

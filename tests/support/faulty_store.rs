//! A memory store that fails writes on demand (the next few, or all while it is down), which
//! the test can still read after the engine has closed it: clones share one store.
#![allow(dead_code)] // each test file uses its own part of this

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wallwatch::sensors::Reading;
use wallwatch::store::{Batch, Counts, MemoryStore, ReadingFilter, Store, StoreError};
use wallwatch::wall::CrewReport;

/// What a failed append says when the test did not choose.
const DEFAULT_MESSAGE: &str = "store write failed";

#[derive(Clone)]
pub struct FaultyStore {
    inner: Arc<Mutex<MemoryStore>>,
    /// Appends still to fail before the store works again.
    fail_next: Arc<AtomicUsize>,
    /// While set, every append fails.
    down: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    message: &'static str,
    /// While set, recording a site change fails.
    changes_down: Arc<AtomicBool>,
}

impl Default for FaultyStore {
    fn default() -> FaultyStore {
        FaultyStore::failing_with(DEFAULT_MESSAGE)
    }
}

impl FaultyStore {
    /// A working store whose failed appends, once asked for, say `message`.
    pub fn failing_with(message: &'static str) -> FaultyStore {
        FaultyStore {
            inner: Arc::default(),
            fail_next: Arc::default(),
            down: Arc::default(),
            attempts: Arc::default(),
            failed: Arc::default(),
            message,
            changes_down: Arc::default(),
        }
    }

    /// Fails every `append_change` from now on while `down`.
    pub fn set_changes_down(&self, down: bool) {
        self.changes_down.store(down, Ordering::SeqCst);
    }

    /// The site changes recorded so far.
    pub fn recorded_changes(&self) -> Vec<wallwatch::store::SiteChange> {
        self.memory().changes().unwrap()
    }

    /// Fails the next `n` appends, then works.
    /// `f` of the store inside, as a later start will find it.
    pub fn with_inner<R>(&self, f: impl FnOnce(&mut MemoryStore) -> R) -> R {
        f(&mut self.memory())
    }

    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Fails every append from now on while `down`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Appends tried so far, failed or not.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Appends failed so far.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }

    /// The store underneath.
    fn memory(&self) -> MutexGuard<'_, MemoryStore> {
        self.inner.lock().unwrap()
    }

    pub fn readings(&self) -> Vec<Reading> {
        self.memory().readings(&ReadingFilter::default()).unwrap()
    }

    pub fn crew_reports(&self) -> Vec<CrewReport> {
        self.memory().crew_reports().unwrap()
    }

    fn should_fail(&self) -> bool {
        self.down.load(Ordering::SeqCst)
            || self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }
}

impl Store for FaultyStore {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.should_fail() {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError(self.message.into()));
        }
        self.memory().append(batch)
    }
    fn counts(&mut self) -> Result<Counts, StoreError> {
        self.memory().counts()
    }
    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        self.memory().readings_after(filter, after_id, limit)
    }
    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError> {
        self.memory().crew_reports()
    }
    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.memory().meta_get(key)
    }
    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.memory().meta_set(key, value)
    }
    fn clear(&mut self) -> Result<(), StoreError> {
        self.memory().clear()
    }
    fn append_change(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError> {
        if self.changes_down.load(Ordering::SeqCst) {
            return Err(StoreError(self.message.into()));
        }
        self.memory().append_change(at, origin, change)
    }
    fn changes(&mut self) -> Result<Vec<wallwatch::store::SiteChange>, StoreError> {
        self.memory().changes()
    }
    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError> {
        self.memory().archive_crew_reports(run)
    }
    fn close(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    fn url(&self) -> &str {
        "memory:"
    }
}

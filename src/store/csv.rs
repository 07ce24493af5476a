//! `csv:PATH` — two CSV files that grow across runs.
//!
//! Readings go to `PATH` with the header `id,timestamp,sensor,value,stored_at` (`timestamp` the
//! run's simulated time, `stored_at` the wall-clock time the reading was written); a file begun
//! by an earlier wallwatch, with the header `id,timestamp,sensor,value`, is read and appended in
//! its own layout, without `stored_at`. Crew reports go to a
//! sibling file named by [`crew_reports_path`]: a final `.csv` of `PATH` is replaced by
//! `.crew_reports.csv`, otherwise `.crew_reports.csv` is appended (`run.csv` →
//! `run.crew_reports.csv`, `run` → `run.crew_reports.csv`, `run.txt` → `run.txt.crew_reports.csv`).
//! Its header is `id,timestamp,day,crew,profile,section,height`; a relieved crew's profile,
//! section and height are empty fields.
//!
//! Values kept beside the rows (the meta table of the other stores, e.g. `wall_hash`) go to a
//! third sibling named by [`meta_path`] (`run.csv` → `run.meta.csv`) with the header `key,value`;
//! it is created only when a value is first set and replaced whole (written to a temporary file,
//! then renamed) on each change, so it is never half-written.
//!
//! A running site's accepted changes go to a fourth sibling named by [`changes_path`]
//! (`run.csv` → `run.changes.csv`) with the header `id,at,origin,change`: created when the first
//! change is appended, each change appended as one line (its fields quoted as the other files'
//! are) and synced (`sync_data`) before the call returns, read back in file order. Its last id is
//! read at open, so a restarted run's ids continue after it; `clear` removes the file.
//!
//! The crew reports of a run before the running one (a loaded wall starts a new run) are kept
//! in a sibling named by [`past_crew_reports_path`] (`run.csv` → `run.run-1.crew_reports.csv`):
//! the crew reports file is renamed to it, and a new one begun. `clear` removes them too.
//!
//! Timestamps are RFC 3339 UTC with microseconds. Rows are written and read with the `csv` crate:
//! fields are quoted (RFC 4180) when they hold a comma, a quote, CR or LF, and lines end with LF
//! (CRLF is read too). A header is written only when a file is new or empty. Each batch is
//! rendered in memory and written with one `write` per file; if a write fails, both files are cut
//! back to where the batch began, so a retried batch is never stored twice. A running site's
//! store ([`CsvStore::open_for_site`]) holds the lock file beside `PATH` and checks at each write
//! that its two files are still there (see `site_lock`). Ids must keep
//! increasing across batches and runs: the files are read once at open to learn the counts and
//! last ids, so a restarted run continues after them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::site_lock::{FileIdentity, lock_beside};
use super::{
    Batch, Counts, ReadingFilter, SiteChange, Store, StoreError, format_timestamp, parse_timestamp,
};
use crate::lockfile::LockFile;
use crate::sensors::Reading;
use crate::wall::{CrewReport, LatestReports};

/// The file beside the readings file `path` holding `what`: its final `.csv` replaced by
/// `.{what}.csv` (appended when there is none).
fn sibling_path(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".csv").unwrap_or(&name);
    path.with_file_name(format!("{stem}.{what}.csv"))
}

const READINGS_HEADER: &str = "id,timestamp,sensor,value,stored_at";
/// The readings header before `stored_at`: such a file keeps its layout.
const READINGS_HEADER_V1: &str = "id,timestamp,sensor,value";
const CREW_HEADER: &str = "id,timestamp,day,crew,profile,section,height";

/// The crew reports file that goes with a readings file `path`.
pub fn crew_reports_path(path: &Path) -> PathBuf {
    sibling_path(path, "crew_reports")
}

/// The file keeping the crew reports of the past run `run` of a readings file `path`.
pub fn past_crew_reports_path(path: &Path, run: u32) -> PathBuf {
    sibling_path(path, &format!("run-{run}.crew_reports"))
}

/// The meta file that goes with a readings file `path`.
pub fn meta_path(path: &Path) -> PathBuf {
    sibling_path(path, "meta")
}

const META_HEADER: &str = "key,value";

/// The site changes file that goes with a readings file `path`.
pub fn changes_path(path: &Path) -> PathBuf {
    sibling_path(path, "changes")
}

const CHANGES_HEADER: &str = "id,at,origin,change";

/// The most reading ids [`Store::start_of_last`] keeps in memory (8 MB).
const RING_IDS: usize = 1 << 20;

/// The longest record read (a line, or the lines of a quoted field): far more than any row
/// written here takes (a site change holding a loaded wall of [`crate::engine::MAX_WALL_TEXT`]
/// is the longest), so that a file that is not one of ours is refused, not read whole.
const MAX_RECORD: u64 = 4 * 1024 * 1024;
/// The most of a meta file read (agents' marks grow with the agents).
const MAX_META: u64 = 64 * 1024 * 1024;

/// One CSV file and what is known about it.
#[derive(Debug)]
struct CsvFile {
    path: PathBuf,
    file: File,
    /// Bytes known to be in the file (the end of the last whole batch).
    len: u64,
    /// The file as opened, to notice its deletion.
    identity: FileIdentity,
}

impl CsvFile {
    /// Opens (creating) `path` and checks its header (writing it if the file is empty) and
    /// that its last line is whole, without reading the rest.
    fn open(url: &str, path: PathBuf, header: &str) -> Result<CsvFile, StoreError> {
        CsvFile::open_either(url, path, header, header).map(|(file, _)| file)
    }

    /// [`CsvFile::open`] of a file whose header is `header` (which a new file gets) or `older`;
    /// also says whether it is `header`.
    fn open_either(
        url: &str,
        path: PathBuf,
        header: &str,
        older: &str,
    ) -> Result<(CsvFile, bool), StoreError> {
        use std::io::{BufRead, Seek, SeekFrom};
        let err = |what: String| StoreError(format!("store '{url}': {}: {what}", path.display()));
        // Not waiting for a FIFO's reader: what is not a regular file is refused below.
        let opened = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path);
        let mut file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(StoreError(format!(
                    "store '{url}': cannot be written: {}: {e}",
                    path.display()
                )));
            }
            Err(e) => return Err(err(format!("cannot open ({e})"))),
        };
        let cannot_read = |e: std::io::Error| err(format!("cannot read ({e})"));
        let meta = file.metadata().map_err(cannot_read)?;
        crate::files::check_regular(&meta).map_err(|e| err(e.to_string()))?;
        let identity = FileIdentity::of(&path, &meta);
        let mut len = file.seek(SeekFrom::End(0)).map_err(cannot_read)?;
        if len == 0 {
            let line = format!("{header}\n");
            file.write_all(line.as_bytes())
                .map_err(|e| err(format!("cannot write ({e})")))?;
            len = line.len() as u64;
            return Ok((
                CsvFile {
                    path,
                    file,
                    len,
                    identity,
                },
                true,
            ));
        }
        let current = {
            file.seek(SeekFrom::Start(0)).map_err(cannot_read)?;
            let mut first = String::new();
            std::io::BufReader::new((&mut file).take(MAX_RECORD))
                .read_line(&mut first)
                .map_err(cannot_read)?;
            let first = first.trim_end_matches('\n').trim_end_matches('\r');
            if first != header && first != older {
                return Err(err(format!(
                    "not a wallwatch CSV file (its header is '{}', expected '{header}')",
                    first.escape_debug()
                )));
            }
            first == header
        };
        file.seek(SeekFrom::Start(len - 1)).map_err(cannot_read)?;
        let mut last = [0u8];
        file.read_exact(&mut last).map_err(cannot_read)?;
        if last[0] != b'\n' {
            return Err(err(
                "the last line is incomplete (cut off mid-write?)".into()
            ));
        }
        Ok((
            CsvFile {
                path,
                file,
                len,
                identity,
            },
            current,
        ))
    }

    /// Appends `bytes` in one write; on failure cuts the file back to its last known length.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.file.write_all(bytes).and_then(|()| self.file.flush()) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }
}

/// The `csv:PATH` store.
#[derive(Debug)]
pub struct CsvStore {
    url: String,
    readings: CsvFile,
    crew: CsvFile,
    /// The readings file has the `stored_at` column (one begun before it has not).
    with_stored_at: bool,
    counts: Counts,
    /// Where the last [`Store::readings_after`] stopped, to go on from there.
    cursor: Option<ReadCursor>,
    /// The highest seq stored per agent, once read from the meta file ([`AGENT_MARKS_KEY`]).
    marks: Option<super::AgentMarks>,
    /// The site changes file, once it exists.
    changes: Option<CsvFile>,
    /// The id of the last site change stored (0 for none).
    last_change_id: u64,
    /// The writing site's lock: its files are checked at each write.
    site: Option<LockFile>,
}

/// The meta key holding the agents' high-water marks, as a JSON object `{agent: seq}`.
const AGENT_MARKS_KEY: &str = "agent_marks";

/// A reader of the readings file left where a batch ended: every reading up to `through`
/// (an id) has been read.
#[derive(Debug)]
struct ReadCursor {
    through: u64,
    rows: RowReader<Reading>,
}

impl CsvStore {
    /// Opens `path` (and its crew reports sibling), creating them with headers if needed.
    pub fn open(url: &str, path: &str) -> Result<CsvStore, StoreError> {
        let path = PathBuf::from(path);
        let crew_path = crew_reports_path(&path);
        let (readings, with_stored_at) =
            CsvFile::open_either(url, path, READINGS_HEADER, READINGS_HEADER_V1)?;
        let crew = CsvFile::open(url, crew_path, CREW_HEADER)?;
        // Every row is checked, a line at a time.
        let mut counts = Counts::default();
        for r in RowReader::readings(url, &readings.path, with_stored_at)? {
            counts.readings += 1;
            counts.last_reading_id = r?.id;
        }
        for r in RowReader::crew_reports(url, &crew.path)? {
            counts.crew_reports += 1;
            counts.last_crew_report_id = r?.id;
        }
        let changes_path = changes_path(&readings.path);
        let (mut changes, mut last_change_id) = (None, 0);
        if changes_path.exists() {
            for c in RowReader::site_changes(url, &changes_path)? {
                last_change_id = c?.id;
            }
            changes = Some(CsvFile::open(url, changes_path, CHANGES_HEADER)?);
        }
        Ok(CsvStore {
            url: url.to_string(),
            readings,
            crew,
            with_stored_at,
            counts,
            cursor: None,
            marks: None,
            changes,
            last_change_id,
            site: None,
        })
    }

    /// Opens the files for the site that writes them: locked first (a second site is refused
    /// naming the first), and each file checked at each write.
    pub fn open_for_site(url: &str, path: &str, holder: &str) -> Result<CsvStore, StoreError> {
        let lock = lock_beside(url, Path::new(path), holder)?;
        let mut store = CsvStore::open(url, path)?;
        store.site = Some(lock);
        Ok(store)
    }

    /// The writing site's files are still the ones it opened.
    fn check_files(&self) -> Result<(), StoreError> {
        if self.site.is_some() {
            self.readings.identity.check(&self.url)?;
            self.crew.identity.check(&self.url)?;
        }
        Ok(())
    }
}

impl Store for CsvStore {
    /// Deduplicates on the agents' high-water marks, kept in the meta file. The readings are
    /// written first, then the marks (replaced whole, synced): a crash between the two can let a
    /// reading redelivered after the restart be stored a second time, never lose one. A failure
    /// to write the marks is logged; they are kept in memory and written with the next batch.
    fn append_remote(
        &mut self,
        batch: &Batch,
        origins: &[super::Origin],
    ) -> Result<Vec<u64>, StoreError> {
        let marks = self.agent_marks()?;
        let (kept, skipped, marks) = super::dedup_by_marks(batch, origins, &marks);
        self.append(&kept)?;
        let json = serde_json::to_string(&marks).unwrap_or_default();
        self.marks = Some(marks);
        if !origins.is_empty()
            && let Err(e) = self.meta_set(AGENT_MARKS_KEY, &json)
        {
            tracing::warn!(target: "store", "agents' marks not written yet: {e}");
        }
        Ok(skipped)
    }

    fn agent_marks(&mut self) -> Result<super::AgentMarks, StoreError> {
        if let Some(m) = &self.marks {
            return Ok(m.clone());
        }
        let marks = match self.meta_get(AGENT_MARKS_KEY)? {
            None => super::AgentMarks::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                StoreError(format!(
                    "store '{}': {}: key '{AGENT_MARKS_KEY}' is not a JSON object of marks ({e})",
                    self.url,
                    self.meta_path().display()
                ))
            })?,
        };
        self.marks = Some(marks.clone());
        Ok(marks)
    }

    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let mut last = self.counts.last_reading_id;
        let mut readings = writer(batch.readings.len() * 48);
        let (mut id, mut value) = (String::new(), String::new());
        for r in &batch.readings {
            if r.id <= last {
                return Err(self.out_of_order("reading", r.id, last));
            }
            last = r.id;
            set_number(&mut id, r.id);
            set_number(&mut value, r.value);
            let timestamp = format_timestamp(&r.timestamp);
            let written = if self.with_stored_at {
                let stored_at = r.stored_at.as_ref().map(format_timestamp);
                let stored_at = stored_at.as_deref().unwrap_or("");
                readings.write_record([&id, &timestamp, &r.sensor, &value, stored_at])
            } else {
                readings.write_record([&id, &timestamp, &r.sensor, &value])
            };
            written.map_err(|e| self.render_error(e))?;
        }
        let mut last = self.counts.last_crew_report_id;
        let mut crew = writer(batch.crew_reports.len() * 48);
        for c in &batch.crew_reports {
            if c.id <= last {
                return Err(self.out_of_order("crew report", c.id, last));
            }
            last = c.id;
            let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
            crew.write_record([
                c.id.to_string(),
                format_timestamp(&c.timestamp),
                c.day.to_string(),
                c.crew.to_string(),
                opt(c.profile),
                opt(c.section),
                opt(c.height.map(u32::from)),
            ])
            .map_err(|e| self.render_error(e))?;
        }
        let readings = rendered(readings).map_err(|e| self.render_error(e))?;
        let crew = rendered(crew).map_err(|e| self.render_error(e))?;
        self.check_files()?;
        let (readings_len, crew_len) = (self.readings.len, self.crew.len);
        self.readings.append(&readings).map_err(|e| {
            StoreError(format!(
                "store '{}': {}: write failed ({e})",
                self.url,
                self.readings.path.display()
            ))
        })?;
        if let Err(e) = self.crew.append(&crew) {
            // Take the batch's readings back out so the retried batch is not stored twice.
            let _ = self.readings.file.set_len(readings_len);
            self.readings.len = readings_len;
            return Err(StoreError(format!(
                "store '{}': {}: write failed ({e})",
                self.url,
                self.crew.path.display()
            )));
        }
        // Deleted while it was written: taken back out of the file no one sees, not stored.
        if let Err(e) = self.check_files() {
            for (f, len) in [
                (&mut self.readings, readings_len),
                (&mut self.crew, crew_len),
            ] {
                let _ = f.file.set_len(len);
                f.len = len;
            }
            return Err(e);
        }
        self.counts.readings += batch.readings.len() as u64;
        self.counts.crew_reports += batch.crew_reports.len() as u64;
        if let Some(r) = batch.readings.last() {
            self.counts.last_reading_id = r.id;
        }
        if let Some(c) = batch.crew_reports.last() {
            self.counts.last_crew_report_id = c.id;
        }
        Ok(())
    }

    fn counts(&mut self) -> Result<Counts, StoreError> {
        Ok(self.counts)
    }

    /// A line at a time, going on from where the last batch ended when it can (a whole read
    /// is one pass over the file), else from the top.
    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        let mut cursor = match self.cursor.take() {
            Some(c) if c.through <= after_id => c,
            _ => ReadCursor {
                through: 0,
                rows: RowReader::readings(&self.url, &self.readings.path, self.with_stored_at)?,
            },
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = cursor.rows.next() else {
                // At the end: the next read starts again, to see rows appended since.
                return Ok(out);
            };
            let r = r?;
            cursor.through = r.id;
            if r.id > after_id && filter.matches(&r) {
                out.push(r);
            }
        }
        self.cursor = Some(cursor);
        Ok(out)
    }

    /// One pass keeping the last `n + 1` matching ids (at most [`RING_IDS`] of them, 8 MB);
    /// for a larger `n`, the two passes of the default.
    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        if n >= RING_IDS {
            return super::start_of_last_in_two_passes(self, filter, n, up_to_id);
        }
        let mut last = std::collections::VecDeque::with_capacity(n + 1);
        for r in RowReader::readings(&self.url, &self.readings.path, self.with_stored_at)? {
            let r = r?;
            if r.id > up_to_id {
                break;
            }
            if filter.matches(&r) {
                if last.len() == n + 1 {
                    last.pop_front();
                }
                last.push_back(r.id);
            }
        }
        Ok(if last.len() == n + 1 { last[0] } else { 0 })
    }

    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError> {
        RowReader::crew_reports(&self.url, &self.crew.path)?.collect()
    }

    /// One pass over the crew reports file, a line at a time, keeping one entry per section.
    fn latest_crew_reports(&mut self) -> Result<LatestReports, StoreError> {
        LatestReports::from_reports(RowReader::crew_reports(&self.url, &self.crew.path)?)
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .read_meta()?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v))
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut meta = self.read_meta()?;
        match meta.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => meta.push((key.to_string(), value.to_string())),
        }
        let mut text = writer(64 * (meta.len() + 1));
        let header = META_HEADER.split(',');
        text.write_record(header)
            .map_err(|e| self.render_error(e))?;
        for (k, v) in &meta {
            text.write_record([k, v])
                .map_err(|e| self.render_error(e))?;
        }
        let text = rendered(text).map_err(|e| self.render_error(e))?;
        let path = self.meta_path();
        let tmp = path.with_extension("csv.tmp");
        let fail = |e: std::io::Error| {
            StoreError(format!(
                "store '{}': {}: cannot write ({e})",
                self.url,
                path.display()
            ))
        };
        let mut file = File::create(&tmp).map_err(fail)?;
        file.write_all(&text).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        for (f, header) in [
            (&mut self.readings, READINGS_HEADER),
            (&mut self.crew, CREW_HEADER),
        ] {
            let line = format!("{header}\n");
            let result = f
                .file
                .set_len(0)
                .and_then(|()| f.file.write_all(line.as_bytes()))
                .and_then(|()| f.file.sync_data());
            if let Err(e) = result {
                return Err(StoreError(format!(
                    "store '{}': {}: cannot clear ({e})",
                    self.url,
                    f.path.display()
                )));
            }
            f.len = line.len() as u64;
        }
        self.with_stored_at = true;
        self.counts = Counts::default();
        self.cursor = None;
        self.marks = None;
        self.changes = None;
        self.last_change_id = 0;
        let mut gone = vec![self.meta_path(), changes_path(&self.readings.path)];
        gone.extend(self.past_crew_report_files()?);
        for path in gone {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError(format!(
                        "store '{}': {}: cannot remove ({e})",
                        self.url,
                        path.display()
                    )));
                }
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), StoreError> {
        for f in [&self.readings, &self.crew] {
            f.file.sync_data().map_err(|e| {
                StoreError(format!(
                    "store '{}': {}: sync failed ({e})",
                    self.url,
                    f.path.display()
                ))
            })?;
        }
        Ok(())
    }

    fn url(&self) -> &str {
        &self.url
    }

    /// One line, written and synced; on failure cut back, so that an error leaves no change.
    fn append_change(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError> {
        let id = self.last_change_id + 1;
        let mut line = writer(64 + origin.len() + change.len());
        line.write_record([&id.to_string(), &format_timestamp(&at), origin, change])
            .map_err(|e| self.render_error(e))?;
        let line = rendered(line).map_err(|e| self.render_error(e))?;
        let file = match &mut self.changes {
            Some(file) => file,
            None => self.changes.insert(CsvFile::open(
                &self.url,
                changes_path(&self.readings.path),
                CHANGES_HEADER,
            )?),
        };
        let before = file.len;
        let result = file.append(&line).and_then(|()| file.file.sync_data());
        if let Err(e) = result {
            let _ = file.file.set_len(before);
            file.len = before;
            return Err(StoreError(format!(
                "store '{}': {}: write failed ({e})",
                self.url,
                file.path.display()
            )));
        }
        self.last_change_id = id;
        Ok(id)
    }

    /// The crew reports file is renamed to the past run's, and a new one begun. A rename done
    /// before a crash (the past run's file there, the running one empty) is not done again.
    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError> {
        let target = past_crew_reports_path(&self.readings.path, run);
        let fail = |what: &str, path: &Path, e: std::io::Error| {
            StoreError(format!(
                "store '{}': {}: cannot {what} ({e})",
                self.url,
                path.display()
            ))
        };
        if target.exists() {
            if self.counts.crew_reports > 0 {
                return Err(StoreError(format!(
                    "store '{}': {}: exists already; the crew reports of run {run} cannot be kept",
                    self.url,
                    target.display()
                )));
            }
            return RowReader::crew_reports(&self.url, &target)?
                .try_fold(0, |n, r| r.map(|_| n + 1));
        }
        self.crew
            .file
            .sync_data()
            .map_err(|e| fail("sync", &self.crew.path, e))?;
        std::fs::rename(&self.crew.path, &target)
            .map_err(|e| fail("rename", &self.crew.path, e))?;
        self.crew = CsvFile::open(&self.url, self.crew.path.clone(), CREW_HEADER)?;
        Ok(std::mem::take(&mut self.counts.crew_reports))
    }

    fn changes(&mut self) -> Result<Vec<SiteChange>, StoreError> {
        let path = changes_path(&self.readings.path);
        if !path.exists() {
            return Ok(Vec::new());
        }
        RowReader::site_changes(&self.url, &path)?.collect()
    }
}

impl CsvStore {
    fn meta_path(&self) -> PathBuf {
        meta_path(&self.readings.path)
    }

    /// The files of past runs' crew reports beside the readings file.
    fn past_crew_report_files(&self) -> Result<Vec<PathBuf>, StoreError> {
        let path = &self.readings.path;
        let first = past_crew_reports_path(path, 1);
        let name = first.file_name().unwrap_or_default().to_string_lossy();
        let (prefix, suffix) = name.split_once("1.crew_reports.csv").unwrap_or_default();
        let (prefix, suffix) = (prefix.to_string(), format!("{suffix}.crew_reports.csv"));
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            StoreError(format!(
                "store '{}': {}: cannot list ({e})",
                self.url,
                dir.display()
            ))
        })?;
        Ok(entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(&suffix))
                    .is_some_and(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|e| e.path())
            .collect())
    }

    /// The meta file's pairs in file order; none when it does not exist.
    fn read_meta(&self) -> Result<Vec<(String, String)>, StoreError> {
        let path = self.meta_path();
        let text = match crate::files::read_text_bounded(&path, MAX_META) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(StoreError(format!(
                    "store '{}': {}: cannot read ({e})",
                    self.url,
                    path.display()
                )));
            }
        };
        let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if first != META_HEADER {
            return Err(parse_error(
                &self.url,
                &path,
                1,
                &format!(
                    "header is '{}', expected '{META_HEADER}'",
                    first.escape_debug()
                ),
            ));
        }
        let text = std::io::Cursor::new(text.into_bytes());
        RowReader::new(&self.url, &path, Box::new(text), META_WIDTH, meta_pair).collect()
    }

    /// A row the `csv` writer could not render (into memory: it does not happen).
    fn render_error(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError(format!("store '{}': cannot render a row ({e})", self.url))
    }

    fn out_of_order(&self, what: &str, id: u64, last: u64) -> StoreError {
        StoreError(format!(
            "store '{}': {what} id {id} does not follow the last stored id {last}",
            self.url
        ))
    }
}

/// Appends `field` to `out`, quoted when it must be: as the `csv` writer of [`writer`] quotes it
/// (a test checks they agree), for writers of one line at a time such as the `readings` export.
pub(crate) fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// A `csv` writer rendering rows into memory: fields quoted only when they must be, lines
/// ended with LF.
fn writer(capacity: usize) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(capacity))
}

/// The bytes a [`writer`] rendered.
fn rendered(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, std::io::Error> {
    w.into_inner().map_err(|e| e.into_error())
}

/// `n` as text in `out`, reusing its allocation.
fn set_number(out: &mut String, n: impl std::fmt::Display) {
    use std::fmt::Write as _;
    out.clear();
    let _ = write!(out, "{n}");
}

/// Read after a file's own bytes. Outside a quoted field they end a last line left without its
/// line end, then make a record of one 0xFF byte, which no UTF-8 file holds. Inside a quoted
/// field (a quote never closed, which the `csv` crate reads to the end of the file) they become
/// the end of that field, which is how an open quote is told.
const END_MARK: &[u8] = b"\n\xff\n";

/// How a [`RowReader`] makes a row of a record (of the right width).
type Parse<T> = fn(&Record<'_>) -> Result<T, StoreError>;

/// What a [`RowReader`] reads from.
type Source = std::io::Chain<Metered, &'static [u8]>;

/// A file read with a bound on each record: counts the bytes read since the last record ended
/// (the `csv` reader's read-ahead of 64 KiB included) and fails past [`MAX_RECORD`].
struct Metered {
    inner: Box<dyn Read + Send>,
    since_record: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The error a [`Metered`] source fails with, told apart from the file's own.
const RECORD_TOO_LONG: &str = "record too long";

impl Read for Metered {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::atomic::Ordering;
        if self.since_record.load(Ordering::Relaxed) > MAX_RECORD + 64 * 1024 {
            return Err(std::io::Error::other(RECORD_TOO_LONG));
        }
        let n = self.inner.read(buf)?;
        self.since_record.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The rows of a file, read with the `csv` crate a buffer at a time (the header skipped), in
/// file order, each checked and parsed; after an error, nothing more.
struct RowReader<T> {
    url: String,
    path: PathBuf,
    reader: csv::Reader<Source>,
    /// Bytes read since the last record ([`Metered`]).
    since_record: std::sync::Arc<std::sync::atomic::AtomicU64>,
    record: csv::ByteRecord,
    header_skipped: bool,
    done: bool,
    width: usize,
    parse: Parse<T>,
}

impl<T> std::fmt::Debug for RowReader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RowReader<Reading> {
    /// The readings of a file with the `stored_at` column, or (`with_stored_at` false) of one
    /// begun before it.
    fn readings(
        url: &str,
        path: &Path,
        with_stored_at: bool,
    ) -> Result<RowReader<Reading>, StoreError> {
        if with_stored_at {
            RowReader::open(url, path, READINGS_WIDTH, reading)
        } else {
            RowReader::open(url, path, READINGS_WIDTH - 1, reading_v1)
        }
    }
}

impl RowReader<CrewReport> {
    fn crew_reports(url: &str, path: &Path) -> Result<RowReader<CrewReport>, StoreError> {
        RowReader::open(url, path, CREW_WIDTH, crew_report)
    }
}

impl RowReader<SiteChange> {
    fn site_changes(url: &str, path: &Path) -> Result<RowReader<SiteChange>, StoreError> {
        RowReader::open(url, path, CHANGES_WIDTH, site_change)
    }
}

impl<T> RowReader<T> {
    fn open(
        url: &str,
        path: &Path,
        width: usize,
        parse: Parse<T>,
    ) -> Result<RowReader<T>, StoreError> {
        let file = crate::files::open_regular(path).map_err(|e| {
            StoreError(format!(
                "store '{url}': {}: cannot read ({e})",
                path.display()
            ))
        })?;
        Ok(RowReader::new(url, path, Box::new(file), width, parse))
    }

    /// Reads the CSV text `source` holds (`path` only names it in errors).
    fn new(
        url: &str,
        path: &Path,
        source: Box<dyn Read + Send>,
        width: usize,
        parse: Parse<T>,
    ) -> RowReader<T> {
        let since_record = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let source = Metered {
            inner: source,
            since_record: since_record.clone(),
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(64 * 1024)
            .from_reader(source.chain(END_MARK));
        RowReader {
            url: url.to_string(),
            path: path.to_path_buf(),
            reader,
            since_record,
            record: csv::ByteRecord::new(),
            header_skipped: false,
            done: false,
            width,
            parse,
        }
    }

    /// Reads the next record into `self.record` and gives the line it starts on, or `None` at
    /// the end of the file.
    fn next_record(&mut self) -> Result<Option<usize>, StoreError> {
        let (url, path) = (&self.url, &self.path);
        let starts = usize::try_from(self.reader.position().line()).unwrap_or(usize::MAX);
        let read_error = |e: csv::Error| match e.kind() {
            csv::ErrorKind::Io(io) if io.to_string() == RECORD_TOO_LONG => parse_error(
                url,
                path,
                starts,
                &format!(
                    "a record longer than {} MiB (not a file of this store?)",
                    MAX_RECORD >> 20
                ),
            ),
            _ => StoreError(format!(
                "store '{url}': {}: cannot read ({e})",
                path.display()
            )),
        };
        let read = self.reader.read_byte_record(&mut self.record);
        self.since_record
            .store(0, std::sync::atomic::Ordering::Relaxed);
        if !read.map_err(read_error)? {
            return Ok(None); // only after an error: the end mark comes first
        }
        // The line it starts on, from the line after it: the `csv` crate's own position of a
        // record is where the reading of it began, before any empty lines it skipped.
        let record = &self.record;
        let open = record
            .iter()
            .next_back()
            .is_some_and(|f| f.ends_with(END_MARK));
        let inner = record.as_slice().iter().filter(|&&b| b == b'\n').count();
        let after = usize::try_from(self.reader.position().line()).unwrap_or(usize::MAX);
        let line = after.saturating_sub(inner + usize::from(!open));
        if open {
            return Err(parse_error(url, path, line, "a quoted field is not closed"));
        }
        let began = record
            .position()
            .map_or(line, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        let is_mark = record.len() == 1 && &record[0] == b"\xff";
        // The end mark's own line end makes one empty line after a file's last line end.
        if line.saturating_sub(began) > usize::from(is_mark) {
            // an empty line, which the `csv` crate skips: one empty field
            return Err(parse_error(
                url,
                path,
                began,
                &format!("1 fields, expected {}", self.width),
            ));
        }
        if is_mark {
            let mut after = csv::ByteRecord::new();
            if self
                .reader
                .read_byte_record(&mut after)
                .map_err(read_error)?
            {
                return Err(parse_error(url, path, line, "not valid UTF-8"));
            }
            return Ok(None);
        }
        // A line ended with CRLF leaves its CR at the end of its last field.
        if record
            .iter()
            .next_back()
            .is_some_and(|f| f.ends_with(b"\r"))
        {
            let mut trimmed = csv::ByteRecord::with_capacity(record.as_slice().len(), record.len());
            for (i, f) in record.iter().enumerate() {
                trimmed.push_field(if i + 1 == record.len() {
                    &f[..f.len() - 1]
                } else {
                    f
                });
            }
            trimmed.set_position(record.position().cloned());
            self.record = trimmed;
        }
        Ok(Some(line))
    }
}

impl<T> Iterator for RowReader<T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let line = match self.next_record() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if !std::mem::replace(&mut self.header_skipped, true) {
                continue; // header, checked at open
            }
            let record = Record {
                url: &self.url,
                path: &self.path,
                line,
                fields: &self.record,
            };
            let result = record
                .checked_width(self.width)
                .and_then(|()| (self.parse)(&record));
            if result.is_err() {
                self.done = true;
            }
            return Some(result);
        }
    }
}

fn parse_error(url: &str, path: &Path, line: usize, what: &str) -> StoreError {
    StoreError(format!("store '{url}': {}:{line}: {what}", path.display()))
}

/// A record of a file, with where it stands for errors.
struct Record<'a> {
    url: &'a str,
    path: &'a Path,
    /// The line it starts on.
    line: usize,
    fields: &'a csv::ByteRecord,
}

impl Record<'_> {
    fn error(&self, what: &str) -> StoreError {
        parse_error(self.url, self.path, self.line, what)
    }

    /// Whether it has `width` fields.
    fn checked_width(&self, width: usize) -> Result<(), StoreError> {
        if self.fields.len() == width {
            Ok(())
        } else {
            Err(self.error(&format!("{} fields, expected {width}", self.fields.len())))
        }
    }

    /// Field `i` (which it has) as text.
    fn text(&self, i: usize) -> Result<&str, StoreError> {
        std::str::from_utf8(&self.fields[i]).map_err(|_| self.error("not valid UTF-8"))
    }

    /// Field `i`, `name`d in errors, as a number.
    fn num<T: std::str::FromStr>(&self, i: usize, name: &str) -> Result<T, StoreError> {
        let s = self.text(i)?;
        s.parse()
            .map_err(|_| self.error(&format!("{name} '{}' is not valid", s.escape_debug())))
    }

    /// Field `i`, `name`d in errors, as a number, or `None` when empty.
    fn opt<T: std::str::FromStr>(&self, i: usize, name: &str) -> Result<Option<T>, StoreError> {
        if self.text(i)?.is_empty() {
            Ok(None)
        } else {
            self.num(i, name).map(Some)
        }
    }

    /// Field `i` as an RFC 3339 timestamp.
    fn timestamp(&self, i: usize) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        parse_timestamp(self.text(i)?).map_err(|e| self.error(&e))
    }
}

/// Fields in a readings record.
const READINGS_WIDTH: usize = 5;

/// The reading in `record`; an empty `stored_at` is none.
fn reading(record: &Record<'_>) -> Result<Reading, StoreError> {
    let stored_at = match record.text(4)? {
        "" => None,
        _ => Some(record.timestamp(4)?),
    };
    Ok(Reading {
        stored_at,
        ..reading_v1(record)?
    })
}

/// The reading in a `record` of a file without `stored_at`.
fn reading_v1(record: &Record<'_>) -> Result<Reading, StoreError> {
    Ok(Reading {
        id: record.num(0, "id")?,
        timestamp: record.timestamp(1)?,
        sensor: record.text(2)?.to_string(),
        value: record.num(3, "value")?,
        stored_at: None,
    })
}

/// Fields in a crew reports record.
const CREW_WIDTH: usize = 7;

/// The crew report in `record`.
fn crew_report(record: &Record<'_>) -> Result<CrewReport, StoreError> {
    Ok(CrewReport {
        id: record.num(0, "id")?,
        timestamp: record.timestamp(1)?,
        day: record.num(2, "day")?,
        crew: record.num(3, "crew")?,
        profile: record.opt(4, "profile")?,
        section: record.opt(5, "section")?,
        height: record.opt(6, "height")?,
    })
}

/// Fields in a meta record.
const META_WIDTH: usize = 2;

/// The key and value in `record`.
fn meta_pair(record: &Record<'_>) -> Result<(String, String), StoreError> {
    Ok((record.text(0)?.to_string(), record.text(1)?.to_string()))
}

/// Fields in a site changes record.
const CHANGES_WIDTH: usize = 4;

/// The site change in `record`.
fn site_change(record: &Record<'_>) -> Result<SiteChange, StoreError> {
    Ok(SiteChange {
        id: record.num(0, "id")?,
        at: record.timestamp(1)?,
        origin: record.text(2)?.to_string(),
        change: record.text(3)?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crew_file_names() {
        assert_eq!(
            crew_reports_path(Path::new("d/run.csv")),
            Path::new("d/run.crew_reports.csv")
        );
        assert_eq!(
            crew_reports_path(Path::new("run")),
            Path::new("run.crew_reports.csv")
        );
        assert_eq!(
            crew_reports_path(Path::new("run.txt")),
            Path::new("run.txt.crew_reports.csv")
        );
    }

    /// The key-value pairs of CSV `bytes` after its header.
    fn meta_records(bytes: &[u8]) -> Result<Vec<(String, String)>, StoreError> {
        let source = std::io::Cursor::new(bytes.to_vec());
        RowReader::new("csv:t", Path::new("t"), Box::new(source), 2, meta_pair).collect()
    }

    /// Each record of CSV `text` after its header: the line it starts on and its fields.
    fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, StoreError> {
        fn fields(record: &Record<'_>) -> Result<(usize, Vec<String>), StoreError> {
            let f = record
                .fields
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned());
            Ok((record.line, f.collect()))
        }
        let source = std::io::Cursor::new(text.as_bytes().to_vec());
        RowReader::new("csv:t", Path::new("t"), Box::new(source), 2, fields).collect()
    }

    fn line_of(e: &StoreError) -> usize {
        let rest = e.0.strip_prefix("store 'csv:t': t:").unwrap();
        rest.split(':').next().unwrap().parse().unwrap()
    }

    #[test]
    fn quoting_round_trips() {
        let names = [
            "plain",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\r\nlf",
            "",
            "\"",
            ",",
            "lone\rcr",
            " spaced ",
        ];
        let mut w = writer(0);
        w.write_record(["x", "y"]).unwrap();
        for n in names {
            w.write_record([n, "1"]).unwrap();
        }
        let text = String::from_utf8(rendered(w).unwrap()).unwrap();
        // the writer quotes as `push_field` does (the export's lines)
        let mut by_hand = String::from("x,y\n");
        for n in names {
            push_field(&mut by_hand, n);
            by_hand.push_str(",1\n");
        }
        assert_eq!(text, by_hand);
        let recs = records(&text).unwrap();
        assert_eq!(recs.len(), names.len());
        for (n, (_, fields)) in names.iter().zip(&recs) {
            assert_eq!(fields, &vec![n.to_string(), "1".to_string()]);
        }
        // records after multi-line fields start on the right lines
        assert_eq!(recs[4].0, 7);
        assert_eq!(recs[5].0, 9);
    }

    /// Files as the hand-written reader read them: CRLF line ends, a last line without its
    /// line end, quotes in the middle of a field.
    #[test]
    fn reads_what_the_old_reader_read() {
        let text = "x,y\nplain,1\n\"a,b\",2\n\"two\nlines\",3\r\n\"say \"\"hi\"\"\",4\r\nmid\"dle,5\nlast,6";
        let got = records(text).unwrap();
        let want = [
            (2, "plain", "1"),
            (3, "a,b", "2"),
            (4, "two\nlines", "3"),
            (6, "say \"hi\"", "4"),
            (7, "mid\"dle", "5"),
            (8, "last", "6"),
        ];
        assert_eq!(got.len(), want.len());
        for ((line, fields), (l, a, b)) in got.iter().zip(want) {
            assert_eq!(
                (*line, fields.clone()),
                (l, vec![a.to_string(), b.to_string()])
            );
        }
        let got = records("x,y\n\"\n\",\"\"\"\"\n\"\r\n\",1\n").unwrap();
        assert_eq!(
            got,
            vec![
                (2, vec!["\n".to_string(), "\"".to_string()]),
                (4, vec!["\r\n".to_string(), "1".to_string()]),
            ]
        );
    }

    #[test]
    fn bad_csv_is_rejected_with_a_line() {
        let e = records("a,b\n\"open\n").unwrap_err();
        assert_eq!(line_of(&e), 2);
        assert!(e.0.ends_with("a quoted field is not closed"), "{e}");
        let e = records("a,b\nb,c\n\"open, \"\"still\nopen").unwrap_err();
        assert_eq!(line_of(&e), 3);
        assert!(e.0.ends_with("not closed"), "{e}");
        // an empty line is a record of one empty field, as it was
        let e = records("a,b\n1,2\n\n3,4\n").unwrap_err();
        assert_eq!(e.0, "store 'csv:t': t:3: 1 fields, expected 2");
        let e = records("a,b\n1,2\n\"\"\"\"\n").unwrap_err();
        assert_eq!(e.0, "store 'csv:t': t:3: 1 fields, expected 2");
        let e = meta_records(b"a,b\n1,\xff\n").unwrap_err();
        assert_eq!(e.0, "store 'csv:t': t:2: not valid UTF-8");
        // a line of the end mark's byte is not the end of the file
        let e = meta_records(b"a,b\n\xff\n1,2\n").unwrap_err();
        assert_eq!(e.0, "store 'csv:t': t:2: not valid UTF-8");
    }
}

//! `csv:PATH` — two CSV files that grow across runs.
//!
//! Readings go to `PATH` with the header `id,timestamp,sensor,value`; crew reports go to a
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
//! Timestamps are RFC 3339 UTC with microseconds. Fields are quoted (RFC 4180) when they hold a
//! comma, a quote, CR or LF. A header is written only when a file is new or empty. Each batch is
//! rendered in memory and written with one `write` per file; if a write fails, both files are cut
//! back to where the batch began, so a retried batch is never stored twice. Ids must keep
//! increasing across batches and runs: the files are read once at open to learn the counts and
//! last ids, so a restarted run continues after them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{Batch, Counts, ReadingFilter, Store, StoreError, format_timestamp, parse_timestamp};
use crate::sensors::Reading;
use crate::wall::{CrewReport, LatestReports};

const READINGS_HEADER: &str = "id,timestamp,sensor,value";
const CREW_HEADER: &str = "id,timestamp,day,crew,profile,section,height";

/// The crew reports file that goes with a readings file `path`.
pub fn crew_reports_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".csv").unwrap_or(&name);
    path.with_file_name(format!("{stem}.crew_reports.csv"))
}

/// The meta file that goes with a readings file `path`.
pub fn meta_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".csv").unwrap_or(&name);
    path.with_file_name(format!("{stem}.meta.csv"))
}

const META_HEADER: &str = "key,value";

/// The most reading ids [`Store::start_of_last`] keeps in memory (8 MB).
const RING_IDS: usize = 1 << 20;

/// One CSV file and what is known about it.
#[derive(Debug)]
struct CsvFile {
    path: PathBuf,
    file: File,
    /// Bytes known to be in the file (the end of the last whole batch).
    len: u64,
}

impl CsvFile {
    /// Opens (creating) `path` and checks its header (writing it if the file is empty) and
    /// that its last line is whole, without reading the rest.
    fn open(url: &str, path: PathBuf, header: &str) -> Result<CsvFile, StoreError> {
        use std::io::{BufRead, Seek, SeekFrom};
        let err = |what: String| StoreError(format!("store '{url}': {}: {what}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| err(format!("cannot open ({e})")))?;
        let cannot_read = |e: std::io::Error| err(format!("cannot read ({e})"));
        let mut len = file.seek(SeekFrom::End(0)).map_err(cannot_read)?;
        if len == 0 {
            let line = format!("{header}\n");
            file.write_all(line.as_bytes())
                .map_err(|e| err(format!("cannot write ({e})")))?;
            len = line.len() as u64;
        } else {
            file.seek(SeekFrom::Start(0)).map_err(cannot_read)?;
            let mut first = String::new();
            std::io::BufReader::new(&mut file)
                .read_line(&mut first)
                .map_err(cannot_read)?;
            let first = first.trim_end_matches('\n').trim_end_matches('\r');
            if first != header {
                return Err(err(format!(
                    "not a wallwatch CSV file (its header is '{}', expected '{header}')",
                    first.escape_debug()
                )));
            }
            file.seek(SeekFrom::Start(len - 1)).map_err(cannot_read)?;
            let mut last = [0u8];
            file.read_exact(&mut last).map_err(cannot_read)?;
            if last[0] != b'\n' {
                return Err(err(
                    "the last line is incomplete (cut off mid-write?)".into()
                ));
            }
        }
        Ok(CsvFile { path, file, len })
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
    counts: Counts,
    /// Where the last [`Store::readings_after`] stopped, to go on from there.
    cursor: Option<ReadCursor>,
}

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
        let readings = CsvFile::open(url, path, READINGS_HEADER)?;
        let crew = CsvFile::open(url, crew_path, CREW_HEADER)?;
        // Every row is checked, a line at a time.
        let mut counts = Counts::default();
        for r in RowReader::readings(url, &readings.path)? {
            counts.readings += 1;
            counts.last_reading_id = r?.id;
        }
        for r in RowReader::crew_reports(url, &crew.path)? {
            counts.crew_reports += 1;
            counts.last_crew_report_id = r?.id;
        }
        Ok(CsvStore {
            url: url.to_string(),
            readings,
            crew,
            counts,
            cursor: None,
        })
    }
}

impl Store for CsvStore {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let mut last = self.counts.last_reading_id;
        let mut readings = String::with_capacity(batch.readings.len() * 48);
        for r in &batch.readings {
            if r.id <= last {
                return Err(self.out_of_order("reading", r.id, last));
            }
            last = r.id;
            readings.push_str(&r.id.to_string());
            readings.push(',');
            readings.push_str(&format_timestamp(&r.timestamp));
            readings.push(',');
            push_field(&mut readings, &r.sensor);
            readings.push(',');
            readings.push_str(&r.value.to_string());
            readings.push('\n');
        }
        let mut last = self.counts.last_crew_report_id;
        let mut crew = String::with_capacity(batch.crew_reports.len() * 48);
        for c in &batch.crew_reports {
            if c.id <= last {
                return Err(self.out_of_order("crew report", c.id, last));
            }
            last = c.id;
            let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
            crew.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                c.id,
                format_timestamp(&c.timestamp),
                c.day,
                c.crew,
                opt(c.profile),
                opt(c.section),
                opt(c.height.map(u32::from)),
            ));
        }
        let readings_len = self.readings.len;
        self.readings.append(readings.as_bytes()).map_err(|e| {
            StoreError(format!(
                "store '{}': {}: write failed ({e})",
                self.url,
                self.readings.path.display()
            ))
        })?;
        if let Err(e) = self.crew.append(crew.as_bytes()) {
            // Take the batch's readings back out so the retried batch is not stored twice.
            let _ = self.readings.file.set_len(readings_len);
            self.readings.len = readings_len;
            return Err(StoreError(format!(
                "store '{}': {}: write failed ({e})",
                self.url,
                self.crew.path.display()
            )));
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
                rows: RowReader::readings(&self.url, &self.readings.path)?,
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
        for r in RowReader::readings(&self.url, &self.readings.path)? {
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
        let mut text = format!("{META_HEADER}\n");
        for (k, v) in &meta {
            push_field(&mut text, k);
            text.push(',');
            push_field(&mut text, v);
            text.push('\n');
        }
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
        file.write_all(text.as_bytes()).map_err(fail)?;
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
        self.counts = Counts::default();
        self.cursor = None;
        let path = self.meta_path();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError(format!(
                "store '{}': {}: cannot remove ({e})",
                self.url,
                path.display()
            ))),
        }
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
}

impl CsvStore {
    fn meta_path(&self) -> PathBuf {
        meta_path(&self.readings.path)
    }

    /// The meta file's pairs in file order; none when it does not exist.
    fn read_meta(&self) -> Result<Vec<(String, String)>, StoreError> {
        let path = self.meta_path();
        let text = match std::fs::read_to_string(&path) {
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
        Ok(rows(&self.url, &path, &text, 2)?
            .into_iter()
            .map(|(_, mut f)| {
                let v = f.pop().unwrap_or_default();
                (f.pop().unwrap_or_default(), v)
            })
            .collect())
    }

    fn out_of_order(&self, what: &str, id: u64, last: u64) -> StoreError {
        StoreError(format!(
            "store '{}': {what} id {id} does not follow the last stored id {last}",
            self.url
        ))
    }
}

/// Appends `field` to `out`, quoted when it must be.
pub(crate) fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// A CSV record: the 1-based line it starts on and its fields.
type Record = (usize, Vec<String>);

/// Splits CSV text into records; an error gives the line and what is wrong.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut splitter = Splitter::new();
    let mut out = Vec::new();
    splitter.feed(text, &mut out)?;
    splitter.finish(&mut out)?;
    Ok(out)
}

/// The state of splitting CSV text into records, kept between pieces of the text so that a
/// file can be read a line at a time. A piece must end at a line end (after its `\n`) or at the
/// end of the text: the one character of look-ahead then never crosses from one to the next.
#[derive(Debug)]
struct Splitter {
    fields: Vec<String>,
    field: String,
    line: usize,
    start_line: usize,
    in_quotes: bool,
    at_field_start: bool,
}

impl Splitter {
    fn new() -> Splitter {
        Splitter {
            fields: Vec::new(),
            field: String::new(),
            line: 1,
            start_line: 1,
            in_quotes: false,
            at_field_start: true,
        }
    }

    /// Splits the next piece of the text, pushing every record it completes onto `out`.
    fn feed(&mut self, piece: &str, out: &mut Vec<Record>) -> Result<(), (usize, String)> {
        let mut chars = piece.chars().peekable();
        while let Some(c) = chars.next() {
            if self.in_quotes {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        self.field.push('"');
                    }
                    '"' => {
                        self.in_quotes = false;
                        match chars.peek() {
                            Some(',' | '\n' | '\r') | None => {}
                            Some(_) => {
                                return Err((self.line, "text after a closing quote".into()));
                            }
                        }
                    }
                    c => {
                        if c == '\n' {
                            self.line += 1;
                        }
                        self.field.push(c);
                    }
                }
                continue;
            }
            match c {
                '"' if self.at_field_start => {
                    self.in_quotes = true;
                    self.at_field_start = false;
                }
                ',' => {
                    self.fields.push(std::mem::take(&mut self.field));
                    self.at_field_start = true;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    self.fields.push(std::mem::take(&mut self.field));
                    out.push((self.start_line, std::mem::take(&mut self.fields)));
                    self.line += 1;
                    self.start_line = self.line;
                    self.at_field_start = true;
                }
                c => {
                    self.field.push(c);
                    self.at_field_start = false;
                }
            }
        }
        Ok(())
    }

    /// Ends the text: a last record without a line end is pushed onto `out`.
    fn finish(mut self, out: &mut Vec<Record>) -> Result<(), (usize, String)> {
        if self.in_quotes {
            return Err((self.start_line, "a quoted field is not closed".into()));
        }
        if !self.field.is_empty() || !self.fields.is_empty() {
            self.fields.push(self.field);
            out.push((self.start_line, self.fields));
        }
        Ok(())
    }
}

/// The rows of a file, read a line at a time (the header skipped), in file order, each checked
/// and parsed; after an error, nothing more.
struct RowReader<T> {
    url: String,
    path: PathBuf,
    reader: std::io::BufReader<File>,
    splitter: Option<Splitter>,
    line: String,
    pending: std::collections::VecDeque<Record>,
    header_skipped: bool,
    width: usize,
    parse: fn(&str, &Path, usize, Vec<String>) -> Result<T, StoreError>,
}

impl<T> std::fmt::Debug for RowReader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RowReader<Reading> {
    fn readings(url: &str, path: &Path) -> Result<RowReader<Reading>, StoreError> {
        RowReader::open(url, path, READINGS_WIDTH, reading)
    }
}

impl RowReader<CrewReport> {
    fn crew_reports(url: &str, path: &Path) -> Result<RowReader<CrewReport>, StoreError> {
        RowReader::open(url, path, CREW_WIDTH, |url, path, line, f| {
            crew_report(url, path, line, &f)
        })
    }
}

impl<T> RowReader<T> {
    fn open(
        url: &str,
        path: &Path,
        width: usize,
        parse: fn(&str, &Path, usize, Vec<String>) -> Result<T, StoreError>,
    ) -> Result<RowReader<T>, StoreError> {
        let file = File::open(path).map_err(|e| {
            StoreError(format!(
                "store '{url}': {}: cannot read ({e})",
                path.display()
            ))
        })?;
        Ok(RowReader {
            url: url.to_string(),
            path: path.to_path_buf(),
            reader: std::io::BufReader::with_capacity(64 * 1024, file),
            splitter: Some(Splitter::new()),
            line: String::new(),
            pending: std::collections::VecDeque::new(),
            header_skipped: false,
            width,
            parse,
        })
    }

    /// The next record, or `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<Record>, StoreError> {
        use std::io::BufRead;
        let (url, path) = (&self.url, &self.path);
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Ok(Some(record));
            }
            let Some(splitter) = self.splitter.as_mut() else {
                return Ok(None);
            };
            self.line.clear();
            let n = self.reader.read_line(&mut self.line).map_err(|e| {
                StoreError(format!(
                    "store '{url}': {}: cannot read ({e})",
                    path.display()
                ))
            })?;
            let mut out = Vec::new();
            let split = if n == 0 {
                self.splitter.take().map_or(Ok(()), |s| s.finish(&mut out))
            } else {
                splitter.feed(&self.line, &mut out)
            };
            split.map_err(|(line, what)| parse_error(url, path, line, &what))?;
            self.pending.extend(out);
        }
    }
}

impl<T> Iterator for RowReader<T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let record = match self.next_record() {
                Ok(Some(record)) => record,
                Ok(None) => return None,
                Err(e) => {
                    self.splitter = None;
                    self.pending.clear();
                    return Some(Err(e));
                }
            };
            if !std::mem::replace(&mut self.header_skipped, true) {
                continue; // header, checked at open
            }
            let result = checked_width(&self.url, &self.path, record, self.width)
                .and_then(|(line, f)| (self.parse)(&self.url, &self.path, line, f));
            if result.is_err() {
                self.splitter = None;
                self.pending.clear();
            }
            return Some(result);
        }
    }
}

fn parse_error(url: &str, path: &Path, line: usize, what: &str) -> StoreError {
    StoreError(format!("store '{url}': {}:{line}: {what}", path.display()))
}

fn rows(url: &str, path: &Path, text: &str, width: usize) -> Result<Vec<Record>, StoreError> {
    let recs = records(text).map_err(|(line, what)| parse_error(url, path, line, &what))?;
    let mut recs = recs.into_iter();
    recs.next(); // header, checked at open
    recs.map(|record| checked_width(url, path, record, width))
        .collect()
}

/// `record` if it has `width` fields.
fn checked_width(
    url: &str,
    path: &Path,
    record: Record,
    width: usize,
) -> Result<Record, StoreError> {
    let (line, fields) = record;
    if fields.len() == width {
        Ok((line, fields))
    } else {
        Err(parse_error(
            url,
            path,
            line,
            &format!("{} fields, expected {width}", fields.len()),
        ))
    }
}

fn parse_num<T: std::str::FromStr>(
    url: &str,
    path: &Path,
    line: usize,
    name: &str,
    s: &str,
) -> Result<T, StoreError> {
    s.parse().map_err(|_| {
        parse_error(
            url,
            path,
            line,
            &format!("{name} '{}' is not valid", s.escape_debug()),
        )
    })
}

fn parse_opt<T: std::str::FromStr>(
    url: &str,
    path: &Path,
    line: usize,
    name: &str,
    s: &str,
) -> Result<Option<T>, StoreError> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse_num(url, path, line, name, s).map(Some)
    }
}

/// Fields in a readings record.
const READINGS_WIDTH: usize = 4;

/// The reading in the fields `f` of a record starting on `line`.
fn reading(url: &str, path: &Path, line: usize, mut f: Vec<String>) -> Result<Reading, StoreError> {
    let sensor = std::mem::take(&mut f[2]);
    Ok(Reading {
        id: parse_num(url, path, line, "id", &f[0])?,
        timestamp: parse_timestamp(&f[1]).map_err(|e| parse_error(url, path, line, &e))?,
        sensor,
        value: parse_num(url, path, line, "value", &f[3])?,
    })
}

/// Fields in a crew reports record.
const CREW_WIDTH: usize = 7;

/// The crew report in the fields `f` of a record starting on `line`.
fn crew_report(
    url: &str,
    path: &Path,
    line: usize,
    f: &[String],
) -> Result<CrewReport, StoreError> {
    Ok(CrewReport {
        id: parse_num(url, path, line, "id", &f[0])?,
        timestamp: parse_timestamp(&f[1]).map_err(|e| parse_error(url, path, line, &e))?,
        day: parse_num(url, path, line, "day", &f[2])?,
        crew: parse_num(url, path, line, "crew", &f[3])?,
        profile: parse_opt(url, path, line, "profile", &f[4])?,
        section: parse_opt(url, path, line, "section", &f[5])?,
        height: parse_opt(url, path, line, "height", &f[6])?,
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
        ];
        let mut text = String::from("x,y\n");
        for n in names {
            push_field(&mut text, n);
            text.push_str(",1\n");
        }
        let recs = records(&text).unwrap();
        assert_eq!(recs.len(), names.len() + 1);
        for (n, (_, fields)) in names.iter().zip(&recs[1..]) {
            assert_eq!(fields, &vec![n.to_string(), "1".to_string()]);
        }
        // records after multi-line fields start on the right lines
        assert_eq!(recs[5].0, 7);
        assert_eq!(recs[6].0, 9);
    }

    /// Fed a line at a time, as files are read, the splitter finds the same records and errors.
    #[test]
    fn splitting_line_by_line_is_splitting_whole() {
        let texts = [
            "x,y\nplain,1\n\"a,b\",2\n\"two\nlines\",3\r\n\"say \"\"hi\"\"\",4\nlast,5",
            "x,y\n\"\n\",\"\"\"\"\n\"\r\n\",1\n",
            "a\n\"open\n",
            "\"a\"b\n",
            "a\nb,\"c\"\nd\"\n",
        ];
        for text in texts {
            let mut splitter = Splitter::new();
            let mut out = Vec::new();
            let result = text
                .split_inclusive('\n')
                .try_for_each(|line| splitter.feed(line, &mut out))
                .and_then(|()| splitter.finish(&mut out))
                .map(|()| out);
            assert_eq!(result, records(text), "{text:?}");
        }
    }

    #[test]
    fn bad_csv_is_rejected_with_a_line() {
        assert_eq!(records("a\n\"open\n").unwrap_err().0, 2);
        assert_eq!(records("\"a\"b\n").unwrap_err().0, 1);
    }
}

//! `wallwatch readings` streams: whatever the store holds, the export holds at most one batch
//! of readings at once ([`store::READ_BATCH`]), and writes exactly what the all-in-memory
//! export wrote before (every format, filters and `--limit` included).

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use wallwatch::cmd::readings::export;
use wallwatch::config::cli::ExportFormat;
use wallwatch::sensors::Reading;
use wallwatch::store::{
    self, Batch, Counts, MemoryStore, READ_BATCH, ReadingFilter, Store, StoreError,
    format_timestamp,
};
use wallwatch::text::sanitize;
use wallwatch::wall::CrewReport;

/// A memory store that counts how many readings it hands out in one call: the most a reader
/// of it can hold at once without copying.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    most_at_once: usize,
    calls: usize,
}

impl Counting {
    fn seen(&mut self, n: usize) {
        self.most_at_once = self.most_at_once.max(n);
        self.calls += 1;
    }
}

impl Store for Counting {
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.inner.append(batch)
    }
    fn counts(&mut self) -> Result<Counts, StoreError> {
        self.inner.counts()
    }
    fn readings_after(
        &mut self,
        filter: &ReadingFilter,
        after_id: u64,
        limit: usize,
    ) -> Result<Vec<Reading>, StoreError> {
        let out = self.inner.readings_after(filter, after_id, limit)?;
        self.seen(out.len());
        Ok(out)
    }
    fn start_of_last(
        &mut self,
        filter: &ReadingFilter,
        n: usize,
        up_to_id: u64,
    ) -> Result<u64, StoreError> {
        self.inner.start_of_last(filter, n, up_to_id)
    }
    // Reading everything at once is what the export must not do: count it too.
    fn readings(&mut self, filter: &ReadingFilter) -> Result<Vec<Reading>, StoreError> {
        let mut out = Vec::new();
        self.inner.for_each_reading(filter, &mut |r| {
            out.push(r);
            ControlFlow::Continue(())
        })?;
        self.seen(out.len());
        Ok(out)
    }
    fn crew_reports(&mut self) -> Result<Vec<CrewReport>, StoreError> {
        self.inner.crew_reports()
    }
    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.meta_get(key)
    }
    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.meta_set(key, value)
    }
    fn clear(&mut self) -> Result<(), StoreError> {
        self.inner.clear()
    }
    fn close(&mut self) -> Result<(), StoreError> {
        self.inner.close()
    }
    fn url(&self) -> &str {
        "memory:"
    }
    fn append_change(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        origin: &str,
        change: &str,
    ) -> Result<u64, StoreError> {
        self.inner.append_change(at, origin, change)
    }
    fn changes(&mut self) -> Result<Vec<wallwatch::store::SiteChange>, StoreError> {
        self.inner.changes()
    }
    fn archive_crew_reports(&mut self, run: u32) -> Result<u64, StoreError> {
        self.inner.archive_crew_reports(run)
    }
}

fn at(n: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_790_000_000_000_000 + n as i64 * 1_000_003).unwrap()
}

/// Several batches' worth of readings from sensors whose names need quoting, escaping and
/// widen the table (the longest one appears only near the end).
fn sample() -> Vec<Reading> {
    let total = 3 * READ_BATCH as u64 + 17;
    (1..=total)
        .map(|id| Reading {
            id,
            timestamp: at(id),
            sensor: match id % 4 {
                _ if id == total - 3 => "a much longer sensor name, late".to_string(),
                0 => "thermo-1".to_string(),
                1 => "strain,2".to_string(),
                2 => "say \"hi\"".to_string(),
                _ => "evil\u{1b}[2J".to_string(),
            },
            value: (id as i32 * 37) % 201 - 100,
            // Some stored before the store kept the time.
            stored_at: (id % 3 != 0).then(|| at(id + 1_000)),
        })
        .collect()
}

/// `stored_at` as the export writes it: the time, or `empty` when the store has none.
fn stored(r: &Reading, empty: &str) -> String {
    r.stored_at
        .as_ref()
        .map_or(empty.to_string(), format_timestamp)
}

/// The export as it was, from all the selected readings in memory.
fn reference(readings: &[Reading], format: ExportFormat) -> String {
    let mut out = String::new();
    match format {
        ExportFormat::Csv => {
            out.push_str("id,timestamp,sensor,value,stored_at\n");
            for r in readings {
                let name = sanitize(&r.sensor).into_owned();
                let name = if name.contains([',', '"', '\r', '\n']) {
                    format!("\"{}\"", name.replace('"', "\"\""))
                } else {
                    name
                };
                out.push_str(&format!(
                    "{},{},{name},{},{}\n",
                    r.id,
                    format_timestamp(&r.timestamp),
                    r.value,
                    stored(r, "")
                ));
            }
        }
        ExportFormat::Json => {
            out.push('[');
            for (i, r) in readings.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                let at = r
                    .stored_at
                    .map_or("null".into(), |_| format!("\"{}\"", stored(r, "")));
                out.push_str(&format!(
                    "  {{\"id\":{},\"timestamp\":\"{}\",\"sensor\":{},\"value\":{},\"stored_at\":{at}}}",
                    r.id,
                    format_timestamp(&r.timestamp),
                    serde_json::to_string(&r.sensor).unwrap(),
                    r.value
                ));
            }
            out.push_str(if readings.is_empty() { "]\n" } else { "\n]\n" });
        }
        ExportFormat::Table => {
            let header = ["id", "timestamp", "sensor", "value", "stored_at"];
            let rows: Vec<[String; 5]> = std::iter::once(header.map(String::from))
                .chain(readings.iter().map(|r| {
                    [
                        r.id.to_string(),
                        format_timestamp(&r.timestamp),
                        sanitize(&r.sensor).into_owned(),
                        r.value.to_string(),
                        stored(r, "–"),
                    ]
                }))
                .collect();
            let mut w = [0; 5];
            for row in &rows {
                for (w, cell) in w.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            for row in &rows {
                let line = format!(
                    "{:>w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:<w4$}",
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    w0 = w[0],
                    w1 = w[1],
                    w2 = w[2],
                    w3 = w[3],
                    w4 = w[4]
                );
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn export_holds_one_batch_at_a_time_and_writes_what_it_always_wrote() {
    let readings = sample();
    let mut store = Counting::default();
    for chunk in readings.chunks(1000) {
        store
            .append(&Batch {
                readings: chunk.to_vec(),
                crew_reports: vec![],
            })
            .unwrap();
    }
    let sensors = [None, Some("strain,2"), Some("nobody")];
    let limits = [
        None,
        Some(0),
        Some(1),
        Some(READ_BATCH - 1),
        Some(READ_BATCH + 5),
        Some(readings.len() - 1),
        Some(readings.len() * 2),
    ];
    for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Table] {
        for sensor in sensors {
            for limit in limits {
                let filter = ReadingFilter {
                    sensor: sensor.map(String::from),
                    limit,
                    ..ReadingFilter::default()
                };
                store.most_at_once = 0;
                let mut out = Vec::new();
                export(&mut store, &filter, format, &mut out).unwrap();
                let expected = reference(&filter.apply(readings.iter().cloned()), format);
                assert!(
                    String::from_utf8(out).unwrap() == expected,
                    "{format:?} {filter:?}: not the output of the in-memory export"
                );
                assert!(
                    store.most_at_once <= READ_BATCH,
                    "{format:?} {filter:?}: {} readings held at once",
                    store.most_at_once
                );
            }
        }
    }
    // The whole store went through in batches, not in one piece.
    assert!(store.calls > 3);
}

/// The same through every file store the binary reads: a SQLite and a CSV store of several
/// batches export what the reference writes.
#[test]
fn file_stores_export_the_same() {
    let readings = sample();
    let dir = tempfile::tempdir().unwrap();
    for url in [
        format!("sqlite:{}", dir.path().join("w.db").display()),
        format!("csv:{}", dir.path().join("w.csv").display()),
    ] {
        let mut s = store::open(&url).unwrap();
        for chunk in readings.chunks(5000) {
            s.append(&Batch {
                readings: chunk.to_vec(),
                crew_reports: vec![],
            })
            .unwrap();
        }
        for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Table] {
            for (sensor, limit) in [(None, None), (Some("thermo-1"), Some(READ_BATCH / 3 + 2))] {
                let filter = ReadingFilter {
                    sensor: sensor.map(String::from),
                    limit,
                    ..ReadingFilter::default()
                };
                let mut out = Vec::new();
                export(s.as_mut(), &filter, format, &mut out).unwrap();
                let expected = reference(&filter.apply(readings.iter().cloned()), format);
                assert!(
                    String::from_utf8(out).unwrap() == expected,
                    "{url} {format:?} {filter:?}"
                );
            }
        }
        s.close().unwrap();
    }
}

//! `wallwatch readings`: a store's readings as CSV, JSON or an aligned table.
//!
//! `timestamp` is when the sensor read it, in the run's simulated time (at `--speed 10` it runs
//! ahead of the clock); `stored_at` is the wall-clock time the store wrote it (empty, `null` or
//! `–` for readings a store kept from before it recorded that).
//!
//! CSV has the header `id,timestamp,sensor,value,stored_at`; JSON is one array of
//! `{"id","timestamp","sensor","value","stored_at"}` objects (control characters in names escaped as
//! `\uXXXX`, so the output is lossless and terminal-safe); the table aligns its columns. CSV and
//! table drop control characters from sensor names, since both may land on a terminal. A store
//! file that does not exist is an error, not created.
//!
//! Readings are streamed from the store ([`Store::for_each_reading`]), a batch at a time, so
//! memory stays the same whatever the store holds; the table reads them twice, first for its
//! column widths. A store that fails part way leaves what was written before the error.
//!
//! While it runs, progress goes to standard error when that is a terminal ([`progress`]): rows
//! done of the store's readings (the most recent `--limit`), the rate and the time left; with
//! `--sensor` the total is not known beforehand, so rows done and the rate. The table's two
//! passes are shown one after the other ("measuring", then "writing").
use std::io::{self, Write};
use std::ops::ControlFlow;

use super::progress::{self, Progress};
use crate::config::cli::{ExportFormat, ReadingsArgs};
use crate::sensors::Reading;
use crate::store::{self, ReadingFilter, Store, StoreError, format_timestamp};
use crate::text::{Columns, sanitize};

/// Why an export stopped.
enum Stop {
    Store(StoreError),
    Write(io::Error),
}

/// The whole `readings` command, to standard output.
pub fn main(args: &ReadingsArgs) -> crate::cmd::Outcome {
    run(args, &mut io::stdout().lock()).map_err(crate::cmd::Failure::bad)
}

/// Prints the readings `args` selects to `out`. Errors are one line and name the store URL.
pub fn run(args: &ReadingsArgs, out: &mut dyn Write) -> Result<(), String> {
    let mut store = store::open_existing(&args.store).map_err(|e| e.to_string())?;
    let filter = ReadingFilter {
        sensor: args.sensor.clone(),
        limit: args.limit,
        ..ReadingFilter::default()
    };
    let progress = progress_of(store.as_mut(), &filter, args.format);
    let written = export_with(store.as_mut(), &filter, args.format, out, &progress);
    drop(progress);
    let closed = store.close();
    written?;
    closed.map_err(|e| e.to_string())
}

/// The progress of an export, when standard error is a terminal: its total is the store's
/// count (at most the limit) unless a sensor is chosen, which only reading them all would tell.
fn progress_of(store: &mut dyn Store, filter: &ReadingFilter, format: ExportFormat) -> Progress {
    if !progress::wanted(false) {
        return Progress::hidden();
    }
    let total = match &filter.sensor {
        Some(_) => None,
        // A store that cannot count now fails in the export itself, with its own words.
        None => store.counts().ok().map(|c| {
            let n = c.readings;
            filter.limit.map_or(n, |limit| n.min(limit as u64))
        }),
    };
    let label = match format {
        ExportFormat::Table => "measuring",
        ExportFormat::Csv | ExportFormat::Json => "readings",
    };
    Progress::count(true, label, "rows", total)
}

/// Writes the readings `filter` selects from `store` to `out` in `format`, streaming: at most
/// one batch of the store's ([`store::READ_BATCH`]) is held at once. A closed pipe ends it
/// quietly.
pub fn export(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<(), String> {
    export_with(store, filter, format, out, &Progress::hidden())
}

/// [`export`], counting each row written on `progress`.
pub fn export_with(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    format: ExportFormat,
    out: &mut dyn Write,
    progress: &Progress,
) -> Result<(), String> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let written = match format {
        ExportFormat::Csv => write_csv(store, filter, &mut out, progress),
        ExportFormat::Json => write_json(store, filter, &mut out, progress),
        ExportFormat::Table => write_table(store, filter, &mut out, progress),
    }
    .and_then(|()| out.flush().map_err(Stop::Write));
    match written {
        Ok(()) => Ok(()),
        Err(Stop::Store(e)) => Err(e.to_string()),
        // `wallwatch readings | head` is fine.
        Err(Stop::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(Stop::Write(e)) => Err(format!(
            "store '{}': cannot write the readings ({e})",
            store.url()
        )),
    }
}

/// Hands `write` each reading `filter` selects, oldest first, until it fails, counting each on
/// `progress`.
fn each(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    progress: &Progress,
    mut write: impl FnMut(&Reading) -> io::Result<()>,
) -> Result<(), Stop> {
    let mut failed = None;
    store
        .for_each_reading(filter, &mut |r| match write(&r) {
            Ok(()) => {
                progress.inc();
                ControlFlow::Continue(())
            }
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        })
        .map_err(Stop::Store)?;
    failed.map_or(Ok(()), |e| Err(Stop::Write(e)))
}

fn write_csv(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    out: &mut impl Write,
    progress: &Progress,
) -> Result<(), Stop> {
    writeln!(out, "id,timestamp,sensor,value,stored_at").map_err(Stop::Write)?;
    let mut line = String::new();
    each(store, filter, progress, |r| {
        line.clear();
        line.push_str(&r.id.to_string());
        line.push(',');
        line.push_str(&format_timestamp(&r.timestamp));
        line.push(',');
        crate::store::push_csv_field(&mut line, &sanitize(&r.sensor));
        line.push(',');
        line.push_str(&r.value.to_string());
        line.push(',');
        if let Some(at) = &r.stored_at {
            line.push_str(&format_timestamp(at));
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    })
}

/// A JSON string literal with every control character escaped.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if crate::text::is_unsafe(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_json(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    out: &mut impl Write,
    progress: &Progress,
) -> Result<(), Stop> {
    out.write_all(b"[").map_err(Stop::Write)?;
    let mut first = true;
    each(store, filter, progress, |r| {
        let sep = if std::mem::take(&mut first) {
            "\n"
        } else {
            ",\n"
        };
        let stored_at = r.stored_at.as_ref().map_or("null".to_string(), |at| {
            format!("\"{}\"", format_timestamp(at))
        });
        write!(
            out,
            "{sep}  {{\"id\":{},\"timestamp\":\"{}\",\"sensor\":{},\"value\":{},\"stored_at\":{}}}",
            r.id,
            format_timestamp(&r.timestamp),
            json_string(&r.sensor),
            r.value,
            stored_at
        )
    })?;
    out.write_all(if first { b"]\n" } else { b"\n]\n" })
        .map_err(Stop::Write)
}

/// The table's five cells of a reading.
fn cells(r: &Reading) -> [String; 5] {
    [
        r.id.to_string(),
        format_timestamp(&r.timestamp),
        sanitize(&r.sensor).into_owned(),
        r.value.to_string(),
        r.stored_at
            .as_ref()
            .map_or("–".to_string(), format_timestamp),
    ]
}

/// Two passes: the column widths, then the rows (those of the first pass only, should the
/// store grow in between).
fn write_table(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    out: &mut impl Write,
    progress: &Progress,
) -> Result<(), Stop> {
    let header = ["id", "timestamp", "sensor", "value", "stored_at"];
    // numbers right-aligned, text left-aligned
    let mut columns = Columns::new([true, false, false, true, false]);
    columns.fit(header);
    let mut last_id = 0;
    each(store, filter, progress, |r| {
        let [a, b, c, d, e] = cells(r);
        columns.fit([&a, &b, &c, &d, &e]);
        last_id = r.id;
        Ok(())
    })?;
    writeln!(out, "{}", columns.line(header)).map_err(Stop::Write)?;
    if last_id == 0 {
        return Ok(());
    }
    progress.restart("writing");
    let mut done = false;
    each(store, filter, progress, |r| {
        if done || r.id > last_id {
            done = true;
            return Ok(());
        }
        let [a, b, c, d, e] = cells(r);
        writeln!(out, "{}", columns.line([&a, &b, &c, &d, &e]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_controls() {
        assert_eq!(
            json_string("a\"b\\c\u{1b}[2J\u{9b}"),
            "\"a\\\"b\\\\c\\u001b[2J\\u009b\""
        );
        let parsed: String = serde_json::from_str(&json_string("x\u{7f}\n\u{9b}é")).unwrap();
        assert_eq!(parsed, "x\u{7f}\n\u{9b}é");
    }

    #[test]
    fn sensor_names_are_escaped() {
        assert_eq!(
            sanitize("th\u{1b}[31mermo\n-1\u{9b}"),
            "th\\u{1b}[31mermo\\n-1\\u{9b}"
        );
    }
}

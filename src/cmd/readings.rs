//! `wallwatch readings`: a store's readings as CSV, JSON or an aligned table.
//!
//! CSV has the header `id,timestamp,sensor,value`; JSON is one array of
//! `{"id","timestamp","sensor","value"}` objects (control characters in names escaped as
//! `\uXXXX`, so the output is lossless and terminal-safe); the table aligns its columns. CSV and
//! table drop control characters from sensor names, since both may land on a terminal. A store
//! file that does not exist is an error, not created.
//!
//! Readings are streamed from the store ([`Store::for_each_reading`]), a batch at a time, so
//! memory stays the same whatever the store holds; the table reads them twice, first for its
//! column widths. A store that fails part way leaves what was written before the error.
use std::io::{self, Write};
use std::ops::ControlFlow;

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
    let written = export(store.as_mut(), &filter, args.format, out);
    let closed = store.close();
    written?;
    closed.map_err(|e| e.to_string())
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
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let written = match format {
        ExportFormat::Csv => write_csv(store, filter, &mut out),
        ExportFormat::Json => write_json(store, filter, &mut out),
        ExportFormat::Table => write_table(store, filter, &mut out),
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

/// Hands `write` each reading `filter` selects, oldest first, until it fails.
fn each(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    mut write: impl FnMut(&Reading) -> io::Result<()>,
) -> Result<(), Stop> {
    let mut failed = None;
    store
        .for_each_reading(filter, &mut |r| match write(&r) {
            Ok(()) => ControlFlow::Continue(()),
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
) -> Result<(), Stop> {
    writeln!(out, "id,timestamp,sensor,value").map_err(Stop::Write)?;
    let mut line = String::new();
    each(store, filter, |r| {
        line.clear();
        line.push_str(&r.id.to_string());
        line.push(',');
        line.push_str(&format_timestamp(&r.timestamp));
        line.push(',');
        crate::store::push_csv_field(&mut line, &sanitize(&r.sensor));
        line.push(',');
        line.push_str(&r.value.to_string());
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
) -> Result<(), Stop> {
    out.write_all(b"[").map_err(Stop::Write)?;
    let mut first = true;
    each(store, filter, |r| {
        let sep = if std::mem::take(&mut first) {
            "\n"
        } else {
            ",\n"
        };
        write!(
            out,
            "{sep}  {{\"id\":{},\"timestamp\":\"{}\",\"sensor\":{},\"value\":{}}}",
            r.id,
            format_timestamp(&r.timestamp),
            json_string(&r.sensor),
            r.value
        )
    })?;
    out.write_all(if first { b"]\n" } else { b"\n]\n" })
        .map_err(Stop::Write)
}

/// The table's four cells of a reading.
fn cells(r: &Reading) -> [String; 4] {
    [
        r.id.to_string(),
        format_timestamp(&r.timestamp),
        sanitize(&r.sensor).into_owned(),
        r.value.to_string(),
    ]
}

/// Two passes: the column widths, then the rows (those of the first pass only, should the
/// store grow in between).
fn write_table(
    store: &mut dyn Store,
    filter: &ReadingFilter,
    out: &mut impl Write,
) -> Result<(), Stop> {
    let header = ["id", "timestamp", "sensor", "value"];
    // numbers right-aligned, text left-aligned
    let mut columns = Columns::new([true, false, false, true]);
    columns.fit(header);
    let mut last_id = 0;
    each(store, filter, |r| {
        let [a, b, c, d] = cells(r);
        columns.fit([&a, &b, &c, &d]);
        last_id = r.id;
        Ok(())
    })?;
    writeln!(out, "{}", columns.line(header)).map_err(Stop::Write)?;
    if last_id == 0 {
        return Ok(());
    }
    let mut done = false;
    each(store, filter, |r| {
        if done || r.id > last_id {
            done = true;
            return Ok(());
        }
        let [a, b, c, d] = cells(r);
        writeln!(out, "{}", columns.line([&a, &b, &c, &d]))
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

//! `wallwatch readings`: a store's readings as CSV, JSON or an aligned table.
//!
//! CSV has the header `id,timestamp,sensor,value`; JSON is one array of
//! `{"id","timestamp","sensor","value"}` objects (control characters in names escaped as
//! `\uXXXX`, so the output is lossless and terminal-safe); the table aligns its columns. CSV and
//! table drop control characters from sensor names, since both may land on a terminal. A store
//! file that does not exist is an error, not created.

use crate::text::sanitize;
use std::io::{self, Write};

use crate::cli::{ExportFormat, ReadingsArgs};
use crate::sensors::Reading;
use crate::store::{self, ReadingFilter, format_timestamp};

/// Prints the readings `args` selects to `out`. Errors are one line and name the store URL.
pub fn run(args: &ReadingsArgs, out: &mut dyn Write) -> Result<(), String> {
    let mut store = store::open_existing(&args.store).map_err(|e| e.to_string())?;
    let filter = ReadingFilter {
        sensor: args.sensor.clone(),
        limit: args.limit,
        ..ReadingFilter::default()
    };
    let readings = store.readings(&filter);
    let closed = store.close();
    let readings = readings.map_err(|e| e.to_string())?;
    closed.map_err(|e| e.to_string())?;
    let written = match args.format {
        ExportFormat::Csv => write_csv(&readings, out),
        ExportFormat::Json => write_json(&readings, out),
        ExportFormat::Table => write_table(&readings, out),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `wallwatch readings | head` is fine.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!(
            "store '{}': cannot write the readings ({e})",
            store.url()
        )),
    }
}

fn write_csv(readings: &[Reading], out: &mut dyn Write) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    writeln!(out, "id,timestamp,sensor,value")?;
    let mut line = String::new();
    for r in readings {
        line.clear();
        line.push_str(&r.id.to_string());
        line.push(',');
        line.push_str(&format_timestamp(&r.timestamp));
        line.push(',');
        crate::store::push_csv_field(&mut line, &sanitize(&r.sensor));
        line.push(',');
        line.push_str(&r.value.to_string());
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// A JSON string literal with every control character escaped.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_json(readings: &[Reading], out: &mut dyn Write) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    out.write_all(b"[")?;
    for (i, r) in readings.iter().enumerate() {
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}  {{\"id\":{},\"timestamp\":\"{}\",\"sensor\":{},\"value\":{}}}",
            r.id,
            format_timestamp(&r.timestamp),
            json_string(&r.sensor),
            r.value
        )?;
    }
    out.write_all(if readings.is_empty() {
        b"]\n"
    } else {
        b"\n]\n"
    })?;
    out.flush()
}

fn write_table(readings: &[Reading], out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<[String; 4]> = readings
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                format_timestamp(&r.timestamp),
                sanitize(&r.sensor),
                r.value.to_string(),
            ]
        })
        .collect();
    let header = ["id", "timestamp", "sensor", "value"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = io::BufWriter::new(out);
    let line = |cells: [&str; 4]| {
        // numbers right-aligned, text left-aligned
        format!(
            "{:>w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        )
    };
    writeln!(out, "{}", line(header).trim_end())?;
    for row in &rows {
        writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3]]).trim_end()
        )?;
    }
    out.flush()
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

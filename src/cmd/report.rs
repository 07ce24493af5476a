//! `wallwatch report FILE`: days, ice and cost per profile (a table or JSON), or the crews' log.

use std::io::{self, BufWriter, Write};

use super::{Failure, Outcome};
use crate::config::cli::ReportArgs;
use crate::wall::report::{self, Report};

pub fn main(args: &ReportArgs) -> Outcome {
    let wall = super::query::load(&args.wall, args.json).map_err(Failure::bad)?;
    let crews = args.wall.crews();
    let mut out = BufWriter::new(io::stdout().lock());
    if args.log {
        report::write_log(&wall, crews, &mut out)?;
    } else {
        let report = Report::new(&wall, crews, args.daily);
        if args.json {
            serde_json::to_writer(&mut out, &report).map_err(io::Error::from)?;
            writeln!(out)?;
        } else {
            report.write_table(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

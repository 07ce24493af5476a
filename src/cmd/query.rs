//! `wallwatch query FILE PATH`: one of the original four paths, answered as one JSON object.

use std::io::{self, Write};

use super::{Failure, Outcome};
use crate::config::cli::QueryArgs;
use crate::config::profiles_file;
use crate::wall::query::Query;
use crate::wall::{Ledger, report};

pub fn main(args: &QueryArgs) -> Outcome {
    // Check the path before reading a possibly large file.
    let query = Query::parse(&args.path).map_err(Failure::bad)?;
    let crews = args.wall.crews();
    let answer = if query.needs_schedule(crews) {
        let wall = args.wall.load().map_err(Failure::bad)?;
        query.answer(&Ledger::new(&wall, &report::schedule(&wall, crews)))
    } else {
        // One pass over the file, a piece at a time, counting what the answer needs.
        let mut tally = query.tally();
        profiles_file::parse_into(&args.wall.file, args.wall.max_sections, &mut tally)
            .map_err(Failure::bad)?;
        query.answer_tally(&tally)
    }
    .map_err(Failure::bad)?;
    let json = serde_json::to_string(&answer).expect("an answer always serialises");
    writeln!(io::stdout(), "{json}")?;
    Ok(())
}

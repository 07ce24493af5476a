//! `wallwatch query FILE PATH`: one of the original four paths, answered as one JSON object.
//!
//! While the file is read, the bytes read, the rate and the time left show on standard error
//! when that is a terminal ([`super::progress`]).

use std::io::{self, Write};
use std::path::Path;

use super::progress::{self, Progress};
use super::{Failure, Outcome};
use crate::config::cli::{QueryArgs, WallArgs};
use crate::config::profiles_file::{self, ProfilesError};
use crate::wall::query::Query;
use crate::wall::{Ledger, Wall, report};

pub fn main(args: &QueryArgs) -> Outcome {
    // Check the path before reading a possibly large file.
    let query = Query::parse(&args.path).map_err(Failure::bad)?;
    let crews = args.wall.crews();
    let answer = if query.needs_schedule(crews) {
        let wall = load(&args.wall, false).map_err(Failure::bad)?;
        query.answer(&Ledger::new(&wall, &report::schedule(&wall, crews)))
    } else {
        // One pass over the file, a piece at a time, counting what the answer needs.
        let mut tally = query.tally();
        with_reading(&args.wall, false, |read| {
            profiles_file::parse_into_watched(
                &args.wall.file,
                args.wall.max_sections,
                &mut tally,
                read,
            )
        })
        .map_err(Failure::bad)?;
        query.answer_tally(&tally)
    }
    .map_err(Failure::bad)?;
    let json = serde_json::to_string(&answer).expect("an answer always serialises");
    writeln!(io::stdout(), "{json}")?;
    Ok(())
}

/// Loads the profiles file of `wall` (`query`, `report`), its progress shown unless the output
/// is `json`.
pub fn load(wall: &WallArgs, json: bool) -> Result<Wall, ProfilesError> {
    with_reading(wall, json, |read| {
        profiles_file::load_watched(&wall.file, wall.max_sections, read)
    })
}

/// Runs `parse` with the progress of reading the profiles file: `parse` tells its watcher the
/// bytes of each piece read. The progress line is cleared when `parse` returns.
fn with_reading<T>(
    wall: &WallArgs,
    json: bool,
    parse: impl FnOnce(&mut dyn FnMut(usize)) -> T,
) -> T {
    let progress = reading(wall, json);
    parse(&mut |n| progress.add(n as u64))
}

/// The progress of reading the profiles file: bytes read of its size (not known for standard
/// input).
fn reading(wall: &WallArgs, json: bool) -> Progress {
    let size = (wall.file != Path::new("-"))
        .then(|| std::fs::metadata(&wall.file).ok().map(|m| m.len()))
        .flatten();
    Progress::bytes(progress::wanted(json), "reading", size)
}

//! Reading a profiles file (or standard input for `-`) into a [`Wall`], with errors that name
//! the file: `walls.txt:3:7: '31' is not a height (0..=30)`.

use std::io::Read;
use std::path::Path;

use crate::wall::{HeightSink, ParseError, ReadError, Wall};

/// Loads and parses a profiles file. The error is one line naming the file (and line/column).
pub fn load(path: &Path, max_sections: usize) -> Result<Wall, String> {
    let (name, bytes) = read(path)?;
    Wall::parse(&bytes, max_sections).map_err(|e| describe(&name, &e))
}

/// Parses a profiles file (standard input for `-`) a piece at a time into `sink`, with the
/// errors of [`load`], keeping nothing but what the sink keeps.
pub fn parse_into<S: HeightSink>(
    path: &Path,
    max_sections: usize,
    sink: &mut S,
) -> Result<(), String> {
    let (name, result) = if path == Path::new("-") {
        let stdin = std::io::stdin().lock();
        (
            "<stdin>".to_string(),
            Wall::parse_from(stdin, max_sections, sink),
        )
    } else {
        let name = crate::text::sanitize(&path.display().to_string()).into_owned();
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        let result = Wall::parse_from(file, max_sections, sink);
        (name, result)
    };
    result.map_err(|e| match e {
        ReadError::Io(e) => format!("{name}: cannot read: {e}"),
        ReadError::Parse(e) => describe(&name, &e),
    })
}

/// The bytes of a profiles file (standard input for `-`) and the name its errors give it.
pub fn read(path: &Path) -> Result<(String, Vec<u8>), String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("<stdin>: cannot read: {e}"))?;
        Ok(("<stdin>".to_string(), bytes))
    } else {
        let name = crate::text::sanitize(&path.display().to_string()).into_owned();
        let bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        Ok((name, bytes))
    }
}

/// A parse error of the file `name`, on one line.
pub fn describe(name: &str, e: &ParseError) -> String {
    match e.line {
        0 => format!("{name}: {e}"),
        _ => format!("{name}:{e}"),
    }
}

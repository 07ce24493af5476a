//! Reading a profiles file (or standard input for `-`) into a [`Wall`], with errors that name
//! the file: `walls.txt:3:7: '31' is not a height (0..=30)`.

use std::io::Read;
use std::path::Path;

use crate::wall::{HeightSink, ParseError, ReadError, Wall};

/// Why a profiles file gave no wall, one line naming the file (and line and column).
#[derive(Debug, thiserror::Error)]
pub enum ProfilesError {
    /// `walls.txt: cannot read: …`.
    #[error("{file}: cannot read: {source}")]
    Unreadable {
        file: String,
        source: std::io::Error,
    },
    /// `walls.txt:3:7: …`, or `walls.txt: no profiles …` for the whole file.
    #[error("{file}{}{source}", if .source.line == 0 { ": " } else { ":" })]
    Parse { file: String, source: ParseError },
}

/// Loads and parses a profiles file. The error is one line naming the file (and line/column).
pub fn load(path: &Path, max_sections: usize) -> Result<Wall, ProfilesError> {
    let (file, bytes) = read(path)?;
    Wall::parse(&bytes, max_sections).map_err(|source| ProfilesError::Parse { file, source })
}

/// Parses a profiles file (standard input for `-`) a piece at a time into `sink`, with the
/// errors of [`load`], keeping nothing but what the sink keeps.
pub fn parse_into<S: HeightSink>(
    path: &Path,
    max_sections: usize,
    sink: &mut S,
) -> Result<(), ProfilesError> {
    let (file, result) = if path == Path::new("-") {
        let stdin = std::io::stdin().lock();
        (
            "<stdin>".to_string(),
            Wall::parse_from(stdin, max_sections, sink),
        )
    } else {
        let file = name_of(path);
        let opened = match std::fs::File::open(path) {
            Ok(opened) => opened,
            Err(source) => return Err(ProfilesError::Unreadable { file, source }),
        };
        let result = Wall::parse_from(opened, max_sections, sink);
        (file, result)
    };
    result.map_err(|e| match e {
        ReadError::Io(source) => ProfilesError::Unreadable { file, source },
        ReadError::Parse(source) => ProfilesError::Parse { file, source },
    })
}

/// The bytes of a profiles file (standard input for `-`) and the name its errors give it.
pub fn read(path: &Path) -> Result<(String, Vec<u8>), ProfilesError> {
    if path == Path::new("-") {
        let file = "<stdin>".to_string();
        let mut bytes = Vec::new();
        match std::io::stdin().read_to_end(&mut bytes) {
            Ok(_) => Ok((file, bytes)),
            Err(source) => Err(ProfilesError::Unreadable { file, source }),
        }
    } else {
        let file = name_of(path);
        match std::fs::read(path) {
            Ok(bytes) => Ok((file, bytes)),
            Err(source) => Err(ProfilesError::Unreadable { file, source }),
        }
    }
}

/// A file's name as its errors give it (it is printed on a terminal).
fn name_of(path: &Path) -> String {
    crate::text::sanitize(&path.display().to_string()).into_owned()
}

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

/// Loads and parses a profiles file (standard input for `-`), a piece at a time: a file that is
/// not a regular file is refused before it is read, and a bad line (a section over
/// `max_sections`) as soon as it is read, not after the whole file. The error is one line naming
/// the file (and line/column).
pub fn load(path: &Path, max_sections: usize) -> Result<Wall, ProfilesError> {
    load_watched(path, max_sections, &mut |_| {})
}

/// [`load`], telling `read` the number of bytes of each piece as it is read (for a progress
/// line).
pub fn load_watched(
    path: &Path,
    max_sections: usize,
    read: &mut dyn FnMut(usize),
) -> Result<Wall, ProfilesError> {
    let (file, reader) = open(path)?;
    Wall::read_from(Watched(reader, read), max_sections).map_err(|e| failed(file, e))
}

/// Parses a profiles file (standard input for `-`) a piece at a time into `sink`, with the
/// errors of [`load`], keeping nothing but what the sink keeps; tells `read` the number of
/// bytes of each piece as it is read (for a progress line).
pub fn parse_into_watched<S: HeightSink>(
    path: &Path,
    max_sections: usize,
    sink: &mut S,
    read: &mut dyn FnMut(usize),
) -> Result<(), ProfilesError> {
    let (file, reader) = open(path)?;
    Wall::parse_from(Watched(reader, read), max_sections, sink).map_err(|e| failed(file, e))
}

/// A reader that tells its watcher how much each read gave, a mebibyte at most at a time (so
/// that reading a whole file is not one read the watcher hears of at the end).
struct Watched<'a, R>(R, &'a mut dyn FnMut(usize));

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let piece = buf.len().min(1 << 20);
        let n = self.0.read(&mut buf[..piece])?;
        (self.1)(n);
        Ok(n)
    }
}

/// The reader of a profiles file (standard input for `-`), refused unless a regular file, and
/// the name its errors give it.
fn open(path: &Path) -> Result<(String, Box<dyn Read>), ProfilesError> {
    if path == Path::new("-") {
        return Ok(("<stdin>".to_string(), Box::new(std::io::stdin().lock())));
    }
    let file = name_of(path);
    match crate::files::open_regular(path) {
        Ok(opened) => Ok((file, Box::new(opened))),
        Err(source) => Err(ProfilesError::Unreadable { file, source }),
    }
}

fn failed(file: String, e: ReadError) -> ProfilesError {
    match e {
        ReadError::Io(source) => ProfilesError::Unreadable { file, source },
        ReadError::Parse(source) => ProfilesError::Parse { file, source },
    }
}

/// The bytes of a profiles file (standard input for `-`), at most `max` of them, and the name
/// its errors give it.
pub fn read(path: &Path, max: u64) -> Result<(String, Vec<u8>), ProfilesError> {
    let (file, reader) = open(path)?;
    match crate::files::read_to_limit(reader, max) {
        Ok(bytes) => Ok((file, bytes)),
        Err(source) => Err(ProfilesError::Unreadable { file, source }),
    }
}

/// A file's name as its errors give it (it is printed on a terminal).
fn name_of(path: &Path) -> String {
    crate::text::sanitize(&path.display().to_string()).into_owned()
}

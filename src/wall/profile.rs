//! Parsing wall profiles: one profile per non-blank line, heights 0..=30 separated by whitespace.
//!
//! The parser works on bytes in one pass (it is on the benchmark's hot path) and rejects a bad
//! file whole, naming the line, the column and the offending token.

use super::MAX_HEIGHT;

/// The original task's limit on sections per profile; `--max-sections` raises it.
pub const DEFAULT_MAX_SECTIONS: usize = 2000;

/// A parsed wall: all sections' heights, profile after profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "super::wire::WallWire", into = "super::wire::WallWire")]
pub struct Wall {
    heights: Vec<u8>,
    /// `starts[p]..starts[p + 1]` are profile `p`'s sections in `heights` (0-based `p`).
    starts: Vec<usize>,
}

/// Why a profiles file was rejected. `line` and `column` are 1-based (column in characters);
/// both are 0 for errors about the whole file. Shown as `3:7: '31' is not a height (0..=30)`;
/// the caller puts the file name in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{kind}", place(*.line, *.column))]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A token that is not plain decimal digits 0..=30. Holds the token, printable.
    #[error("'{0}' is not a height (0..={MAX_HEIGHT})")]
    NotAHeight(String),
    /// A profile longer than the limit.
    #[error(
        "profile has more than {limit} section{} (raise the limit with --max-sections)",
        if *.limit == 1 { "" } else { "s" }
    )]
    TooManySections { limit: usize },
    /// No profile at all.
    #[error("no profiles (the file has no non-blank line)")]
    Empty,
    /// A line longer than any profile of the limit needs ([`line_limit`]), found as it is read.
    #[error(
        "line is longer than {limit} bytes (no profile of at most {max_sections} sections needs that much)"
    )]
    LineTooLong { limit: usize, max_sections: usize },
}

/// The longest line [`Wall::parse_from`] reads: 8 bytes a section (a height takes 2 with its
/// space), and at least 1 MiB.
pub fn line_limit(max_sections: usize) -> usize {
    max_sections.saturating_mul(8).max(1 << 20)
}

/// `LINE:COLUMN: ` in front of an error's kind, or nothing for the whole file (line 0).
fn place(line: usize, column: usize) -> String {
    match line {
        0 => String::new(),
        _ => format!("{line}:{column}: "),
    }
}

impl ParseError {
    /// A file without a profile.
    fn empty() -> ParseError {
        ParseError {
            line: 0,
            column: 0,
            kind: ParseErrorKind::Empty,
        }
    }
}

/// Why a profiles file read from a reader was not parsed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    #[error(transparent)]
    Parse(ParseError),
}

/// Longest token quoted in an error; the rest is elided.
const MAX_QUOTED: usize = 24;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// What [`Wall::parse_into`] hands the heights of a profiles file to, in file order.
pub trait HeightSink {
    /// The next section's height (0..=30) of the current profile.
    fn height(&mut self, h: u8);
    /// The current profile (at least one section) has ended.
    fn end_profile(&mut self);
}

/// The sink of [`Wall::parse`] and [`Wall::read_from`]: keeps the whole wall.
struct WallSink {
    heights: Vec<u8>,
    starts: Vec<usize>,
}

impl WallSink {
    /// No profile yet, room for `sections` heights.
    fn with_capacity(sections: usize) -> WallSink {
        WallSink {
            heights: Vec::with_capacity(sections),
            starts: vec![0],
        }
    }

    fn into_wall(self) -> Wall {
        Wall {
            heights: self.heights,
            starts: self.starts,
        }
    }
}

impl HeightSink for WallSink {
    #[inline]
    fn height(&mut self, h: u8) {
        self.heights.push(h);
    }
    fn end_profile(&mut self) {
        self.starts.push(self.heights.len());
    }
}

impl Wall {
    /// Parses a profiles file. `max_sections` limits each profile's length.
    pub fn parse(src: &[u8], max_sections: usize) -> Result<Wall, ParseError> {
        let mut sink = WallSink::with_capacity(src.len() / 2 + 1);
        Wall::parse_into(src, max_sections, &mut sink)?;
        Ok(sink.into_wall())
    }

    /// Parses a profiles file exactly as [`Wall::parse`] does (the same checks, the same
    /// errors), handing each height to `sink` instead of keeping the wall: one pass, nothing
    /// kept but what the sink keeps.
    pub fn parse_into<S: HeightSink>(
        src: &[u8],
        max_sections: usize,
        sink: &mut S,
    ) -> Result<(), ParseError> {
        if Wall::parse_lines(src, max_sections, sink, 1)?.0 {
            Ok(())
        } else {
            Err(ParseError::empty())
        }
    }

    /// Reads and parses a profiles file from `reader` with [`Wall::parse_from`]: the same
    /// checks and errors as [`Wall::parse`], found as the file is read, not after its end.
    pub fn read_from(reader: impl std::io::Read, max_sections: usize) -> Result<Wall, ReadError> {
        let mut sink = WallSink::with_capacity(0);
        Wall::parse_from(reader, max_sections, &mut sink)?;
        Ok(sink.into_wall())
    }

    /// [`Wall::parse_into`] reading `reader` a piece of whole lines at a time (64 KiB, or one
    /// line if longer): the same checks and errors, in memory bounded by the longest line. A line
    /// longer than a piece is checked as it comes ([`PartLine`]): a bad token or one section too
    /// many is refused once read, and a line is read up to [`line_limit`], so that a stream
    /// without line ends (`/dev/zero`) ends in an error, not in all of memory.
    pub fn parse_from<S: HeightSink>(
        mut reader: impl std::io::Read,
        max_sections: usize,
        sink: &mut S,
    ) -> Result<(), ReadError> {
        const PIECE: usize = 64 * 1024;
        let mut buf: Vec<u8> = Vec::with_capacity(PIECE);
        let mut chunk = vec![0u8; PIECE];
        let mut line = 1;
        let mut any = false;
        let mut eof = false;
        let mut part = PartLine::default();
        while !eof {
            // Up to PIECE more after what is left of the last piece (a part line): what one
            // read gives, so that a pipe's lines are parsed as they come.
            let start = buf.len();
            let read = loop {
                match reader.read(&mut chunk) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    read => break read.map_err(ReadError::Io)?,
                }
            };
            buf.extend_from_slice(&chunk[..read]);
            eof = read == 0;
            // Whole lines only, unless the file ends here. What was left had no line end.
            let end = if eof {
                buf.len()
            } else {
                match buf[start..].iter().rposition(|&b| b == b'\n') {
                    Some(last) => start + last + 1,
                    None => {
                        // A line longer than the buffer: checked so far, then read on.
                        part.check(&buf, max_sections, line)
                            .map_err(ReadError::Parse)?;
                        continue;
                    }
                }
            };
            let piece = &buf[..end];
            let (found, next_line) =
                Wall::parse_lines(piece, max_sections, sink, line).map_err(ReadError::Parse)?;
            any |= found;
            line = next_line;
            buf.drain(..end);
            // The start of the next line, checked before waiting for its end.
            part = PartLine::default();
            if !eof {
                part.check(&buf, max_sections, line)
                    .map_err(ReadError::Parse)?;
            }
        }
        if any {
            Ok(())
        } else {
            Err(ReadError::Parse(ParseError::empty()))
        }
    }

    /// Parses whole lines (`src` ends at a line end or the end of the file), the first being
    /// line `first_line`: whether a profile was found, and the number of the line after them.
    ///
    /// One function on purpose, a little over the house's length: it runs once per section, and
    /// split into steps (a struct for the profile, the fast and slow paths as functions) it took
    /// 10.6 % more instructions over a file of a million sections (callgrind: 37.86 M against
    /// 41.85 M for `query large_500x2000.txt /profiles/overview`; see docs/benchmarks.md).
    fn parse_lines<S: HeightSink>(
        src: &[u8],
        max_sections: usize,
        sink: &mut S,
        first_line: usize,
    ) -> Result<(bool, usize), ParseError> {
        let mut in_profile = 0usize;
        let mut any = false;
        let mut line = first_line;
        let mut line_start = 0;
        let mut i = 0;
        let n = src.len();
        while i < n {
            // Fastest path, without branches that depend on the digits: a one- or two-digit
            // height followed by a space (most of every file).
            if let Some(&[b0, b1, b2]) = src.get(i..i + 3) {
                let d0 = b0.wrapping_sub(b'0');
                let d1 = b1.wrapping_sub(b'0');
                // Arithmetic instead of a branch: one- and two-digit heights come in no order.
                let two = u8::from(d1 < 10);
                let value = d0.wrapping_add(two.wrapping_mul(d0.wrapping_mul(9).wrapping_add(d1)));
                let sep = b1.wrapping_add(two.wrapping_mul(b2.wrapping_sub(b1)));
                if d0 < 10 && sep == b' ' && value <= MAX_HEIGHT && in_profile != max_sections {
                    sink.height(value);
                    in_profile += 1;
                    i += 2 + usize::from(two);
                    continue;
                }
            }
            let b = src[i];
            // Fast path: a one- or two-digit height followed by a separator or the end.
            if b.is_ascii_digit() {
                let token_start = i;
                let mut value = b - b'0';
                i += 1;
                if i < n && src[i].is_ascii_digit() {
                    value = value * 10 + (src[i] - b'0');
                    i += 1;
                }
                // Rare: leading zeros (`007`) or a long number.
                while i < n && src[i].is_ascii_digit() {
                    value = value.saturating_mul(10).saturating_add(src[i] - b'0');
                    i += 1;
                }
                // The byte after the token: the usual single space is consumed here too.
                let next = if i < n { src[i] } else { b'\n' };
                let separated = next == b' ' || next == b'\n' || is_space(next);
                if !separated || value > MAX_HEIGHT {
                    return Err(bad_token(src, Place { line, line_start }, token_start));
                }
                if in_profile == max_sections {
                    return Err(ParseError {
                        line,
                        column: column_of(&src[line_start..token_start]),
                        kind: ParseErrorKind::TooManySections {
                            limit: max_sections,
                        },
                    });
                }
                sink.height(value);
                in_profile += 1;
                i += usize::from(next == b' ');
            } else if b == b'\n' {
                if in_profile != 0 {
                    sink.end_profile();
                    in_profile = 0;
                    any = true;
                }
                line += 1;
                i += 1;
                line_start = i;
            } else if is_space(b) {
                i += 1;
            } else {
                return Err(bad_token(src, Place { line, line_start }, i));
            }
        }
        if in_profile != 0 {
            sink.end_profile();
            any = true;
        }
        Ok((any, line))
    }

    /// Builds a wall from profiles' heights (for tests and generated walls).
    /// Panics on an empty wall or a height over 30: those are programming errors here.
    pub fn from_profiles<P: AsRef<[u8]>>(profiles: &[P]) -> Wall {
        let mut heights = Vec::new();
        let mut starts = vec![0];
        for p in profiles {
            let p = p.as_ref();
            assert!(!p.is_empty(), "a profile has at least one section");
            assert!(p.iter().all(|&h| h <= MAX_HEIGHT), "heights are 0..=30");
            heights.extend_from_slice(p);
            starts.push(heights.len());
        }
        assert!(!heights.is_empty(), "a wall has at least one profile");
        Wall { heights, starts }
    }

    /// A wall from checked parts: `starts` begins at 0, rises strictly, and ends at
    /// `heights.len()`; heights are 0..=30.
    pub(super) fn from_parts(heights: Vec<u8>, starts: Vec<usize>) -> Wall {
        Wall { heights, starts }
    }

    /// Number of profiles.
    pub fn profiles(&self) -> usize {
        self.starts.len() - 1
    }

    /// Number of sections over all profiles.
    pub fn sections(&self) -> usize {
        self.heights.len()
    }

    /// Heights of profile `p` (0-based).
    pub fn profile(&self, p: usize) -> &[u8] {
        &self.heights[self.starts[p]..self.starts[p + 1]]
    }

    /// All heights, profile after profile (the crews' queue order).
    pub fn heights(&self) -> &[u8] {
        &self.heights
    }

    /// Index in [`Wall::heights`] of profile `p`'s first section (0-based `p`; `p == profiles()`
    /// gives the end).
    pub fn profile_start(&self, p: usize) -> usize {
        self.starts[p]
    }

    /// The 0-based profile holding flat section index `i`.
    pub fn profile_of(&self, i: usize) -> usize {
        self.starts.partition_point(|&s| s <= i) - 1
    }

    /// Feet still to raise over the whole wall.
    pub fn feet_to_raise(&self) -> u64 {
        self.heights
            .iter()
            .map(|&h| u64::from(MAX_HEIGHT - h))
            .sum()
    }
}

/// What is known of a line longer than a piece while it is read (it starts the buffer of
/// [`Wall::parse_from`]): the bytes looked at, the sections begun, whether the last byte was in
/// a height, and where the first byte that is neither digit nor space is.
#[derive(Debug, Default)]
struct PartLine {
    scanned: usize,
    sections: usize,
    in_height: bool,
    bad_at: Option<usize>,
}

/// A sink that keeps nothing (the errors of a part line are all that is wanted of it).
struct Discard;

impl HeightSink for Discard {
    fn height(&mut self, _: u8) {}
    fn end_profile(&mut self) {}
}

impl PartLine {
    /// Looks at the bytes of `buf` (a line's start, no line end yet) read since the last call:
    /// an error once the line so far has a bad token (with a few bytes after it, to quote it
    /// whole) or a section too many (read to its end), each as [`Wall::parse`] words it (a
    /// line's start has every error the line has up to there), or once the line is longer than
    /// [`line_limit`].
    fn check(&mut self, buf: &[u8], max_sections: usize, line: usize) -> Result<(), ParseError> {
        for (i, &b) in buf.iter().enumerate().skip(self.scanned) {
            if b.is_ascii_digit() {
                self.sections += usize::from(!self.in_height);
                self.in_height = true;
            } else if is_space(b) {
                self.in_height = false;
            } else {
                self.bad_at.get_or_insert(i);
                self.in_height = false;
            }
        }
        self.scanned = buf.len();
        let quotable = self
            .bad_at
            .is_some_and(|at| buf.len() - at > 4 * MAX_QUOTED);
        // The section over the limit read whole (it may be a bad token: `31`).
        let over = self.sections > max_sections.saturating_add(1)
            || (self.sections > max_sections && !self.in_height);
        let limit = line_limit(max_sections);
        if quotable || over || buf.len() > limit {
            Wall::parse_lines(buf, max_sections, &mut Discard, line)?;
        }
        if buf.len() > limit {
            return Err(ParseError {
                line,
                column: column_of(&buf[..limit]),
                kind: ParseErrorKind::LineTooLong {
                    limit,
                    max_sections,
                },
            });
        }
        Ok(())
    }
}

/// The line being parsed: its number and where it starts in the piece.
#[derive(Debug, Clone, Copy)]
struct Place {
    line: usize,
    line_start: usize,
}

impl Place {
    /// An error of `kind` at byte `i` of this line.
    fn error(self, src: &[u8], i: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            line: self.line,
            column: column_of(&src[self.line_start..i]),
            kind,
        }
    }
}

/// The error for the token starting at `start`: it runs to the next separator.
fn bad_token(src: &[u8], at: Place, start: usize) -> ParseError {
    let len = src[start..]
        .iter()
        .position(|&c| c == b'\n' || is_space(c))
        .unwrap_or(src.len() - start);
    at.error(
        src,
        start,
        ParseErrorKind::NotAHeight(printable(&src[start..start + len])),
    )
}

/// 1-based character column of the byte after `before` on its line.
fn column_of(before: &[u8]) -> usize {
    String::from_utf8_lossy(before).chars().count() + 1
}

/// A token as it may be shown on a terminal: control characters escaped, long tokens cut.
fn printable(token: &[u8]) -> String {
    let text = String::from_utf8_lossy(token);
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == MAX_QUOTED {
            out.push('…');
            break;
        }
        if crate::text::is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps the heights and profile ends it is given.
    #[derive(Debug, Default, PartialEq)]
    struct Seen(Vec<Option<u8>>);

    impl HeightSink for Seen {
        fn height(&mut self, h: u8) {
            self.0.push(Some(h));
        }
        fn end_profile(&mut self) {
            self.0.push(None);
        }
    }

    /// A reader handing out at most a few bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 7 + 1;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read_both(text: &[u8], max: usize) -> (Result<Seen, ParseError>, Result<Seen, ParseError>) {
        let mut whole = Seen::default();
        let whole = Wall::parse_into(text, max, &mut whole).map(|()| whole);
        let mut pieces = Seen::default();
        let pieces = match Wall::parse_from(Trickle(text, 0), max, &mut pieces) {
            Ok(()) => Ok(pieces),
            Err(ReadError::Parse(e)) => Err(e),
            Err(ReadError::Io(e)) => panic!("{e}"),
        };
        (whole, pieces)
    }

    /// Read in pieces, a file gives what it gives whole: the same heights, profiles and errors
    /// (line and column included), across piece ends and with lines longer than a piece.
    #[test]
    fn reading_in_pieces_is_reading_whole() {
        let mut big = String::new();
        for p in 0..40 {
            for s in 0..(p * 97 % 3000 + 1) {
                big.push_str(&((p + s) % 31).to_string());
                big.push(if s % 5 == 0 { '\t' } else { ' ' });
            }
            big.push_str(if p % 3 == 0 { "\r\n\n" } else { "\n" });
        }
        let long_line: String = (0..70_000).map(|i| format!("{} ", i % 31)).collect();
        let mut texts = vec![
            big.clone(),
            format!("{big}{long_line}"),
            format!("{long_line}\n{big}"),
            format!("{big}1 2 x3\n"),
            format!("{big}{long_line}31\n"),
            format!("{long_line}{long_line}"),
            // Bad tokens and long runs of spaces inside a line longer than a piece.
            format!("{long_line}9 a{long_line}"),
            format!("{long_line}12x\n"),
            format!("{}5 6\n", " ".repeat(200_000)),
            String::new(),
            "\n \n\t\n".to_string(),
            "5".to_string(),
        ];
        let mut bad = big.clone();
        bad.insert_str(big.len() * 2 / 3, " 0x7 ");
        texts.push(bad);
        for text in &texts {
            for max in [2000, 70_000, 3] {
                let (whole, pieces) = read_both(text.as_bytes(), max);
                assert_eq!(whole, pieces, "max {max}, {} bytes", text.len());
            }
        }
    }

    fn parse(s: &str) -> Result<Wall, ParseError> {
        Wall::parse(s.as_bytes(), DEFAULT_MAX_SECTIONS)
    }

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_example() {
        let wall = parse("21 25 28\n17\n17 22 17 19 17\n").unwrap();
        assert_eq!(wall.profiles(), 3);
        assert_eq!(wall.profile(0), &[21, 25, 28]);
        assert_eq!(wall.profile(1), &[17]);
        assert_eq!(wall.profile(2), &[17, 22, 17, 19, 17]);
        assert_eq!(wall.sections(), 9);
        assert_eq!(wall.profile_of(3), 1);
        assert_eq!(wall.profile_of(4), 2);
    }

    #[test]
    fn blank_lines_crlf_tabs_and_spaces_are_fine() {
        let wall = parse("\r\n  \n\t0\t 30  \r\n\n\n5\r\n   ").unwrap();
        assert_eq!(wall.profiles(), 2);
        assert_eq!(wall.profile(0), &[0, 30]);
        assert_eq!(wall.profile(1), &[5]);
        // No final newline.
        assert_eq!(parse("1 2").unwrap().profile(0), &[1, 2]);
    }

    #[test]
    fn bad_tokens_name_line_column_and_token() {
        assert_eq!(err("1 2\n\n3 4 31\n"), "3:5: '31' is not a height (0..=30)");
        assert_eq!(err("-1"), "1:1: '-1' is not a height (0..=30)");
        assert_eq!(err("+1"), "1:1: '+1' is not a height (0..=30)");
        assert_eq!(err("1.5"), "1:1: '1.5' is not a height (0..=30)");
        assert_eq!(err("12 ab"), "1:4: 'ab' is not a height (0..=30)");
        assert_eq!(
            err("1 #comment"),
            "1:3: '#comment' is not a height (0..=30)"
        );
        assert_eq!(err("1,2"), "1:1: '1,2' is not a height (0..=30)");
        assert_eq!(
            err("99999999999999999999999"),
            "1:1: '99999999999999999999999' is not a height (0..=30)"
        );
        assert_eq!(err("1\t2  é"), "1:6: 'é' is not a height (0..=30)");
    }

    #[test]
    fn control_characters_in_tokens_are_escaped_and_long_tokens_cut() {
        assert_eq!(
            err("1\x1b[31m"),
            "1:1: '1\\u{1b}[31m' is not a height (0..=30)"
        );
        let long = "x".repeat(100);
        assert_eq!(
            err(&long),
            format!("1:1: '{}…' is not a height (0..=30)", "x".repeat(24))
        );
    }

    #[test]
    fn leading_zeros_are_plain_digits() {
        assert_eq!(parse("007 030 00").unwrap().profile(0), &[7, 30, 0]);
        assert_eq!(err("0031"), "1:1: '0031' is not a height (0..=30)");
        assert_eq!(err("300"), "1:1: '300' is not a height (0..=30)");
        assert_eq!(err("1 2x"), "1:3: '2x' is not a height (0..=30)");
    }

    #[test]
    fn empty_files_are_rejected() {
        assert_eq!(err(""), "no profiles (the file has no non-blank line)");
        assert_eq!(
            err(" \n\t\r\n"),
            "no profiles (the file has no non-blank line)"
        );
    }

    #[test]
    fn section_limit_applies_per_profile() {
        let line = ["1"; 5].join(" ");
        let src = format!("1\n{line}\n");
        assert!(Wall::parse(src.as_bytes(), 5).is_ok());
        let e = Wall::parse(format!("{line} 1").as_bytes(), 5).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:11: profile has more than 5 sections (raise the limit with --max-sections)"
        );
        let two_thousand = vec!["0"; 2000].join(" ");
        assert!(parse(&two_thousand).is_ok());
        assert!(parse(&format!("{two_thousand} 0")).is_err());
    }
}

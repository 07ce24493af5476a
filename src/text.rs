//! Text from data (file names, sensor names, log messages) made safe for a terminal.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw: a control character (C0, DEL, C1 — so ESC, CSI,
/// OSC, BEL), a bidirectional formatting character (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069: an override such as U+202E reverses how what follows it is drawn, so a name
/// can show as another), or a line or paragraph separator (U+2028, U+2029).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// Replaces the characters of [`is_unsafe`] with visible escapes (`\u{1b}`, `\n`, `\u{202e}`),
/// so data can never move the cursor, set the clipboard, ring the bell or reorder the line,
/// and the reader sees what the character was. The one sanitizer for the CLI and the screen;
/// borrowed when already clean, the common case, so a frame's clean names cost no allocation.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with no raw character of [`is_unsafe`] left: serde_json escapes C0 inside strings,
/// but writes DEL, C1 (U+0080–U+009F, which a terminal may take as CSI and the like) and the
/// bidirectional controls raw; those become `\uXXXX` escapes, which read back as the same
/// string. Outside strings JSON text has no such characters, so the text stays the same JSON
/// value.
pub fn json_without_controls(json: String) -> String {
    if !json.chars().any(is_unsafe) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` on one line: each run of white space (line ends among it) one space, none at its
/// ends (an error of a store or a panic's message, for a log line or a summary).
pub fn one_line(text: &dyn std::fmt::Display) -> String {
    text.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest error line shown whole, in characters.
pub const MAX_LINE: usize = 400;

/// `line` cut in its middle when it is longer than `max` characters: its start and its end
/// (where a message says what is wrong with the value it quotes) around `…[N characters cut]…`,
/// so a 10 MB value in a setting still gives one readable line.
pub fn cut_middle(line: &str, max: usize) -> Cow<'_, str> {
    let count = line.chars().count();
    if count <= max {
        return Cow::Borrowed(line);
    }
    let head = max * 2 / 3;
    let tail = max - head;
    let start: String = line.chars().take(head).collect();
    let end: String = line.chars().skip(count - tail).collect();
    let cut = thousands((count - head - tail) as u64);
    Cow::Owned(format!("{start}…[{cut} characters cut]…{end}"))
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Prints `line` on stdout. A closed or dead stdout (a pipe's reader gone, the terminal of a
/// dropped ssh session) loses the line instead of panicking as `println!` does: the run's
/// data is in the store either way.
pub fn print_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Aligned columns of text, two spaces apart, each as wide as its widest cell (in characters):
/// `fit` every row (the header too) first, then print each with `line`.
#[derive(Debug, Clone)]
pub struct Columns<const N: usize> {
    widths: [usize; N],
    right: [bool; N],
}

impl<const N: usize> Columns<N> {
    /// Columns right-aligned where `right` says (numbers), left-aligned elsewhere (text).
    pub fn new(right: [bool; N]) -> Columns<N> {
        Columns {
            widths: [0; N],
            right,
        }
    }

    /// Widens the columns to hold `cells`.
    pub fn fit(&mut self, cells: [&str; N]) {
        for (w, cell) in self.widths.iter_mut().zip(cells) {
            *w = (*w).max(cell.chars().count());
        }
    }

    /// One row, without trailing spaces.
    pub fn line(&self, cells: [&str; N]) -> String {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = self.widths[i].saturating_sub(cell.chars().count());
            if self.right[i] {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.truncate(s.trim_end().len());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_characters() {
        let mut c = Columns::new([true, false, true]);
        let rows = [
            ["id", "name", "v"],
            ["7", "é·x", "-100"],
            ["1234", "a", "5"],
        ];
        for r in rows {
            c.fit(r);
        }
        let lines: Vec<String> = rows.iter().map(|r| c.line(*r)).collect();
        assert_eq!(
            lines,
            ["  id  name     v", "   7  é·x   -100", "1234  a        5"]
        );
        // a left-aligned last column leaves no trailing spaces
        let mut c = Columns::new([true, false]);
        c.fit(["1", "long"]);
        assert_eq!(c.line(["1", "x"]), "1  x");
    }

    #[test]
    fn json_keeps_its_value_without_raw_controls() {
        let name = "a\u{1b}[2J\u{7f}b\u{9b}31m\u{85}é";
        let json = serde_json::to_string(&serde_json::json!({ "sensor": name })).unwrap();
        assert!(
            json.contains('\u{9b}'),
            "serde_json writes C1 raw: {json:?}"
        );
        let safe = json_without_controls(json);
        assert!(!safe.chars().any(char::is_control), "{safe:?}");
        assert_eq!(safe, r#"{"sensor":"a\u001b[2J\u007fb\u009b31m\u0085é"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["sensor"], name);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sanitize("plain name"), "plain name");
        assert!(matches!(sanitize("plain · ü"), Cow::Borrowed(_)));
        assert_eq!(
            sanitize("a\x1b]52;c;AAAA\x07b"),
            "a\\u{1b}]52;c;AAAA\\u{7}b"
        );
        assert_eq!(sanitize("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(sanitize("tab\tnew\nline"), "tab\\tnew\\nline");
        assert_eq!(
            sanitize("a\x1b[31mb\x07c\u{9b}d\r\n\t\x7f"),
            "a\\u{1b}[31mb\\u{7}c\\u{9b}d\\r\\n\\t\\u{7f}"
        );
    }

    #[test]
    fn bidirectional_controls_are_escaped() {
        assert_eq!(sanitize("abc\u{202e}fed"), "abc\\u{202e}fed");
        for c in [
            '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{2028}',
        ] {
            let s = format!("x{c}y");
            assert!(!sanitize(&s).contains(c), "{s:?}");
            let json = json_without_controls(serde_json::to_string(&s).unwrap());
            assert!(!json.contains(c), "{json:?}");
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
        }
        // Letters of right-to-left scripts are text, not controls.
        assert_eq!(sanitize("שלום"), "שלום");
    }

    #[test]
    fn long_lines_are_cut_in_the_middle() {
        assert_eq!(cut_middle("short", 10), "short");
        let long = format!("error: '{}' is not a speed", "x".repeat(10_000_000));
        let cut = cut_middle(&long, MAX_LINE);
        assert!(cut.chars().count() < MAX_LINE + 40, "{}", cut.len());
        assert!(cut.starts_with("error: 'xxx"), "{cut}");
        assert!(cut.ends_with("xxx' is not a speed"), "{cut}");
        assert!(cut.contains("…[9,999,624 characters cut]…"), "{cut}");
        // Cut on characters, never inside one.
        let wide = "é".repeat(1000);
        assert_eq!(
            cut_middle(&wide, 10).chars().filter(|c| *c == 'é').count(),
            10
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(32_233_500), "32,233,500");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}

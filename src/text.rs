//! Text from data (file names, sensor names, log messages) made safe for a terminal.

use std::borrow::Cow;

/// Replaces control characters (C0, DEL, C1 — so ESC, CSI, OSC, BEL) with visible escapes
/// (`\u{1b}`, `\n`), so data can never move the cursor, set the clipboard or ring the bell, and
/// the reader sees what the character was. The one sanitizer for the CLI and the screen;
/// borrowed when already clean, the common case, so a frame's clean names cost no allocation.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with no raw control character left: serde_json escapes C0 inside strings, but
/// writes DEL and C1 (U+0080–U+009F, which a terminal may take as CSI and the like) raw; those
/// become `\u00XX` escapes, which read back as the same string. Outside strings JSON text has
/// no such characters, so the text stays the same JSON value.
pub fn json_without_controls(json: String) -> String {
    if !json.chars().any(char::is_control) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
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
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(32_233_500), "32,233,500");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}

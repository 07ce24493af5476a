//! Text from data (file names, sensor names, log messages) made safe for a terminal.

/// Replaces control characters (C0, DEL, C1 — so ESC, CSI, OSC, BEL) with visible escapes,
/// so data can never move the cursor, set the clipboard or ring the bell.
pub fn sanitize(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sanitize("plain name"), "plain name");
        assert_eq!(
            sanitize("a\x1b]52;c;AAAA\x07b"),
            "a\\u{1b}]52;c;AAAA\\u{7}b"
        );
        assert_eq!(sanitize("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(sanitize("tab\tnew\nline"), "tab\\tnew\\nline");
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

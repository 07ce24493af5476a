//! Fuzzes `Wall::parse`: the first byte is `max_sections` (0..=255), the rest is the file.
//!
//! Properties, beyond "never panics":
//! - the result agrees with a plain, slow reference reading of the format (lines split on `\n`,
//!   tokens on ASCII whitespace, each token all digits with value 0..=30, at most `max_sections`
//!   per profile, blank lines skipped): the same profiles on success, the same first error
//!   (line, column, kind, quoted token) on failure;
//! - on success every height is ≤ 30, there is at least one profile, each is 1..=max_sections
//!   long, the accessors agree with each other, and the wall written back out (heights joined by
//!   spaces, profiles by newlines) parses to an equal wall;
//! - on failure the message is one line without control characters (safe for a terminal), and
//!   line and column are ≥ 1 except for the empty-file error, where both are 0.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wallwatch::wall::{MAX_HEIGHT, ParseError, Wall};

/// Whitespace between heights, as the format defines it (`\n` ends a profile).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// What the reference expects: the profiles, or (line, column, Debug of the error kind).
type Expected = Result<Vec<Vec<u8>>, (usize, usize, String)>;

/// 1-based character column of a token that starts after `before` on its line.
fn column(before: &[u8]) -> usize {
    String::from_utf8_lossy(before).chars().count() + 1
}

/// A token as an error quotes it: control characters escaped, at most 24 characters then `…`.
fn quoted(token: &[u8]) -> String {
    let text = String::from_utf8_lossy(token);
    let mut out: String = text
        .chars()
        .take(24)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if text.chars().count() > 24 {
        out.push('…');
    }
    out
}

/// Token value if it is a height: plain ASCII digits (leading zeros allowed), 0..=30.
fn height(token: &[u8]) -> Option<u8> {
    if token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = std::str::from_utf8(token).ok()?.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 2 {
        return None;
    }
    let v: u8 = digits.parse().ok()?;
    (v <= MAX_HEIGHT).then_some(v)
}

/// The slow, obvious reading of a profiles file.
fn reference(src: &[u8], max_sections: usize) -> Expected {
    let mut profiles = Vec::new();
    for (l, line) in src.split(|&b| b == b'\n').enumerate() {
        let mut profile = Vec::new();
        let mut i = 0;
        while i < line.len() {
            if is_space(line[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < line.len() && !is_space(line[i]) {
                i += 1;
            }
            let token = &line[start..i];
            let col = column(&line[..start]);
            let Some(h) = height(token) else {
                return Err((l + 1, col, format!("NotAHeight({:?})", quoted(token))));
            };
            if profile.len() == max_sections {
                return Err((
                    l + 1,
                    col,
                    format!("TooManySections {{ limit: {max_sections} }}"),
                ));
            }
            profile.push(h);
        }
        if !profile.is_empty() {
            profiles.push(profile);
        }
    }
    if profiles.is_empty() {
        return Err((0, 0, "Empty".to_string()));
    }
    Ok(profiles)
}

fn check_ok(wall: &Wall, max_sections: usize, expected: &Expected) {
    assert!(wall.profiles() >= 1, "a wall has at least one profile");
    assert!(
        wall.heights().iter().all(|&h| h <= MAX_HEIGHT),
        "height over 30"
    );
    let mut total = 0;
    let mut profiles = Vec::new();
    for p in 0..wall.profiles() {
        let profile = wall.profile(p);
        assert!(
            (1..=max_sections).contains(&profile.len()),
            "profile {p} has {} sections, limit {max_sections}",
            profile.len()
        );
        assert_eq!(wall.profile_start(p), total);
        assert_eq!(&wall.heights()[total..total + profile.len()], profile);
        assert_eq!(wall.profile_of(total), p);
        assert_eq!(wall.profile_of(total + profile.len() - 1), p);
        total += profile.len();
        profiles.push(profile.to_vec());
    }
    assert_eq!(wall.sections(), total);
    assert_eq!(wall.profile_start(wall.profiles()), total);
    let feet: u64 = wall.heights().iter().map(|&h| u64::from(30 - h)).sum();
    assert_eq!(wall.feet_to_raise(), feet);
    match expected {
        Ok(want) => assert_eq!(&profiles, want, "parsed profiles differ from the reference"),
        Err(e) => panic!("parsed Ok but the reference expects the error {e:?}"),
    }

    // Written back out, the wall parses to itself.
    let text = profiles
        .iter()
        .map(|p| p.iter().map(u8::to_string).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    let again = Wall::parse(text.as_bytes(), max_sections)
        .unwrap_or_else(|e| panic!("re-serialised wall {text:?} does not parse: {e}"));
    assert_eq!(&again, wall, "re-serialised wall parses differently");
}

fn check_err(err: &ParseError, expected: &Expected) {
    let message = err.to_string();
    assert!(!message.is_empty());
    assert!(
        !message.chars().any(char::is_control),
        "error message has a control character (newline included): {message:?}"
    );
    let kind = format!("{:?}", err.kind);
    if kind == "Empty" {
        assert_eq!((err.line, err.column), (0, 0), "{message}");
    } else {
        assert!(err.line >= 1 && err.column >= 1, "{err:?}: {message}");
        assert!(
            message.starts_with(&format!("{}:{}: ", err.line, err.column)),
            "message does not start with line:column: {message:?}"
        );
    }
    match expected {
        Ok(_) => panic!("parse failed ({message}) but the reference accepts the input"),
        Err((line, column, want)) => assert_eq!(
            (err.line, err.column, &kind),
            (*line, *column, want),
            "error differs from the reference: {message}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, src)) = data.split_first() else {
        return;
    };
    let max_sections = usize::from(first);
    let expected = reference(src, max_sections);
    match Wall::parse(src, max_sections) {
        Ok(wall) => check_ok(&wall, max_sections, &expected),
        Err(err) => check_err(&err, &expected),
    }
});

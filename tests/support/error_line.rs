//! The line that says what is wrong, as a refusal on stderr words it: wallwatch's own errors
//! are that one line; a mistake in the command line itself is clap's message in clap's layout
//! (the error first, then perhaps a tip and the usage line, then where to read more).

/// The first line of `stderr` (`error: …`, `wallwatch: …`), after checking that it is one line
/// or clap's layout.
pub fn error_line(stderr: &str) -> String {
    let text = stderr.trim_end();
    let first = text.lines().next().unwrap_or_default();
    let clap_s =
        first.starts_with("error: ") && text.ends_with("\n\nFor more information, try '--help'.");
    assert!(
        text.lines().count() == 1 || clap_s,
        "neither one line nor clap's message: {stderr:?}"
    );
    first.to_string()
}

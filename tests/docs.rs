//! The user's documentation stays true to the repository and to the binary:
//!
//! - every relative link in README.md, CHANGELOG.md and docs/*.md points at a file of this
//!   repository that exists, and an anchor (`path#anchor`, `#anchor`) at a heading of that file
//!   under GitHub's slug rule;
//! - every `--flag` that `wallwatch --help` and each subcommand's `--help` list is written
//!   somewhere in docs/*.md.
//!
//! Only the built binary and std are used (no module of the library), so the test does not
//! depend on how the source tree is laid out.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, CHANGELOG.md and every docs/*.md, as paths relative to the repository.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md"), PathBuf::from("CHANGELOG.md")];
    let mut pages: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("docs/ can be listed").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| Path::new("docs").join(path.file_name().expect("a file name")))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

fn read(rel: &Path) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()))
}

/// The lines of a Markdown file outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<(char, usize)> = None;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let mark = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = mark.map_or(0, |c| trimmed.chars().take_while(|x| *x == c).count());
        match fence {
            Some((c, n)) => {
                if mark == Some(c) && run >= n && trimmed[run..].trim().is_empty() {
                    fence = None;
                }
            }
            None if run >= 3 => fence = Some((mark.expect("a fence mark"), run)),
            None => lines.push((i + 1, line)),
        }
    }
    lines
}

/// The line with its inline code spans blanked out, so that `[a](b)` quoted as code is no link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + ticks..];
        match after.find(&"`".repeat(ticks)) {
            Some(end) => {
                out.push_str(&" ".repeat(ticks * 2 + end));
                rest = &after[end + ticks..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of the inline links `[text](target)` and images on one line, and of a
/// reference definition `[label]: target`.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    let trimmed = line.trim_start();
    if trimmed.starts_with('[')
        && let Some(end) = trimmed.find("]:")
        && let Some(target) = trimmed[end + 2..].split_whitespace().next()
    {
        targets.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
    }
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = i;
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let inside = after[..end].trim();
        let target = if let Some(angle) = inside.strip_prefix('<') {
            angle.split('>').next().unwrap_or("")
        } else {
            inside.split_whitespace().next().unwrap_or("")
        };
        targets.push(target.to_string());
        rest = &after[end.min(after.len())..];
    }
    targets
}

/// GitHub's anchor for a heading's text: lowercase; everything but letters, digits, spaces,
/// `-` and `_` dropped; each space a `-`.
fn slug(heading: &str) -> String {
    // A link in a heading counts by its text only.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        match rest[open..].find("](") {
            Some(mid) => {
                let close = rest[open + mid..].find(')').map(|c| open + mid + c);
                text.push_str(&rest[..open]);
                text.push_str(&rest[open + 1..open + mid]);
                rest = close.map_or("", |c| &rest[c + 1..]);
            }
            None => break,
        }
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings, with GitHub's `-1`, `-2`… for repeats.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let rest = &trimmed[hashes..];
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
            continue;
        }
        let title = rest.trim().trim_end_matches('#').trim();
        let base = slug(title);
        let count = seen.entry(base.clone()).or_insert(0);
        out.push(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    out
}

/// `a/b/../c` as `a/c`, without touching the file system; `None` when it climbs above the start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What is wrong with one link of `file` (a path relative to the repository), if anything.
fn check_link(file: &Path, target: &str) -> Option<String> {
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
    {
        return None;
    }
    if target.is_empty() {
        return Some("the link has no target".to_string());
    }
    if target.contains("://") {
        return Some("a link to another scheme than http(s) or mailto".to_string());
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let dir = file.parent().unwrap_or(Path::new(""));
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        match normalize(&dir.join(percent_decode(path))) {
            Some(p) => p,
            None => return Some(format!("`{path}` leaves the repository")),
        }
    };
    let full = root().join(&resolved);
    if !full.exists() {
        return Some(format!("{} does not exist", resolved.display()));
    }
    let anchor = anchor?;
    if full.is_dir() || resolved.extension().is_none_or(|ext| ext != "md") {
        return Some(format!(
            "#{anchor} is an anchor into {}, which is not a Markdown file",
            resolved.display()
        ));
    }
    let known = anchors(&read(&resolved));
    if known.iter().any(|a| a == anchor) {
        None
    } else {
        Some(format!(
            "no heading of {} has the anchor #{anchor} (its anchors: {})",
            resolved.display(),
            known.join(", ")
        ))
    }
}

#[test]
fn every_relative_link_resolves_to_a_file_and_a_heading() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = read(&file);
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                checked += 1;
                if let Some(why) = check_link(&file, &target) {
                    problems.push(format!(
                        "{}:{number}: link ({target}): {why}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no links found: the link reader is broken");
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn help(args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wallwatch"));
    command.args(args).arg("--help").env("NO_COLOR", "1");
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("wallwatch {} --help: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "wallwatch {} --help failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The subcommands under "Commands:" and the long flags under "Options:" of one help text.
fn parse_help(text: &str) -> (Vec<String>, Vec<String>) {
    let mut commands = Vec::new();
    let mut flags = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        // An item starts at a small indent; its description's continuation lines are deeper.
        if trimmed.is_empty() || indent > 6 {
            continue;
        }
        match section {
            "Commands" => {
                if let Some(name) = trimmed.split_whitespace().next() {
                    commands.push(name.to_string());
                }
            }
            "Options" if trimmed.starts_with('-') => {
                let spec = trimmed.split("  ").next().unwrap_or("");
                for token in spec.split([' ', ',']) {
                    if let Some(long) = token.strip_prefix("--") {
                        let name: String = long
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                            .collect();
                        if !name.is_empty() {
                            flags.push(format!("--{name}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (commands, flags)
}

/// Whether `flag` is written in `text` as itself (`--log` is not found in `--log-file`).
fn mentions(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + flag.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn every_flag_of_every_subcommand_is_in_docs() {
    let mut docs = String::new();
    for file in doc_files() {
        if file.starts_with("docs") {
            docs.push_str(&read(&file));
            docs.push('\n');
        }
    }

    // (subcommand path, its flags), walking "Commands:" lists from the top.
    let mut found: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let (commands, flags) = parse_help(&text);
        assert!(
            text.contains("Options:"),
            "wallwatch {} --help has no Options: section; the help reader needs updating:\n{text}",
            args.join(" ")
        );
        for command in commands.into_iter().filter(|c| c != "help") {
            let mut next = path.clone();
            next.push(command);
            todo.push(next);
        }
        found.push((path, flags));
    }
    let names: BTreeSet<String> = found.iter().map(|(p, _)| p.join(" ")).collect();
    for expected in ["run", "serve", "bench", "bench pipeline"] {
        assert!(
            names.contains(expected),
            "`{expected}` was not found walking `wallwatch --help` (found: {names:?}); the help reader needs updating"
        );
    }

    let mut missing = BTreeSet::new();
    let mut total = 0;
    for (path, flags) in &found {
        for flag in flags {
            if flag == "--help" || flag == "--version" {
                continue;
            }
            total += 1;
            if !mentions(&docs, flag) {
                let who = if path.is_empty() {
                    "wallwatch".to_string()
                } else {
                    path.join(" ")
                };
                missing.insert(format!("{who} {flag}"));
            }
        }
    }
    assert!(
        total > 20,
        "only {total} flags found in the help texts: the help reader is broken"
    );
    assert!(
        missing.is_empty(),
        "{} flag(s) of `wallwatch --help` are not written as `--flag` anywhere in docs/*.md:\n{}",
        missing.len(),
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_slug_rule_is_githubs() {
    assert_eq!(slug("The site's HTTP API"), "the-sites-http-api");
    assert_eq!(
        slug("The pipeline (`wallwatch bench pipeline`)"),
        "the-pipeline-wallwatch-bench-pipeline"
    );
    assert_eq!(slug("Stores — and export"), "stores--and-export");
    assert_eq!(slug("snake_case and 3 digits"), "snake_case-and-3-digits");
    assert_eq!(slug("A [link](x.md) in a heading"), "a-link-in-a-heading");
    assert_eq!(
        anchors("# A\n## A\n```\n# not a heading\n```\n### A\n"),
        ["a", "a-1", "a-2"]
    );
}

#[test]
fn links_are_read_as_markdown_reads_them() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x), ![b](s.png \"t\") and `[c](no.md)`"),
        ["docs/a.md#x", "s.png"]
    );
    assert_eq!(link_targets("[ref]: ../elsewhere.md"), ["../elsewhere.md"]);
    let text = "a\n```sh\n[x](nothing.md)\n```\nb [y](y.md)\n";
    let found: Vec<String> = prose_lines(text)
        .into_iter()
        .flat_map(|(_, l)| link_targets(l))
        .collect();
    assert_eq!(found, ["y.md"]);
    assert!(check_link(Path::new("docs/x.md"), "../../outside.md").is_some());
    assert!(check_link(Path::new("README.md"), "https://example.org/").is_none());
}

/// Installing this repository's binary keeps to Cargo.lock (`cargo install` without `--locked`
/// resolves the dependencies anew), and the Rust version the README and the development page
/// name is the `rust-version` Cargo.toml declares, so an older toolchain is told so by cargo.
#[test]
fn install_is_locked_and_the_rust_version_is_declared() {
    for file in doc_files() {
        for (n, line) in read(&file).lines().enumerate() {
            if line.contains("cargo install") && line.contains("--path") {
                assert!(
                    line.contains("--locked"),
                    "{}:{}: `cargo install --path` without --locked: {line}",
                    file.display(),
                    n + 1
                );
            }
        }
    }
    let manifest = read(Path::new("Cargo.toml"));
    let declared = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("Cargo.toml declares a rust-version");
    assert!(
        read(Path::new("README.md")).contains(&format!("Rust ({declared}+)")),
        "README.md does not name Rust {declared}, the rust-version of Cargo.toml"
    );
    assert!(
        read(Path::new("docs/development.md")).contains(&format!("Rust {declared} or later")),
        "docs/development.md does not name Rust {declared}"
    );
}

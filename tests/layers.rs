//! The layers of src/ as docs/architecture.md draws them, held to the code: each top-level
//! module may name (`crate::…`) only the modules of the layers below it (and its own).
//! Code under `#[cfg(test)]` is left out: a unit test may build what it needs from above.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each module with the modules it may use. Lowest first.
#[rustfmt::skip]
const RULES: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("hash", &[]),
    ("runtime", &[]),
    ("files", &[]),
    ("units", &["text"]),
    ("logfile", &["text"]),
    ("lockfile", &["text", "files"]),
    ("wall", &["text", "hash", "units"]),
    ("sensors", &["text", "hash", "units"]),
    ("store", &["text", "hash", "units", "runtime", "files", "lockfile", "wall", "sensors"]),
    ("engine", &["text", "hash", "units", "runtime", "files", "lockfile", "wall", "sensors", "store"]),
    ("site", &["text", "hash", "units", "wall", "sensors", "engine"]),
    // The views over the site model.
    ("broker", &["text", "hash", "units", "runtime", "files", "sensors", "store", "engine"]),
    ("serve", &["text", "units", "runtime", "lockfile", "engine", "site"]),
    ("http", &["text", "units", "runtime", "files", "wall", "sensors", "store", "engine", "site"]),
    // One viewer's state and its palette; it never draws.
    ("app", &["text", "units", "wall", "sensors", "engine", "site"]),
    ("ui", &["text", "units", "wall", "sensors", "engine", "site", "app"]),
    ("term", &["text", "units", "engine", "site", "app", "ui", "logfile"]),
    // Everything a run is made of, from flags and the file.
    (
        "config",
        &[
            "text", "hash", "units", "files", "wall", "sensors", "store", "engine", "broker",
            "http", "serve", "app",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of src/ belongs to (`src/engine/network.rs` → `engine`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::a` or `crate::a::b` a file names outside its tests and comments, with the line.
fn uses(text: &str) -> Vec<(usize, String, Option<String>)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        for piece in code.split("crate::").skip(1) {
            let mut names = piece
                .split("::")
                .map(|s| {
                    s.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .take(2);
            let top = names.next().unwrap_or_default();
            let second = names.next().filter(|s| !s.is_empty());
            if !top.is_empty() {
                found.push((n + 1, top, second));
            }
        }
    }
    found
}

#[test]
fn no_module_names_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = BTreeSet::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some((_, allowed)) = RULES.iter().find(|(m, _)| *m == module) else {
            continue; // cmd, main and lib sit on top: they may use anything.
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, top, second) in uses(&text) {
            if top == module {
                continue;
            }
            let path = match &second {
                Some(s) => format!("{top}::{s}"),
                None => top.clone(),
            };
            if !allowed.iter().any(|a| *a == top || *a == path) {
                broken.insert(format!(
                    "{}:{line}: {module} uses crate::{path}",
                    file.strip_prefix(src.parent().unwrap()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports that run up the layers (see docs/architecture.md):\n{}",
        broken.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_place_in_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let placed: BTreeSet<&str> = RULES.iter().map(|(m, _)| *m).collect();
    let unplaced: Vec<&String> = modules
        .iter()
        .filter(|m| !placed.contains(m.as_str()) && !["cmd", "main", "lib"].contains(&m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer: {unplaced:?} (add them to RULES and docs/architecture.md)"
    );
}

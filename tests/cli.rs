//! The real binary's query and report commands: answers, shapes, errors and exit codes.

#[path = "support/wallwatch_bin.rs"]
mod wallwatch_bin;

use serde_json::Value;
use wallwatch_bin::wallwatch;

const EXAMPLE: &str = "assets/profiles.txt";

fn stdout_of(args: &[&str]) -> String {
    let out = wallwatch().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and expects exit 2, nothing on stdout, and one line on stderr; returns that line.
fn error_of(args: &[&str], stdin: &str) -> String {
    let out = wallwatch().args(args).write_stdin(stdin).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    err.trim_end().to_string()
}

/// Runs a command line clap refuses: exit 2, nothing on stdout, and clap's own message on
/// stderr (the error, for a misused argument the usage line, where to read more); returns its
/// first line.
fn usage_error_of(args: &[&str]) -> String {
    let out = wallwatch().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    let bad_value = err.starts_with("error: invalid value");
    assert!(
        bad_value || err.contains("\n\nUsage: wallwatch"),
        "{args:?}: no usage line: {err}"
    );
    assert!(
        err.trim_end()
            .ends_with("For more information, try '--help'."),
        "{args:?}: {err}"
    );
    err.lines().next().unwrap_or_default().to_string()
}

#[test]
fn every_query_path_answers_exactly() {
    let cases = [
        (
            "/profiles/1/days/1",
            r#"{"profile":1,"day":1,"ice_amount":585}"#,
        ),
        (
            "/profiles/1/overview/1",
            r#"{"profile":1,"day":1,"cost":1111500}"#,
        ),
        ("/profiles/overview/1", r#"{"day":1,"cost":3334500}"#),
        ("/profiles/overview", r#"{"day":null,"cost":32233500}"#),
        (
            "/profiles/2/days/13",
            r#"{"profile":2,"day":13,"ice_amount":195}"#,
        ),
        (
            "/profiles/2/days/14",
            r#"{"profile":2,"day":14,"ice_amount":0}"#,
        ),
        ("/profiles/overview/100", r#"{"day":100,"cost":32233500}"#),
    ];
    for (path, expected) in cases {
        assert_eq!(
            stdout_of(&["query", EXAMPLE, path]),
            format!("{expected}\n"),
            "{path}"
        );
    }
}

#[test]
fn queries_answer_for_n_crews() {
    // One crew: one foot a day, 87 days.
    assert_eq!(
        stdout_of(&["query", EXAMPLE, "/profiles/overview/87", "--crews", "1"]),
        "{\"day\":87,\"cost\":32233500}\n"
    );
    assert_eq!(
        stdout_of(&["query", EXAMPLE, "/profiles/overview/86", "--crews", "1"]),
        format!("{{\"day\":86,\"cost\":{}}}\n", 86 * 370_500)
    );
    assert_eq!(
        stdout_of(&["query", EXAMPLE, "/profiles/2/days/17", "--crews", "1"]),
        "{\"profile\":2,\"day\":17,\"ice_amount\":195}\n"
    );
    assert_eq!(
        stdout_of(&["query", EXAMPLE, "/profiles/3/days/17", "--crews", "1"]),
        "{\"profile\":3,\"day\":17,\"ice_amount\":0}\n"
    );
}

#[test]
fn standard_input_is_read_for_dash() {
    let out = wallwatch()
        .args(["query", "-", "/profiles/overview"])
        .write_stdin("0 29\n\n30\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{{\"day\":null,\"cost\":{}}}\n", 31 * 370_500)
    );
}

#[test]
fn report_json_has_the_documented_shape() {
    let json: Value = serde_json::from_str(&stdout_of(&[
        "report", EXAMPLE, "--json", "--daily", "--crews", "3",
    ]))
    .unwrap();
    assert_eq!(json["crews"], 3);
    assert_eq!(json["profiles"], 3);
    assert_eq!(json["sections"], 9);
    assert_eq!(json["days_to_finish"], 31);
    assert_eq!(json["total_ice"], 16_965);
    assert_eq!(json["total_cost"], 32_233_500);
    let per_profile = json["per_profile"].as_array().unwrap();
    assert_eq!(per_profile.len(), 3);
    assert_eq!(
        per_profile[2],
        serde_json::json!({"profile":3,"sections":5,"days_to_finish":31,"ice":11310,"cost":21489000})
    );
    let daily = json["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 31);
    assert_eq!(
        daily[0],
        serde_json::json!({"day":1,"ice_per_profile":[585,0,0],"ice":585,"cost":1111500,"cost_to_date":1111500})
    );
    assert_eq!(daily[30]["cost_to_date"], 32_233_500);

    let unlimited: Value =
        serde_json::from_str(&stdout_of(&["report", EXAMPLE, "--json"])).unwrap();
    assert_eq!(unlimited["crews"], Value::Null);
    assert_eq!(unlimited["days_to_finish"], 13);
    assert!(unlimited.get("daily").is_none());
}

#[test]
fn report_days_for_the_example_crews() {
    for (crews, days) in [("1", 87), ("3", 31), ("10", 13), ("unlimited", 13)] {
        let json: Value =
            serde_json::from_str(&stdout_of(&["report", EXAMPLE, "--json", "--crews", crews]))
                .unwrap();
        assert_eq!(json["days_to_finish"], days, "{crews} crews");
    }
}

#[test]
fn report_table_and_log() {
    let table = stdout_of(&["report", EXAMPLE, "--crews", "3"]);
    assert!(table.starts_with("Wall: 3 profiles, 9 sections, 3 crews\nDone on day 31: 16,965 cubic yards of ice, 32,233,500 Gold Dragons\n"));
    assert!(
        table.contains("  total         9    31     16,965  32,233,500\n"),
        "{table}"
    );

    let log = stdout_of(&["report", EXAMPLE, "--crews", "3", "--log"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines[0],
        "day 1 · crew 1 · profile 1 section 1 · 21 → 22 ft"
    );
    assert!(lines.contains(&"day 5 · crew 2 · completed profile 1 section 2"));
    assert_eq!(lines.iter().filter(|l| l.contains("relieved")).count(), 3);
    // One line per foot raised plus one per relieved crew.
    assert_eq!(lines.len(), 87 + 3);
}

#[test]
fn malformed_files_are_rejected_whole() {
    let cases = [
        (
            "1 2\n\n3 4 31\n",
            "error: <stdin>:3:5: '31' is not a height (0..=30)",
        ),
        (
            "1 -2\n",
            "error: <stdin>:1:3: '-2' is not a height (0..=30)",
        ),
        (
            "1\n2.5\n",
            "error: <stdin>:2:1: '2.5' is not a height (0..=30)",
        ),
        (
            "# wall\n",
            "error: <stdin>:1:1: '#' is not a height (0..=30)",
        ),
        (
            "",
            "error: <stdin>: no profiles (the file has no non-blank line)",
        ),
        (
            "\n \r\n",
            "error: <stdin>: no profiles (the file has no non-blank line)",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            error_of(&["query", "-", "/profiles/overview"], input),
            expected
        );
        assert_eq!(error_of(&["report", "-", "--json"], input), expected);
    }
    let long = vec!["1"; 2001].join(" ");
    assert_eq!(
        error_of(&["report", "-"], &long),
        "error: <stdin>:1:4001: profile has more than 2000 sections (raise the limit with --max-sections)"
    );
    let out = wallwatch()
        .args(["report", "-", "--json", "--max-sections", "2001"])
        .write_stdin(long)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn the_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("walls.txt");
    std::fs::write(&file, "1 2 3\n4 5 6\n7 8 9 x\n").unwrap();
    let name = file.to_str().unwrap();
    assert_eq!(
        error_of(&["report", name], ""),
        format!("error: {name}:3:7: 'x' is not a height (0..=30)")
    );
    let missing = dir.path().join("missing.txt");
    let err = error_of(&["report", missing.to_str().unwrap()], "");
    assert!(
        err.starts_with(&format!("error: {}: cannot read:", missing.display())),
        "{err}"
    );
}

#[test]
fn bad_queries_and_flags() {
    assert_eq!(
        error_of(&["query", EXAMPLE, "/profiles/1/days/0"], ""),
        "error: day 0 does not exist (days start at 1)"
    );
    assert_eq!(
        error_of(&["query", EXAMPLE, "/profiles/4/overview/1"], ""),
        "error: profile 4 does not exist (the wall has 3 profiles)"
    );
    assert!(
        error_of(&["query", EXAMPLE, "/walls/1"], "").starts_with("error: unknown path '/walls/1'")
    );
    assert!(
        error_of(&["query", EXAMPLE, "/profiles/1/days/x"], "").starts_with("error: unknown path")
    );
    assert!(usage_error_of(&["report", EXAMPLE, "--crews", "0"]).contains("--crews"));
    assert!(
        usage_error_of(&["report", EXAMPLE, "--crews", "many"])
            .contains("'many' is not a crew count")
    );
    assert!(usage_error_of(&["report", EXAMPLE, "--max-sections", "0"]).contains("--max-sections"));
    assert!(usage_error_of(&["report", EXAMPLE, "--bogus"]).contains("--bogus"));
    assert!(usage_error_of(&["query", EXAMPLE]).contains("required"));
}

/// clap's errors keep clap's layout: the error, its tip, a blank line, the usage line of the
/// command, where to read more; what was typed is quoted with control characters escaped.
#[test]
fn command_line_mistakes_are_clap_s_own_message() {
    let out = wallwatch()
        .args(["report", EXAMPLE, "--crew", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: unexpected argument '--crew' found\n\
         \n  tip: a similar argument exists: '--crews'\n\
         \nUsage: wallwatch report --crews <CREWS> <FILE>\n\
         \nFor more information, try '--help'.\n"
    );
    let first = usage_error_of(&["report", EXAMPLE, "--crews", "x\u{7}\u{9b}y"]);
    assert!(first.contains(r"x\u{7}\u{9b}y"), "{first}");
    assert!(!first.chars().any(char::is_control), "{first:?}");
}

/// Each subcommand's help lists only what it takes: `serve` has no screen, so `--headless` and
/// `--palette` are neither offered nor taken; the dashboard's `run` still has both.
#[test]
fn serve_offers_no_screen_options() {
    let help = |args: &[&str]| {
        let out = wallwatch().args(args).arg("--help").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let serve = help(&["serve"]);
    for flag in ["--headless", "--palette"] {
        assert!(!serve.contains(flag), "serve --help lists {flag}:\n{serve}");
        assert!(help(&["run"]).contains(flag), "run --help lacks {flag}");
        assert!(help(&[]).contains(flag), "wallwatch --help lacks {flag}");
        let first = usage_error_of(&["serve", flag, "256"]);
        assert!(
            first.starts_with(&format!("error: unexpected argument '{flag}' found")),
            "{first}"
        );
    }
    assert!(help(&["attach"]).contains("--palette"));
}

/// Success on a closed pipe is decided by the error's kind, not by its text: a file whose name
/// says "Broken pipe" is still a missing file (exit 2), and a reader that goes away early
/// (`| head -c 1`) is still no error.
#[test]
fn broken_pipe_is_a_kind_not_a_text() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("Broken pipe.txt");
    let missing = missing.to_str().unwrap();
    let err = error_of(&["query", missing, "/profiles/overview"], "");
    assert!(err.contains("Broken pipe.txt: cannot read"), "{err}");
    let err = error_of(&["report", missing], "");
    assert!(err.contains("Broken pipe.txt: cannot read"), "{err}");

    // A reader that closes the pipe after one byte of a long report.
    let bin = assert_cmd::cargo::cargo_bin("wallwatch");
    let wall: String = (0..400).map(|_| "0 1 2 3 4 5 6 7 8 9\n").collect();
    let file = dir.path().join("wall.txt");
    std::fs::write(&file, wall).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' report '{}' --log --crews 3 | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            bin.display(),
            file.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

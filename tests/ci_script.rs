//! What `.ci/run` must keep doing: build with the lock file as committed, and stop the
//! throwaway PostgreSQL server however the script ends, even when starting it fails half way.

const CI: &str = include_str!("../.ci/run");

/// The script's command lines (comments and `echo`s left out).
fn commands() -> impl Iterator<Item = &'static str> {
    CI.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with("echo"))
}

#[test]
fn every_cargo_build_is_locked() {
    let cargo: Vec<&str> = commands().filter(|l| l.starts_with("cargo ")).collect();
    assert!(cargo.len() >= 4, "{cargo:?}");
    for line in cargo {
        // `cargo fmt` resolves nothing.
        if !line.starts_with("cargo fmt") {
            assert!(line.contains(" --locked"), "not locked: {line}");
        }
    }
}

#[test]
fn the_postgres_trap_is_set_before_the_server_starts() {
    let lines: Vec<&str> = commands().collect();
    let trap = lines
        .iter()
        .position(|l| l.starts_with("trap ") && l.contains("stop_test_postgres"))
        .expect("a trap that stops the server");
    let start = lines
        .iter()
        .position(|l| l.starts_with("source .ci/postgres.sh"))
        .expect("the server is started");
    assert!(trap < start, "the trap comes after the server starts");
    assert!(lines[trap].contains("EXIT"));
}

#[test]
fn the_mosquitto_trap_is_set_before_the_broker_starts_and_stops_postgres_too() {
    let lines: Vec<&str> = commands().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("source .ci/mosquitto.sh"))
        .expect("the broker is started");
    let trap = lines[..start]
        .iter()
        .rposition(|l| l.starts_with("trap "))
        .expect("a trap before the broker starts");
    assert!(
        lines[trap].contains("stop_test_mosquitto"),
        "{}",
        lines[trap]
    );
    // A later trap replaces an earlier one: it must still stop the PostgreSQL server.
    assert!(
        lines[trap].contains("stop_test_postgres"),
        "{}",
        lines[trap]
    );
    assert!(lines[trap].contains("EXIT"));
}

/// The page's browser tests run under CI (they never skip there): the script installs the
/// browser before the tests.
#[test]
fn the_browser_is_installed_before_the_tests() {
    let lines: Vec<&str> = commands().collect();
    let install = lines
        .iter()
        .position(|l| l.contains("apt-get install -y -qq chromium chromium-driver"))
        .expect("chromium and chromium-driver installed");
    let test = lines
        .iter()
        .position(|l| l.starts_with("cargo test"))
        .expect("the tests");
    assert!(install < test);
}

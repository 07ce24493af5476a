//! The wallwatch binary this test run built, as the command-line tests run it.

use assert_cmd::Command;

pub fn wallwatch() -> Command {
    Command::cargo_bin("wallwatch").unwrap()
}

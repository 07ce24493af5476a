//! The packages' man pages and shell completions, made from the command line's own clap
//! definitions: `cargo run --locked --example generate_assets -- DIR` writes a page for
//! `wallwatch` and one for every subcommand (`DIR/man/wallwatch-serve.1`, …, clap_mangen) and
//! the bash, zsh and fish completions (`DIR/completions/`, clap_complete). `pkg/build.sh` runs
//! it before building the .deb and the .rpm.
//!
//! An example rather than a build script or a hidden subcommand: `cargo build` neither
//! compiles the generators nor runs them, and the installed binary carries none of them.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;
use wallwatch::config::cli::Cli;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: generate_assets DIR");
        std::process::exit(2);
    };
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d)?;
    }
    clap_mangen::generate_to(Cli::command(), &man)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "wallwatch", &completions)?;
    }
    Ok(())
}

//! Fuzzes the TOML config file: arbitrary bytes written to a file and loaded by
//! `Config::from_args` exactly as `--config FILE` does.
//!
//! Properties, beyond "never panics": an error is one line without control characters (it is
//! printed on a terminal) that names the file; an accepted file gives a usable configuration
//! (positive network limit, batch size, day length; a non-empty wall).

#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wallwatch::config::cli::RunArgs;
use wallwatch::config::{Config, DEFAULT_CREWS};

/// One file per fuzzing process, rewritten for every input.
static FILE: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("wallwatch-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("wallwatch.toml")
});

fuzz_target!(|data: &[u8]| {
    std::fs::write(&*FILE, data).unwrap();
    let args = RunArgs { config: Some(FILE.clone()), ..RunArgs::default() };
    match Config::from_args(&args, DEFAULT_CREWS) {
        Ok(config) => {
            assert!(config.engine.network_limit >= 1);
            assert!(config.engine.batch_size >= 1);
            assert!(config.engine.day_seconds > 0.0 && config.engine.day_seconds.is_finite());
            assert!(config.engine.wall.sections() >= 1);
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text:?}");
            assert!(!text.chars().any(char::is_control), "{text:?}");
            assert!(text.starts_with(&FILE.display().to_string()), "{text:?}");
        }
    }
});

//! Benchmarks run by `wallwatch bench …` on the real engine and stores.

pub mod broker;
pub mod browser;
pub mod control;
pub mod http_client;
pub mod pipeline;
pub mod proc;
pub mod site_process;
pub mod soak;
pub mod tui;
pub mod viewer;
pub mod web;

/// A benchmark's result on stdout: one JSON object with `--json`, else the table `table` prints.
/// A failed run is bad input (its one line, exit 2).
pub fn print_result<R: serde::Serialize>(
    json: bool,
    result: Result<R, String>,
    table: impl FnOnce(&R),
) -> crate::cmd::Outcome {
    let r = result.map_err(crate::cmd::Failure::bad)?;
    if json {
        println!("{}", serde_json::to_string(&r).unwrap_or_default());
    } else {
        table(&r);
    }
    Ok(())
}

/// The median of `v` (the upper of the middle two for an even count; 0 for none), as the
/// benchmarks report their rounds.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

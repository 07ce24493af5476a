//! The tokio runtimes the commands run on, built one way, with one error message.

use tokio::runtime::{Builder, Runtime};

/// The site's runtime (the engine and everything it drives: sensors, network, collector, crews,
/// the site model, viewers' sessions): one worker thread, whatever the machine. The caller's
/// own future (`block_on`: the dashboard's loop, `serve`'s) runs on the calling thread, the
/// store's writes on tokio's blocking pool, and the HTTP API, the PostgreSQL client and the
/// latency wire on threads of their own.
///
/// Why one: the engine is one pipeline into one collector. On two workers tokio spreads the
/// producers and the collector over both threads, and each hand-off between them parks and
/// wakes a thread (17,000 futex waits a second per worker at `--speed max`); on one worker a
/// hand-off is a push on a local queue. Measured side by side on 2 cores at `--speed max`,
/// `memory:`, 5 alternating pairs: 6.54-6.74 M readings/s on one worker against 4.1-6.6 on two,
/// and under an HTTP load (wrk, 64 connections) 0.97 of that rate against 0.88, the API
/// meanwhile answering 42,600 requests a second against 11,300.
pub fn site() -> Result<Runtime, String> {
    Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Runs `f` to its end on a fresh [`site`] runtime (`run`, `--headless`, `serve`), then ends
/// the runtime without waiting long for its blocking pool: a store call that never returns (a
/// drain cut short at its deadline) must not keep the process from exiting.
pub fn run_site<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    let runtime = site()?;
    let output = runtime.block_on(f);
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(output)
}

/// A runtime on the calling thread (clients of a site, the PostgreSQL store's worker).
pub fn current_thread() -> Result<Runtime, String> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

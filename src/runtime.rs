//! The tokio runtimes the commands run on, built one way, with one error message.

use tokio::runtime::{Builder, Runtime};

/// A runtime on worker threads (the engine and everything it drives).
pub fn multi_thread() -> Result<Runtime, String> {
    Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// A runtime on the calling thread (clients of a site, the PostgreSQL store's worker).
pub fn current_thread() -> Result<Runtime, String> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

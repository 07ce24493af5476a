//! The configurations the in-process tests start from.

use wallwatch::config::Config;

/// The example configuration on a memory store.
pub fn on_memory_store() -> Config {
    let mut c = Config::example();
    c.engine.store = "memory:".parse().unwrap();
    c
}

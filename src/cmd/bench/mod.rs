//! Benchmarks run by `wallwatch bench …` on the real engine and stores.

pub mod broker;
pub mod pipeline;
pub mod proc;
pub mod soak;
pub mod tui;

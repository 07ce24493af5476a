//! Why the engine could not start or stop cleanly.

use std::fmt;

use crate::sensors::SensorError;
use crate::store::StoreError;

/// Why the engine could not start or stop cleanly. One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    Store(StoreError),
    Sensor(SensorError),
    /// An option out of its range (options built without `Config`, which checks them first).
    Options(String),
    /// An engine task panicked: which, and its message. The run was ended because of it.
    Panicked(String),
    Internal(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Store(e) => write!(f, "{e}"),
            EngineError::Sensor(e) => write!(f, "{e}"),
            EngineError::Options(e) | EngineError::Panicked(e) | EngineError::Internal(e) => {
                f.write_str(e)
            }
        }
    }
}

impl std::error::Error for EngineError {}

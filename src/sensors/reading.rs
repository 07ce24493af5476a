//! The reading model: what a sensor says, once the collector has given it an id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Smallest value a sensor may report.
pub const MIN_VALUE: i32 = -100;
/// Largest value a sensor may report.
pub const MAX_VALUE: i32 = 100;

/// One sensor reading. `id` is assigned by the collector (strictly increasing, never reused);
/// before that it is 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub id: u64,
    /// When the sensor read it, in the run's simulated time (at `--speed 10` ten seconds pass
    /// in each real one), so that readings keep the pace of the wall's days.
    pub timestamp: DateTime<Utc>,
    pub sensor: String,
    pub value: i32,
    /// The wall-clock time it was written to the store; `None` before that, and for readings
    /// a store kept from before it recorded the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_at: Option<DateTime<Utc>>,
}

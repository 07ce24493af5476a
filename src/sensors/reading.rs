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
    pub timestamp: DateTime<Utc>,
    pub sensor: String,
    pub value: i32,
}

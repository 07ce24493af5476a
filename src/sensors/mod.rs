//! Sensors: pure domain, no tokio. The reading model and the factory of sensor kinds.

mod reading;

pub use reading::{MAX_VALUE, MIN_VALUE, Reading};

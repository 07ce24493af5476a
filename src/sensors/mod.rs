//! Sensors: pure domain, no tokio. The reading model and the factory of sensor kinds.

mod kind;
mod reading;

pub use kind::{KINDS, Sensor, SensorError, SensorFactory};
pub use reading::{MAX_VALUE, MIN_VALUE, Reading};

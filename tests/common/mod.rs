//! Only for `examples/preview.rs`, which includes this file by path (examples/ is not this
//! change's to edit): the tests take these helpers from `tests/support/`. Delete this folder
//! once preview.rs includes `support/fixed_run.rs` and `support/test_backend.rs` itself.
#![allow(unused_imports)]

#[path = "../support/fixed_run.rs"]
mod fixed_run;
#[path = "../support/test_backend.rs"]
mod test_backend;

pub use fixed_run::*;
pub use test_backend::*;

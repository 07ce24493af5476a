//! The site's Unix socket: where it listens and who may connect (`socket`), one session per
//! connection (`session`), the frames both ends speak (`protocol`), and the client's side of
//! them (`client`: `attach`, `status` and `stop` connect through it).

pub mod client;
pub mod protocol;
pub mod session;
pub mod socket;

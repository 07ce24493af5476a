//! The site's Unix socket: where it listens (`socket`), who may connect and steer (`access`),
//! systemd's readiness notices (`notify`), one session per
//! connection (`session`), the frames both ends speak (`protocol`), and the client's side of
//! them (`client`: `attach`, `status` and `stop` connect through it).

pub mod access;
pub mod client;
pub mod notify;
pub mod protocol;
pub mod session;
pub mod socket;

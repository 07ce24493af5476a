//! `mqtts://` in a build without the cargo feature `tls`: the same names as `tls.rs`, and
//! nothing to trust with. [`super::url::BrokerUrl::parse`] refuses an `mqtts://` URL in such
//! a build, so none of this is reached with one.

use std::path::Path;

/// What a build without TLS says for an `mqtts://` URL.
pub const WITHOUT_TLS: &str = "needs TLS, and this wallwatch is built without it (the cargo \
                               feature `tls`, on by default)";

/// Never made: loading fails.
#[derive(Clone, Debug)]
pub struct Trust(());

impl Trust {
    pub fn load(_ca: Option<&Path>) -> Result<Trust, String> {
        Err(WITHOUT_TLS.into())
    }

    pub fn ca(&self) -> Option<&Path> {
        None
    }

    pub fn transport(&self) -> rumqttc::Transport {
        rumqttc::Transport::Tcp
    }
}

/// No TLS, so no advice about it.
pub fn advice(_e: &rumqttc::v5::ConnectionError) -> Option<&'static str> {
    None
}

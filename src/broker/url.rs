//! `--broker mqtt[s]://[USER:PASSWORD@]HOST[:PORT]`: a broker's address, whether over TLS
//! (`mqtts://`, its certificate checked by [`super::tls`]), and the username and password the
//! site or agent logs in with (a broker closed to strangers needs them: see docs/agents.md). No
//! path. The password is never shown: `Display` writes `***`.

use std::fmt;
use std::path::Path;

use super::tls::Trust;

/// The default MQTT port, when an `mqtt://` URL gives none.
pub const DEFAULT_PORT: u16 = 1883;
/// The default MQTT over TLS port, when an `mqtts://` URL gives none.
pub const DEFAULT_TLS_PORT: u16 = 8883;

/// The largest packet MQTT can carry (a remaining length of 268,435,455 bytes and its fixed
/// header). The clients take whatever the broker sends up to it: with rumqttc's default of
/// 10 KiB, one bigger message made the connection fail, and the broker sent it again on the
/// next one, for good. What is too big to be a reading is refused by the codec instead.
pub const MAX_PACKET: u32 = 268_435_455 + 5;

/// A broker's address, and who logs in.
#[derive(Clone)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    /// Username and password (`USER:PASSWORD@` in the URL, `%XX` escapes decoded).
    pub credentials: Option<(String, String)>,
    /// `mqtts://`: over TLS.
    pub tls: bool,
    /// With `tls`, the roots its certificate is checked against, once loaded
    /// ([`BrokerUrl::with_ca`]); else the system's, loaded when connecting.
    pub trust: Option<Trust>,
}

/// The same broker, the same login, the same CA file.
impl PartialEq for BrokerUrl {
    fn eq(&self, other: &BrokerUrl) -> bool {
        (&self.host, self.port, &self.credentials, self.tls)
            == (&other.host, other.port, &other.credentials, other.tls)
            && self.trust.as_ref().and_then(Trust::ca) == other.trust.as_ref().and_then(Trust::ca)
    }
}

impl Eq for BrokerUrl {}

impl BrokerUrl {
    /// Parses `mqtt[s]://[USER[:PASSWORD]@]HOST[:PORT]` (HOST a name, an IPv4 address or
    /// `[IPv6]`; PORT by default 1883, or 8883 for `mqtts://`). Errors are one line naming
    /// what is wrong, without the password.
    pub fn parse(s: &str) -> Result<BrokerUrl, String> {
        let shown = crate::text::sanitize(&crate::store::redact_url(s)).into_owned();
        let bad = |why: &str| {
            format!(
                "--broker: '{shown}' {why} (use mqtt://HOST:PORT, mqtts://HOST:PORT for TLS, or \
                 mqtt[s]://USER:PASSWORD@HOST:PORT)"
            )
        };
        let (tls, rest) = match (s.strip_prefix("mqtt://"), s.strip_prefix("mqtts://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(bad("is not an mqtt:// or mqtts:// URL")),
        };
        #[cfg(not(feature = "tls"))]
        if tls {
            return Err(format!("--broker: '{shown}' {}", super::tls::WITHOUT_TLS));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        if rest.contains(['/', '?', '#']) {
            return Err(bad("has a path or query"));
        }
        let credentials = match userinfo {
            None => None,
            Some(u) => {
                let (user, password) = u.split_once(':').unwrap_or((u, ""));
                let user = unescape(user).ok_or_else(|| bad("has a malformed %-escape"))?;
                let password = unescape(password).ok_or_else(|| bad("has a malformed %-escape"))?;
                if user.is_empty() {
                    return Err(bad("has an empty username"));
                }
                Some((user, password))
            }
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed '['"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("has junk after ']'"))?,
                ),
            };
            (host.to_string(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        let valid_host = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
        if !valid_host {
            return Err(bad("has no valid host"));
        }
        let port = match port {
            None if tls => DEFAULT_TLS_PORT,
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad("has no valid port (1..=65535)")),
            },
        };
        Ok(BrokerUrl {
            host,
            port,
            credentials,
            tls,
            trust: None,
        })
    }

    /// With `mqtts://`, loads the roots its certificate is checked against: the system's and
    /// `ca`'s (`--broker-ca`). A CA file that cannot be read or holds no valid certificate is a
    /// one-line error naming it, and so is a CA file for an `mqtt://` broker.
    pub fn with_ca(mut self, ca: Option<&Path>) -> Result<BrokerUrl, String> {
        if !self.tls {
            return match ca {
                Some(_) => Err(format!(
                    "a CA file is for a broker over TLS, mqtts://, and {self} is not"
                )),
                None => Ok(self),
            };
        }
        self.trust = Some(Trust::load(ca)?);
        Ok(self)
    }

    /// rumqttc's options for a client `id` of this broker: its address, its login, TLS for
    /// `mqtts://` (with the roots of [`BrokerUrl::with_ca`], or the system's), and
    /// [`MAX_PACKET`].
    pub fn options(&self, id: impl Into<String>) -> Result<rumqttc::v5::MqttOptions, String> {
        let mut o = rumqttc::v5::MqttOptions::new(id, &self.host, self.port);
        if let Some((user, password)) = &self.credentials {
            o.set_credentials(user.clone(), password.clone());
        }
        if self.tls {
            let trust = match &self.trust {
                Some(t) => t.clone(),
                None => Trust::load(None).map_err(|e| format!("broker {self}: {e}"))?,
            };
            o.set_transport(trust.transport());
        }
        o.set_max_packet_size(Some(MAX_PACKET));
        Ok(o)
    }

    /// A warning when a password would go in the clear to another machine: credentials over
    /// `mqtt://` to a host that is not loopback (`localhost`, 127.0.0.0/8, `::1`).
    pub fn cleartext_warning(&self) -> Option<String> {
        if self.tls || self.credentials.is_none() || is_loopback(&self.host) {
            return None;
        }
        Some(format!(
            "the username and password for {self} go over the network unencrypted (mqtt://): \
             use mqtts:// (see docs/agents.md)"
        ))
    }
}

/// `localhost`, or a loopback IP address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `%XX` escapes decoded (so a password may hold `@`, `:` or `/`); `None` if malformed.
fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The address, and the username with `***` for a password: for logs and errors.
impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls { "mqtts://" } else { "mqtt://" })?;
        if let Some((user, _)) = &self.credentials {
            write!(f, "{}:***@", crate::text::sanitize(user))?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// As `Display`: the password never reaches a log through `{:?}` either.
impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerUrl({self})")
    }
}

/// A site's name as it goes into topics: 1 to 64 of `A-Z a-z 0-9 _ - .`.
pub fn check_name(flag: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{flag}: '{}' is not a name (1 to 64 of A-Z a-z 0-9 _ - .)",
            crate::text::sanitize(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 1884));
        assert_eq!(u.to_string(), "mqtt://127.0.0.1:1884");
        assert_eq!(BrokerUrl::parse("mqtt://broker").unwrap().port, 1883);
        let v6 = BrokerUrl::parse("mqtt://[::1]:9").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 9));
        assert_eq!(v6.to_string(), "mqtt://[::1]:9");
        for bad in [
            "",
            "tcp://h:1",
            "mqtt://",
            "mqtt://h:0",
            "mqtt://h:70000",
            "mqtt://h:x",
            "mqtt://:p@h:1",
            "mqtt://u:p%zz@h:1",
            "mqtt://h:1/path",
            "mqtt://h h:1",
            "mqtt://[::1",
            "mqtt://\u{1b}[31m:1",
        ] {
            let e = BrokerUrl::parse(bad).unwrap_err();
            assert!(e.starts_with("--broker: "), "{e}");
            assert!(!e.contains('\u{1b}') && !e.contains('\n'), "{e:?}");
        }
    }

    #[test]
    fn credentials_are_taken_and_never_shown() {
        let u = BrokerUrl::parse("mqtt://site:s%40cret:x@127.0.0.1:1884").unwrap();
        assert_eq!(
            u.credentials,
            Some(("site".to_string(), "s@cret:x".to_string()))
        );
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 1884));
        assert_eq!(u.to_string(), "mqtt://site:***@127.0.0.1:1884");
        assert_eq!(
            format!("{u:?}"),
            "BrokerUrl(mqtt://site:***@127.0.0.1:1884)"
        );
        let user_only = BrokerUrl::parse("mqtt://reader@h").unwrap();
        assert_eq!(
            user_only.credentials,
            Some(("reader".into(), String::new()))
        );
        let e = BrokerUrl::parse("mqtt://site:hunter2@h:0").unwrap_err();
        assert!(!e.contains("hunter2") && e.contains("site:***@"), "{e}");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_the_tls_feature_mqtts_is_one_line() {
        let e = BrokerUrl::parse("mqtts://site:hunter2@broker.example").unwrap_err();
        assert!(
            e.starts_with("--broker: 'mqtts://site:***@broker.example' needs TLS"),
            "{e}"
        );
        assert!(e.contains("the cargo feature `tls`"), "{e}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn mqtts_is_tls_on_8883_unless_a_port_is_given() {
        let u = BrokerUrl::parse("mqtts://broker.example").unwrap();
        assert!(u.tls);
        assert_eq!(u.port, DEFAULT_TLS_PORT);
        assert_eq!(u.to_string(), "mqtts://broker.example:8883");
        let u = BrokerUrl::parse("mqtts://site:hunter2@[::1]:9883").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("::1", 9883, true));
        assert_eq!(u.to_string(), "mqtts://site:***@[::1]:9883");
        assert!(!BrokerUrl::parse("mqtt://h").unwrap().tls);
        let e = BrokerUrl::parse("mqtts://site:hunter2@h:0").unwrap_err();
        assert!(
            !e.contains("hunter2") && e.contains("mqtts://site:***@"),
            "{e}"
        );
        let e = BrokerUrl::parse("mqtt://h")
            .unwrap()
            .with_ca(Some(Path::new("ca.pem")))
            .unwrap_err();
        assert!(e.contains("mqtts://") && e.contains("mqtt://h:1883"), "{e}");
    }

    #[test]
    fn a_password_in_the_clear_to_another_host_is_warned_of() {
        let warned = |u: &str| BrokerUrl::parse(u).unwrap().cleartext_warning();
        let w = warned("mqtt://site:s3cret@broker.example:1883").unwrap();
        assert!(w.contains("mqtt://site:***@broker.example:1883"), "{w}");
        assert!(!w.contains("s3cret"), "{w}");
        for quiet in [
            "mqtt://site:s3cret@127.0.0.1:1883",
            "mqtt://site:s3cret@127.3.0.1",
            "mqtt://site:s3cret@localhost",
            "mqtt://site:s3cret@[::1]:1883",
            "mqtt://broker.example:1883",
            "mqtts://site:s3cret@broker.example",
        ] {
            if quiet.starts_with("mqtts:") && !cfg!(feature = "tls") {
                continue;
            }
            assert_eq!(warned(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn names() {
        assert!(check_name("--site", "north-1.a_b").is_ok());
        for bad in ["", "a/b", "a+", "#", "é", &"x".repeat(65)] {
            assert!(check_name("--site", bad).is_err(), "{bad}");
        }
    }
}

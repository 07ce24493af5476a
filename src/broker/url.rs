//! `--broker mqtt://HOST:PORT`: the only form accepted (no TLS, no credentials, no path).

use std::fmt;

/// The default MQTT port, when the URL gives none.
pub const DEFAULT_PORT: u16 = 1883;

/// A broker's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
}

impl BrokerUrl {
    /// Parses `mqtt://HOST[:PORT]` (HOST a name, an IPv4 address or `[IPv6]`). Errors are one
    /// line naming what is wrong.
    pub fn parse(s: &str) -> Result<BrokerUrl, String> {
        let shown = crate::text::sanitize(s);
        let bad = |why: &str| format!("--broker: '{shown}' {why} (use mqtt://HOST:PORT)");
        let rest = s
            .strip_prefix("mqtt://")
            .ok_or_else(|| bad("is not an mqtt:// URL"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("has a path, query or credentials"));
        }
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
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad("has no valid port (1..=65535)")),
            },
        };
        Ok(BrokerUrl { host, port })
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "mqtt://{}:{}", self.host, self.port)
        }
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
            "mqtt://u:p@h:1",
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
    fn names() {
        assert!(check_name("--site", "north-1.a_b").is_ok());
        for bad in ["", "a/b", "a+", "#", "é", &"x".repeat(65)] {
            assert!(check_name("--site", bad).is_err(), "{bad}");
        }
    }
}

//! `mqtts://`: whom the site and agents trust with a broker's certificate. The system's roots
//! (what rustls-native-certs finds: `SSL_CERT_FILE`, `/etc/ssl/certs`, …) and the CA file of
//! `--broker-ca` (the config file's `broker-ca`), for a broker whose certificate a private CA
//! signed. rustls with the ring provider; TLS 1.2 and 1.3; the name checked is the URL's host
//! (a name, or an IP address in the certificate's IP SANs).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// The most a CA file may hold (a system bundle is a few hundred KiB).
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

/// The roots a TLS connection to the broker is checked against, ready for rumqttc.
#[derive(Clone)]
pub struct Trust {
    config: Arc<ClientConfig>,
    /// The CA file given besides the system's roots.
    ca: Option<PathBuf>,
}

impl Trust {
    /// The system's roots, and `ca`'s certificates (a PEM file). A CA file that cannot be read,
    /// holds no certificate or a bad one is an error naming it. A system without roots and no
    /// CA file is no error here: the handshake then fails, saying to give the CA.
    pub fn load(ca: Option<&Path>) -> Result<Trust, String> {
        let mut roots = system_roots();
        if let Some(path) = ca {
            add_ca_file(&mut roots, path)?;
        }
        Ok(Trust {
            config: client_config(roots)?,
            ca: ca.map(Path::to_path_buf),
        })
    }

    /// The CA file, if one was given.
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// rumqttc's transport for it.
    pub fn transport(&self) -> rumqttc::Transport {
        rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(self.config.clone()))
    }
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Trust(system roots")?;
        if let Some(ca) = &self.ca {
            write!(f, " + {}", ca.display())?;
        }
        f.write_str(")")
    }
}

/// What to do about a failed connection, when TLS refused it: the broker's certificate not
/// trusted (the commonest: a private CA not given), not for the URL's host, out of date, or no
/// TLS on the other end.
pub fn advice(e: &rumqttc::v5::ConnectionError) -> Option<&'static str> {
    use rustls::CertificateError as Cert;
    let rumqttc::v5::ConnectionError::Tls(rumqttc::TlsError::Io(io)) = e else {
        return None;
    };
    let no_tls = "is it a listener with TLS? (one without is mqtt://)";
    let Some(rustls_error) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) else {
        // The connection was cut during the handshake: Mosquitto does so on a listener
        // without TLS.
        return Some(no_tls);
    };
    match rustls_error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            Cert::UnknownIssuer | Cert::BadSignature => Some(
                "its certificate is not signed by a CA trusted here: give the CA's certificate \
                 with --broker-ca FILE (the config file's broker-ca)",
            ),
            Cert::NotValidForName | Cert::NotValidForNameContext { .. } => Some(
                "its certificate is not for this host: use a name or address of the certificate's \
                 in the URL",
            ),
            Cert::Expired
            | Cert::ExpiredContext { .. }
            | Cert::NotValidYet
            | Cert::NotValidYetContext { .. } => {
                Some("its certificate is out of date, or this machine's clock is wrong")
            }
            _ => None,
        },
        rustls::Error::InvalidMessage(_) => Some(no_tls),
        _ => None,
    }
}

/// A client configuration with ring's provider and its default versions (TLS 1.2 and 1.3).
/// rustls 0.23.48 deprecated ring's provider for having no post-quantum key exchange; it is
/// kept: aws-lc-rs (the other provider) builds a large C library, with cmake on some targets,
/// and grows the binary more. A classical key exchange is all that Debian's Mosquitto
/// (OpenSSL 3.0) offers anyway.
#[allow(deprecated)]
fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// What rustls-native-certs finds; certificates it cannot parse are left out (logged).
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(target: "broker", "system root certificates: {e}");
    }
    let mut roots = RootCertStore::empty();
    let (_, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(target: "broker", "{ignored} system root certificates left out");
    }
    roots
}

/// Adds every certificate of the PEM file `path`; errors are one line naming it.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), String> {
    let shown = crate::text::sanitize(&path.display().to_string()).into_owned();
    let bytes = crate::files::read_bounded(path, MAX_CA_FILE)
        .map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| format!("{shown}: not a PEM file of certificates: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{shown}: a certificate in it is not valid: {e}"))?;
        added += 1;
    }
    if added == 0 {
        return Err(format!(
            "{shown}: no certificate in it (a PEM file of '-----BEGIN CERTIFICATE-----' blocks)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_empty_or_bad_is_one_line_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = Trust::load(Some(&missing)).unwrap_err();
        assert!(
            e.starts_with(&format!("{}: cannot read: ", missing.display())),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = Trust::load(Some(&empty)).unwrap_err();
        assert!(e.contains("empty.pem: no certificate in it"), "{e}");
        let bad = dir.path().join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = Trust::load(Some(&bad)).unwrap_err();
        assert!(
            e.contains("bad.pem: a certificate in it is not valid"),
            "{e}"
        );
        let e = Trust::load(Some(dir.path())).unwrap_err();
        assert!(e.contains("not a regular file (a directory)"), "{e}");
        assert!(!e.contains('\n'), "{e:?}");
    }
}

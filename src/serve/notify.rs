//! systemd's readiness notices (sd_notify(3)) for a unit of `Type=notify`: `READY=1` once the
//! site listens, `STOPPING=1` when it starts to drain. The protocol is one datagram of text to
//! the Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket), so
//! no crate is needed. Outside systemd there is no `$NOTIFY_SOCKET` and nothing is sent.

use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The site listens and serves.
pub const READY: &str = "READY=1";
/// The site is stopping: producers stop, the network drains, the store is flushed.
pub const STOPPING: &str = "STOPPING=1";

/// Sends `state` to the service manager, if there is one (`$NOTIFY_SOCKET`); a failure is
/// logged, never fatal: the site serves whether or not systemd hears of it.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let socket = socket.to_string_lossy();
    if let Err(e) = send(&socket, state) {
        tracing::warn!(target: "serve", "cannot tell systemd {state} at {socket}: {e}");
    }
}

/// Sends `state` as one datagram to `socket`: a path, or `@name` for an abstract socket.
pub fn send(socket: &str, state: &str) -> std::io::Result<()> {
    let addr = address(socket)?;
    let out = UnixDatagram::unbound()?;
    out.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

fn address(socket: &str) -> std::io::Result<SocketAddr> {
    match socket.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        #[cfg(not(target_os = "linux"))]
        Some(_) => Err(std::io::Error::other("abstract sockets need Linux")),
        None => SocketAddr::from_pathname(socket),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn a_notice_reaches_a_socket_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let systemd = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), READY).unwrap();
        assert_eq!(received(&systemd), "READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_notice_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("wallwatch-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let systemd = UnixDatagram::bind_addr(&addr).unwrap();
        send(&format!("@{name}"), STOPPING).unwrap();
        assert_eq!(received(&systemd), "STOPPING=1");
    }

    #[test]
    fn nobody_listening_is_an_error_to_log() {
        let dir = tempfile::tempdir().unwrap();
        assert!(send(dir.path().join("none").to_str().unwrap(), READY).is_err());
    }
}

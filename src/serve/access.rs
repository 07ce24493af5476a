//! Who may use the site's socket: its own user always; with `--socket-group GROUP` the members
//! of that group too, as read-only viewers unless `--group-may-steer`. Everyone else is refused.
//!
//! A peer's uid comes from SO_PEERCRED and its groups from SO_PEERGROUPS (Linux 4.13+): both are
//! what the kernel recorded when the peer called connect(), so they cannot race with the peer
//! exiting and its pid being reused (as reading /proc/PID/status `Groups:` can), they are the
//! groups the kernel itself checked against the socket's mode (getgrouplist(3) would answer
//! from /etc/group, which says nothing of a process that dropped or gained groups since login,
//! as `setpriv --groups` and `newgrp` do), and they need no /proc of other users (which a unit
//! with ProtectProc=invisible does not see).

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::net::UnixStream;

use crate::text::sanitize;

/// A group, by name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

impl Group {
    /// The group named `name` (or a numeric gid) in the system's group database; the error is
    /// the message that follows the flag or key.
    pub fn lookup(name: &str) -> Result<Group, String> {
        if let Some(gid) = gid_of(name)? {
            return Ok(Group {
                name: name.to_string(),
                gid,
            });
        }
        match name.parse::<u32>() {
            Ok(gid) => Ok(Group {
                name: name.to_string(),
                gid,
            }),
            Err(_) => Err(format!("no such group '{}'", sanitize(name))),
        }
    }
}

/// The gid of group `name`, if the group database has it (getgrnam_r).
fn gid_of(name: &str) -> Result<Option<u32>, String> {
    let Ok(c_name) = CString::new(name) else {
        return Err(format!("no such group '{}'", sanitize(name)));
    };
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        // SAFETY: `group` and `result` are written by getgrnam_r only; `buf` outlives the call
        // and its length is passed with it.
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe {
            libc::getgrnam_r(
                c_name.as_ptr(),
                &mut group,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            0 if result.is_null() => return Ok(None),
            0 => return Ok(Some(group.gr_gid)),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            rc => {
                let e = std::io::Error::from_raw_os_error(rc);
                return Err(format!("cannot look up group '{}': {e}", sanitize(name)));
            }
        }
    }
}

/// Who besides the site's own user may connect, and what they may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// `--socket-group`: its members may attach and ask the status.
    pub group: Option<Group>,
    /// `--group-may-steer`: the members may also command (and stop) the site.
    pub group_may_steer: bool,
}

/// A peer let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    /// It may change the site (commands, keys, stop); else it only watches.
    pub may_steer: bool,
}

impl Access {
    /// Lets the peer of `stream` in if it runs as our user or is a member of the socket's
    /// group; the refusal says who it was and who may connect.
    pub fn admit(&self, stream: &UnixStream) -> Result<Peer, String> {
        let cred = stream
            .peer_cred()
            .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
        let uid = cred.uid();
        let me = crate::serve::socket::euid();
        if uid == me {
            return Ok(Peer {
                uid,
                may_steer: true,
            });
        }
        let pid = cred
            .pid()
            .map_or_else(|| "?".to_string(), |p| p.to_string());
        let Some(group) = &self.group else {
            return Err(format!(
                "refused a connection from uid {uid} (pid {pid}): only uid {me} may attach"
            ));
        };
        let member = cred.gid() == group.gid
            || peer_groups(stream)
                .map_err(|e| format!("refused a connection from uid {uid} (pid {pid}): {e}"))?
                .contains(&group.gid);
        if member {
            Ok(Peer {
                uid,
                may_steer: self.group_may_steer,
            })
        } else {
            Err(format!(
                "refused a connection from uid {uid} (pid {pid}): only uid {me} and the group \
                 {} (gid {}) may attach",
                sanitize(&group.name),
                group.gid
            ))
        }
    }
}

/// The peer's supplementary groups as the kernel recorded them at connect() (SO_PEERGROUPS).
#[cfg(target_os = "linux")]
fn peer_groups(stream: &UnixStream) -> Result<Vec<u32>, String> {
    let fd = stream.as_raw_fd();
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `groups`, and sets `len` to the
        // bytes it wrote (or, with ERANGE, to the bytes it needs).
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let n = len as usize / std::mem::size_of::<libc::gid_t>();
        if rc == 0 {
            groups.truncate(n);
            return Ok(groups);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ERANGE) && n > groups.len() {
            groups.resize(n, 0);
            continue;
        }
        return Err(format!("cannot read the peer's groups: {e}"));
    }
}

#[cfg(not(target_os = "linux"))]
fn peer_groups(_stream: &UnixStream) -> Result<Vec<u32>, String> {
    Err("a socket group needs Linux (SO_PEERGROUPS)".into())
}

/// Gives the socket at `path` to `group`, mode 0660, so that its members may connect. The
/// site must be a member of the group (systemd's SupplementaryGroups=) or root.
pub fn open_to_group(path: &Path, group: &Group) -> Result<(), String> {
    chgrp(path, group)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("cannot make {} mode 660: {e}", path.display()))
}

/// Changes the group of `path` (we own it) to `group`, unless it has it already (then no
/// chown call is made: a unit whose primary group it is needs no @chown system calls).
pub fn chgrp(path: &Path, group: &Group) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.gid() == group.gid) {
        return Ok(());
    }
    std::os::unix::fs::chown(path, None, Some(group.gid)).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
            " (the site must run as root or as a member of that group)".to_string()
        } else {
            String::new()
        };
        format!(
            "--socket-group: cannot give {} to the group {} (gid {}): {e}{why}",
            path.display(),
            sanitize(&group.name),
            group.gid
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_found_by_name_or_number_and_an_unknown_name_is_refused() {
        let root = Group::lookup("root").unwrap();
        assert_eq!(root.gid, 0);
        assert_eq!(Group::lookup("4242").unwrap().gid, 4242);
        let e = Group::lookup("no-such-group-here").unwrap_err();
        assert_eq!(e, "no such group 'no-such-group-here'");
        assert!(Group::lookup("a\0b").is_err());
    }

    #[tokio::test]
    async fn our_own_uid_may_steer_and_our_groups_are_read() {
        let (a, _b) = UnixStream::pair().unwrap();
        let peer = Access::default().admit(&a).unwrap();
        assert_eq!(peer.uid, crate::serve::socket::euid());
        assert!(peer.may_steer);
        // The pair's other end is this process: its groups are ours.
        let ours = {
            // SAFETY: getgroups with a zero count only counts.
            let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
            let mut g = vec![0; n as usize];
            // SAFETY: `g` has room for the `n` groups counted above.
            let n = unsafe { libc::getgroups(n, g.as_mut_ptr()) };
            g.truncate(n as usize);
            g
        };
        let mut seen = peer_groups(&a).unwrap();
        seen.sort_unstable();
        let mut ours = ours;
        ours.sort_unstable();
        assert_eq!(seen, ours);
    }
}

//! The site's socket protocol: length-delimited frames (tokio-util's codec: a 4-byte big-endian
//! length, then the payload), each one JSON object. The client speaks first with a `hello`
//! naming the protocol version and what it wants (to view, read-only or not; the status; to
//! stop the site); the server answers `hello` or `error`. A viewer then gets a snapshot and
//! updates and the answers to its commands.
//!
//! Every frame is bounded: what a client sends is small ([`MAX_CLIENT_FRAME`]); what a server
//! sends holds at most a snapshot of the wall ([`MAX_SERVER_FRAME`]). A frame that is too
//! long, or not a message, ends that connection only.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

use crate::engine::{Command, Reply};
use crate::site::status::Status;
use crate::site::{Snapshot, Update};

/// The protocol's version; both sides must speak the same.
pub const VERSION: u32 = 5;
/// The longest frame a client may send: a command, the longest being a wall to load.
pub const MAX_CLIENT_FRAME: usize = crate::engine::MAX_WALL_TEXT + 64 * 1024;
/// The longest frame a server may send (a snapshot of a 1M-section wall is about 2 MB).
pub const MAX_SERVER_FRAME: usize = 64 * 1024 * 1024;

/// What a client asks for in its hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer {
        read_only: bool,
    },
    Status,
    Stop,
    /// One command (the CLI's `crews add` and the like): the client sends one `command`, the
    /// server answers its `reply` and closes.
    Control,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {
        version: u32,
        role: Role,
    },
    Command {
        id: u64,
        command: Command,
        /// A retry's key (the CLI's): the same command again with the same key gets the first
        /// answer and changes nothing twice. Viewers send none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
}

/// Server → client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMsg {
    Hello {
        version: u32,
        /// Where the site listens, as the server sees it.
        socket: String,
    },
    /// Why the server will not go on with this connection.
    Error(String),
    Snapshot(Arc<Snapshot>),
    Update(Arc<Update>),
    Reply {
        id: u64,
        reply: Reply,
    },
    /// The live summary (`status`); a typed value since version 3.
    Status(Box<Status>),
    /// The site has stopped; its final summary (`stop`), as JSON text.
    Stopped(String),
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("{0}")]
    Io(std::io::Error),
    /// Not a message of this protocol.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// The frame codec with a bound on frame length.
pub fn codec(max_frame: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(max_frame)
        .new_codec()
}

/// One message as a frame's payload.
pub fn encode<T: Serialize>(msg: &T) -> Bytes {
    // Our own messages always serialise (no maps with non-string keys, no failing Serialize).
    Bytes::from(serde_json::to_vec(msg).unwrap_or_default())
}

/// A frame's payload as a message.
pub fn decode<T: for<'de> Deserialize<'de>>(frame: &[u8]) -> Result<T, FrameError> {
    // serde's message may quote the client's text: escaped, so a log line stays one line.
    serde_json::from_slice(frame)
        .map_err(|e| FrameError::Malformed(crate::text::sanitize(&e.to_string()).into_owned()))
}

/// Every whole message in `bytes` as a server reads them from a client: frames longer than
/// [`MAX_CLIENT_FRAME`] and payloads that are not messages are errors (the connection ends).
/// What the fuzz target drives.
pub fn decode_client_stream(bytes: &[u8]) -> Result<Vec<ClientMsg>, FrameError> {
    let mut codec = codec(MAX_CLIENT_FRAME);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).map_err(FrameError::Io)? {
        out.push(decode(&frame)?);
    }
    Ok(out)
}

/// A hello's version, checked: the one-line error both sides show on a mismatch.
pub fn check_version(theirs: u32) -> Result<(), String> {
    if theirs == VERSION {
        Ok(())
    } else {
        Err(format!(
            "protocol version {theirs} is not this build's ({VERSION}): use the same wallwatch \
             build for serve and attach"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::codec::Encoder;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        codec(usize::MAX)
            .encode(Bytes::copy_from_slice(payload), &mut buf)
            .unwrap();
        buf.to_vec()
    }

    #[test]
    fn client_messages_round_trip() {
        let msgs = [
            ClientMsg::Hello {
                version: VERSION,
                role: Role::Viewer { read_only: true },
            },
            ClientMsg::Command {
                id: 7,
                command: Command::AddSensors {
                    kind: Some("thermometer".into()),
                    count: 2,
                },
                key: None,
            },
            ClientMsg::Command {
                id: 1,
                command: Command::AddCrews(2),
                key: Some("cli-1f-2e".into()),
            },
            ClientMsg::Hello {
                version: VERSION,
                role: Role::Control,
            },
        ];
        let mut bytes = Vec::new();
        for m in &msgs {
            bytes.extend(frame(&encode(m)));
        }
        assert_eq!(decode_client_stream(&bytes).unwrap(), msgs);
        // A frame cut short is not an error yet: the rest may still come.
        assert_eq!(
            decode_client_stream(&bytes[..bytes.len() - 3])
                .unwrap()
                .len(),
            msgs.len() - 1
        );
    }

    #[test]
    fn a_command_without_a_key_is_read_as_unkeyed() {
        let msgs = decode_client_stream(&frame(br#"{"command":{"id":3,"command":"pause"}}"#));
        assert_eq!(
            msgs.unwrap(),
            [ClientMsg::Command {
                id: 3,
                command: Command::Pause,
                key: None
            }]
        );
    }

    #[test]
    fn oversized_and_malformed_frames_are_errors() {
        let mut long = (MAX_CLIENT_FRAME as u32 + 1).to_be_bytes().to_vec();
        long.extend([b' '; 16]);
        assert!(matches!(
            decode_client_stream(&long),
            Err(FrameError::Io(_))
        ));
        assert!(matches!(
            decode_client_stream(&frame(b"{\"hello\":{\"version\":1}}")),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            decode_client_stream(&frame(&[0xff, 0xfe])),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn a_malformed_frames_error_is_one_line_whatever_the_client_sent() {
        // serde quotes an unknown key: a newline or DEL in it must not reach the log as is.
        let e = decode_client_stream(&frame(b"{\"a\\nb\\u007f\":0}")).unwrap_err();
        let text = e.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }

    #[test]
    fn a_version_mismatch_is_one_clear_line() {
        assert!(check_version(VERSION).is_ok());
        let e = check_version(VERSION + 1).unwrap_err();
        let theirs = format!("protocol version {} ", VERSION + 1);
        assert!(e.contains(&theirs) && !e.contains('\n'), "{e}");
    }
}

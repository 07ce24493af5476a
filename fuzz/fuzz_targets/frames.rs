//! Fuzzes what a server does with the bytes a client sends: `protocol::decode_client_stream`,
//! i.e. length-delimited frames (a 4-byte big-endian length, at most `MAX_CLIENT_FRAME`), each
//! payload one JSON `ClientMsg`. The input bytes are the stream.
//!
//! Properties, beyond "never panics":
//! - the result agrees with a plain reference reading of the format: frames in order while a
//!   whole 4-byte header is there; a length over `MAX_CLIENT_FRAME` is an I/O error as soon as
//!   its header is there (so an input that starts with one is an error), a length of exactly
//!   `MAX_CLIENT_FRAME` is not; a frame cut short ends the reading without an error (the rest
//!   may still come); the first payload that is not a `ClientMsg` is `Malformed` with
//!   serde_json's message, escaped;
//! - fed to the same codec in pieces, as a server reads a socket, the bytes give the same
//!   messages, then the same error;
//! - accepted messages written back (`protocol::encode` and a 4-byte big-endian length),
//!   followed by the input's cut-short tail, decode to the same messages (a written-back frame
//!   over the bound, which only a float written longer could make, is refused instead);
//! - an error's Display is one line without control characters: the server logs it, and its
//!   log lines reach every viewer's log pane.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use wallwatch::serve::protocol::{self, ClientMsg, FrameError, MAX_CLIENT_FRAME};

/// How a reading of the stream ends, after the messages before it.
#[derive(Debug, PartialEq)]
enum End {
    /// No error; the bytes after the last whole frame are a cut-short frame (or nothing).
    Clean { tail: usize },
    /// A header over the bound.
    Oversized,
    /// A payload that is not a message, with serde_json's message.
    Malformed(String),
}

/// The slow, obvious reading of the stream.
fn reference(data: &[u8]) -> (Vec<ClientMsg>, End) {
    let mut msgs = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_CLIENT_FRAME {
            return (msgs, End::Oversized);
        }
        if rest.len() - 4 < len {
            break;
        }
        match serde_json::from_slice::<ClientMsg>(&rest[4..4 + len]) {
            Ok(m) => msgs.push(m),
            Err(e) => {
                let escaped = wallwatch::text::sanitize(&e.to_string()).into_owned();
                return (msgs, End::Malformed(escaped));
            }
        }
        rest = &rest[4 + len..];
    }
    (msgs, End::Clean { tail: rest.len() })
}

/// The error as an [`End`]; its message checked for a terminal and a log line.
fn end_of(err: &FrameError) -> End {
    let text = err.to_string();
    assert!(!text.is_empty(), "{err:?}");
    assert!(
        !text.chars().any(char::is_control),
        "error message has a control character (newline included): {text:?}"
    );
    match err {
        FrameError::Io(_) => End::Oversized,
        FrameError::Malformed(m) => {
            assert_eq!(text, format!("malformed frame: {m}"));
            End::Malformed(m.clone())
        }
    }
}

/// The stream fed to the server's codec `step` bytes at a time, as reads from a socket.
fn in_pieces(data: &[u8], step: usize) -> (Vec<ClientMsg>, Option<End>) {
    let mut codec = protocol::codec(MAX_CLIENT_FRAME);
    let mut buf = BytesMut::new();
    let mut msgs = Vec::new();
    for piece in data.chunks(step) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(frame)) => match protocol::decode::<ClientMsg>(&frame) {
                    Ok(m) => msgs.push(m),
                    Err(e) => return (msgs, Some(end_of(&e))),
                },
                Err(e) => return (msgs, Some(end_of(&FrameError::Io(e)))),
            }
        }
    }
    (msgs, None)
}

/// Messages as a client writes them.
fn frames(msgs: &[ClientMsg]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut all_fit = true;
    for m in msgs {
        let payload = protocol::encode(m);
        assert!(!payload.is_empty(), "{m:?} does not serialise");
        all_fit &= payload.len() <= MAX_CLIENT_FRAME;
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
    }
    (out, all_fit)
}

fuzz_target!(|data: &[u8]| {
    let (want_msgs, want_end) = reference(data);
    let got = protocol::decode_client_stream(data);

    if data.len() >= 4
        && u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize > MAX_CLIENT_FRAME
    {
        assert!(
            matches!(got, Err(FrameError::Io(_))),
            "a first length over {MAX_CLIENT_FRAME} is not an error: {got:?}"
        );
    }

    match &got {
        Ok(msgs) => {
            let End::Clean { tail } = want_end else {
                panic!("decoded {msgs:?}, the reference expects {want_end:?}");
            };
            assert_eq!(msgs, &want_msgs, "messages differ from the reference");

            // Written back as a client writes them, with the same cut-short tail, they read
            // the same.
            let (mut again, all_fit) = frames(msgs);
            again.extend_from_slice(&data[data.len() - tail..]);
            match protocol::decode_client_stream(&again) {
                Ok(back) => {
                    assert!(all_fit, "a frame over the bound was accepted");
                    assert_eq!(&back, msgs, "written back, the messages read differently");
                }
                Err(e) => assert!(
                    !all_fit && matches!(e, FrameError::Io(_)),
                    "written back, the messages do not read: {e}"
                ),
            }
        }
        Err(e) => {
            let end = end_of(e);
            assert_eq!(end, want_end, "error differs from the reference: {e}");
        }
    }

    // The same bytes in pieces (1..=32 bytes; the size taken from the input) read the same.
    let step = 1 + usize::from(data.last().copied().unwrap_or(0) % 32);
    let (msgs, end) = in_pieces(data, step);
    assert_eq!(msgs, want_msgs, "in pieces of {step}, the messages differ");
    match end {
        None => assert!(
            matches!(want_end, End::Clean { .. }),
            "in pieces of {step}: no error"
        ),
        Some(end) => assert_eq!(end, want_end, "in pieces of {step}, the error differs"),
    }
});

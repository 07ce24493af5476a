//! The client side of the site's socket: connect and say hello, and read the site's messages
//! (shared by `attach`, `status` and `stop`).

use std::path::Path;

use futures_util::{SinkExt, StreamExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use crate::serve::protocol::{
    self, ClientMsg, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, Role, ServerMsg,
};

pub type Reader = FramedRead<OwnedReadHalf, LengthDelimitedCodec>;
pub type Writer = FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>;

/// Connects to the site at `path` as `role`; errors are one line (no site there, another
/// protocol version, a refusal).
pub async fn connect(path: &Path, role: Role) -> Result<(Reader, Writer), String> {
    connect_to_process(path, role).await.map(|(r, w, _)| (r, w))
}

/// [`connect`], also giving the site's process id as the socket's peer credentials tell it
/// (`stop` waits for that process to be gone).
pub async fn connect_to_process(
    path: &Path,
    role: Role,
) -> Result<(Reader, Writer, Option<i32>), String> {
    let stream = crate::serve::socket::connect(path).await?;
    let pid = stream.peer_cred().ok().and_then(|c| c.pid());
    let (r, w) = stream.into_split();
    let mut reader = FramedRead::new(r, protocol::codec(MAX_SERVER_FRAME));
    let mut writer = FramedWrite::new(w, protocol::codec(MAX_CLIENT_FRAME));
    let hello = ClientMsg::Hello {
        version: protocol::VERSION,
        role,
    };
    // A site that closes before its hello has refused us: it checks the peer first.
    let refused = || {
        format!(
            "the site at {} refused the connection (only the user running it, or a member of \
             its socket group, may connect)",
            path.display()
        )
    };
    writer
        .send(protocol::encode(&hello))
        .await
        .map_err(|_| refused())?;
    let first = match reader.next().await {
        None => return Err(refused()),
        Some(Err(e)) if is_refusal(e.kind()) => return Err(refused()),
        Some(Err(e)) => return Err(format!("the site at {}: {e}", path.display())),
        Some(Ok(frame)) => protocol::decode(&frame).map_err(|e| e.to_string())?,
    };
    match first {
        ServerMsg::Hello { version, .. } => protocol::check_version(version)?,
        ServerMsg::Error(e) => return Err(e),
        _ => return Err("the site answered out of turn".into()),
    }
    Ok((reader, writer, pid))
}

/// How a site that closed on us before its hello shows: it reset or it had gone.
fn is_refusal(kind: std::io::ErrorKind) -> bool {
    matches!(
        kind,
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    )
}

/// The next message from the site; `None` when it closed the connection.
pub async fn read(reader: &mut Reader) -> Result<Option<ServerMsg>, String> {
    match reader.next().await {
        None => Ok(None),
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(frame)) => protocol::decode(&frame)
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

//! The client side of the site's socket: connect and say hello (shared by `attach`, `status`
//! and `stop`), and the `status` and `stop` commands themselves.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use crate::cli::{SiteArgs, StatusArgs};
use crate::protocol::{self, ClientMsg, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, Role, ServerMsg};

pub type Reader = FramedRead<OwnedReadHalf, LengthDelimitedCodec>;
pub type Writer = FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>;

/// The socket named by `args`.
pub fn socket_path(args: &SiteArgs) -> Result<PathBuf, String> {
    crate::serve::socket::resolve_env(args.socket.as_deref(), args.name.as_deref())
}

/// Connects to the site at `path` as `role`; errors are one line (no site there, another
/// protocol version, a refusal).
pub async fn connect(path: &Path, role: Role) -> Result<(Reader, Writer), String> {
    let stream = crate::serve::socket::connect(path).await?;
    let (r, w) = stream.into_split();
    let mut reader = FramedRead::new(r, protocol::codec(MAX_SERVER_FRAME));
    let mut writer = FramedWrite::new(w, protocol::codec(MAX_CLIENT_FRAME));
    let hello = ClientMsg::Hello {
        version: protocol::VERSION,
        role,
    };
    // A site that closes before its hello has refused us: it checks the peer's uid first.
    let refused = || {
        format!(
            "the site at {} refused the connection (only the user running it may connect)",
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
    Ok((reader, writer))
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

fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    crate::runtime::current_thread()?.block_on(f)
}

/// Asks for one answer (`status` or `stop`).
async fn ask(args: &SiteArgs, role: Role) -> Result<ServerMsg, String> {
    let path = socket_path(args)?;
    let (mut reader, _writer) = connect(&path, role).await?;
    read(&mut reader)
        .await?
        .ok_or_else(|| format!("the site at {} closed the connection", path.display()))
}

/// `wallwatch status`: exit 1 with one line when no site is there.
pub fn status_main(args: &StatusArgs) -> ExitCode {
    let answer = block_on(ask(&args.site, Role::Status));
    let status = match answer {
        Ok(ServerMsg::Status(s)) => s,
        Ok(_) => return fail("the site answered out of turn"),
        Err(e) => return fail(&e),
    };
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        writeln!(out, "{status}")
    } else {
        match serde_json::from_str(&status) {
            Ok(value) => out.write_all(status_table(&value).as_bytes()),
            Err(e) => return fail(&format!("the site's status is not JSON: {e}")),
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write output: {e}")),
    }
}

/// `wallwatch stop`: waits for the drain and prints the final summary (one JSON object).
pub fn stop_main(args: &SiteArgs) -> ExitCode {
    match block_on(ask(args, Role::Stop)) {
        Ok(ServerMsg::Stopped(summary)) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Ok(_) => fail("the site answered out of turn"),
        Err(e) => fail(&e),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("wallwatch: {}", crate::text::sanitize(msg));
    ExitCode::from(1)
}

/// The status as a readable table.
pub fn status_table(s: &serde_json::Value) -> String {
    use crate::text::thousands;
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let flow = |key: &str| {
        format!(
            "produced {} · stored {}",
            thousands(n(&s[key]["produced"])),
            thousands(n(&s[key]["stored"]))
        )
    };
    let wall = &s["wall"];
    let rows = [
        (
            "store",
            crate::text::sanitize(s["store"].as_str().unwrap_or("?")),
        ),
        (
            "wall",
            format!(
                "day {}{} · {} yd³ ice · {} Gold Dragons",
                n(&wall["day"]),
                if wall["complete"].as_bool() == Some(true) {
                    " (complete)"
                } else {
                    ""
                },
                thousands(n(&wall["ice_to_date"])),
                thousands(n(&wall["cost_to_date"]))
            ),
        ),
        ("readings", flow("readings")),
        ("crew reports", flow("crew_reports")),
        (
            "network",
            format!(
                "limit {} · peak {} · delivered {}",
                n(&s["network"]["limit"]),
                n(&s["network"]["max_in_flight"]),
                thousands(n(&s["network"]["delivered"]))
            ),
        ),
        (
            "store rows",
            format!(
                "{} readings · {} crew reports",
                thousands(n(&s["store_rows"]["readings"])),
                thousands(n(&s["store_rows"]["crew_reports"]))
            ),
        ),
        (
            "viewers",
            format!(
                "{} ({} caught up by a fresh snapshot)",
                n(&s["viewers"]),
                n(&s["viewer_resnapshots"])
            ),
        ),
        (
            "uptime",
            format!("{:.0} s", s["uptime_s"].as_f64().unwrap_or(0.0)),
        ),
    ];
    let mut rows = rows.to_vec();
    let remote = &s["remote"];
    if remote.is_object() {
        // With --broker: agents' readings (part of the readings above).
        rows.insert(
            4,
            (
                "remote",
                format!(
                    "received {} · stored {} · rejected {} · duplicates {}",
                    thousands(n(&remote["received"])),
                    thousands(n(&remote["stored"])),
                    thousands(n(&remote["rejected"])),
                    thousands(n(&remote["duplicates"]) + n(&remote["store_duplicates"]))
                ),
            ),
        );
    }
    rows.iter()
        .map(|(k, v)| format!("{k:>12}  {v}\n"))
        .collect()
}

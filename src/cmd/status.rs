//! `wallwatch status` and `wallwatch stop`: one question to the site over its socket.

use std::io::Write;
use std::path::PathBuf;

use super::{Failure, Outcome};
use crate::config::cli::{SiteArgs, StatusArgs};
use crate::serve::client::{connect, read};
use crate::serve::protocol::{Role, ServerMsg};

/// The socket named by `args`.
pub fn socket_path(args: &SiteArgs) -> Result<PathBuf, String> {
    crate::serve::socket::resolve_env(args.socket.as_deref(), args.name.as_deref())
}

fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, Failure> {
    crate::runtime::current_thread()
        .and_then(|runtime| runtime.block_on(f))
        .map_err(|e| Failure::site(1, e))
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
pub fn status(args: &StatusArgs) -> Outcome {
    let status = match block_on(ask(&args.site, Role::Status))? {
        ServerMsg::Status(s) => s,
        _ => return Err(out_of_turn()),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{status}")?;
    } else {
        let value = serde_json::from_str(&status)
            .map_err(|e| Failure::site(1, format!("the site's status is not JSON: {e}")))?;
        out.write_all(status_table(&value).as_bytes())?;
    }
    Ok(())
}

/// `wallwatch stop`: waits for the drain and prints the final summary (one JSON object).
pub fn stop(args: &SiteArgs) -> Outcome {
    match block_on(ask(args, Role::Stop))? {
        ServerMsg::Stopped(summary) => {
            println!("{summary}");
            Ok(())
        }
        _ => Err(out_of_turn()),
    }
}

fn out_of_turn() -> Failure {
    Failure::site(1, "the site answered out of turn")
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
            crate::text::sanitize(s["store"].as_str().unwrap_or("?")).into_owned(),
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

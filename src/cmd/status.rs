//! `wallwatch status` and `wallwatch stop`: one question to the site over its socket.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{Failure, Outcome};
use crate::config::cli::{SiteArgs, StatusArgs};
use crate::engine::WallProgress;
use crate::engine::remote::RemoteSummary;
use crate::serve::client::{connect, read};
use crate::serve::protocol::{Role, ServerMsg};
use crate::site::status::Status;
use crate::text::thousands;
use crate::units::Speed;
use crate::wall::Crews;

/// The socket named by `args`.
pub fn socket_path(args: &SiteArgs) -> Result<PathBuf, String> {
    crate::serve::socket::resolve_client(args.socket.as_deref(), args.name.as_deref())
}

fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    crate::runtime::current_thread().and_then(|runtime| runtime.block_on(f))
}

/// Asks for one answer (`status` or `stop`).
async fn ask(args: &SiteArgs, role: Role) -> Result<ServerMsg, String> {
    let path = socket_path(args)?;
    let (mut reader, _writer) = connect(&path, role).await?;
    read(&mut reader)
        .await?
        .ok_or_else(|| format!("the site at {} closed the connection", path.display()))
}

/// `wallwatch status`: exit 1 with one line when no site is there. With `--json` every outcome
/// is one JSON object on stdout: the status, or `{"error": "…"}` (the line stderr also gets),
/// with the same exit status.
pub fn status(args: &StatusArgs) -> Outcome {
    let status = match block_on(ask(&args.site, Role::Status)) {
        Ok(ServerMsg::Status(s)) => s,
        Ok(_) => return Err(failed(args.json, OUT_OF_TURN.into())),
        Err(why) => return Err(failed(args.json, why)),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::to_string(&status)
            .map_err(|e| failed(true, format!("cannot write the site's status: {e}")))?;
        writeln!(out, "{json}")?;
    } else {
        out.write_all(status_table(&status).as_bytes())?;
    }
    Ok(())
}

/// How long `stop` waits, after the summary, for the site's process to be gone.
pub const EXIT_WITHIN: Duration = Duration::from_secs(10);

/// `wallwatch stop`: waits for the drain, prints the final summary (one JSON object), then
/// waits until the site's process has exited, so that what follows (a restart, a backup of the
/// store) finds it gone; after [`EXIT_WITHIN`] it says it gave up, exit 1.
pub fn stop(args: &SiteArgs) -> Outcome {
    let asked = block_on(async {
        let path = socket_path(args)?;
        let (mut reader, _writer, pid) =
            crate::serve::client::connect_to_process(&path, Role::Stop).await?;
        let answer = read(&mut reader)
            .await?
            .ok_or_else(|| format!("the site at {} closed the connection", path.display()))?;
        Ok((answer, pid))
    });
    match asked {
        Ok((ServerMsg::Stopped(summary), pid)) => {
            println!("{summary}");
            match pid {
                Some(pid) if !exited_within(pid, EXIT_WITHIN) => Err(failed(
                    false,
                    format!(
                        "the site's process {pid} had not exited {} s after its summary; stop \
                         gave up waiting for it",
                        EXIT_WITHIN.as_secs()
                    ),
                )),
                _ => Ok(()),
            }
        }
        // A peer that may only watch (`serve --socket-group` without --group-may-steer).
        Ok((ServerMsg::Error(why), _)) => Err(failed(false, format!("refused: {why}"))),
        Ok(_) => Err(failed(false, OUT_OF_TURN.into())),
        Err(why) => Err(failed(false, why)),
    }
}

/// Whether process `pid` is gone (or only a zombie, which has exited) within `bound`.
fn exited_within(pid: i32, bound: Duration) -> bool {
    let gone = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `PID (name) STATE …`: the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    };
    let deadline = std::time::Instant::now() + bound;
    while !gone() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

const OUT_OF_TURN: &str = "the site answered out of turn";

/// No answer to give (exit 1): its line on stderr, and with `json` also `{"error": "…"}` on
/// stdout.
fn failed(json: bool, why: String) -> Failure {
    if json {
        super::print_json_error(&why);
    }
    Failure::site(1, why)
}

/// The status as a readable table.
pub fn status_table(s: &Status) -> String {
    let summary = &s.summary;
    let mut rows = vec![
        ("store", crate::text::sanitize(&summary.store).into_owned()),
        (
            "run",
            format!(
                "{} · wall {}",
                s.run,
                crate::text::sanitize(&s.wall_fingerprint)
            ),
        ),
        ("wall", wall_row(&summary.wall)),
        ("crews", crews_row(s.crews)),
        ("sensors", thousands(s.sensors as u64)),
        ("speed", speed_row(s.speed, s.paused)),
        ("readings", readings_row(summary)),
        (
            "crew reports",
            flow_row(summary.crew_reports.produced, summary.crew_reports.stored),
        ),
        (
            "network",
            format!(
                "limit {} · peak {} · delivered {}",
                summary.network.limit,
                summary.network.max_in_flight,
                thousands(summary.network.delivered)
            ),
        ),
        (
            "store rows",
            format!(
                "{} readings · {} crew reports",
                thousands(summary.store_rows.readings),
                thousands(summary.store_rows.crew_reports)
            ),
        ),
        (
            "viewers",
            format!(
                "{} ({} caught up by a fresh snapshot)",
                s.viewers, s.viewer_resnapshots
            ),
        ),
        ("uptime", format!("{:.0} s", s.uptime_s)),
    ];
    if let Some(remote) = &summary.remote {
        // With --broker: agents' readings (part of the readings above), after the crew reports.
        let at = rows
            .iter()
            .position(|r| r.0 == "crew reports")
            .map_or(0, |i| i + 1);
        rows.insert(at, ("remote", remote_row(remote)));
    }
    rows.iter()
        .map(|(k, v)| format!("{k:>12}  {v}\n"))
        .collect()
}

fn wall_row(wall: &WallProgress) -> String {
    format!(
        "{} · {} yd³ ice · {} Gold Dragons",
        wall.day_words(),
        thousands(wall.ice_to_date),
        thousands(wall.cost_to_date)
    )
}

fn crews_row(crews: Crews) -> String {
    match crews {
        Crews::Limited(n) => thousands(u64::from(n)),
        Crews::Unlimited => "unlimited (one per section)".into(),
    }
}

fn speed_row(speed: Speed, paused: bool) -> String {
    let label = crate::ui::status::speed_label(speed);
    if paused {
        format!("{label} (paused)")
    } else {
        label
    }
}

fn flow_row(produced: u64, stored: u64) -> String {
    format!(
        "produced {} · stored {}",
        thousands(produced),
        thousands(stored)
    )
}

/// Produced and stored; with agents, produced here and by the agents (those the site took in),
/// whose sum is what the store is to hold: `produced 155 here + 70 from agents = 225 · stored
/// 225`.
fn readings_row(summary: &crate::engine::Summary) -> String {
    let Some(remote) = &summary.remote else {
        return flow_row(summary.readings.produced, summary.readings.stored);
    };
    format!(
        "produced {} here + {} from agents = {} · stored {}",
        thousands(summary.readings.produced),
        thousands(remote.taken()),
        thousands(summary.readings_to_store()),
        thousands(summary.readings.stored)
    )
}

fn remote_row(remote: &RemoteSummary) -> String {
    format!(
        "received {} · stored {} · rejected {} · duplicates {}",
        thousands(remote.received),
        thousands(remote.stored),
        thousands(remote.rejected),
        thousands(remote.duplicates + remote.store_duplicates)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(remote: bool) -> Status {
        let mut s = serde_json::json!({
            "readings": {"produced": 12345, "stored": 12340},
            "crew_reports": {"produced": 40, "stored": 40},
            "network": {"limit": 5, "max_in_flight": 4, "delivered": 12385,
                        "mean_wait_ms": 0.25, "mean_latency_ms": 3.5},
            "wall": {"day": 8, "ice_to_date": 1234567, "cost_to_date": 2345678900u64,
                     "complete": true},
            "store": "sqlite:site.db", "store_rows": {"readings": 22345, "crew_reports": 80},
            "seed": 7, "simulated_seconds": 691200.0,
            "remote": {"received": 9000, "rejected": 1, "duplicates": 2, "out_of_order": 0,
                       "delivered": 6, "stored": 6, "store_duplicates": 1},
            "crews": 5, "sensors": 7, "sensor_names": ["a", "b", "c", "d", "e", "f", "g"],
            "speed": 10, "paused": true, "run": 2, "wall_fingerprint": "5d0c6f0b2a1e9c47",
            "viewers": 2, "viewer_resnapshots": 1, "uptime_s": 12.6
        });
        if !remote {
            s.as_object_mut().unwrap().remove("remote");
        }
        serde_json::from_value(s).unwrap()
    }

    #[test]
    fn the_table_words_every_figure() {
        let table = "       store  sqlite:site.db
         run  2 · wall 5d0c6f0b2a1e9c47
        wall  day 8 (complete) · 1,234,567 yd³ ice · 2,345,678,900 Gold Dragons
       crews  5
     sensors  7
       speed  10× (paused)
    readings  produced 12,345 here + 5 from agents = 12,350 · stored 12,340
crew reports  produced 40 · stored 40
      remote  received 9,000 · stored 6 · rejected 1 · duplicates 3
     network  limit 5 · peak 4 · delivered 12,385
  store rows  22,345 readings · 80 crew reports
     viewers  2 (1 caught up by a fresh snapshot)
      uptime  13 s
";
        assert_eq!(status_table(&sample(true)), table);
        let without: String = table
            .lines()
            .filter(|l| !l.contains("remote"))
            .map(|l| {
                l.replace(
                    "produced 12,345 here + 5 from agents = 12,350",
                    "produced 12,345",
                )
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(status_table(&sample(false)), without);
    }

    /// A wall done says the day it was done, the day `report` says, not the site's day counter
    /// (one further: the day the crews were told nothing is left).
    #[test]
    fn a_done_wall_says_the_day_it_was_done() {
        let mut s = sample(false);
        s.summary.wall.done_on = Some(7);
        assert!(
            status_table(&s).contains(
                "        wall  done on day 7 · 1,234,567 yd³ ice · 2,345,678,900 Gold Dragons\n"
            ),
            "{}",
            status_table(&s)
        );
        s.summary.wall.complete = false;
        s.summary.wall.done_on = None;
        assert!(status_table(&s).contains("        wall  day 8 · "));
    }
}

//! The topics of a site, and the site's answers to its agents.
//!
//! - `wallwatch/{site}/readings/{agent}`: an agent's readings, QoS 1 ([`super::codec`]).
//! - `wallwatch/{site}/confirmed/{agent}`: the site's confirmation, retained, QoS 1: a range
//!   `START END` (decimal text) of the agent's seqs that the site has stored, every one of
//!   them. Published only after the store's transaction committed; an agent may forget its
//!   readings in that range. The retained one is the agent's latest range (its run's).
//! - `wallwatch/{site}/status`: retained, `online RUN` while a site runs (RUN new at each
//!   start), `offline` once it stopped (also its last will, should it die). An agent that sees a
//!   new RUN sends again everything unconfirmed: what a killed site had taken but not stored.

/// The topic of an agent's readings.
pub fn readings_topic(site: &str, agent: &str) -> String {
    format!("wallwatch/{site}/readings/{agent}")
}

/// The filter the site subscribes to.
pub fn readings_filter(site: &str) -> String {
    format!("wallwatch/{site}/readings/+")
}

/// The agent a readings topic of `site` names, if it is one.
pub fn agent_of<'a>(site: &str, topic: &'a str) -> Option<&'a str> {
    topic
        .strip_prefix("wallwatch/")?
        .strip_prefix(site)?
        .strip_prefix("/readings/")
        .filter(|a| !a.is_empty() && !a.contains('/'))
}

/// The topic of the site's confirmation for an agent.
pub fn confirmed_topic(site: &str, agent: &str) -> String {
    format!("wallwatch/{site}/confirmed/{agent}")
}

/// The topic of the site's status.
pub fn status_topic(site: &str) -> String {
    format!("wallwatch/{site}/status")
}

/// A confirmation's payload: every seq of `start..=end` is stored.
pub fn encode_confirmed(start: u64, end: u64) -> Vec<u8> {
    format!("{start} {end}").into_bytes()
}

/// A confirmation's range `(start, end)`; `None` for anything else (an empty retained message
/// clears it). A lone number N, as an earlier site published it, meant every seq up to N.
pub fn decode_confirmed(payload: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    match text.split_once(' ') {
        Some((start, end)) => {
            let (start, end) = (start.parse().ok()?, end.trim().parse().ok()?);
            (start <= end).then_some((start, end))
        }
        None => Some((0, text.parse().ok()?)),
    }
}

/// The status payload of a running site.
pub fn online(run: u64) -> Vec<u8> {
    format!("online {run:016x}").into_bytes()
}

/// The payload of a stopped site.
pub const OFFLINE: &[u8] = b"offline";

/// The run a status payload names, if the site is online.
pub fn run_of(payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    text.strip_prefix("online ").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics() {
        let t = readings_topic("north", "a-1");
        assert_eq!(agent_of("north", &t), Some("a-1"));
        assert_eq!(agent_of("nort", &t), None);
        assert_eq!(agent_of("north", "wallwatch/north/readings/"), None);
        assert_eq!(agent_of("north", "wallwatch/north/readings/a/b"), None);
        assert_eq!(agent_of("north", "wallwatch/north/confirmed/a"), None);
        assert_eq!(decode_confirmed(&encode_confirmed(7, 42)), Some((7, 42)));
        assert_eq!(decode_confirmed(b"42"), Some((0, 42)));
        assert_eq!(decode_confirmed(b"9 3"), None);
        assert_eq!(decode_confirmed(b""), None);
        assert_eq!(decode_confirmed(b"x"), None);
        assert_eq!(run_of(&online(255)).as_deref(), Some("00000000000000ff"));
        assert_eq!(run_of(OFFLINE), None);
    }
}

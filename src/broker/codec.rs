//! What an agent publishes: one reading per message, JSON, at most [`MAX_PAYLOAD`] bytes.
//!
//! `{"agent":"a1","seq":17,"first":1,"sensor":"sensor-1","timestamp":"2026-12-01T12:00:00.000000Z","value":-3}`
//!
//! `seq` numbers the agent's readings, one after another (never reused: a restarted agent
//! starts above what the site confirmed and above the clock in microseconds); `first` is the
//! first seq of the agent's run, so the site can tell a restarted agent's jump from a gap.
//! The topic is `wallwatch/{site}/readings/{agent}` and must name the same agent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sensors::{MAX_VALUE, MIN_VALUE};

/// The largest payload the site takes; a longer one is rejected unread.
pub const MAX_PAYLOAD: usize = 1024;
/// The longest sensor name an agent may send (bytes).
pub const MAX_SENSOR_NAME: usize = 64;

/// One reading on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub agent: String,
    pub seq: u64,
    pub first: u64,
    pub sensor: String,
    pub timestamp: DateTime<Utc>,
    pub value: i32,
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a message always serialises")
    }

    /// Decodes and checks a payload that came on the topic of `topic_agent`. Errors are one
    /// line, free of control characters.
    pub fn decode(payload: &[u8], topic_agent: &str) -> Result<Message, String> {
        if payload.len() > MAX_PAYLOAD {
            return Err(format!(
                "payload of {} bytes is over the limit of {MAX_PAYLOAD}",
                payload.len()
            ));
        }
        let m: Message = serde_json::from_slice(payload)
            .map_err(|e| format!("not a reading: {}", crate::text::sanitize(&e.to_string())))?;
        super::url::check_name("agent", &m.agent)?;
        if m.agent != topic_agent {
            return Err(format!(
                "agent '{}' sent on the topic of agent '{}'",
                m.agent,
                crate::text::sanitize(topic_agent)
            ));
        }
        if m.sensor.is_empty()
            || m.sensor.len() > MAX_SENSOR_NAME
            || m.sensor.chars().any(crate::text::is_unsafe)
        {
            return Err(format!(
                "sensor name '{}' is empty, longer than {MAX_SENSOR_NAME} bytes or has control \
                 or bidirectional characters",
                crate::text::sanitize(&m.sensor)
            ));
        }
        if !(MIN_VALUE..=MAX_VALUE).contains(&m.value) {
            return Err(format!(
                "value {} is out of range ({MIN_VALUE}..={MAX_VALUE})",
                m.value
            ));
        }
        if m.seq == 0 || m.first == 0 || m.first > m.seq {
            return Err(format!(
                "seq {} / first {} are not a sequence",
                m.seq, m.first
            ));
        }
        if m.seq > MAX_SEQ {
            return Err(format!(
                "seq {} is more than a store can hold ({MAX_SEQ})",
                m.seq
            ));
        }
        Ok(m)
    }
}

/// The highest seq taken: what the SQL stores' 64-bit signed column holds. Beyond it every
/// write of the batch failed, for good.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// How far above the site's clock (in microseconds) a run's first seq may be. An agent starts
/// its run at the clock in microseconds (or just above the site's confirmation, made of its
/// earlier runs' seqs, so not far above the clock either): a first further ahead is a jump no
/// agent makes, allowing for an agent's clock an hour ahead of the site's.
pub const MAX_FIRST_AHEAD_MICROS: u64 = 3_600_000_000;

/// Whether a run may start at `first` when the clock says `now_micros`.
pub fn first_is_plausible(first: u64, now_micros: u64) -> bool {
    first <= now_micros.saturating_add(MAX_FIRST_AHEAD_MICROS)
}

/// The clock in microseconds since 1970, as agents number their runs.
pub fn now_micros() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            agent: "a1".into(),
            seq: 7,
            first: 1,
            sensor: "sensor-1".into(),
            timestamp: DateTime::from_timestamp(1_790_000_000, 123_000).unwrap(),
            value: -3,
        }
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(Message::decode(&m.encode(), "a1"), Ok(m));
    }

    #[test]
    fn bad_payloads_are_one_line_errors() {
        let mut cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "not a reading"),
            (b"{}".to_vec(), "not a reading"),
            (vec![b' '; MAX_PAYLOAD + 1], "over the limit"),
            (b"\xff\xfe".to_vec(), "not a reading"),
        ];
        let mut other = sample();
        other.agent = "a2".into();
        cases.push((other.encode(), "topic of agent"));
        let mut value = sample();
        value.value = 101;
        cases.push((value.encode(), "out of range"));
        let mut name = sample();
        name.sensor = "s\u{1b}[2J".into();
        cases.push((name.encode(), "control or bidirectional characters"));
        let mut bidi = sample();
        bidi.sensor = "temp\u{202e}3pmet".into();
        cases.push((bidi.encode(), "control or bidirectional characters"));
        let mut seq = sample();
        seq.first = 9;
        cases.push((seq.encode(), "not a sequence"));
        for huge in [u64::MAX, MAX_SEQ + 1] {
            let mut forged = sample();
            forged.seq = huge;
            forged.first = huge;
            cases.push((forged.encode(), "more than a store can hold"));
        }
        let extra = String::from_utf8(sample().encode())
            .unwrap()
            .replace('}', ",\"x\":1}");
        cases.push((extra.into_bytes(), "not a reading"));
        for (payload, want) in cases {
            let e = Message::decode(&payload, "a1").unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(!e.chars().any(crate::text::is_unsafe), "{e:?}");
        }
    }
}

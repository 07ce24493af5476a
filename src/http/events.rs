//! `GET /events`: the site model as server-sent events. The first event is a `snapshot` (the
//! model as a viewer's snapshot has it), then one `update` per numbered update. Each event's
//! `id` is `INSTANCE-N`: this site process's [`instance`] and the update's number N (a
//! snapshot's, the number it is at). The numbers start again at 0 when a site starts, so the
//! instance tells a browser's `Last-Event-ID` from before a restart apart: only an id of this
//! process resumes, after N, when the hub still holds what came since (see `hub::RECENT`);
//! any other starts from a snapshot. The first event also says how soon to reconnect
//! ([`RETRY`]).
//!
//! The stream is a hub subscription like a terminal viewer's: a client that does not keep up
//! is given a fresh snapshot, never a backlog beyond `hub::QUEUE`. A comment every
//! [`HEARTBEAT`] keeps an idle stream's connection open (it closes after `IDLE_TIMEOUT` with
//! nothing moving); the stream ends when the site does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::Api;
use crate::site::{Feed, RECENT, Subscription, Update};

/// How often an idle stream gets a comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a browser waits before it reconnects to a stream that ended or failed.
pub const RETRY: Duration = Duration::from_secs(2);

/// This site process's streams: its instance, and the JSON of its last updates, encoded once
/// for every client that is sent them (a hundred clients cost one encoding per update, not a
/// hundred).
pub struct Source {
    instance: String,
    /// The last [`RECENT`] updates' data, by update number.
    encoded: Mutex<VecDeque<(u64, Arc<str>)>>,
}

impl Source {
    /// A new process's: its instance is 16 hex digits, random (a restart on the same second,
    /// or a site started from a copy of another's store, gets another).
    pub fn new() -> Arc<Source> {
        Source::with_instance(format!("{:016x}", rand::random::<u64>()))
    }

    pub fn with_instance(instance: String) -> Arc<Source> {
        Arc::new(Source {
            instance,
            encoded: Mutex::new(VecDeque::with_capacity(RECENT)),
        })
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// `update`'s data, encoded by the first client that is sent it.
    fn update_data(&self, update: &Update) -> Result<Arc<str>, axum::Error> {
        let cached = |encoded: &VecDeque<(u64, Arc<str>)>| {
            encoded
                .iter()
                .find(|(seq, _)| *seq == update.seq)
                .map(|(_, data)| data.clone())
        };
        let lock = || self.encoded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(data) = cached(&lock()) {
            return Ok(data);
        }
        let data: Arc<str> = data(update)?.into();
        let mut encoded = lock();
        if cached(&encoded).is_none() {
            if encoded.len() >= RECENT {
                encoded.pop_front();
            }
            encoded.push_back((update.seq, data.clone()));
        }
        Ok(data)
    }
}

/// The update number a reconnecting client saw last, if its `Last-Event-ID` is one of this
/// `instance`'s.
fn last_event_id(headers: &HeaderMap, instance: &str) -> Option<u64> {
    let id = headers.get("last-event-id")?.to_str().ok()?.trim();
    let seq = id.strip_prefix(instance)?.strip_prefix('-')?;
    (!seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()))
        .then(|| seq.parse().ok())
        .flatten()
}

/// An event's data: JSON on one line with no raw control character (as every JSON answer, see
/// `json`), so no text of the site's can end or forge an event, or reach a terminal reading the
/// stream as a command.
fn data(value: &impl serde::Serialize) -> Result<String, axum::Error> {
    let json = serde_json::to_string(value).map_err(axum::Error::new)?;
    Ok(crate::text::json_without_controls(json))
}

/// One feed as an event.
fn event(feed: Feed, source: &Source) -> Result<Event, axum::Error> {
    let (name, seq, data) = match &feed {
        Feed::Snapshot(s) => ("snapshot", s.seq, data(&**s)?.into()),
        Feed::Update(u) => ("update", u.seq, source.update_data(u)?),
    };
    Ok(Event::default()
        .event(name)
        .id(format!("{}-{seq}", source.instance))
        .data(&*data))
}

/// The events of `subscription` with a comment after each `heartbeat` of silence.
pub fn stream(
    subscription: Subscription,
    source: Arc<Source>,
    heartbeat: Duration,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>>> {
    let feed = stream::unfold(
        (subscription, source, true),
        |(mut sub, source, first)| async move {
            let next = sub.next().await?;
            let event = event(next, &source).map(|e| if first { e.retry(RETRY) } else { e });
            Some((event, (sub, source, false)))
        },
    );
    Sse::new(feed).keep_alive(KeepAlive::new().interval(heartbeat))
}

/// `GET /events` (see the module's notes).
pub async fn events(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>>> {
    let seen = last_event_id(&headers, api.events.instance());
    stream(api.hub.subscribe_after(seen), api.events.clone(), HEARTBEAT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SensorInfo;
    use crate::site::{Hub, LogLine, Model};
    use crate::units::Speed;
    use crate::wall::{Crews, Wall};
    use axum::response::IntoResponse;
    use futures_util::StreamExt;

    #[test]
    fn only_an_id_of_this_instance_is_a_last_event_id() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("last-event-id", v.parse().unwrap());
            last_event_id(&h, "00ab")
        };
        assert_eq!(with("00ab-17"), Some(17));
        assert_eq!(with(" 00ab-17 "), Some(17));
        assert_eq!(with("00ab-0"), Some(0));
        for bad in [
            "",
            "17",
            "00ab",
            "00ab-",
            "00ab17",
            "00ac-17",
            "100ab-17",
            "00ab-+17",
            "00ab--1",
            "00ab-1.5",
            "00ab-x",
            "00ab-18446744073709551616",
        ] {
            assert_eq!(with(bad), None, "{bad:?}");
        }
        assert_eq!(last_event_id(&HeaderMap::new(), "00ab"), None);
    }

    #[test]
    fn every_process_has_an_instance_of_its_own() {
        let (a, b) = (Source::new(), Source::new());
        let (a, b) = (a.instance(), b.instance());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    /// Every client sent an update gets the one encoding of it, the same as its own would be;
    /// the cache keeps only the last [`RECENT`].
    #[test]
    fn an_update_is_encoded_once_for_every_client() {
        let source = Source::with_instance("00ab".into());
        let update = |seq| Update {
            seq,
            changes: Vec::new(),
        };
        let first = source.update_data(&update(1)).unwrap();
        let again = source.update_data(&update(1)).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*first, *data(&update(1)).unwrap());
        for seq in 2..=RECENT as u64 + 1 {
            source.update_data(&update(seq)).unwrap();
        }
        assert_eq!(source.encoded.lock().unwrap().len(), RECENT);
        assert!(!Arc::ptr_eq(
            &first,
            &source.update_data(&update(1)).unwrap()
        ));
    }

    fn hub() -> Arc<Hub> {
        let wall = Arc::new(Wall::from_profiles(&[vec![21, 25, 28]]));
        let heights = wall.heights().to_vec();
        let sensor = SensorInfo {
            name: "s".into(),
            kind: "default".into(),
            interval_ms: 5000,
        };
        Hub::new(Model::new(
            wall,
            &heights,
            0,
            false,
            Crews::Limited(1),
            vec![sensor],
            5,
            "memory:".into(),
            Speed::Factor(1.0),
        ))
    }

    /// The stream's body, one chunk (an event or a comment) at a time, with when each came.
    async fn chunks(
        sse: Sse<impl Stream<Item = Result<Event, axum::Error>> + Send + 'static>,
        n: usize,
    ) -> Vec<(Duration, String)> {
        let start = tokio::time::Instant::now();
        let mut body = sse.into_response().into_body().into_data_stream();
        let mut out = Vec::new();
        while out.len() < n {
            let chunk = body.next().await.expect("a chunk").unwrap();
            out.push((start.elapsed(), String::from_utf8(chunk.to_vec()).unwrap()));
        }
        out
    }

    /// On a paused clock: a silent stream gets a comment every 15 s and nothing before; an
    /// update puts the next comment off by another 15 s.
    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_gets_a_comment_every_heartbeat() {
        let hub = hub();
        let sse = stream(
            hub.subscribe(),
            Source::with_instance("00ab".into()),
            HEARTBEAT,
        );
        let feeder = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(40)).await;
            feeder.add_log(vec![LogLine {
                at: chrono::Utc::now(),
                level: "INFO".into(),
                target: "crew".into(),
                message: "hello".into(),
            }]);
            feeder.seal();
        });
        let got = chunks(sse, 5).await;
        let (at, first) = &got[0];
        assert_eq!(*at, Duration::ZERO);
        assert!(first.starts_with("event: snapshot\n"), "{first}");
        assert!(first.contains("\nid: 00ab-0\n"), "{first}");
        assert!(first.contains("\nretry: 2000\n"), "{first}");
        let secs: Vec<u64> = got[1..].iter().map(|(at, _)| at.as_secs()).collect();
        let texts: Vec<&str> = got[1..].iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(secs, [15, 30, 40, 55], "{texts:?}");
        assert_eq!(texts[0], ":\n\n");
        assert_eq!(texts[1], ":\n\n");
        assert!(texts[2].starts_with("event: update\n"), "{}", texts[2]);
        assert!(texts[2].contains("\nid: 00ab-1\n"), "{}", texts[2]);
        assert!(!texts[2].contains("retry"), "only the first event sets it");
        assert_eq!(texts[3], ":\n\n");
    }

    /// A client resuming with an id of another instance (the same site before a restart, its
    /// numbers from 0 again) gets a snapshot; with this one's, the updates it missed.
    #[tokio::test(start_paused = true)]
    async fn a_stale_id_from_another_instance_gets_a_fresh_snapshot() {
        let hub = hub();
        for i in 0..3 {
            hub.add_log(vec![LogLine {
                at: chrono::Utc::now(),
                level: "INFO".into(),
                target: "crew".into(),
                message: format!("line {i}"),
            }]);
            hub.seal();
        }
        let resume = |id: &str| {
            let mut h = HeaderMap::new();
            h.insert("last-event-id", id.parse().unwrap());
            hub.subscribe_after(last_event_id(&h, "00ab"))
        };
        let first = |sub| async {
            let got = chunks(
                stream(sub, Source::with_instance("00ab".into()), HEARTBEAT),
                1,
            )
            .await;
            got[0].1.clone()
        };
        let stale = first(resume("99ff-1")).await;
        assert!(stale.starts_with("event: snapshot\n"), "{stale}");
        assert!(stale.contains("\nid: 00ab-3\n"), "{stale}");
        let ours = first(resume("00ab-1")).await;
        assert!(ours.starts_with("event: update\n"), "{ours}");
        assert!(ours.contains("\nid: 00ab-2\n"), "{ours}");
    }
}

//! `GET /events`: the site model as server-sent events. The first event is a `snapshot` (the
//! model as a viewer's snapshot has it), then one `update` per numbered update; each event's
//! `id` is its update number (a snapshot's, the number it is at). A client reconnecting with
//! `Last-Event-ID` resumes after that number when the hub still holds what came since (see
//! `hub::RECENT`), else starts from a snapshot. The stream is a hub subscription like a
//! terminal viewer's: a client that does not keep up is given a fresh snapshot, never a
//! backlog beyond `hub::QUEUE`. A comment every [`HEARTBEAT`] keeps an idle stream's
//! connection open (it closes after `IDLE_TIMEOUT` with nothing moving); the stream ends when
//! the site does.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::Api;
use crate::site::Feed;

/// How often an idle stream gets a comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The update number a reconnecting client saw last, if its `Last-Event-ID` is one.
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    let id = headers.get("last-event-id")?.to_str().ok()?.trim();
    id.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| id.parse().ok())
        .flatten()
}

/// One feed as an event. Its data is JSON on one line with no raw control character (as every
/// JSON answer, see `json`), so no text of the site's can end or forge an event, or reach a
/// terminal reading the stream as a command.
fn event(feed: Feed) -> Result<Event, axum::Error> {
    let (name, seq, data) = match &feed {
        Feed::Snapshot(s) => ("snapshot", s.seq, serde_json::to_string(&**s)),
        Feed::Update(u) => ("update", u.seq, serde_json::to_string(&**u)),
    };
    let data = crate::text::json_without_controls(data.map_err(axum::Error::new)?);
    Ok(Event::default().event(name).id(seq.to_string()).data(data))
}

/// `GET /events` (see the module's notes).
pub async fn events(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>>> {
    let subscription = api.hub.subscribe_after(last_event_id(&headers));
    let feed = stream::unfold(subscription, |mut sub| async move {
        let next = sub.next().await?;
        Some((event(next), sub))
    });
    Sse::new(feed).keep_alive(KeepAlive::new().interval(HEARTBEAT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_number_is_a_last_event_id() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("last-event-id", v.parse().unwrap());
            last_event_id(&h)
        };
        assert_eq!(with("17"), Some(17));
        assert_eq!(with(" 17 "), Some(17));
        for bad in ["", "+17", "-1", "1.5", "x", "18446744073709551616"] {
            assert_eq!(with(bad), None, "{bad:?}");
        }
        assert_eq!(last_event_id(&HeaderMap::new()), None);
    }
}

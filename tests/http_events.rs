//! `GET /events` over real HTTP (issue 23 §1): a snapshot that is the site's model, then
//! numbered updates from which a replica equals the site; a reconnect with `Last-Event-ID`
//! resuming after a held update or starting again from a snapshot; a client that stops reading
//! given a fresh snapshot instead of a backlog; `--http-auth all`; and the end of the stream
//! when the site stops.

#[path = "support/example_config.rs"]
mod example_config;
#[path = "support/http.rs"]
mod http;
#[path = "support/sse.rs"]
mod sse;

use std::sync::Arc;
use std::time::Duration;

use example_config::on_memory_store;
use http::{Served, serve, wait_until};
use serde_json::Value;
use sse::{Events, Opened, SseEvent, open};
use wallwatch::config::Config;
use wallwatch::config::cli::HttpAuth;
use wallwatch::site::hub::{QUEUE, RECENT};
use wallwatch::site::{Hub, LogLine, Model, Snapshot, Update};
use wallwatch::units::Speed;
use wallwatch::wall::Crews;

/// A site of 3 crews and 5 sensors whose days are long (nothing changes by itself).
fn quiet() -> Config {
    let mut c = on_memory_store();
    c.engine.crews = Crews::Limited(3);
    c.engine.day_seconds = 3600.0;
    c
}

/// The example site at ×10: a day every half second, readings, updates every 100 ms.
fn busy() -> Config {
    let mut c = on_memory_store();
    c.engine.speed = Speed::Factor(10.0);
    c
}

async fn events(s: &Served, headers: &[(&str, &str)]) -> Events {
    match open(s.addr, "/events", headers, None).await {
        Opened::Stream(e) => e,
        Opened::Refused { status, body } => panic!("{status}: {body}"),
    }
}

async fn next(e: &mut Events) -> SseEvent {
    e.next().await.expect("an event, not the end")
}

fn snapshot_of(e: &SseEvent) -> Snapshot {
    assert_eq!(e.event, "snapshot", "{e:?}");
    let s: Snapshot = serde_json::from_str(&e.data).unwrap();
    assert_eq!(e.id, Some(s.seq), "a snapshot's id is the number it is at");
    s
}

fn update_of(e: &SseEvent) -> Update {
    assert_eq!(e.event, "update", "{e:?}");
    let u: Update = serde_json::from_str(&e.data).unwrap();
    assert_eq!(e.id, Some(u.seq), "an update's id is its number");
    u
}

/// A client's copy of the model: a snapshot with every update after it applied.
struct Replica {
    model: Option<Model>,
    seq: u64,
    snapshots: usize,
    updates: usize,
}

impl Replica {
    fn new() -> Replica {
        Replica {
            model: None,
            seq: 0,
            snapshots: 0,
            updates: 0,
        }
    }

    fn take(&mut self, e: &SseEvent) {
        if e.event == "snapshot" {
            let s = snapshot_of(e);
            assert!(s.seq >= self.seq, "a snapshot never goes back");
            let mut m = s.model;
            m.reindex();
            self.model = Some(m);
            self.seq = s.seq;
            self.snapshots += 1;
        } else {
            let u = update_of(e);
            assert_eq!(u.seq, self.seq + 1, "updates come in order, none missing");
            self.seq = u.seq;
            self.updates += 1;
            let m = self.model.as_mut().expect("a snapshot first");
            for c in u.changes {
                m.apply_change(c);
            }
        }
    }
}

/// A model as JSON, floats rounded (a JSON round trip may move a float's last digit).
fn shown(m: &Model) -> Value {
    fn round(v: &mut Value) {
        match v {
            Value::Number(n) if n.is_f64() => {
                *v = Value::from((n.as_f64().unwrap() * 1e6).round() / 1e6);
            }
            Value::Array(a) => a.iter_mut().for_each(round),
            Value::Object(o) => o.values_mut().for_each(round),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(m).unwrap();
    round(&mut v);
    v
}

/// Reads `e` into `replica` until it is at the site's last update; the site's snapshot at it.
async fn catch_up(hub: &Hub, e: &mut Events, replica: &mut Replica) -> Arc<Snapshot> {
    let site = hub.snapshot();
    while replica.seq < site.seq {
        replica.take(&next(e).await);
    }
    assert_eq!(replica.seq, site.seq);
    site
}

/// The replica is the site's model at its update.
fn same(replica: &Replica, site: &Snapshot) {
    assert_eq!(replica.seq, site.seq);
    assert_eq!(shown(replica.model.as_ref().unwrap()), shown(&site.model));
}

/// Seals `n` updates on the site, each a log line of `size` bytes (the site's own feed, as the
/// log layer gives it).
fn seal_log_lines(s: &Served, n: usize, size: usize) {
    for i in 0..n {
        let line = LogLine {
            at: chrono::Utc::now(),
            level: "INFO".into(),
            target: "test".into(),
            message: format!("{i} {}", "x".repeat(size)),
        };
        s.site.hub.add_log(vec![line]);
        s.site.hub.seal();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_then_updates_make_a_replica_of_the_site_until_it_stops() {
    let s = serve(busy(), None).await;
    let mut e = events(&s, &[]).await;
    assert_eq!(e.header("content-type"), Some("text/event-stream"));
    let first = next(&mut e).await;
    let snapshot = snapshot_of(&first);
    let status = s.json("/status").await;
    let names: Vec<&str> = snapshot
        .model
        .sensors
        .iter()
        .map(|x| x.info.name.as_str())
        .collect();
    let listed: Vec<&str> = status["sensor_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, listed);
    assert_eq!(names.len(), 5);
    assert_eq!(snapshot.model.crews, Crews::Limited(3));
    assert_eq!(status["crews"], 3);

    let mut replica = Replica::new();
    replica.take(&first);
    while replica.updates < 10 {
        replica.take(&next(&mut e).await);
    }
    let hub = s.site.hub.clone();
    // The site stops: the stream ends after the last update, and the replica is the site.
    s.engine.shutdown().await.unwrap();
    s.site.finished().await;
    while let Some(ev) = e.next().await {
        replica.take(&ev);
    }
    let site = hub.snapshot();
    assert_eq!(replica.snapshots, 1);
    same(&replica, &site);
    assert!(site.model.day > snapshot.model.day, "the days went on");
    wallwatch::http::stop(s.server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_resumes_after_a_held_update_else_starts_from_a_snapshot() {
    let s = serve(quiet(), None).await;
    let mut e = events(&s, &[]).await;
    let mut replica = Replica::new();
    let first = next(&mut e).await;
    let instance = first.instance.clone().unwrap();
    let id_of = |n: u64| format!("{instance}-{n}");
    replica.take(&first);
    seal_log_lines(&s, 5, 10);
    for _ in 0..3 {
        replica.take(&next(&mut e).await);
    }
    drop(e);
    let seen = replica.seq;
    // Two updates it has not seen yet, and more that happened while it was away.
    seal_log_lines(&s, 3, 10);
    let id = id_of(seen);
    let mut e = events(&s, &[("Last-Event-ID", &id)]).await;
    let resumed = next(&mut e).await;
    assert_eq!(resumed.event, "update", "no snapshot: {resumed:?}");
    assert_eq!(resumed.id, Some(seen + 1));
    replica.take(&resumed);
    let site = catch_up(&s.site.hub, &mut e, &mut replica).await;
    assert_eq!(replica.snapshots, 1);
    same(&replica, &site);
    drop(e);
    let now = site.seq;

    // Resuming at the number the site is at: nothing until the next update.
    let id = id_of(now);
    let mut e = events(&s, &[("Last-Event-ID", &id)]).await;
    seal_log_lines(&s, 1, 10);
    let ev = next(&mut e).await;
    assert_eq!((ev.event.as_str(), ev.id), ("update", Some(now + 1)));
    drop(e);

    // An id the site has not reached, one that is not a number, one too old, one of another
    // site process (its numbers started again at 0 when it restarted), a bare number.
    let old = s.site.hub.snapshot().seq;
    seal_log_lines(&s, RECENT + 1, 10);
    let at = s.site.hub.snapshot().seq;
    let other = format!(
        "{:016x}-{}",
        u64::from_str_radix(&instance, 16).unwrap() ^ 1,
        at - 1
    );
    for id in [
        id_of(at + 1000),
        id_of(0) + "x",
        id_of(old),
        other,
        format!("{}", at - 1),
    ] {
        let mut e = events(&s, &[("Last-Event-ID", &id)]).await;
        let ev = next(&mut e).await;
        // At the number the site was at, or later (its sensors read now and then).
        assert!(snapshot_of(&ev).seq >= at, "{id}");
    }
    // The oldest it can still resume after: of the last RECENT updates held, the first's
    // number is the oldest id (read again now, as the site's sensors seal updates of their own).
    let oldest = s.site.hub.snapshot().seq - RECENT as u64;
    assert!(oldest > old, "the updates up to `old` are no longer held");
    let id = id_of(oldest);
    let mut e = events(&s, &[("Last-Event-ID", &id)]).await;
    let ev = next(&mut e).await;
    assert_eq!(update_of(&ev).seq, oldest + 1);
    drop(e);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_given_a_fresh_snapshot_not_a_backlog() {
    let s = serve(quiet(), None).await;
    let mut stalled = match open(s.addr, "/events", &[], Some(4096)).await {
        Opened::Stream(e) => e,
        Opened::Refused { status, body } => panic!("{status}: {body}"),
    };
    let mut replica = Replica::new();
    replica.take(&next(&mut stalled).await);
    // A client that reads every update as it comes paces the site: it is never more than one
    // behind, so the stalled one falls behind only because it does not read.
    let mut live = events(&s, &[]).await;
    let mut paced = Replica::new();
    paced.take(&next(&mut live).await);
    let before = s.site.hub.resnapshots();
    // Far more than the sockets between the site and the stalled client hold (16 MB; a
    // socket here sends at most 4 MB ahead).
    let sealed = 2000;
    for _ in 0..sealed {
        seal_log_lines(&s, 1, 8192);
        let at = s.site.hub.snapshot().seq;
        while paced.seq < at {
            paced.take(&next(&mut live).await);
        }
    }
    let site = catch_up(&s.site.hub, &mut live, &mut paced).await;
    same(&paced, &site);
    assert_eq!(paced.snapshots, 1, "the live client kept up");
    assert!(paced.updates >= sealed);

    // The stalled one reads again: what it had not taken was dropped for a fresh snapshot.
    let site = catch_up(&s.site.hub, &mut stalled, &mut replica).await;
    same(&replica, &site);
    // A fresh snapshot once it fell behind (or more: the site may have written one into the
    // sockets before it fell behind again).
    assert!(
        replica.snapshots >= 2,
        "a fresh snapshot once it fell behind"
    );
    assert!(
        replica.updates < sealed / 2,
        "{} of {sealed} updates were kept for it",
        replica.updates
    );
    let fresh = replica.snapshots as u64 - 1;
    assert_eq!(
        s.site.hub.resnapshots(),
        before + fresh,
        "all of them the stalled one's"
    );
    assert_eq!(
        s.json("/status").await["viewer_resnapshots"],
        before + fresh
    );
    // It goes on as any client.
    seal_log_lines(&s, 1, 10);
    let site = catch_up(&s.site.hub, &mut stalled, &mut replica).await;
    same(&replica, &site);
    println!(
        "the stalled client read {} updates and {} snapshots of {sealed} sealed (queue {QUEUE})",
        replica.updates, replica.snapshots
    );
    drop((stalled, live));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_http_auth_all_the_events_need_the_token() {
    let mut c = quiet();
    c.http_auth = HttpAuth::All;
    let s = serve(c, None).await;
    match open(s.addr, "/events", &[], None).await {
        Opened::Refused { status, body } => {
            assert_eq!(status, 401, "{body}");
            assert!(body.contains("token"), "{body}");
        }
        Opened::Stream(_) => panic!("a stream without the token"),
    }
    match open(s.addr, "/events", &[("Authorization", "Bearer nope")], None).await {
        Opened::Refused { status, .. } => assert_eq!(status, 403),
        Opened::Stream(_) => panic!("a stream with a wrong token"),
    }
    let auth = format!("Bearer {}", s.token.clone().unwrap());
    let mut e = events(&s, &[("Authorization", &auth)]).await;
    snapshot_of(&next(&mut e).await);
    assert_eq!(s.site.hub.subscribers(), 1);
    // A client that goes away is no longer a subscriber.
    drop(e);
    wait_until(Duration::from_secs(30), || async {
        s.site.hub.subscribers() == 0
    })
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_is_json_on_one_line_whatever_the_text() {
    let s = serve(quiet(), None).await;
    let mut e = events(&s, &[]).await;
    snapshot_of(&next(&mut e).await);
    let nasty = "two\nlines\r\n\ndata: forged\n\nevent: snapshot <b>\u{1b}[2J\u{7f}\u{9b}";
    s.site.hub.add_log(vec![LogLine {
        at: chrono::Utc::now(),
        level: "INFO".into(),
        target: "test".into(),
        message: nasty.into(),
    }]);
    s.site.hub.seal();
    let ev = next(&mut e).await;
    // One data line, no raw control character: the whole text stays in the JSON string.
    assert!(!ev.data.chars().any(char::is_control), "{:?}", ev.data);
    assert!(
        ev.data.contains(r"\u007f") && ev.data.contains(r"\u009b"),
        "{:?}",
        ev.data
    );
    update_of(&ev);
    let v: Value = serde_json::from_str(&ev.data).unwrap();
    // The log line, among whatever else changed since the snapshot.
    let logged = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c.get("Log"))
        .unwrap_or_else(|| panic!("no log change in {v}"));
    assert_eq!(logged[0]["message"], nasty);
    drop(e);
    s.stop().await;
}

//! The site over a real engine: a resumed wall's heights reach every viewer, however big the
//! wall; viewers' commands are answered to them alone.

use std::sync::Arc;

use wallwatch::config::Config;
use wallwatch::engine::{Asker, Command, Engine, Outcome, Refusal, StartOptions};
use wallwatch::site::viewer::{self, ViewerMsg};
use wallwatch::site::{Feed, Site};
use wallwatch::store::{Batch, MemoryStore, Store, WALL_HASH_KEY};
use wallwatch::wall::{CrewReport, Crews, Wall};

fn report(id: u64, day: u64, crew: u32, profile: u32, section: u32, height: u8) -> CrewReport {
    CrewReport {
        id,
        timestamp: chrono::Utc::now(),
        day,
        crew,
        profile: Some(profile),
        section: Some(section),
        height: Some(height),
    }
}

/// A 1M-section wall (1000 profiles × 1000 sections at 0 ft), one crew per section, stored
/// after two days of work on every section (the second day raising them to 2 ft, or 3 ft for
/// every 7th): resumed, the first snapshot shows every section's height. (The engine used to
/// send the resumed state as one screen event of 1M rows, which the screen feed's coalescing
/// dropped at once.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_million_section_wall_shows_its_heights() {
    let profiles: Vec<Vec<u8>> = vec![vec![0; 1000]; 1000];
    let wall = Wall::from_profiles(&profiles);
    let mut store = MemoryStore::new();
    store.meta_set(WALL_HASH_KEY, &wall.fingerprint()).unwrap();
    let mut id = 0;
    let mut expected = vec![0u8; wall.sections()];
    for day in 1..=2u64 {
        let mut batch = Batch::default();
        for p in 0..1000u32 {
            for s in 0..1000u32 {
                let flat = (p * 1000 + s) as usize;
                let h = if day == 2 && flat.is_multiple_of(7) {
                    3
                } else {
                    day as u8
                };
                id += 1;
                batch
                    .crew_reports
                    .push(report(id, day, flat as u32 + 1, p + 1, s + 1, h));
                expected[flat] = h;
            }
        }
        store.append(&batch).unwrap();
    }
    let mut config = Config::example();
    config.engine.wall = Arc::new(wall);
    config.engine.crews = Crews::Unlimited;
    config.engine.sensors = 0;
    config.engine.store = "memory:".parse().unwrap();
    let options = StartOptions {
        store: Some(Box::new(store)),
        ..StartOptions::default()
    };
    let (engine, events) = Engine::start_with(&config.engine, options).await.unwrap();
    let site = Site::start(events, None).await.unwrap();
    let mut feed = site.hub.subscribe();
    let Some(Feed::Snapshot(snapshot)) = feed.next().await else {
        panic!("a snapshot first");
    };
    assert_eq!(snapshot.model.day, 2);
    assert_eq!(snapshot.model.wall.heights.len(), 1_000_000);
    assert!(snapshot.model.wall.heights == expected, "resumed heights");
    let feet: u64 = expected.iter().map(|&h| u64::from(h)).sum();
    assert_eq!(snapshot.model.wall.feet_raised(), feet);
    // The snapshot crosses the wire and back (what an attached viewer gets).
    let json = serde_json::to_string(&*snapshot).unwrap();
    let back: wallwatch::site::Snapshot = serde_json::from_str(&json).unwrap();
    assert!(back.model.wall.heights == expected);
    assert_eq!(back.model.wall.raised, snapshot.model.wall.raised);
    drop(feed);
    engine.shutdown().await.unwrap();
    site.finished().await;
}

#[tokio::test(start_paused = true)]
async fn a_command_is_answered_to_the_viewer_that_sent_it() {
    let mut config = Config::example();
    config.engine.store = "memory:".parse().unwrap();
    config.engine.crews = Crews::Limited(2);
    let (engine, events) = Engine::start(&config.engine).await.unwrap();
    let site = Site::start(events, None).await.unwrap();
    let link = |read_only, n| {
        let asker = Asker::key(n, 1000);
        viewer::link(
            site.hub.subscribe(),
            engine.command_sender(),
            read_only,
            asker,
        )
    };
    let (mut a, mut b, mut ro) = (link(false, 1), link(false, 2), link(true, 3));
    a.commands.send((1, Command::RemoveCrews(1))).await.unwrap();
    b.commands.send((1, Command::RemoveCrews(1))).await.unwrap();
    ro.commands.send((9, Command::AddCrews(1))).await.unwrap();
    let reply = |link: &mut viewer::ViewerLink| {
        let mut replies = Vec::new();
        while let Ok(msg) = link.msgs.try_recv() {
            if let ViewerMsg::Reply { id, reply } = msg {
                replies.push((id, reply));
            }
        }
        replies
    };
    // Let the engine answer (it records each change in the store first).
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (ra, rb, rro) = (reply(&mut a), reply(&mut b), reply(&mut ro));
    assert_eq!(ra.len(), 1, "{ra:?}");
    assert_eq!(rb.len(), 1, "{rb:?}");
    // One of the two removed crew 2; the other was refused (the last crew stays), and only it
    // was told.
    let mut answers = vec![ra[0].1.clone(), rb[0].1.clone()];
    answers.sort_by_key(|r| r.is_err());
    assert_eq!(
        answers,
        [
            Ok(Outcome::CrewsRemoved {
                numbers: vec![2],
                crews: 1
            }),
            Err(Refusal::LastCrew { crews: 1 })
        ]
    );
    assert_eq!(rro.len(), 1);
    assert_eq!(rro[0].0, 9);
    assert_eq!(rro[0].1, Err(Refusal::ReadOnly));
    drop((a, b, ro));
    engine.shutdown().await.unwrap();
    site.finished().await;
}

/// Updates go out at most every `UPDATE_EVERY` on a busy site, but a command's effect (here a
/// pause) does not wait for that: it is sealed within `STEERED_EVERY`, with whatever else
/// changed since the last update.
#[tokio::test(start_paused = true)]
async fn a_commands_effect_is_sealed_at_once_on_a_busy_site() {
    use tokio::time::{Instant, sleep};
    use wallwatch::engine::Event;
    use wallwatch::site::Change;
    use wallwatch::site::hub::{STEERED_EVERY, UPDATE_EVERY};

    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let wall = Arc::new(Wall::from_profiles(&[vec![0]]));
    tx.send(Event::Started {
        heights: vec![0],
        wall,
        progress: Default::default(),
        crews: Crews::Limited(1),
        sensors: Vec::new(),
        network_limit: 5,
        store: "memory:".into(),
        speed: wallwatch::units::Speed::Max,
    })
    .await
    .unwrap();
    let site = Site::start(rx, None).await.unwrap();
    let mut feed = site.hub.subscribe();
    let store = |rows| Event::Store {
        rows,
        failing: None,
    };
    sleep(UPDATE_EVERY * 2).await;
    tx.send(store(1)).await.unwrap();
    let next = async |feed: &mut wallwatch::site::Subscription| loop {
        if let Some(Feed::Update(u)) = feed.next().await {
            return u;
        }
    };
    next(&mut feed).await;
    // The site is busy: the next update is due a whole UPDATE_EVERY after that one.
    tx.send(store(2)).await.unwrap();
    sleep(UPDATE_EVERY / 10).await;
    tx.send(Event::Paused(true)).await.unwrap();
    let asked = Instant::now();
    let update = next(&mut feed).await;
    let waited = asked.elapsed();
    assert!(
        waited <= STEERED_EVERY && waited < UPDATE_EVERY / 4,
        "the pause waited {waited:?}"
    );
    assert!(update.changes.contains(&Change::Paused(true)), "{update:?}");
    assert!(
        update
            .changes
            .iter()
            .any(|c| matches!(c, Change::Store { rows: 2, .. })),
        "what else changed goes with it: {update:?}"
    );
    // With nothing steered, the cadence is as before.
    tx.send(store(3)).await.unwrap();
    let asked = Instant::now();
    next(&mut feed).await;
    assert!(asked.elapsed() >= UPDATE_EVERY / 2);
    drop(tx);
    site.finished().await;
}

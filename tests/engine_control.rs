//! The one command path at the engine: every accepted change is recorded before it is made, a
//! change the store cannot record is not made, a keyed retry changes nothing twice, and a run
//! started again on the same store makes the recorded changes again.

#[path = "support/example_config.rs"]
mod example_config;
#[path = "support/faulty_store.rs"]
mod faulty_store;

use std::time::Duration;

use example_config::on_memory_store;
use faulty_store::FaultyStore;
use wallwatch::config::Config;
use wallwatch::engine::{
    Asker, Change, Command, Engine, Event, Outcome, Refusal, SensorInfo, StartOptions,
};
use wallwatch::store::Store;
use wallwatch::units::Speed;
use wallwatch::wall::Crews;

fn asker() -> Asker {
    Asker("test".into())
}

fn config() -> Config {
    let mut c = on_memory_store();
    c.engine.crews = Crews::Limited(3);
    c.engine.sensors = 2;
    c
}

/// Starts a run on `store`; returns the engine and its first event (`Started`) with the rest so
/// far collected into a vector by a task.
async fn start(c: &Config, store: &FaultyStore) -> (Engine, tokio::task::JoinHandle<Vec<Event>>) {
    let options = StartOptions {
        store: Some(Box::new(store.clone())),
        ..StartOptions::default()
    };
    let (engine, mut events) = Engine::start_with(&c.engine, options).await.unwrap();
    let collected = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(e) = events.recv().await {
            all.push(e);
        }
        all
    });
    (engine, collected)
}

fn started(events: &[Event]) -> (Crews, Vec<SensorInfo>, Speed) {
    match &events[0] {
        Event::Started {
            crews,
            sensors,
            speed,
            ..
        } => (*crews, sensors.clone(), *speed),
        other => panic!("first event {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn every_accepted_change_is_recorded_in_order_and_a_refused_one_is_not() {
    let store = FaultyStore::default();
    let (engine, _events) = start(&config(), &store).await;
    let commands = engine.command_sender();
    let ask = |command| commands.ask(command, asker());
    assert!(ask(Command::AddCrews(2)).await.is_ok());
    assert_eq!(
        ask(Command::RemoveCrews(5)).await,
        Err(Refusal::LastCrew { crews: 5 })
    );
    let added = ask(Command::AddSensors {
        kind: None,
        count: 2,
    })
    .await;
    let Ok(Outcome::SensorsAdded { sensors }) = added else {
        panic!("{added:?}");
    };
    let kinds: Vec<&str> = sensors.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["default", "thermometer"], "kinds in turn");
    assert_eq!(
        ask(Command::RemoveSensors(vec!["nobody".into()])).await,
        Err(Refusal::UnknownSensor("nobody".into()))
    );
    assert_eq!(
        ask(Command::Resume).await,
        Ok(Outcome::Paused { paused: false }),
        "resuming a running site changes nothing"
    );
    assert!(ask(Command::Pause).await.is_ok());
    assert!(ask(Command::SetSpeed(Speed::Factor(1e9))).await.is_err());
    engine.shutdown().await.unwrap();
    let recorded: Vec<Change> = store
        .recorded_changes()
        .iter()
        .map(|c| {
            assert_eq!(c.origin, "test");
            serde_json::from_str(&c.change).unwrap()
        })
        .collect();
    assert_eq!(
        recorded,
        [
            Change::CrewsAdded { count: 2 },
            Change::SensorsAdded {
                kinds: vec!["default".into(), "thermometer".into()]
            },
            Change::Paused { paused: true },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_the_store_cannot_record_is_not_made() {
    let store = FaultyStore::failing_with("disk on fire");
    let (engine, events) = start(&config(), &store).await;
    store.set_changes_down(true);
    let commands = engine.command_sender();
    let refused = commands.ask(Command::AddCrews(1), asker()).await;
    assert_eq!(
        refused,
        Err(Refusal::Store("disk on fire".into())),
        "the command fails and says why"
    );
    let refused = commands
        .ask(
            Command::AddSensors {
                kind: None,
                count: 1,
            },
            asker(),
        )
        .await;
    assert!(matches!(refused, Err(Refusal::Store(_))), "{refused:?}");
    // Once the store records again, the next sensor has the name the refused one would have had.
    store.set_changes_down(false);
    let added = commands
        .ask(
            Command::AddSensors {
                kind: None,
                count: 1,
            },
            asker(),
        )
        .await;
    let Ok(Outcome::SensorsAdded { sensors }) = added else {
        panic!("{added:?}");
    };
    assert_eq!(sensors[0].name, "sensor-3");
    tokio::time::sleep(Duration::from_secs(6)).await;
    engine.shutdown().await.unwrap();
    let events = events.await.unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::CrewsChanged(_))),
        "the crews never changed"
    );
    assert_eq!(started(&events).0, Crews::Limited(3));
    assert_eq!(store.recorded_changes().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_keyed_retry_gets_the_first_answer_and_changes_nothing_twice() {
    let store = FaultyStore::default();
    let (engine, _events) = start(&config(), &store).await;
    let commands = engine.command_sender();
    let key = Some("retry-1".to_string());
    let first = commands
        .ask_keyed(Command::AddCrews(1), asker(), key.clone())
        .await;
    let again = commands
        .ask_keyed(Command::AddCrews(1), asker(), key.clone())
        .await;
    assert_eq!(first, again);
    assert_eq!(
        first,
        Ok(Outcome::CrewsAdded {
            numbers: vec![4],
            crews: 4
        })
    );
    // Another command under the same key is not a retry.
    assert!(
        commands
            .ask_keyed(Command::Pause, asker(), key)
            .await
            .is_ok()
    );
    // After the window the key is forgotten.
    tokio::time::sleep(wallwatch::engine::IDEMPOTENCY_WINDOW + Duration::from_secs(1)).await;
    let later = commands
        .ask_keyed(Command::AddCrews(1), asker(), Some("retry-1".into()))
        .await;
    assert!(
        matches!(later, Ok(Outcome::CrewsAdded { crews: 5, .. })),
        "{later:?}"
    );
    engine.shutdown().await.unwrap();
    assert_eq!(store.recorded_changes().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_run_started_again_on_the_same_store_makes_the_recorded_changes_again() {
    let store = FaultyStore::default();
    let c = config();
    let (engine, events) = start(&c, &store).await;
    let commands = engine.command_sender();
    let ask = |command| commands.ask(command, asker());
    assert!(ask(Command::AddCrews(3)).await.is_ok());
    assert!(ask(Command::RemoveCrews(1)).await.is_ok());
    let thermometers = Command::AddSensors {
        kind: Some("thermometer".into()),
        count: 2,
    };
    assert!(ask(thermometers).await.is_ok());
    assert!(
        ask(Command::RemoveSensors(vec!["sensor-1".into()]))
            .await
            .is_ok()
    );
    assert!(ask(Command::SetSpeed(Speed::Factor(4.0))).await.is_ok());
    assert!(ask(Command::Pause).await.is_ok());
    tokio::time::sleep(Duration::from_secs(1)).await;
    engine.shutdown().await.unwrap();
    let before = events.await.unwrap();
    let names_before: Vec<String> = {
        let mut names: Vec<String> = started(&before).1.into_iter().map(|s| s.name).collect();
        for e in &before {
            match e {
                Event::SensorAdded(s) => names.push(s.name.clone()),
                Event::SensorRemoved(n) => names.retain(|m| m != n),
                _ => {}
            }
        }
        names
    };

    let (engine, events) = start(&c, &store).await;
    let again = engine.command_sender();
    // Still paused: nothing is produced while the clock stands.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(engine.counters().readings_produced, 0);
    assert!(again.ask(Command::Resume, asker()).await.is_ok());
    engine.shutdown().await.unwrap();
    let after = events.await.unwrap();
    let (crews, sensors, speed) = started(&after);
    assert_eq!(crews, Crews::Limited(5));
    let names: Vec<String> = sensors.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, names_before);
    assert_eq!(names, ["sensor-2", "thermo-1", "thermo-2"]);
    assert_eq!(speed, Speed::Factor(4.0));
    assert!(
        after.iter().any(|e| matches!(e, Event::Paused(true))),
        "the pause is made again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fresh_run_forgets_the_recorded_changes() {
    let store = FaultyStore::default();
    let mut c = config();
    let (engine, _events) = start(&c, &store).await;
    assert!(
        engine
            .command_sender()
            .ask(Command::AddCrews(2), asker())
            .await
            .is_ok()
    );
    engine.shutdown().await.unwrap();
    c.engine.fresh = true;
    let (engine, events) = start(&c, &store).await;
    engine.shutdown().await.unwrap();
    assert_eq!(started(&events.await.unwrap()).0, Crews::Limited(3));
    assert!(store.recorded_changes().is_empty());
}

/// A crew added to a complete wall is refused at once, saying there is nothing left to build
/// (it would only be relieved the next day); nothing is recorded, the crews stay as they were.
#[tokio::test(start_paused = true)]
async fn a_crew_added_to_a_complete_wall_is_refused_at_once() {
    let store = FaultyStore::default();
    let mut c = config();
    c.engine.wall = std::sync::Arc::new(wallwatch::wall::Wall::parse(b"28 29\n", 10).unwrap());
    c.engine.day_seconds = 1.0;
    let (engine, events) = start(&c, &store).await;
    let commands = engine.command_sender();
    assert!(commands.ask(Command::AddCrews(1), asker()).await.is_ok());
    until_day(&engine, 2).await;
    assert!(engine.progress().complete);
    let refused = commands.ask(Command::AddCrews(1), asker()).await;
    assert_eq!(refused, Err(Refusal::WallComplete));
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("nothing left to build"),
        "the refusal says why"
    );
    // Removing one is still possible: the wall's state refuses only what would do nothing.
    assert!(commands.ask(Command::RemoveCrews(1), asker()).await.is_ok());
    engine.shutdown().await.unwrap();
    let _ = events.await.unwrap();
    assert_eq!(
        store.recorded_changes().len(),
        2,
        "the refused addition is not recorded"
    );
}

/// Waits (on the paused clock) until the wall's day is at least `day`.
async fn until_day(engine: &Engine, day: u64) {
    for _ in 0..10_000 {
        if engine.progress().day >= day {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("day {day} never came ({:?})", engine.progress());
}

#[tokio::test(start_paused = true)]
async fn a_loaded_wall_is_a_new_run_after_every_report_of_the_old_one() {
    let store = FaultyStore::default();
    let mut c = config();
    c.engine.day_seconds = 1.0;
    let (engine, events) = start(&c, &store).await;
    let commands = engine.command_sender();
    until_day(&engine, 3).await;
    let old_reports = engine.counters().crew_reports_produced;
    let load = |profiles: &str, crews| Command::LoadWall {
        profiles: profiles.into(),
        crews,
    };
    let reply = commands
        .ask(load("5 6\n", Some(Crews::Limited(1))), asker())
        .await;
    let Ok(Outcome::WallLoaded {
        run: 2,
        fingerprint,
        profiles: 1,
        sections: 2,
        crews: Crews::Limited(1),
    }) = reply
    else {
        panic!("{reply:?}");
    };
    // The old run's reports all stored before it, and kept apart from the new run's.
    assert_eq!(engine.counters().crew_reports_stored, old_reports);
    assert_eq!(
        store.crew_reports().len(),
        0,
        "the store holds the new run's reports only"
    );
    let past = store.with_inner(|m| m.past_runs().unwrap());
    assert_eq!(past.len(), 1);
    assert_eq!((past[0].run, past[0].crew_reports), (1, old_reports));
    // A bad wall, bad crews: refused, nothing changed.
    let bad = commands.ask(load("5 31\n", None), asker()).await;
    assert_eq!(
        bad,
        Err(Refusal::BadWall(
            "1:3: '31' is not a height (0..=30)".into()
        ))
    );
    let bad = commands
        .ask(load("5\n", Some(Crews::Limited(0))), asker())
        .await;
    assert!(matches!(bad, Err(Refusal::OutOfRange(_))), "{bad:?}");
    // A load the store cannot record is not made: the loaded wall works on.
    store.set_changes_down(true);
    let refused = commands.ask(load("7\n", None), asker()).await;
    assert!(matches!(refused, Err(Refusal::Store(_))), "{refused:?}");
    store.set_changes_down(false);
    until_day(&engine, 2).await;
    assert_eq!(engine.gauges().run(), (2, fingerprint.clone()));
    engine.shutdown().await.unwrap();

    // What the watcher saw: after the load, only the new wall's reports and days from 1.
    let seen = events.await.unwrap();
    let at = seen
        .iter()
        .position(|e| matches!(e, Event::WallLoaded { run: 2, .. }))
        .expect("the load is published");
    let before: usize = seen[..at]
        .iter()
        .map(|e| match e {
            Event::CrewReports(r) => r.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(before as u64, old_reports);
    let mut days = Vec::new();
    for e in &seen[at + 1..] {
        match e {
            Event::CrewReports(r) => {
                assert!(
                    r.iter()
                        .all(|r| r.profile.is_none_or(|p| p == 1)
                            && r.section.is_none_or(|s| s <= 2)),
                    "{r:?}"
                );
            }
            Event::Day(p) => days.push(p.day),
            _ => {}
        }
    }
    assert_eq!(days.first(), Some(&1), "{days:?}");
    assert!(
        store
            .crew_reports()
            .iter()
            .all(|r| r.day <= days[days.len() - 1])
    );
}

#[tokio::test(start_paused = true)]
async fn a_load_recorded_before_a_crash_is_finished_at_the_next_start() {
    let store = FaultyStore::default();
    let mut c = config();
    c.engine.day_seconds = 1.0;
    let (engine, _events) = start(&c, &store).await;
    until_day(&engine, 2).await;
    engine.shutdown().await.unwrap();
    let reports = store.crew_reports().len() as u64;
    assert!(reports > 0);
    // The load was recorded, then the site died before the store started the run.
    let change = Change::WallLoaded {
        run: 2,
        profiles: "7 8 9\n".into(),
        crews: Crews::Limited(2),
    };
    store.with_inner(|m| {
        m.append_change(chrono::Utc::now(), "test", &change.to_json())
            .unwrap()
    });
    let (engine, events) = start(&c, &store).await;
    let fingerprint = wallwatch::wall::Wall::parse(b"7 8 9\n", 10)
        .unwrap()
        .fingerprint();
    assert_eq!(engine.gauges().run(), (2, fingerprint));
    engine.shutdown().await.unwrap();
    let seen = events.await.unwrap();
    match &seen[0] {
        Event::Started { wall, crews, .. } => {
            assert_eq!((wall.sections(), *crews), (3, Crews::Limited(2)));
        }
        other => panic!("{other:?}"),
    }
    let past = store.with_inner(|m| m.past_runs().unwrap());
    assert_eq!((past[0].run, past[0].crew_reports), (1, reports));
    assert_eq!(store.with_inner(|m| m.run().unwrap()), 2);
}

/// Issue 26: a stored run whose wall is complete is not resumed (nothing would move on the
/// screen): the next start builds the same wall again as a new run, the finished one kept.
#[tokio::test(start_paused = true)]
async fn a_complete_stored_wall_starts_again_as_a_new_run() {
    let store = FaultyStore::default();
    let mut c = config();
    c.engine.wall = std::sync::Arc::new(wallwatch::wall::Wall::parse(b"28 29\n", 10).unwrap());
    c.engine.day_seconds = 1.0;
    let (engine, _events) = start(&c, &store).await;
    until_day(&engine, 2).await;
    assert!(engine.progress().complete);
    engine.shutdown().await.unwrap();
    let finished = store.crew_reports().len() as u64;

    let (engine, events) = start(&c, &store).await;
    assert_eq!(engine.gauges().run().0, 2);
    assert_eq!(engine.progress().day, 0);
    until_day(&engine, 1).await;
    engine.shutdown().await.unwrap();
    let seen = events.await.unwrap();
    match &seen[0] {
        Event::Started {
            heights, progress, ..
        } => {
            assert_eq!(heights, &[28, 29], "from the wall's own heights");
            assert!(!progress.complete);
        }
        other => panic!("{other:?}"),
    }
    let past = store.with_inner(|m| m.past_runs().unwrap());
    assert_eq!((past[0].run, past[0].crew_reports), (1, finished));

    // An unfinished run is resumed, not started again.
    let (engine, _events) = start(&c, &store).await;
    assert_eq!(engine.gauges().run().0, 2);
    assert_eq!(engine.progress().day, 1);
    engine.shutdown().await.unwrap();
}

//! A fixed run fed to the App: the example wall with 3 crews worked for a few days by
//! `wall::Works` (deterministic), five sensors with fixed values, network and store figures.
#![allow(dead_code)] // each test file uses its own part of this

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use tokio::time::{Duration, Instant};
use wallwatch::app::App;
use wallwatch::app::theme::Palette;
use wallwatch::engine::{Event, NetworkStats, SensorInfo, WallProgress};
use wallwatch::sensors::Reading;
use wallwatch::site::model::Tracker;
use wallwatch::units::Speed;
use wallwatch::wall::{
    COST_PER_FOOT, CrewReport, Crews, EXAMPLE_PROFILES, ICE_PER_FOOT, Wall, Works,
};

pub fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + secs, 0).unwrap()
}

pub fn example_wall() -> Wall {
    Wall::parse(EXAMPLE_PROFILES.as_bytes(), 2000).unwrap()
}

pub fn sensor_infos() -> Vec<SensorInfo> {
    [
        ("gate-north", "default", 5000),
        ("thermo-1", "thermometer", 1000),
        ("strain-1", "strain", 2000),
        ("seismo-1", "seismometer", 10000),
        ("gate-south", "default", 5000),
    ]
    .into_iter()
    .map(|(n, k, i)| SensorInfo {
        name: n.into(),
        kind: k.into(),
        interval_ms: i,
    })
    .collect()
}

/// The events of `days` days of the example wall with `crews` crews, in engine order.
pub fn run_events(wall: &Wall, crews: Crews, days: u64) -> Vec<Event> {
    let mut events = Vec::new();
    let mut site = Works::new(wall.clone(), crews);
    let mut id = 0;
    for _ in 0..days {
        if site.is_done() {
            break;
        }
        let work = site.step();
        let day = site.day();
        let reports: Vec<CrewReport> = work
            .iter()
            .map(|w| {
                id += 1;
                CrewReport {
                    id,
                    ..CrewReport::from_work(w, ts(day as i64 * 5))
                }
            })
            .collect();
        events.push(Event::CrewReports(reports));
        let feet = site.feet_raised();
        events.push(Event::Day(WallProgress {
            day,
            ice_to_date: feet * ICE_PER_FOOT,
            cost_to_date: feet * COST_PER_FOOT,
            complete: site.is_complete(),
            done_on: site.done_on(),
        }));
    }
    events
}

/// Fixed readings: sensor `s`, reading `i`.
pub fn value(s: usize, i: usize) -> i32 {
    let x = (i as i64 * 37 + s as i64 * 53 + (i * i) as i64 * 7) % 201;
    (x - 100) as i32
}

pub fn readings(infos: &[SensorInfo], per_sensor: usize) -> Vec<Reading> {
    let mut out = Vec::new();
    let mut id = 0;
    for i in 0..per_sensor {
        for (s, info) in infos.iter().enumerate() {
            id += 1;
            out.push(Reading {
                id,
                timestamp: ts(i as i64),
                sensor: info.name.clone(),
                value: value(s, i),
                stored_at: None,
            });
        }
    }
    out
}

/// Applies `event`, seen at `now`, to the app's site model (as the site does; the time
/// matters for the delivered-per-second rate).
pub fn update_at(app: &mut App, event: Event, now: Instant) -> bool {
    let site = app.site.as_mut().expect("Started first");
    site.apply_event(event, now, &mut Tracker::default())
}

/// The `Started` event of the fixed run (a new run: the wall's own heights, day 0).
pub fn started(wall: &Wall, crews: Crews, sensors: Vec<SensorInfo>) -> Event {
    Event::Started {
        wall: Arc::new(wall.clone()),
        heights: wall.heights().to_vec(),
        progress: WallProgress::default(),
        crews,
        sensors,
        network_limit: 5,
        store: "sqlite:wallwatch.db".into(),
        speed: Speed::Factor(1.0),
    }
}

/// The App after the fixed run.
pub fn demo_app(palette: Palette) -> App {
    let wall = example_wall();
    let mut app = App::new(palette);
    let t0 = Instant::now();
    let infos = sensor_infos();
    app.update(started(&wall, Crews::Limited(3), infos.clone()));
    for ev in run_events(&wall, Crews::Limited(3), 6) {
        update_at(&mut app, ev, t0);
    }
    update_at(&mut app, Event::Readings(readings(&infos, 40)), t0);
    let stats = |in_flight, waiting, delivered| NetworkStats {
        limit: 5,
        in_flight,
        max_in_flight: 5,
        waiting,
        delivered,
        mean_wait_ms: 12.4,
        mean_latency_ms: 41.6,
        ..NetworkStats::default()
    };
    update_at(&mut app, Event::Network(stats(1, 0, 180)), t0);
    update_at(
        &mut app,
        Event::Network(stats(3, 2, 212)),
        t0 + Duration::from_secs(2),
    );
    update_at(
        &mut app,
        Event::Store {
            rows: 218,
            failing: None,
        },
        t0,
    );
    app
}

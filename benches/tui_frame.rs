//! One dashboard frame at 200x50 with the 1M-section wall (500 profiles × 2000 sections) and
//! 1000 sensors with full histories, and one at 120x40 on the defaults (the example wall, 3 crews,
//! 5 sensors): layout, every pane, and ratatui's diff. Then how a frame grows with the wall:
//! 200x50, 5 sensors, 100 profiles of 10, 10,000 and 100,000 sections (10³, 10⁶, 10⁷).

use std::hint::black_box;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wallwatch::app::theme::Palette;
use wallwatch::app::{App, HISTORY};
use wallwatch::engine::{Event, NetworkStats, SensorInfo, WallProgress};
use wallwatch::sensors::Reading;
use wallwatch::ui;
use wallwatch::units::Speed;
use wallwatch::wall::{CrewReport, Crews, Wall, Works};

fn big_wall() -> Wall {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/profiles/large_500x2000.txt"
    );
    match std::fs::read(path) {
        Ok(bytes) => Wall::parse(&bytes, 2000).expect("large profiles parse"),
        // The same shape, generated, where the shared file is not at hand.
        Err(_) => Wall::from_profiles(
            &(0..500)
                .map(|p| {
                    (0..2000)
                        .map(|s| ((p * 31 + s * 17) % 31) as u8)
                        .collect::<Vec<u8>>()
                })
                .collect::<Vec<_>>(),
        ),
    }
}

fn app(wall: Wall, crews: u32, sensor_count: usize) -> App {
    let mut app = App::new(Palette::TrueColor);
    let sensors: Vec<SensorInfo> = (0..sensor_count)
        .map(|i| SensorInfo {
            name: format!("sensor-{i:04}"),
            kind: "thermometer".into(),
            interval_ms: 1000,
        })
        .collect();
    app.update(Event::Started {
        wall: Arc::new(wall.clone()),
        heights: wall.heights().to_vec(),
        progress: WallProgress::default(),
        crews: Crews::Limited(crews),
        sensors: sensors.clone(),
        network_limit: 5,
        store: "memory:".into(),
        speed: Speed::Factor(1.0),
    });
    let mut site = Works::new(wall, Crews::Limited(crews));
    let ts = Utc.timestamp_opt(1_780_000_000, 0).unwrap();
    for _ in 0..20 {
        let reports = site
            .step()
            .iter()
            .map(|w| CrewReport::from_work(w, ts))
            .collect();
        app.update(Event::CrewReports(reports));
    }
    let mut id = 0;
    for i in 0..HISTORY {
        let readings = sensors
            .iter()
            .enumerate()
            .map(|(s, info)| {
                id += 1;
                Reading {
                    id,
                    timestamp: ts,
                    sensor: info.name.clone(),
                    value: ((i * 7 + s * 13) % 201) as i32 - 100,
                    stored_at: None,
                }
            })
            .collect();
        app.update(Event::Readings(readings));
    }
    app.update(Event::Network(NetworkStats {
        limit: 5,
        in_flight: 3,
        delivered: id,
        ..Default::default()
    }));
    app
}

fn bench_frame(c: &mut Criterion, name: &str, app: &App, width: u16, height: u16) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    c.bench_function(name, |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(ui::draw(f, app));
                })
                .unwrap();
        })
    });
}

fn frame(c: &mut Criterion) {
    let big = app(big_wall(), 200, 1000);
    bench_frame(c, "frame 200x50, 1M sections, 1000 sensors", &big, 200, 50);
    let example = Wall::parse(wallwatch::wall::EXAMPLE_PROFILES.as_bytes(), 2000).unwrap();
    let defaults = app(example, 3, 5);
    bench_frame(c, "frame 120x40, defaults", &defaults, 120, 40);
}

/// `profiles` × `sections`, heights spread over 0..=30.
fn wall_of(profiles: usize, sections: usize) -> Wall {
    Wall::from_profiles(
        &(0..profiles)
            .map(|p| {
                (0..sections)
                    .map(|s| ((p * 31 + s * 17) % 31) as u8)
                    .collect::<Vec<u8>>()
            })
            .collect::<Vec<_>>(),
    )
}

fn growth(c: &mut Criterion) {
    for (sections, name) in [(10, "10^3"), (10_000, "10^6"), (100_000, "10^7")] {
        let app = app(wall_of(100, sections), 200, 5);
        bench_frame(c, &format!("frame 200x50, {name} sections"), &app, 200, 50);
    }
}

criterion_group!(benches, frame, growth);
criterion_main!(benches);

//! A fixed run fed to the App: the example wall with 3 crews worked for a few days by
//! `wall::Works` (deterministic), five sensors with fixed values, network and store figures.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tokio::time::{Duration, Instant};
use wallwatch::app::App;
use wallwatch::engine::{Event, NetworkStats, SensorInfo, WallProgress};
use wallwatch::sensors::Reading;
use wallwatch::site::model::Tracker;
use wallwatch::ui;
use wallwatch::ui::theme::Palette;
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

/// Draws `app` on a `w`×`h` test terminal.
pub fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| {
            let areas = ui::layout(f.area(), app);
            let _ = areas;
        })
        .unwrap();
    let areas = ui::layout(ratatui::layout::Rect::new(0, 0, w, h), app);
    app.set_viewport(areas.viewport());
    terminal
        .draw(|f| {
            ui::draw(f, app);
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing spaces kept.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// A writer whose bytes the test can read while a terminal owns it.
#[derive(Clone, Default)]
pub struct Shared(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Checks that what a terminal emulator shows after `parser` processed the output is `buf`.
pub fn assert_screen_matches(parser: &vt100::Parser, buf: &Buffer) {
    let screen = parser.screen();
    for y in 0..buf.area.height {
        let mut want = String::new();
        let mut got = String::new();
        for x in 0..buf.area.width {
            want.push_str(buf[(x, y)].symbol());
            let c = screen
                .cell(y, x)
                .map(|c| c.contents().to_string())
                .unwrap_or_default();
            got.push_str(if c.is_empty() { " " } else { &c });
        }
        assert_eq!(got, want, "row {y} differs");
        for x in 0..buf.area.width {
            let (want, got) = (&buf[(x, y)], screen.cell(y, x).unwrap());
            let reversed = want.modifier.contains(ratatui::style::Modifier::REVERSED);
            assert_eq!(
                (
                    vt_colour(want.fg),
                    vt_colour(want.bg),
                    want.modifier.contains(ratatui::style::Modifier::BOLD),
                    reversed
                ),
                (got.fgcolor(), got.bgcolor(), got.bold(), got.inverse()),
                "style of ({x}, {y}) {:?}",
                want.symbol()
            );
        }
    }
}

fn vt_colour(c: ratatui::style::Color) -> vt100::Color {
    use ratatui::style::Color as C;
    match c {
        C::Reset => vt100::Color::Default,
        C::Black => vt100::Color::Idx(0),
        C::Red => vt100::Color::Idx(1),
        C::Green => vt100::Color::Idx(2),
        C::Yellow => vt100::Color::Idx(3),
        C::Blue => vt100::Color::Idx(4),
        C::Magenta => vt100::Color::Idx(5),
        C::Cyan => vt100::Color::Idx(6),
        C::Gray => vt100::Color::Idx(7),
        C::DarkGray => vt100::Color::Idx(8),
        C::LightRed => vt100::Color::Idx(9),
        C::LightGreen => vt100::Color::Idx(10),
        C::LightYellow => vt100::Color::Idx(11),
        C::LightBlue => vt100::Color::Idx(12),
        C::LightMagenta => vt100::Color::Idx(13),
        C::LightCyan => vt100::Color::Idx(14),
        C::White => vt100::Color::Idx(15),
        C::Indexed(i) => vt100::Color::Idx(i),
        C::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
    }
}

/// A stream of terminal events fed from a channel (the test's keyboard).
pub fn input_stream(
    rx: tokio::sync::mpsc::UnboundedReceiver<crossterm::event::Event>,
) -> impl futures_util::Stream<Item = std::io::Result<crossterm::event::Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    }))
}

pub fn press(c: char) -> crossterm::event::Event {
    crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ))
}

/// Number of frames in a byte stream (each is wrapped in synchronized output).
pub fn frames(bytes: &[u8]) -> usize {
    bytes
        .windows(wallwatch::term::BEGIN_SYNC.len())
        .filter(|w| *w == wallwatch::term::BEGIN_SYNC)
        .count()
}

//! The dashboard's state. Pure: [`App::update`] applies an engine [`Event`], [`App::on_key`]
//! turns a key into an optional engine [`Command`]. No drawing and no I/O here; `ui` only reads
//! this. Memory is bounded however long it runs: histories are fixed-size rings and the wall
//! view is the size of the wall.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crossterm::event::{KeyEvent, KeyEventKind};
use tokio::time::{Duration, Instant};
use tui_logger::{LevelFilter, TuiWidgetEvent, TuiWidgetState};

use crate::engine::{Command, Event, NetworkStats, SensorInfo, Speed};
use crate::keymap::{self, Action};
use crate::sensors::Reading;
use crate::ui::theme::{Palette, Theme};
use crate::wall::{COST_PER_FOOT, CrewReport, Crews, ICE_PER_FOOT, MAX_HEIGHT, Wall};

/// Readings kept per sensor for its sparkline.
pub const HISTORY: usize = 120;
/// Slowest and fastest speed factors `-` and `+` step through; `+` past the fastest is `max`.
pub const MIN_SPEED: f64 = 1.0 / 16.0;
pub const MAX_SPEED: f64 = 4096.0;
/// Network samples kept for the delivered-per-second rate.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// The panes that take the focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Wall,
    Sensors,
    Network,
    Log,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Wall, Pane::Sensors, Pane::Network, Pane::Log];

    fn step(self, forward: bool) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        let n = Pane::ALL.len();
        Pane::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// The wall as the crews' reports have built it.
#[derive(Debug, Clone)]
pub struct WallView {
    pub wall: Arc<Wall>,
    /// Current height of every section, in the wall's order.
    pub heights: Vec<u8>,
    /// Feet raised so far per profile.
    pub raised: Vec<u64>,
    /// Feet each profile needs from the start.
    pub to_raise: Vec<u64>,
    /// Sections at 30 ft per profile.
    pub finished: Vec<usize>,
    /// Flat section index each crew works (index = crew - 1); only with limited crews.
    pub crews: Vec<Option<usize>>,
}

impl WallView {
    fn new(wall: Arc<Wall>, crews: Crews) -> WallView {
        let profiles = wall.profiles();
        let mut to_raise = Vec::with_capacity(profiles);
        let mut finished = Vec::with_capacity(profiles);
        for p in 0..profiles {
            let hs = wall.profile(p);
            to_raise.push(hs.iter().map(|&h| u64::from(MAX_HEIGHT - h)).sum());
            finished.push(hs.iter().filter(|&&h| h == MAX_HEIGHT).count());
        }
        let crews = match crews {
            Crews::Limited(n) => vec![None; n as usize],
            Crews::Unlimited => Vec::new(),
        };
        WallView {
            heights: wall.heights().to_vec(),
            raised: vec![0; profiles],
            to_raise,
            finished,
            crews,
            wall,
        }
    }

    fn apply(&mut self, report: &CrewReport, limited: bool) {
        let crew = report.crew as usize;
        let place = match (report.profile, report.section, report.height) {
            (Some(p), Some(s), Some(h)) if p >= 1 && (p as usize) <= self.wall.profiles() => {
                let p = p as usize - 1;
                let len = self.wall.profile(p).len();
                if s == 0 || s as usize > len || h > MAX_HEIGHT {
                    None
                } else {
                    Some((p, self.wall.profile_start(p) + s as usize - 1, h))
                }
            }
            _ => None,
        };
        let at = place.map(|(p, flat, h)| {
            let old = self.heights[flat];
            if h > old {
                self.heights[flat] = h;
                self.raised[p] += u64::from(h - old);
                if h == MAX_HEIGHT {
                    self.finished[p] += 1;
                }
            }
            (flat, h)
        });
        if limited && crew >= 1 {
            if crew > self.crews.len() {
                self.crews.resize(crew, None);
            }
            // A crew that finished its section (or was relieved) picks a new one tomorrow.
            self.crews[crew - 1] = at.and_then(|(flat, h)| (h < MAX_HEIGHT).then_some(flat));
        }
    }

    /// Feet raised over the whole wall.
    pub fn feet_raised(&self) -> u64 {
        self.raised.iter().sum()
    }

    /// Per-profile percentage done (whole percent, rounded down; 100 only when finished).
    pub fn percent_done(&self, p: usize) -> u64 {
        (self.raised[p] * 100)
            .checked_div(self.to_raise[p])
            .unwrap_or(100)
    }

    pub fn profile_ice(&self, p: usize) -> u64 {
        self.raised[p] * ICE_PER_FOOT
    }

    pub fn profile_cost(&self, p: usize) -> u64 {
        self.raised[p] * COST_PER_FOOT
    }
}

/// One sensor's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorView {
    pub info: SensorInfo,
    pub last: Option<i32>,
    pub min: i32,
    pub max: i32,
    pub sum: i64,
    pub count: u64,
    /// The last [`HISTORY`] values, oldest first.
    pub history: VecDeque<i32>,
}

impl SensorView {
    pub fn new(info: SensorInfo) -> SensorView {
        SensorView {
            info,
            last: None,
            min: i32::MAX,
            max: i32::MIN,
            sum: 0,
            count: 0,
            history: VecDeque::with_capacity(HISTORY),
        }
    }

    /// Records one reading.
    pub fn push(&mut self, value: i32) {
        self.last = Some(value);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += i64::from(value);
        self.count += 1;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(value);
    }

    /// Mean value, rounded to the nearest whole number.
    pub fn avg(&self) -> Option<i32> {
        (self.count > 0).then(|| (self.sum as f64 / self.count as f64).round() as i32)
    }
}

/// Visible rows of the scrollable panes, told by the event loop after each layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewport {
    pub wall_rows: usize,
    pub sensor_rows: usize,
}

/// The whole dashboard state.
pub struct App {
    pub theme: Theme,
    pub wall: Option<WallView>,
    /// `None` until `Started`.
    pub crews: Option<Crews>,
    pub day: u64,
    pub complete: bool,
    pub sensors: Vec<SensorView>,
    sensor_index: HashMap<String, usize>,
    pub network: NetworkStats,
    net_samples: VecDeque<(Instant, u64)>,
    /// Messages delivered per second over the last few seconds, rounded.
    pub delivered_per_s: u64,
    pub store: String,
    pub rows: u64,
    pub store_failing: Option<String>,
    pub paused: bool,
    pub speed: Speed,
    pub focus: Pane,
    pub wall_scroll: usize,
    pub sensor_scroll: usize,
    pub viewport: Viewport,
    pub help: bool,
    pub quit: bool,
    /// The last thing worth telling (a refused command, an explanation).
    pub notice: Option<String>,
    pub log: TuiWidgetState,
    pub log_targets: bool,
}

impl App {
    pub fn new(palette: Palette, speed: Speed) -> App {
        App {
            theme: Theme::new(palette),
            wall: None,
            crews: None,
            day: 0,
            complete: false,
            sensors: Vec::new(),
            sensor_index: HashMap::new(),
            network: NetworkStats::default(),
            net_samples: VecDeque::new(),
            delivered_per_s: 0,
            store: String::new(),
            rows: 0,
            store_failing: None,
            paused: false,
            speed,
            focus: Pane::Wall,
            wall_scroll: 0,
            sensor_scroll: 0,
            viewport: Viewport::default(),
            help: false,
            quit: false,
            notice: None,
            log: crate::ui::log::TARGETS.iter().fold(
                TuiWidgetState::new().set_default_display_level(LevelFilter::Info),
                // Listed in the target selector from the start, shown from Info up.
                |state, target| state.set_level_for_target(target, LevelFilter::Info),
            ),
            log_targets: false,
        }
    }

    /// Crews on the wall now (in unlimited mode, the wall's section count).
    pub fn crew_count(&self) -> Option<usize> {
        match self.crews? {
            Crews::Limited(n) => Some(n as usize),
            Crews::Unlimited => self.wall.as_ref().map(|w| w.wall.sections()),
        }
    }

    /// Ice (cubic yards) and cost (Gold Dragons) to date.
    pub fn ice_and_cost(&self) -> (u64, u64) {
        let feet = self.wall.as_ref().map_or(0, WallView::feet_raised);
        (feet * ICE_PER_FOOT, feet * COST_PER_FOOT)
    }

    /// [`App::update_at`] now.
    pub fn update(&mut self, event: Event) -> bool {
        self.update_at(event, Instant::now())
    }

    /// Applies one engine event seen at `now`; returns whether anything visible changed.
    pub fn update_at(&mut self, event: Event, now: Instant) -> bool {
        match event {
            Event::Started {
                wall,
                crews,
                sensors,
                network_limit,
                store,
            } => {
                self.wall = Some(WallView::new(wall, crews));
                self.crews = Some(crews);
                self.sensors.clear();
                self.sensor_index.clear();
                for s in sensors {
                    self.add_sensor(s);
                }
                self.network.limit = network_limit;
                self.store = store;
                true
            }
            Event::Readings(readings) => self.readings(&readings),
            Event::CrewReports(reports) => {
                let limited = matches!(self.crews, Some(Crews::Limited(_)));
                let Some(view) = self.wall.as_mut() else {
                    return false;
                };
                for r in &reports {
                    view.apply(r, limited);
                    self.day = self.day.max(r.day);
                }
                !reports.is_empty()
            }
            Event::Day(p) => {
                let changed = self.day != p.day || self.complete != p.complete;
                self.day = p.day;
                self.complete = p.complete;
                changed
            }
            Event::Network(stats) => {
                self.net_samples.push_back((now, stats.delivered));
                while self.net_samples.len() > 2
                    && now.duration_since(self.net_samples[1].0) >= RATE_WINDOW
                {
                    self.net_samples.pop_front();
                }
                let (t0, d0) = self.net_samples[0];
                let dt = now.duration_since(t0).as_secs_f64();
                let rate = if dt >= 0.5 {
                    (stats.delivered.saturating_sub(d0) as f64 / dt).round() as u64
                } else {
                    self.delivered_per_s
                };
                let changed = stats != self.network || rate != self.delivered_per_s;
                self.network = stats;
                self.delivered_per_s = rate;
                changed
            }
            Event::SensorAdded(info) => {
                self.add_sensor(info);
                true
            }
            Event::SensorRemoved(name) => {
                let Some(i) = self.sensor_index.remove(&name) else {
                    return false;
                };
                self.sensors.remove(i);
                for (j, s) in self.sensors.iter().enumerate().skip(i) {
                    self.sensor_index.insert(s.info.name.clone(), j);
                }
                self.clamp_scroll();
                true
            }
            Event::CrewsChanged(crews) => {
                self.crews = Some(crews);
                if let (Some(view), Crews::Limited(n)) = (self.wall.as_mut(), crews) {
                    view.crews.resize(n as usize, None);
                }
                true
            }
            Event::Refused(why) => {
                self.notice = Some(why);
                true
            }
            Event::Paused(p) => std::mem::replace(&mut self.paused, p) != p,
            Event::SpeedChanged(s) => std::mem::replace(&mut self.speed, s) != s,
            Event::Store { rows, failing } => {
                let changed = rows != self.rows || failing != self.store_failing;
                self.rows = rows;
                self.store_failing = failing;
                changed
            }
        }
    }

    fn add_sensor(&mut self, info: SensorInfo) {
        if let Some(&i) = self.sensor_index.get(&info.name) {
            self.sensors[i].info = info;
            return;
        }
        self.sensor_index
            .insert(info.name.clone(), self.sensors.len());
        self.sensors.push(SensorView::new(info));
    }

    fn readings(&mut self, readings: &[Reading]) -> bool {
        let mut changed = false;
        for r in readings {
            if let Some(&i) = self.sensor_index.get(&r.sensor) {
                self.sensors[i].push(r.value);
                changed = true;
            }
        }
        changed
    }

    /// Handles a key; returns the command for the engine, if any. Only presses count.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        let log_focused = self.focus == Pane::Log && !self.help;
        let action = keymap::lookup(&key, log_focused)?;
        if self.help {
            // Help is modal: it closes on ?, Esc; q and Ctrl-C still quit.
            match action {
                Action::Help => self.help = false,
                Action::Quit if key.code == crossterm::event::KeyCode::Esc => self.help = false,
                Action::Quit => self.quit = true,
                _ => {}
            }
            return None;
        }
        let unlimited = self.crews == Some(Crews::Unlimited);
        match action {
            Action::AddCrew | Action::RemoveCrew if unlimited => {
                self.notice = Some(
                    "crews are unlimited (one per section): start with --crews N to manage crews"
                        .into(),
                );
                None
            }
            Action::AddCrew => Some(Command::AddCrew),
            Action::RemoveCrew => Some(Command::RemoveCrew),
            Action::AddSensor => Some(Command::AddSensor { kind: None }),
            Action::RemoveSensor => Some(Command::RemoveSensor),
            Action::TogglePause => Some(Command::TogglePause),
            Action::SpeedUp | Action::SlowDown => {
                let next = step_speed(self.speed, action == Action::SpeedUp)?;
                self.speed = next;
                Some(Command::SetSpeed(next))
            }
            Action::FocusNext | Action::FocusPrev => {
                self.focus = self.focus.step(action == Action::FocusNext);
                None
            }
            Action::Help => {
                self.help = true;
                None
            }
            Action::Quit => {
                self.quit = true;
                None
            }
            scroll => {
                self.scroll(scroll);
                None
            }
        }
    }

    fn scroll(&mut self, action: Action) {
        if self.focus == Pane::Log {
            let ev = match action {
                Action::ScrollUp => TuiWidgetEvent::UpKey,
                Action::ScrollDown => TuiWidgetEvent::DownKey,
                Action::LogLevelLess => TuiWidgetEvent::LeftKey,
                Action::LogLevelMore => TuiWidgetEvent::RightKey,
                Action::PageUp | Action::Home => TuiWidgetEvent::PrevPageKey,
                Action::PageDown => TuiWidgetEvent::NextPageKey,
                Action::End => TuiWidgetEvent::EscapeKey,
                Action::LogToggleTargets => {
                    self.log_targets = !self.log_targets;
                    return;
                }
                Action::LogFocusTarget => TuiWidgetEvent::FocusKey,
                _ => return,
            };
            self.log.transition(ev);
            return;
        }
        let (offset, rows, total) = match self.focus {
            Pane::Wall => (
                &mut self.wall_scroll,
                self.viewport.wall_rows,
                self.wall.as_ref().map_or(0, |w| w.wall.profiles()),
            ),
            Pane::Sensors => (
                &mut self.sensor_scroll,
                self.viewport.sensor_rows,
                self.sensors.len(),
            ),
            _ => return,
        };
        let max = total.saturating_sub(rows.max(1));
        let page = rows.saturating_sub(1).max(1);
        *offset = match action {
            Action::ScrollUp => offset.saturating_sub(1),
            Action::ScrollDown => (*offset + 1).min(max),
            Action::PageUp => offset.saturating_sub(page),
            Action::PageDown => (*offset + page).min(max),
            Action::Home => 0,
            Action::End => max,
            _ => *offset,
        };
    }

    /// Whether the engine's `Started` has arrived (the panes have something to show).
    pub fn is_started(&self) -> bool {
        self.wall.is_some()
    }

    /// Tells the app how many rows its scrollable panes show (from the layout).
    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = viewport;
        self.clamp_scroll();
    }

    fn clamp_scroll(&mut self) {
        let profiles = self.wall.as_ref().map_or(0, |w| w.wall.profiles());
        self.wall_scroll = self
            .wall_scroll
            .min(profiles.saturating_sub(self.viewport.wall_rows.max(1)));
        self.sensor_scroll = self.sensor_scroll.min(
            self.sensors
                .len()
                .saturating_sub(self.viewport.sensor_rows.max(1)),
        );
    }
}

/// The next speed up or down, or `None` when already at the end of the range.
pub fn step_speed(speed: Speed, up: bool) -> Option<Speed> {
    match (speed, up) {
        (Speed::Max, true) => None,
        (Speed::Max, false) => Some(Speed::Factor(MAX_SPEED)),
        (Speed::Factor(f), true) if f * 2.0 > MAX_SPEED => Some(Speed::Max),
        (Speed::Factor(f), true) => Some(Speed::Factor(f * 2.0)),
        (Speed::Factor(f), false) if f / 2.0 < MIN_SPEED => None,
        (Speed::Factor(f), false) => Some(Speed::Factor(f / 2.0)),
    }
}

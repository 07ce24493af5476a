//! One viewer's state: its replica of the site's [`Model`] (from the site's snapshot and
//! updates, [`App::apply`]) and its own view of it — focus, scroll, help, log filter, palette,
//! notices. [`App::on_key`] turns a key into an optional [`Command`] for the site. No drawing
//! and no I/O here; `ui` only reads this. Memory is bounded however long it runs: the model's
//! histories are fixed-size rings and the wall view is the size of the wall.

pub mod keymap;
pub mod theme;

use std::collections::HashMap;

use crossterm::event::{KeyEvent, KeyEventKind};
use tui_logger::{LevelFilter, TuiWidgetEvent, TuiWidgetState};

use crate::app::theme::{Palette, Theme};
use crate::engine::{Command, Event};
use crate::site::model::Tracker;
use crate::site::viewer::ViewerMsg;
use crate::site::{Change, Feed, LogLine, Model};
use crate::units::Speed;
use crate::wall::Crews;
use keymap::Action;

pub use crate::site::model::{HISTORY, SensorView, WallView};

/// Slowest and fastest speed factors `-` and `+` step through; `+` past the fastest is `max`.
pub const MIN_SPEED: f64 = 1.0 / 16.0;
pub const MAX_SPEED: f64 = 4096.0;

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

/// Visible rows of the scrollable panes, told by the event loop after each layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewport {
    pub wall_rows: usize,
    pub sensor_rows: usize,
}

/// One viewer's whole state.
pub struct App {
    pub theme: Theme,
    /// The site as this viewer knows it; `None` until the first snapshot.
    pub site: Option<Model>,
    /// The last update applied.
    pub seq: u64,
    pub focus: Pane,
    pub wall_scroll: usize,
    pub sensor_scroll: usize,
    pub viewport: Viewport,
    pub help: bool,
    pub quit: bool,
    /// The last thing worth telling this viewer (an answer to its command, an explanation).
    pub notice: Option<String>,
    pub log: TuiWidgetState,
    pub log_targets: bool,
    /// Keys that change the site give a notice instead of a command.
    pub read_only: bool,
    /// Drawn for `attach`: `q` detaches instead of stopping the site.
    pub attached: bool,
    next_command: u64,
    /// Commands sent and not answered yet: id → what was asked, for the answer's notice.
    asked: HashMap<u64, &'static str>,
    /// Log lines from the site not yet handed to the log pane's buffer (the loop takes them).
    pub new_log: Vec<LogLine>,
    /// A command's effect or answer arrived since the drawing loop last looked: its frame is
    /// drawn at once rather than at the next frame's slot (the loop clears it).
    pub steered: bool,
    /// The speed last asked for while speed commands are unanswered, so `+ +` steps twice.
    asked_speed: Option<(Speed, usize)>,
}

impl App {
    pub fn new(palette: Palette) -> App {
        App {
            theme: Theme::new(palette),
            site: None,
            seq: 0,
            focus: Pane::Wall,
            wall_scroll: 0,
            sensor_scroll: 0,
            viewport: Viewport::default(),
            help: false,
            quit: false,
            notice: None,
            log: crate::site::log::TARGETS.iter().fold(
                TuiWidgetState::new().set_default_display_level(LevelFilter::Info),
                // Listed in the target selector from the start, shown from Info up.
                |state, target| state.set_level_for_target(target, LevelFilter::Info),
            ),
            log_targets: false,
            read_only: false,
            attached: false,
            next_command: 0,
            asked: HashMap::new(),
            new_log: Vec::new(),
            steered: false,
            asked_speed: None,
        }
    }

    /// Crews on the wall now (in unlimited mode, the wall's section count).
    pub fn crew_count(&self) -> Option<usize> {
        self.site.as_ref().map(Model::crew_count)
    }

    /// Ice (cubic yards) and cost (Gold Dragons) to date.
    pub fn ice_and_cost(&self) -> (u64, u64) {
        self.site.as_ref().map_or((0, 0), Model::ice_and_cost)
    }

    /// Applies a message from the site; returns whether anything visible changed.
    pub fn apply(&mut self, msg: ViewerMsg) -> bool {
        match msg {
            ViewerMsg::Feed(Feed::Snapshot(snapshot)) => {
                let mut model = snapshot.model.clone();
                model.reindex();
                if self.site.is_none() {
                    // What was logged before this viewer came; a fresh snapshot after falling
                    // behind does not repeat it.
                    self.new_log.extend(model.log.iter().cloned());
                }
                self.site = Some(model);
                self.seq = snapshot.seq;
                self.clamp_scroll();
                true
            }
            ViewerMsg::Feed(Feed::Update(update)) => {
                let Some(site) = self.site.as_mut() else {
                    return false;
                };
                if update.seq <= self.seq {
                    return false; // Already in the snapshot.
                }
                self.seq = update.seq;
                let mut changed = false;
                for change in update.changes.iter().cloned() {
                    // New log lines reach the screen through the log widget's own buffer.
                    match &change {
                        Change::Log(lines) => self.new_log.extend(lines.iter().cloned()),
                        _ => changed = true,
                    }
                    self.steered |= change.is_steering();
                    site.apply_change(change);
                }
                self.clamp_scroll();
                changed
            }
            ViewerMsg::Reply { id, reply } => {
                self.steered = true;
                let what = self.asked.remove(&id).unwrap_or("command");
                if what == describe(&Command::SetSpeed(Speed::Max)) {
                    self.asked_speed = match self.asked_speed {
                        Some((s, n)) if n > 1 => Some((s, n - 1)),
                        _ => None,
                    };
                }
                self.notice = Some(match reply {
                    Ok(done) => format!("{what}: {done}"),
                    Err(why) => format!("{what} refused: {why}"),
                });
                true
            }
        }
    }

    /// Applies an engine event straight to this viewer's model, as the site does to its own
    /// (`Started` makes the model). For tests and the frame benchmark, which drive an app
    /// without a site.
    pub fn update(&mut self, event: Event) -> bool {
        if matches!(event, Event::Started { .. }) {
            self.site = Model::from_started(event);
            return true;
        }
        let Some(site) = self.site.as_mut() else {
            return false;
        };
        let changed = site.apply_event(event, tokio::time::Instant::now(), &mut Tracker::default());
        self.clamp_scroll();
        changed
    }

    /// Numbers a command for the site and remembers what was asked, for the answer.
    pub fn ask(&mut self, command: Command) -> (u64, Command) {
        if let Command::SetSpeed(s) = command {
            let waiting = self.asked_speed.map_or(0, |(_, n)| n);
            self.asked_speed = Some((s, waiting + 1));
        }
        self.next_command += 1;
        self.asked.insert(self.next_command, describe(&command));
        (self.next_command, command)
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
        let unlimited = self.site.as_ref().map(|s| s.crews) == Some(Crews::Unlimited);
        if self.read_only && action.changes_site() {
            self.notice = Some(format!(
                "read-only viewer: {} would change the site",
                keymap::label(action)
            ));
            return None;
        }
        match action {
            Action::AddCrew | Action::RemoveCrew if unlimited => {
                self.notice = Some(
                    "crews are unlimited (one per section): start with --crews N to manage crews"
                        .into(),
                );
                None
            }
            Action::AddCrew => Some(Command::AddCrews(1)),
            Action::RemoveCrew => Some(Command::RemoveCrews(1)),
            Action::AddSensor => Some(Command::AddSensors {
                kind: None,
                count: 1,
            }),
            Action::RemoveSensor => Some(Command::RemoveNewestSensor),
            // Space toggles what this viewer sees: a site shown paused is asked to resume.
            Action::TogglePause => Some(if self.site.as_ref().is_some_and(|s| s.paused) {
                Command::Resume
            } else {
                Command::Pause
            }),
            Action::SpeedUp | Action::SlowDown => {
                let speed = match self.asked_speed {
                    Some((asked, _)) => asked,
                    None => self.site.as_ref()?.speed,
                };
                let next = step_speed(speed, action == Action::SpeedUp)?;
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
        let (profiles, sensors) = self.sizes();
        let (offset, rows, total) = match self.focus {
            Pane::Wall => (&mut self.wall_scroll, self.viewport.wall_rows, profiles),
            Pane::Sensors => (&mut self.sensor_scroll, self.viewport.sensor_rows, sensors),
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

    /// Whether the site's first snapshot has arrived (the panes have something to show).
    pub fn is_started(&self) -> bool {
        self.site.is_some()
    }

    /// Profiles and sensors to scroll through.
    fn sizes(&self) -> (usize, usize) {
        self.site
            .as_ref()
            .map_or((0, 0), |s| (s.wall.wall.profiles(), s.sensors.len()))
    }

    /// Tells the app how many rows its scrollable panes show (from the layout).
    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = viewport;
        self.clamp_scroll();
    }

    fn clamp_scroll(&mut self) {
        let (profiles, sensors) = self.sizes();
        self.wall_scroll = self
            .wall_scroll
            .min(profiles.saturating_sub(self.viewport.wall_rows.max(1)));
        self.sensor_scroll = self
            .sensor_scroll
            .min(sensors.saturating_sub(self.viewport.sensor_rows.max(1)));
    }
}

/// What a command asks, for the notice that answers it.
fn describe(command: &Command) -> &'static str {
    match command {
        Command::AddCrews(_) => "add crew",
        Command::RemoveCrews(_) => "remove crew",
        Command::AddSensors { .. } => "add sensor",
        Command::RemoveSensors(_) | Command::RemoveNewestSensor => "remove sensor",
        Command::Pause => "pause",
        Command::Resume => "resume",
        Command::SetSpeed(_) => "speed",
        Command::LoadWall { .. } => "load wall",
        Command::Shutdown => "stop",
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

//! The site as every viewer sees it: the wall's heights and crews, each sensor's figures and
//! history, the network's and the store's figures, recent log lines. Terminal-free.
//!
//! The site keeps one [`Model`] and applies the engine's events to it
//! ([`Model::apply_event`]), noting what changed in a [`Tracker`]. What changed is sent to
//! viewers as [`Change`]s — the new state of one part, or for a sensor its new totals and the
//! values read since the last update — which a viewer's replica applies with
//! [`Model::apply_change`]; so a replica that starts from a snapshot and applies every later
//! update in order equals the site's model.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::time::{Duration, Instant};

use crate::engine::{Event, NetworkStats, SensorInfo, WallProgress};
use crate::sensors::Reading;
use crate::units::Speed;
use crate::wall::{COST_PER_FOOT, CrewReport, Crews, ICE_PER_FOOT, MAX_HEIGHT, Wall};

/// The kind the Sensors pane shows for an agent's sensor.
pub const REMOTE_KIND: &str = "remote";

/// Readings kept per sensor for its sparkline.
pub const HISTORY: usize = 120;
/// Log lines a new viewer is shown from before it came.
pub const RECENT_LOG: usize = 200;
/// Network samples kept for the delivered-per-second rate.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// The wall as the crews' reports have built it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WallWire", into = "WallWire")]
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

/// How a wall view crosses the wire: the wall, the heights now, the crews' places. The rest is
/// derived (and so cannot disagree).
#[derive(Clone, Serialize, Deserialize)]
struct WallWire {
    wall: Wall,
    heights: String,
    crews: Vec<Option<usize>>,
}

impl From<WallView> for WallWire {
    fn from(v: WallView) -> WallWire {
        WallWire {
            wall: (*v.wall).clone(),
            heights: crate::wall::encode_heights(&v.heights),
            crews: v.crews,
        }
    }
}

impl TryFrom<WallWire> for WallView {
    type Error = String;
    fn try_from(w: WallWire) -> Result<WallView, String> {
        let heights = crate::wall::decode_heights(&w.heights)?;
        if heights.len() != w.wall.sections() {
            return Err(format!(
                "{} heights for a wall of {} sections",
                heights.len(),
                w.wall.sections()
            ));
        }
        if w.crews.iter().flatten().any(|&i| i >= heights.len()) {
            return Err("a crew works a section outside the wall".into());
        }
        let mut view = WallView::new(Arc::new(w.wall), Crews::Unlimited);
        view.set_heights(&heights);
        view.crews = w.crews;
        Ok(view)
    }
}

impl WallView {
    pub fn new(wall: Arc<Wall>, crews: Crews) -> WallView {
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

    /// Sets section `flat` to `h` (never lower than it is: heights only grow).
    fn raise(&mut self, flat: usize, h: u8) {
        let old = self.heights[flat];
        if h > old && h <= MAX_HEIGHT {
            let p = self.wall.profile_of(flat);
            self.heights[flat] = h;
            self.raised[p] += u64::from(h - old);
            if h == MAX_HEIGHT {
                self.finished[p] += 1;
            }
        }
    }

    /// Every section's height at once (a resumed run's start, or a whole-wall change).
    fn set_heights(&mut self, heights: &[u8]) {
        for (flat, &h) in heights.iter().enumerate().take(self.heights.len()) {
            self.raise(flat, h);
        }
    }

    /// Applies a crew's report; returns the flat index of the section it raised, if any.
    fn apply(&mut self, report: &CrewReport, limited: bool) -> Option<usize> {
        let crew = report.crew as usize;
        let place = match (report.profile, report.section, report.height) {
            (Some(p), Some(s), Some(h)) if p >= 1 && (p as usize) <= self.wall.profiles() => {
                let p = p as usize - 1;
                let len = self.wall.profile(p).len();
                if s == 0 || s as usize > len || h > MAX_HEIGHT {
                    None
                } else {
                    Some((self.wall.profile_start(p) + s as usize - 1, h))
                }
            }
            _ => None,
        };
        if let Some((flat, h)) = place {
            self.raise(flat, h);
        }
        if limited && crew >= 1 {
            if crew > self.crews.len() {
                self.crews.resize(crew, None);
            }
            // A crew that finished its section (or was relieved) picks a new one tomorrow.
            self.crews[crew - 1] = place.and_then(|(flat, h)| (h < MAX_HEIGHT).then_some(flat));
        }
        place.map(|(flat, _)| flat)
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// What changed in one sensor's figures: its totals now and the values read since the last
/// update (at most [`HISTORY`]), which extend the sparkline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorDelta {
    pub name: String,
    pub last: Option<i32>,
    pub min: i32,
    pub max: i32,
    pub sum: i64,
    pub count: u64,
    pub recent: Vec<i32>,
}

impl SensorView {
    /// The delta that brings a copy of this sensor `new` readings behind up to date.
    fn delta(&self, new: usize) -> SensorDelta {
        let skip = self.history.len().saturating_sub(new);
        SensorDelta {
            name: self.info.name.clone(),
            last: self.last,
            min: self.min,
            max: self.max,
            sum: self.sum,
            count: self.count,
            recent: self.history.iter().skip(skip).copied().collect(),
        }
    }

    fn apply(&mut self, d: SensorDelta) {
        self.last = d.last;
        self.min = d.min;
        self.max = d.max;
        self.sum = d.sum;
        self.count = d.count;
        let keep = HISTORY.saturating_sub(d.recent.len().min(HISTORY));
        let drop = self.history.len().saturating_sub(keep);
        self.history.drain(..drop);
        let from = d.recent.len().saturating_sub(HISTORY);
        self.history.extend(&d.recent[from..]);
    }
}

/// One line of the site's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When the site logged it: a viewer shows this, not when the line reached it.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    pub target: String,
    pub message: String,
}

/// The site's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub wall: WallView,
    pub crews: Crews,
    pub day: u64,
    pub complete: bool,
    /// The day the wall was done, once it is (`WallProgress::done_on`).
    #[serde(default)]
    pub done_on: Option<u64>,
    pub sensors: Vec<SensorView>,
    #[serde(skip)]
    sensor_index: HashMap<String, usize>,
    pub network: NetworkStats,
    /// Messages delivered per second over the last few seconds, rounded.
    pub delivered_per_s: u64,
    #[serde(skip)]
    net_samples: VecDeque<(Instant, u64)>,
    pub store: String,
    pub rows: u64,
    pub store_failing: Option<String>,
    pub paused: bool,
    pub speed: Speed,
    /// The last [`RECENT_LOG`] log lines, oldest first.
    pub log: VecDeque<LogLine>,
}

/// One part of the model's new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    SensorAdded(SensorInfo),
    SensorRemoved(String),
    /// A sensor's new figures and the values it read since the last update.
    Sensor(SensorDelta),
    /// Sections' new heights, by flat index.
    Sections(Vec<(usize, u8)>),
    /// Every section's height (when many changed at once), encoded as in the snapshot.
    Heights(String),
    /// The section each crew works (index = crew - 1).
    CrewPlaces(Vec<Option<usize>>),
    Crews(Crews),
    /// Another wall, from its start: the whole view (the sections, crews and day that follow
    /// are of it).
    Wall(Box<WallView>),
    Day {
        day: u64,
        complete: bool,
        #[serde(default)]
        done_on: Option<u64>,
    },
    Network {
        stats: NetworkStats,
        delivered_per_s: u64,
    },
    Store {
        rows: u64,
        failing: Option<String>,
    },
    Paused(bool),
    Speed(Speed),
    Log(Vec<LogLine>),
}

impl Change {
    /// What a command changes (sensors, crews, pause, speed, the wall): the viewers draw it at
    /// once rather than at their next frame.
    pub fn is_steering(&self) -> bool {
        matches!(
            self,
            Change::SensorAdded(_)
                | Change::SensorRemoved(_)
                | Change::Crews(_)
                | Change::Wall(_)
                | Change::Paused(_)
                | Change::Speed(_)
        )
    }
}

/// What changed in the model since the last update was sealed.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Changes that must keep their order (sensors added and removed, crews, pause, speed).
    ordered: Vec<Change>,
    /// Readings since the last update, per sensor in the model's order.
    readings: Vec<usize>,
    sections: Vec<usize>,
    crew_places: bool,
    day: bool,
    network: bool,
    store: bool,
    log: Vec<LogLine>,
}

impl Tracker {
    /// A command's effect waits to be sealed.
    pub fn steered(&self) -> bool {
        self.ordered.iter().any(Change::is_steering)
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
            && self.readings.iter().all(|&n| n == 0)
            && self.sections.is_empty()
            && !self.crew_places
            && !self.day
            && !self.network
            && !self.store
            && self.log.is_empty()
    }

    fn reading(&mut self, sensor: usize, sensors: usize) {
        if self.readings.len() < sensors {
            self.readings.resize(sensors, 0);
        }
        self.readings[sensor] += 1;
    }

    fn sensor_removed(&mut self, sensor: usize) {
        if sensor < self.readings.len() {
            self.readings.remove(sensor);
        }
    }

    /// Log lines taken by the site from the log layer.
    pub fn log(&mut self, lines: impl IntoIterator<Item = LogLine>) {
        self.log.extend(lines);
        let extra = self.log.len().saturating_sub(RECENT_LOG);
        self.log.drain(..extra);
    }

    /// The changes noted, as `model` stands now; leaves the tracker empty.
    pub fn take(&mut self, model: &Model) -> Vec<Change> {
        let mut out = std::mem::take(&mut self.ordered);
        for (sensor, new) in self.readings.iter_mut().enumerate() {
            if *new > 0
                && let Some(view) = model.sensors.get(sensor)
            {
                out.push(Change::Sensor(view.delta(*new)));
            }
            *new = 0;
        }
        if !self.sections.is_empty() {
            let heights = &model.wall.heights;
            if self.sections.len() > heights.len() / 8 {
                out.push(Change::Heights(crate::wall::encode_heights(heights)));
            } else {
                self.sections.sort_unstable();
                self.sections.dedup();
                out.push(Change::Sections(
                    self.sections.iter().map(|&i| (i, heights[i])).collect(),
                ));
            }
            self.sections.clear();
        }
        if std::mem::take(&mut self.crew_places) {
            out.push(Change::CrewPlaces(model.wall.crews.clone()));
        }
        if std::mem::take(&mut self.day) {
            out.push(Change::Day {
                day: model.day,
                complete: model.complete,
                done_on: model.done_on,
            });
        }
        if std::mem::take(&mut self.network) {
            out.push(Change::Network {
                stats: model.network,
                delivered_per_s: model.delivered_per_s,
            });
        }
        if std::mem::take(&mut self.store) {
            out.push(Change::Store {
                rows: model.rows,
                failing: model.store_failing.clone(),
            });
        }
        if !self.log.is_empty() {
            out.push(Change::Log(std::mem::take(&mut self.log)));
        }
        out
    }
}

impl Model {
    /// The model of a site that has just started (from the engine's `Started`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        wall: Arc<Wall>,
        heights: &[u8],
        day: u64,
        complete: bool,
        crews: Crews,
        sensors: Vec<SensorInfo>,
        network_limit: usize,
        store: String,
        speed: Speed,
    ) -> Model {
        let mut view = WallView::new(wall, crews);
        view.set_heights(heights);
        let mut model = Model {
            wall: view,
            crews,
            day,
            complete,
            done_on: None,
            sensors: Vec::new(),
            sensor_index: HashMap::new(),
            network: NetworkStats {
                limit: network_limit,
                ..NetworkStats::default()
            },
            delivered_per_s: 0,
            net_samples: VecDeque::new(),
            store,
            rows: 0,
            store_failing: None,
            paused: false,
            speed,
            log: VecDeque::new(),
        };
        for s in sensors {
            model.add_sensor(s);
        }
        model
    }

    /// The model of the engine's `Started` event, or `None` for any other event.
    pub fn from_started(event: Event) -> Option<Model> {
        match event {
            Event::Started {
                wall,
                heights,
                progress,
                crews,
                sensors,
                network_limit,
                store,
                speed,
            } => Some(Model {
                done_on: progress.done_on,
                ..Model::new(
                    wall,
                    &heights,
                    progress.day,
                    progress.complete,
                    crews,
                    sensors,
                    network_limit,
                    store,
                    speed,
                )
            }),
            _ => None,
        }
    }

    /// Rebuilds what is not sent over the wire (the sensors' index) after deserialising.
    pub fn reindex(&mut self) {
        self.sensor_index = self
            .sensors
            .iter()
            .enumerate()
            .map(|(i, s)| (s.info.name.clone(), i))
            .collect();
    }

    /// Crews on the wall now (in unlimited mode, the wall's section count).
    pub fn crew_count(&self) -> usize {
        match self.crews {
            Crews::Limited(n) => n as usize,
            Crews::Unlimited => self.wall.wall.sections(),
        }
    }

    /// Ice (cubic yards) and cost (Gold Dragons) to date.
    pub fn ice_and_cost(&self) -> (u64, u64) {
        let feet = self.wall.feet_raised();
        (feet * ICE_PER_FOOT, feet * COST_PER_FOOT)
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

    /// Removes a sensor; its index, if it was there.
    /// An agent's sensor (`agent/sensor`, through the broker), listed when its first reading is
    /// stored, of kind `remote`. Local sensors' names have no `/`; a name that is not plain
    /// text (the broker's codec refuses those) or beyond the most sensors a run shows is left
    /// off the screen (its readings are stored all the same).
    fn remote_sensor(&mut self, name: &str, tracker: &mut Tracker) -> Option<usize> {
        if !name.contains('/')
            || crate::text::sanitize(name) != name
            || self.sensors.len() >= *crate::units::SENSORS_RANGE.end()
        {
            return None;
        }
        let info = SensorInfo {
            name: name.to_string(),
            kind: REMOTE_KIND.to_string(),
            interval_ms: 0,
        };
        tracker.ordered.push(Change::SensorAdded(info.clone()));
        self.add_sensor(info);
        Some(self.sensors.len() - 1)
    }

    fn remove_sensor(&mut self, name: &str) -> Option<usize> {
        let i = self.sensor_index.remove(name)?;
        self.sensors.remove(i);
        for (j, s) in self.sensors.iter().enumerate().skip(i) {
            self.sensor_index.insert(s.info.name.clone(), j);
        }
        Some(i)
    }

    fn set_crews(&mut self, crews: Crews) {
        self.crews = crews;
        if let Crews::Limited(n) = crews {
            self.wall.crews.resize(n as usize, None);
        }
    }

    /// Applies one engine event seen at `now`, noting in `tracker` what changed; returns
    /// whether anything did. (`Started` is the model's beginning, not a change: ignored.)
    pub fn apply_event(&mut self, event: Event, now: Instant, tracker: &mut Tracker) -> bool {
        match event {
            Event::Started { .. } => false,
            Event::Readings(readings) => self.apply_readings(&readings, tracker),
            Event::CrewReports(reports) => self.apply_crew_reports(&reports, tracker),
            Event::Day(p) => self.apply_day(&p, tracker),
            Event::Network(stats) => self.apply_network(stats, now, tracker),
            Event::SensorAdded(info) => {
                tracker.ordered.push(Change::SensorAdded(info.clone()));
                self.add_sensor(info);
                true
            }
            Event::SensorRemoved(name) => self.apply_sensor_removed(name, tracker),
            Event::CrewsChanged(crews) => {
                self.set_crews(crews);
                tracker.ordered.push(Change::Crews(crews));
                tracker.crew_places = true;
                true
            }
            Event::WallLoaded {
                wall,
                progress,
                crews,
                run: _,
            } => {
                self.wall = WallView::new(wall, crews);
                self.crews = crews;
                self.day = progress.day;
                self.complete = progress.complete;
                self.done_on = progress.done_on;
                // The sections noted were the old wall's.
                tracker.sections.clear();
                tracker
                    .ordered
                    .push(Change::Wall(Box::new(self.wall.clone())));
                tracker.ordered.push(Change::Crews(crews));
                tracker.day = true;
                true
            }
            Event::Paused(p) => {
                let changed = std::mem::replace(&mut self.paused, p) != p;
                if changed {
                    tracker.ordered.push(Change::Paused(p));
                }
                changed
            }
            Event::SpeedChanged(s) => {
                let changed = std::mem::replace(&mut self.speed, s) != s;
                if changed {
                    tracker.ordered.push(Change::Speed(s));
                }
                changed
            }
            Event::Store { rows, failing } => self.apply_store(rows, failing, tracker),
        }
    }

    /// Each reading goes to its sensor's figures (an agent's unknown sensor is added first).
    fn apply_readings(&mut self, readings: &[Reading], tracker: &mut Tracker) -> bool {
        let mut changed = false;
        for r in readings {
            let i = match self.sensor_index.get(&r.sensor) {
                Some(&i) => i,
                None => match self.remote_sensor(&r.sensor, tracker) {
                    Some(i) => i,
                    None => continue,
                },
            };
            self.sensors[i].push(r.value);
            tracker.reading(i, self.sensors.len());
            changed = true;
        }
        changed
    }

    /// The crews' reports raise the wall and may start a later day.
    fn apply_crew_reports(&mut self, reports: &[CrewReport], tracker: &mut Tracker) -> bool {
        let limited = matches!(self.crews, Crews::Limited(_));
        for r in reports {
            if let Some(flat) = self.wall.apply(r, limited) {
                tracker.sections.push(flat);
            }
            if r.day > self.day {
                self.day = r.day;
                tracker.day = true;
            }
        }
        tracker.crew_places |= limited && !reports.is_empty();
        !reports.is_empty()
    }

    /// A day ended: the day and whether the wall is complete.
    fn apply_day(&mut self, p: &WallProgress, tracker: &mut Tracker) -> bool {
        let changed = self.day != p.day || self.complete != p.complete || self.done_on != p.done_on;
        self.day = p.day;
        self.complete = p.complete;
        self.done_on = p.done_on;
        tracker.day |= changed;
        changed
    }

    /// The network's figures, and the delivered-per-second rate over the last [`RATE_WINDOW`].
    fn apply_network(&mut self, stats: NetworkStats, now: Instant, tracker: &mut Tracker) -> bool {
        self.net_samples.push_back((now, stats.delivered));
        while self.net_samples.len() > 2 && now.duration_since(self.net_samples[1].0) >= RATE_WINDOW
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
        tracker.network |= changed;
        changed
    }

    fn apply_sensor_removed(&mut self, name: String, tracker: &mut Tracker) -> bool {
        let Some(i) = self.remove_sensor(&name) else {
            return false;
        };
        tracker.sensor_removed(i);
        tracker.ordered.push(Change::SensorRemoved(name));
        true
    }

    /// The store's row count and whether it is failing.
    fn apply_store(&mut self, rows: u64, failing: Option<String>, tracker: &mut Tracker) -> bool {
        let changed = rows != self.rows || failing != self.store_failing;
        self.rows = rows;
        self.store_failing = failing;
        tracker.store |= changed;
        changed
    }

    /// Adds log lines to the recent ones.
    pub fn push_log(&mut self, lines: &[LogLine]) {
        self.log.extend(lines.iter().cloned());
        let extra = self.log.len().saturating_sub(RECENT_LOG);
        self.log.drain(..extra);
    }

    /// Applies one change from the site (a viewer's replica).
    pub fn apply_change(&mut self, change: Change) {
        match change {
            Change::SensorAdded(info) => self.add_sensor(info),
            Change::SensorRemoved(name) => {
                self.remove_sensor(&name);
            }
            Change::Sensor(delta) => {
                if let Some(&i) = self.sensor_index.get(&delta.name) {
                    self.sensors[i].apply(delta);
                }
            }
            Change::Sections(sections) => {
                for (flat, h) in sections {
                    if flat < self.wall.heights.len() {
                        self.wall.raise(flat, h);
                    }
                }
            }
            Change::Heights(encoded) => {
                if let Ok(heights) = crate::wall::decode_heights(&encoded) {
                    self.wall.set_heights(&heights);
                }
            }
            Change::CrewPlaces(places) => {
                let sections = self.wall.heights.len();
                self.wall.crews = places
                    .into_iter()
                    .map(|p| p.filter(|&i| i < sections))
                    .collect();
            }
            Change::Crews(crews) => self.set_crews(crews),
            Change::Wall(view) => self.wall = *view,
            Change::Day {
                day,
                complete,
                done_on,
            } => {
                self.day = day;
                self.complete = complete;
                self.done_on = done_on;
            }
            Change::Network {
                stats,
                delivered_per_s,
            } => {
                self.network = stats;
                self.delivered_per_s = delivered_per_s;
            }
            Change::Store { rows, failing } => {
                self.rows = rows;
                self.store_failing = failing;
            }
            Change::Paused(p) => self.paused = p,
            Change::Speed(s) => self.speed = s,
            Change::Log(lines) => self.push_log(&lines),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensor_delta_brings_a_copy_up_to_date_however_many_values_it_carries() {
        let info = SensorInfo {
            name: "s".into(),
            kind: "default".into(),
            interval_ms: 1,
        };
        for (before, new) in [(0, 3), (5, 1), (100, 50), (10, 300), (200, 120)] {
            let mut site = SensorView::new(info.clone());
            for v in 0..before {
                site.push(v % 201 - 100);
            }
            let mut copy = site.clone();
            for v in 0..new {
                site.push(v % 7);
            }
            copy.apply(site.delta(new as usize));
            assert_eq!(copy, site, "{before} then {new}");
        }
    }

    /// An agent's sensor is listed at its first stored reading, as `agent/sensor` of kind
    /// `remote`, and a viewer's replica learns of it; unknown local names and names that are not
    /// plain text stay off the screen.
    #[test]
    fn agents_sensors_appear_with_their_first_reading() {
        let wall = Arc::new(Wall::parse(b"1 2", 10).unwrap());
        let local = SensorInfo {
            name: "sensor-1".into(),
            kind: "default".into(),
            interval_ms: 5000,
        };
        let mut model = Model::new(
            wall,
            &[1, 2],
            0,
            false,
            Crews::Unlimited,
            vec![local],
            5,
            "memory:".into(),
            Speed::Factor(1.0),
        );
        let mut replica = model.clone();
        let reading = |sensor: &str, value| crate::sensors::Reading {
            id: 1,
            timestamp: chrono::Utc::now(),
            sensor: sensor.into(),
            value,
            stored_at: None,
        };
        let mut tracker = Tracker::default();
        let readings = vec![
            reading("a1/sensor-1", 7),
            reading("a1/sensor-1", 9),
            reading("sensor-9", 1),
            reading("a2/x\u{1b}[2J", 3),
            reading("sensor-1", 4),
        ];
        assert!(model.apply_event(Event::Readings(readings), Instant::now(), &mut tracker));
        let names: Vec<(&str, &str)> = model
            .sensors
            .iter()
            .map(|s| (s.info.name.as_str(), s.info.kind.as_str()))
            .collect();
        assert_eq!(
            names,
            [("sensor-1", "default"), ("a1/sensor-1", REMOTE_KIND)]
        );
        assert_eq!(model.sensors[1].last, Some(9));
        for change in tracker.take(&model) {
            replica.apply_change(change);
        }
        assert_eq!(replica.sensors, model.sensors);
    }

    /// A loaded wall replaces the view in the site and in a replica, even with sections of the
    /// old wall noted in the same update (the old wall here is longer than the new one).
    #[test]
    fn a_loaded_wall_replaces_the_view_of_every_replica() {
        let old = Arc::new(Wall::parse(b"1 2 3 4 5 6 7 8 9", 10).unwrap());
        let heights = old.heights().to_vec();
        let mut model = Model::new(
            old,
            &heights,
            4,
            false,
            Crews::Limited(2),
            Vec::new(),
            5,
            "memory:".into(),
            Speed::Factor(1.0),
        );
        let mut replica = model.clone();
        let mut tracker = Tracker::default();
        let report = CrewReport {
            id: 1,
            timestamp: chrono::Utc::now(),
            day: 5,
            crew: 1,
            profile: Some(1),
            section: Some(9),
            height: Some(10),
        };
        model.apply_event(
            Event::CrewReports(vec![report]),
            Instant::now(),
            &mut tracker,
        );
        let new = Arc::new(Wall::parse(b"29 0", 10).unwrap());
        let loaded = Event::WallLoaded {
            wall: new.clone(),
            progress: WallProgress {
                day: 0,
                ice_to_date: 0,
                cost_to_date: 0,
                complete: false,
                done_on: None,
            },
            crews: Crews::Limited(1),
            run: 2,
        };
        assert!(model.apply_event(loaded, Instant::now(), &mut tracker));
        for change in tracker.take(&model) {
            replica.apply_change(change);
        }
        assert_eq!(replica.wall, model.wall);
        assert_eq!(*replica.wall.wall, *new);
        assert_eq!(replica.wall.heights, [29, 0]);
        assert_eq!((replica.day, replica.crews), (0, Crews::Limited(1)));
    }
}

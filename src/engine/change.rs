//! An accepted change as the store keeps it (JSON text, in order, see `Store::append_change`)
//! and as a restarted site applies it again. A change is recorded resolved — the kinds of the
//! sensors it added, the names of those it removed — so that the same changes applied to the
//! same start give the same site: as many crews, the same sensors with the same names, kinds and
//! seeds (the factory names and seeds them in the order they are made), the same speed and pause.
//! A loaded wall is recorded as its profiles' text, written out again from the parsed wall (one
//! profile a line, heights apart by a space), with its run's number and resolved crews.

use serde::{Deserialize, Serialize};

use crate::store::SiteChange;
use crate::units::{CREWS_RANGE, Speed};
use crate::wall::Crews;

/// One accepted change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    CrewsAdded {
        count: u32,
    },
    CrewsRemoved {
        count: u32,
    },
    SensorsAdded {
        kinds: Vec<String>,
    },
    SensorsRemoved {
        names: Vec<String>,
    },
    Paused {
        paused: bool,
    },
    Speed {
        speed: Speed,
    },
    WallLoaded {
        run: u32,
        profiles: String,
        crews: Crews,
    },
}

impl Change {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a change always serialises")
    }
}

/// A wall's profiles as text: one profile a line, its heights apart by a space (what
/// [`Change::WallLoaded`] keeps; it parses back to the same wall).
pub fn profiles_text(wall: &crate::wall::Wall) -> String {
    let mut text = String::with_capacity(wall.sections() * 3);
    for p in 0..wall.profiles() {
        for (i, h) in wall.profile(p).iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(&h.to_string());
        }
        text.push('\n');
    }
    text
}

/// A sensor added or removed again, in the order the changes did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SensorStep {
    Add(String),
    Remove(String),
}

/// The wall loaded last: its run's number, its profiles' text, the crews it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedWall {
    pub run: u32,
    pub profiles: String,
    pub crews: Crews,
}

/// What a run's stored changes come to, to apply again at its start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    /// The wall loaded last, if any was: the site runs it, not the one it was started with.
    pub wall: Option<LoadedWall>,
    /// Crews added less crews removed (since the wall loaded last).
    pub crews_added: i64,
    pub sensors: Vec<SensorStep>,
    pub speed: Option<Speed>,
    pub paused: Option<bool>,
    /// How many changes were read.
    pub changes: usize,
}

impl Replay {
    /// The changes read back from a store, oldest first. A change this wallwatch cannot read is
    /// an error naming it (the store was written by another version).
    pub fn of(stored: &[SiteChange]) -> Result<Replay, String> {
        let mut replay = Replay::default();
        for c in stored {
            let change: Change = serde_json::from_str(&c.change).map_err(|e| {
                format!(
                    "site change {} ({}) cannot be read: {e}",
                    c.id,
                    crate::text::sanitize(&c.change)
                )
            })?;
            replay.apply(change);
        }
        replay.changes = stored.len();
        Ok(replay)
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::CrewsAdded { count } => self.crews_added += i64::from(count),
            Change::CrewsRemoved { count } => self.crews_added -= i64::from(count),
            Change::SensorsAdded { kinds } => {
                self.sensors.extend(kinds.into_iter().map(SensorStep::Add));
            }
            Change::SensorsRemoved { names } => {
                self.sensors
                    .extend(names.into_iter().map(SensorStep::Remove));
            }
            Change::Paused { paused } => self.paused = Some(paused),
            Change::Speed { speed } => self.speed = Some(speed),
            Change::WallLoaded {
                run,
                profiles,
                crews,
            } => {
                self.wall = Some(LoadedWall {
                    run,
                    profiles,
                    crews,
                });
                self.crews_added = 0;
            }
        }
    }

    /// The crews of a run that started with `start`, after the changes (at least one crew):
    /// from those the wall loaded last was given, if one was.
    pub fn crews(&self, start: Crews) -> Crews {
        match self.wall.as_ref().map_or(start, |w| w.crews) {
            Crews::Unlimited => Crews::Unlimited,
            Crews::Limited(n) => {
                let most = i64::from(*CREWS_RANGE.end());
                Crews::Limited((i64::from(n) + self.crews_added).clamp(1, most) as u32)
            }
        }
    }

    /// The changes in a few words, for the log: `crews +2, sensors +3 −1, speed max, paused`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.crews_added != 0 {
            parts.push(format!("crews {:+}", self.crews_added));
        }
        let added = self
            .sensors
            .iter()
            .filter(|s| matches!(s, SensorStep::Add(_)))
            .count();
        let removed = self.sensors.len() - added;
        // Only the moves made: `sensors +1`, `sensors −2` or `sensors +2 −1`.
        let moves: Vec<String> = [(added, '+'), (removed, '−')]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, sign)| format!("{sign}{n}"))
            .collect();
        if !moves.is_empty() {
            parts.push(format!("sensors {}", moves.join(" ")));
        }
        match self.speed {
            Some(Speed::Max) => parts.push("speed max".into()),
            Some(Speed::Factor(f)) => parts.push(format!("speed ×{f}")),
            None => {}
        }
        if let Some(paused) = self.paused {
            parts.push(if paused { "paused" } else { "running" }.into());
        }
        if let Some(w) = &self.wall {
            parts.insert(0, format!("wall of run {} loaded", w.run));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(changes: &[Change]) -> Vec<SiteChange> {
        changes
            .iter()
            .enumerate()
            .map(|(i, c)| SiteChange {
                id: i as u64 + 1,
                at: chrono::Utc::now(),
                origin: "test".into(),
                change: c.to_json(),
            })
            .collect()
    }

    #[test]
    fn changes_come_to_the_last_speed_and_pause_and_every_sensor_step_in_order() {
        let replay = Replay::of(&stored(&[
            Change::CrewsAdded { count: 3 },
            Change::SensorsAdded {
                kinds: vec!["thermometer".into(), "seismometer".into()],
            },
            Change::Speed {
                speed: Speed::Factor(4.0),
            },
            Change::CrewsRemoved { count: 1 },
            Change::SensorsRemoved {
                names: vec!["default-2".into()],
            },
            Change::Paused { paused: true },
            Change::Speed { speed: Speed::Max },
        ]))
        .unwrap();
        assert_eq!(replay.crews(Crews::Limited(3)), Crews::Limited(5));
        assert_eq!(replay.crews(Crews::Unlimited), Crews::Unlimited);
        assert_eq!(
            replay.sensors,
            vec![
                SensorStep::Add("thermometer".into()),
                SensorStep::Add("seismometer".into()),
                SensorStep::Remove("default-2".into()),
            ]
        );
        assert_eq!(replay.speed, Some(Speed::Max));
        assert_eq!(replay.paused, Some(true));
        assert_eq!(replay.changes, 7);
        assert_eq!(
            replay.describe(),
            "crews +2, sensors +2 −1, speed max, paused"
        );
        let sensors = |steps: Vec<SensorStep>| Replay {
            sensors: steps,
            ..Replay::default()
        };
        let add = || SensorStep::Add("thermometer".into());
        let remove = || SensorStep::Remove("default-2".into());
        assert_eq!(sensors(vec![add()]).describe(), "sensors +1");
        assert_eq!(sensors(vec![remove(), remove()]).describe(), "sensors −2");
        assert_eq!(sensors(vec![]).describe(), "");
    }

    #[test]
    fn a_loaded_wall_sets_the_crews_and_its_text_parses_back() {
        let wall = crate::wall::Wall::from_profiles(&[vec![21u8, 25, 28], vec![17]]);
        let text = profiles_text(&wall);
        assert_eq!(text, "21 25 28\n17\n");
        assert_eq!(crate::wall::Wall::parse(text.as_bytes(), 10).unwrap(), wall);
        let replay = Replay::of(&stored(&[
            Change::CrewsAdded { count: 5 },
            Change::WallLoaded {
                run: 2,
                profiles: text.clone(),
                crews: Crews::Limited(2),
            },
            Change::CrewsAdded { count: 1 },
        ]))
        .unwrap();
        assert_eq!(replay.crews(Crews::Limited(3)), Crews::Limited(3));
        assert_eq!(
            replay.wall.as_ref().map(|w| (w.run, w.profiles.as_str())),
            Some((2, text.as_str()))
        );
        assert_eq!(replay.describe(), "wall of run 2 loaded, crews +1");
    }

    #[test]
    fn crews_never_fall_below_one_and_an_unreadable_change_is_named() {
        let replay = Replay::of(&stored(&[Change::CrewsRemoved { count: 9 }])).unwrap();
        assert_eq!(replay.crews(Crews::Limited(3)), Crews::Limited(1));
        let mut bad = stored(&[Change::Paused { paused: true }]);
        bad[0].change = "{\"change\":\"teleported\"}".into();
        let e = Replay::of(&bad).unwrap_err();
        assert!(e.starts_with("site change 1 ("), "{e}");
    }
}

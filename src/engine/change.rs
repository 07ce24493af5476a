//! An accepted change as the store keeps it (JSON text, in order, see `Store::append_change`)
//! and as a restarted site applies it again. A change is recorded resolved — the kinds of the
//! sensors it added, the names of those it removed — so that the same changes applied to the
//! same start give the same site: as many crews, the same sensors with the same names, kinds and
//! seeds (the factory names and seeds them in the order they are made), the same speed and pause.

use serde::{Deserialize, Serialize};

use crate::store::SiteChange;
use crate::units::{CREWS_RANGE, Speed};
use crate::wall::Crews;

/// One accepted change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    CrewsAdded { count: u32 },
    CrewsRemoved { count: u32 },
    SensorsAdded { kinds: Vec<String> },
    SensorsRemoved { names: Vec<String> },
    Paused { paused: bool },
    Speed { speed: Speed },
}

impl Change {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a change always serialises")
    }
}

/// A sensor added or removed again, in the order the changes did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SensorStep {
    Add(String),
    Remove(String),
}

/// What a run's stored changes come to, to apply again at its start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    /// Crews added less crews removed.
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
        }
    }

    /// The crews of a run that started with `start`, after the changes (at least one crew).
    pub fn crews(&self, start: Crews) -> Crews {
        match start {
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
        if !self.sensors.is_empty() {
            parts.push(format!("sensors +{added} −{removed}"));
        }
        match self.speed {
            Some(Speed::Max) => parts.push("speed max".into()),
            Some(Speed::Factor(f)) => parts.push(format!("speed ×{f}")),
            None => {}
        }
        if let Some(paused) = self.paused {
            parts.push(if paused { "paused" } else { "running" }.into());
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

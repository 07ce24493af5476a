//! The site's live status: what `wallwatch status` asks over the socket and `GET /status`
//! answers, one typed value on both ends (the site serialises it, the client reads it back).

use serde::{Deserialize, Serialize};

use super::Hub;
use crate::engine::{Gauges, Summary};
use crate::units::Speed;
use crate::wall::Crews;

/// The live summary: the headless summary's keys, what the site runs with now (as changed by
/// commands), the viewers attached and the uptime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(flatten)]
    pub summary: Summary,
    /// The crews working now: a number, or `"unlimited"`.
    pub crews: Crews,
    /// The sensors running now.
    pub sensors: usize,
    /// Their names, in the order they were added.
    pub sensor_names: Vec<String>,
    /// Simulated seconds per real second, or `"max"`.
    #[serde(with = "speed_json")]
    pub speed: Speed,
    pub paused: bool,
    /// The run's number: 1 until another wall is loaded (`wallwatch wall load`, `PUT /wall`).
    pub run: u32,
    /// The fingerprint of the wall worked now.
    pub wall_fingerprint: String,
    pub viewers: usize,
    /// Fresh snapshots given to viewers that had fallen behind.
    pub viewer_resnapshots: u64,
    pub uptime_s: f64,
}

impl Status {
    /// The site's status now (`wallwatch status --json`, `GET /status`).
    pub fn now(gauges: &Gauges, hub: &Hub, started: std::time::Instant) -> Status {
        let (crews, sensor_names, speed, paused) = hub.with_model(|m| {
            let names: Vec<String> = m.sensors.iter().map(|s| s.info.name.clone()).collect();
            (m.crews, names, m.speed, m.paused)
        });
        let (run, wall_fingerprint) = gauges.run();
        Status {
            summary: gauges.summary(),
            run,
            wall_fingerprint,
            crews,
            sensors: sensor_names.len(),
            sensor_names,
            speed,
            paused,
            viewers: hub.subscribers(),
            viewer_resnapshots: hub.resnapshots(),
            uptime_s: started.elapsed().as_secs_f64(),
        }
    }
}

/// A speed as a number, or the word `max` (as `--speed` takes it).
mod speed_json {
    use super::Speed;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Shown {
        Factor(f64),
        Word(String),
    }

    pub fn serialize<S: Serializer>(speed: &Speed, s: S) -> Result<S::Ok, S::Error> {
        match speed {
            Speed::Factor(f) => Shown::Factor(*f),
            Speed::Max => Shown::Word("max".into()),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Speed, D::Error> {
        match Shown::deserialize(d)? {
            Shown::Factor(f) => Ok(Speed::Factor(f)),
            Shown::Word(w) if w == "max" => Ok(Speed::Max),
            Shown::Word(w) => Err(serde::de::Error::custom(format!("speed: {w:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::protocol::{ServerMsg, decode, encode};

    /// A status as the site sends it (the summary's keys flattened, then the site's own).
    const SAMPLE: &str = r#"{"readings":{"produced":12345,"stored":12340},
        "crew_reports":{"produced":40,"stored":40},
        "network":{"limit":5,"max_in_flight":5,"delivered":12385,"mean_wait_ms":0.25,"mean_latency_ms":3.5},
        "wall":{"day":8,"ice_to_date":1234567,"cost_to_date":2345678900,"complete":true},
        "store":"postgres://wall:***@db/site","store_rows":{"readings":22345,"crew_reports":80},
        "seed":7,"simulated_seconds":691200.125,
        "remote":{"received":9,"rejected":1,"duplicates":2,"out_of_order":0,"delivered":6,
        "stored":6,"store_duplicates":1},
        "crews":4,"sensors":2,"sensor_names":["sensor-1","thermometer-6"],"speed":"max",
        "paused":true,"run":2,"wall_fingerprint":"5d0c6f0b2a1e9c47","viewers":2,
        "viewer_resnapshots":1,"uptime_s":12.75}"#;

    #[test]
    fn a_status_crosses_the_socket_as_the_same_object() {
        let status: Status = serde_json::from_str(SAMPLE).unwrap();
        let msg = decode::<ServerMsg>(&encode(&ServerMsg::Status(Box::new(status.clone()))));
        let Ok(ServerMsg::Status(back)) = msg else {
            panic!("{msg:?}");
        };
        assert_eq!(*back, status);
        let sample: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(serde_json::to_value(&*back).unwrap(), sample);
    }

    #[test]
    fn unlimited_crews_and_a_speed_factor_are_a_word_and_a_number() {
        let mut sample: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        sample["crews"] = "unlimited".into();
        sample["speed"] = 2.5.into();
        let status: Status = serde_json::from_value(sample.clone()).unwrap();
        assert_eq!(status.crews, Crews::Unlimited);
        assert_eq!(status.speed, Speed::Factor(2.5));
        assert_eq!(serde_json::to_value(&status).unwrap(), sample);
        sample["crews"] = "lots".into();
        assert!(serde_json::from_value::<Status>(sample).is_err());
    }

    #[test]
    fn a_status_without_agents_has_no_remote_key() {
        let mut sample: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        sample.as_object_mut().unwrap().remove("remote");
        let status: Status = serde_json::from_value(sample.clone()).unwrap();
        assert_eq!(status.summary.remote, None);
        assert_eq!(serde_json::to_value(&status).unwrap(), sample);
    }
}

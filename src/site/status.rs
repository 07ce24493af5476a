//! The site's live status: what `wallwatch status` asks over the socket and `GET /status`
//! answers, one typed value on both ends (the site serialises it, the client reads it back).

use serde::{Deserialize, Serialize};

use super::Hub;
use crate::engine::{Gauges, Summary};

/// The live summary: the headless summary's keys, the viewers attached and the uptime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(flatten)]
    pub summary: Summary,
    pub viewers: usize,
    /// Fresh snapshots given to viewers that had fallen behind.
    pub viewer_resnapshots: u64,
    pub uptime_s: f64,
}

impl Status {
    /// The site's status now (`wallwatch status --json`, `GET /status`).
    pub fn now(gauges: &Gauges, hub: &Hub, started: std::time::Instant) -> Status {
        Status {
            summary: gauges.summary(),
            viewers: hub.subscribers(),
            viewer_resnapshots: hub.resnapshots(),
            uptime_s: started.elapsed().as_secs_f64(),
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
        "seed":7,"simulated_seconds":691200.125,"screen_rows_coalesced":3,
        "remote":{"received":9,"rejected":1,"duplicates":2,"out_of_order":0,"delivered":6,
        "stored":6,"store_duplicates":1},
        "viewers":2,"viewer_resnapshots":1,"uptime_s":12.75}"#;

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
    fn a_status_without_agents_has_no_remote_key() {
        let mut sample: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        sample.as_object_mut().unwrap().remove("remote");
        let status: Status = serde_json::from_value(sample.clone()).unwrap();
        assert_eq!(status.summary.remote, None);
        assert_eq!(serde_json::to_value(&status).unwrap(), sample);
    }
}

//! A crew's daily report as it is stored: one row per crew per day worked (or relieved).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::crews::{CrewWork, WorkKind};

/// A stored crew report. `id` is assigned by the collector. `profile`, `section` (both 1-based)
/// and `height` (after the day's work) are `None` for a crew that was relieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrewReport {
    pub id: u64,
    pub timestamp: DateTime<Utc>,
    pub day: u64,
    pub crew: u32,
    pub profile: Option<u32>,
    pub section: Option<u32>,
    pub height: Option<u8>,
}

impl CrewReport {
    /// A report of `work`, not yet numbered.
    pub fn from_work(work: &CrewWork, timestamp: DateTime<Utc>) -> Self {
        let (profile, section, height) = match work.kind {
            WorkKind::Raised {
                profile,
                section,
                to,
                ..
            } => (Some(profile), Some(section), Some(to)),
            WorkKind::Completed { profile, section } => {
                (Some(profile), Some(section), Some(super::MAX_HEIGHT))
            }
            WorkKind::Relieved => (None, None, None),
        };
        CrewReport {
            id: 0,
            timestamp,
            day: work.day,
            crew: work.crew,
            profile,
            section,
            height,
        }
    }
}

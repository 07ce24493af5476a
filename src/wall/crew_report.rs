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

    /// The work this report tells of (its log line is the crew log line of DESIGN §1): a
    /// section at 30 was completed, one below was raised by one foot, none was a relief.
    pub fn work(&self) -> CrewWork {
        let kind = match (self.profile, self.section, self.height) {
            (Some(profile), Some(section), Some(h)) if h >= super::MAX_HEIGHT => {
                WorkKind::Completed { profile, section }
            }
            (Some(profile), Some(section), Some(to)) => WorkKind::Raised {
                profile,
                section,
                from: to.saturating_sub(1),
                to,
            },
            _ => WorkKind::Relieved,
        };
        CrewWork {
            day: self.day,
            crew: self.crew,
            kind,
        }
    }
}

//! The steps of opening the store before a run starts, told to whoever started it: on a store
//! of millions of rows, counting them and reading each section's latest report take seconds,
//! and someone at a terminal should see which step the start is at.

use std::fmt;
use std::sync::Arc;

use crate::text::thousands;

/// A step of opening the store and resuming the run it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Connecting to (or opening) the store and checking its schema.
    Connecting,
    /// `--fresh`: removing what it holds.
    Clearing,
    /// Counting the stored rows (the ids continue after them).
    Counting,
    /// Reading each section's latest report, of this many stored crew reports.
    Latest { crew_reports: u64 },
    /// Reading every stored crew report back for the wall's past days.
    History { crew_reports: u64 },
    /// Reading what the store holds of each agent's readings.
    AgentMarks,
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opening::Connecting => write!(f, "opening the store"),
            Opening::Clearing => write!(f, "clearing the store (--fresh)"),
            Opening::Counting => write!(f, "counting the stored rows"),
            Opening::Latest { crew_reports } => write!(
                f,
                "reading each section's latest of {} crew reports",
                thousands(*crew_reports)
            ),
            Opening::History { crew_reports } => write!(
                f,
                "reading back {} crew reports for the past days",
                thousands(*crew_reports)
            ),
            Opening::AgentMarks => write!(f, "reading the agents' marks"),
        }
    }
}

/// Told each [`Opening`] step as it begins.
pub type OnOpening = Arc<dyn Fn(Opening) + Send + Sync>;

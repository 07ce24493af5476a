//! The Wall: pure domain, no tokio, no screen. Parsing, the crew site and the ledger of ice and
//! money are the single source of truth for the engine, the dashboard and the command line.

mod crew_report;
mod crews;
mod fingerprint;
mod history;
mod latest;
mod ledger;
mod profile;
pub mod query;
pub mod report;
mod schedule;
mod tally;
mod wire;

pub use crew_report::CrewReport;
pub use crews::{CrewWork, Crews, ResumeError, WorkKind, Works};
pub use history::{Book, History, Projection};
pub use latest::{Irregular, LatestReports, SectionReports};
pub use ledger::Ledger;
pub use profile::{DEFAULT_MAX_SECTIONS, HeightSink, ParseError, ParseErrorKind, ReadError, Wall};
pub use schedule::{Schedule, SectionWork};
pub use tally::{Remaining, Tally};
pub use wire::{decode_heights, encode_heights};

/// The height every section is raised to, in feet.
pub const MAX_HEIGHT: u8 = 30;
/// Cubic yards of ice in one foot of one section.
pub const ICE_PER_FOOT: u64 = 195;
/// Gold Dragons per cubic yard of ice.
pub const DRAGONS_PER_CUBIC_YARD: u64 = 1_900;
/// Gold Dragons per foot of one section.
pub const COST_PER_FOOT: u64 = ICE_PER_FOOT * DRAGONS_PER_CUBIC_YARD;

/// The built-in example wall, also the dashboard's default.
pub const EXAMPLE_PROFILES: &str = include_str!("../../assets/profiles.txt");

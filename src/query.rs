//! The original task's REST paths, answered from a [`Ledger`]: shared by `wallwatch query` and,
//! later, HTTP.

use std::fmt;

use serde::Serialize;

use crate::wall::Ledger;

/// A parsed query path. Profiles and days are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// `/profiles/{p}/days/{d}`: ice used on day d by profile p.
    ProfileIceOn { profile: u64, day: u64 },
    /// `/profiles/{p}/overview/{d}`: cost of profile p up to and including day d.
    ProfileCostUpTo { profile: u64, day: u64 },
    /// `/profiles/overview/{d}`: cost of the wall up to and including day d.
    CostUpTo { day: u64 },
    /// `/profiles/overview`: the wall's total cost.
    TotalCost,
}

/// The JSON object answering a query; absent keys are not printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<u64>,
    /// `null` for the whole-wall total.
    pub day: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_amount: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<u64>,
}

/// Why a query cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    UnknownPath(String),
    DayZero,
    NoSuchProfile { profile: u64, profiles: usize },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::UnknownPath(path) => write!(
                f,
                "unknown path '{}' (expected /profiles/{{p}}/days/{{d}}, /profiles/{{p}}/overview/{{d}}, \
                 /profiles/overview/{{d}} or /profiles/overview)",
                crate::text::sanitize(path)
            ),
            QueryError::DayZero => f.write_str("day 0 does not exist (days start at 1)"),
            QueryError::NoSuchProfile { profile, profiles } => {
                let plural = if *profiles == 1 { "" } else { "s" };
                write!(
                    f,
                    "profile {profile} does not exist (the wall has {profiles} profile{plural})"
                )
            }
        }
    }
}

impl std::error::Error for QueryError {}

/// A path segment that is a whole number: plain digits only.
fn number(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

impl Query {
    /// Parses a path; one trailing `/` is allowed.
    pub fn parse(path: &str) -> Result<Query, QueryError> {
        let unknown = || QueryError::UnknownPath(path.to_string());
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let rest = trimmed.strip_prefix("/profiles/").ok_or_else(unknown)?;
        let mut parts = rest.split('/');
        let query = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("overview"), None, None, None) => Query::TotalCost,
            (Some("overview"), Some(d), None, None) => Query::CostUpTo {
                day: number(d).ok_or_else(unknown)?,
            },
            (Some(p), Some(kind @ ("days" | "overview")), Some(d), None) => {
                let profile = number(p).ok_or_else(unknown)?;
                let day = number(d).ok_or_else(unknown)?;
                if kind == "days" {
                    Query::ProfileIceOn { profile, day }
                } else {
                    Query::ProfileCostUpTo { profile, day }
                }
            }
            _ => return Err(unknown()),
        };
        Ok(query)
    }

    /// Answers the query. Day 0 and profiles outside the wall are errors.
    pub fn answer(self, ledger: &Ledger) -> Result<Answer, QueryError> {
        let profile_index = |profile: u64| match profile {
            p if p >= 1 && p <= ledger.profiles() as u64 => Ok(p as usize - 1),
            _ => Err(QueryError::NoSuchProfile {
                profile,
                profiles: ledger.profiles(),
            }),
        };
        let day = |d: u64| {
            if d == 0 {
                Err(QueryError::DayZero)
            } else {
                Ok(d)
            }
        };
        let blank = Answer {
            profile: None,
            day: None,
            ice_amount: None,
            cost: None,
        };
        Ok(match self {
            Query::ProfileIceOn { profile, day: d } => {
                let p = profile_index(profile)?;
                let d = day(d)?;
                Answer {
                    profile: Some(profile),
                    day: Some(d),
                    ice_amount: Some(ledger.profile_ice_on(p, d)),
                    ..blank
                }
            }
            Query::ProfileCostUpTo { profile, day: d } => {
                let p = profile_index(profile)?;
                let d = day(d)?;
                Answer {
                    profile: Some(profile),
                    day: Some(d),
                    cost: Some(ledger.profile_cost_up_to(p, d)),
                    ..blank
                }
            }
            Query::CostUpTo { day: d } => {
                let d = day(d)?;
                Answer {
                    day: Some(d),
                    cost: Some(ledger.cost_up_to(d)),
                    ..blank
                }
            }
            Query::TotalCost => Answer {
                cost: Some(ledger.total_cost()),
                ..blank
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wall::{EXAMPLE_PROFILES, Schedule, Wall};

    fn ask(path: &str) -> Result<String, QueryError> {
        let wall = Wall::parse(EXAMPLE_PROFILES.as_bytes(), 2000).unwrap();
        let ledger = Ledger::new(&wall, &Schedule::unlimited(&wall));
        let answer = Query::parse(path)?.answer(&ledger)?;
        Ok(serde_json::to_string(&answer).unwrap())
    }

    #[test]
    fn the_four_paths() {
        assert_eq!(
            ask("/profiles/1/days/1").unwrap(),
            r#"{"profile":1,"day":1,"ice_amount":585}"#
        );
        assert_eq!(
            ask("/profiles/1/overview/1").unwrap(),
            r#"{"profile":1,"day":1,"cost":1111500}"#
        );
        assert_eq!(
            ask("/profiles/overview/1").unwrap(),
            r#"{"day":1,"cost":3334500}"#
        );
        assert_eq!(
            ask("/profiles/overview").unwrap(),
            r#"{"day":null,"cost":32233500}"#
        );
        assert_eq!(
            ask("/profiles/overview/").unwrap(),
            r#"{"day":null,"cost":32233500}"#
        );
    }

    #[test]
    fn bad_paths_days_and_profiles() {
        assert_eq!(ask("/profiles/1/days/0"), Err(QueryError::DayZero));
        assert_eq!(
            ask("/profiles/4/days/1"),
            Err(QueryError::NoSuchProfile {
                profile: 4,
                profiles: 3
            })
        );
        assert_eq!(
            ask("/profiles/0/overview/1"),
            Err(QueryError::NoSuchProfile {
                profile: 0,
                profiles: 3
            })
        );
        for bad in [
            "",
            "/",
            "/profiles",
            "/profiles/",
            "/profiles/x/days/1",
            "/profiles/1/days/-1",
            "/profiles/1/days/+1",
            "/profiles/1/weeks/1",
            "/profiles/1/days/1/2",
            "profiles/overview",
            "/profiles/overview//",
            "/profiles/1/days/99999999999999999999999",
        ] {
            assert!(
                matches!(ask(bad), Err(QueryError::UnknownPath(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unknown_paths_are_quoted_without_control_characters() {
        let e = ask("/x\x1b[2J").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown path '/x\\u{1b}[2J' (expected"),
            "{e}"
        );
    }
}

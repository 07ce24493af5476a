//! The original task's REST paths, answered from a [`Ledger`] or, where the path allows, in one
//! pass over the profiles file ([`Query::answer_file`]): shared by `wallwatch query` and, later,
//! HTTP.

use std::fmt;

use serde::Serialize;

use crate::wall::{
    COST_PER_FOOT, Crews, ICE_PER_FOOT, Ledger, ParseError, Projection, Remaining, Schedule, Tally,
    Wall,
};

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
        self.answer_from(ledger)
    }

    /// Whether the answer depends on the crews' schedule: a cost or ice up to or on a day with
    /// limited crews. The total cost never does, and with one crew per section every answer has
    /// a closed form ([`Remaining`]).
    pub fn needs_schedule(self, crews: Crews) -> bool {
        matches!(crews, Crews::Limited(_)) && self != Query::TotalCost
    }

    /// What to count of a profiles file, in one pass ([`Wall::parse_into`] or
    /// [`Wall::parse_from`]), to answer the query unless it [`Query::needs_schedule`]: the
    /// profile asked about, or the whole wall.
    pub fn tally(self) -> Tally {
        Tally::new(match self {
            Query::ProfileIceOn { profile, .. } | Query::ProfileCostUpTo { profile, .. } => {
                // Profile 0 or one past usize counts nothing, and is refused when answering.
                Some(usize::try_from(profile).map_or(usize::MAX, |p| p.wrapping_sub(1)))
            }
            Query::CostUpTo { .. } | Query::TotalCost => None,
        })
    }

    /// Answers from the [`Query::tally`] of a whole file, exactly as [`Query::answer`] does
    /// from a ledger with one crew per section (or any crews, for the total cost).
    pub fn answer_tally(self, tally: &Tally) -> Result<Answer, QueryError> {
        self.answer_from(tally)
    }

    /// Answers the query about the profiles file `src` as [`Query::answer`] does on its ledger
    /// (the same answers and errors; a bad file is the outer error): in one pass over the file,
    /// keeping no wall, unless [`Query::needs_schedule`].
    pub fn answer_file(
        self,
        src: &[u8],
        max_sections: usize,
        crews: Crews,
    ) -> Result<Result<Answer, QueryError>, ParseError> {
        if self.needs_schedule(crews) {
            let wall = Wall::parse(src, max_sections)?;
            let schedule = match crews {
                Crews::Unlimited => Schedule::unlimited(&wall),
                Crews::Limited(n) => Schedule::with_crews(&wall, n),
            };
            return Ok(self.answer(&Ledger::new(&wall, &schedule)));
        }
        let mut tally = self.tally();
        Wall::parse_into(src, max_sections, &mut tally)?;
        Ok(self.answer_tally(&tally))
    }

    /// Answers from a live site's [`Projection`] ([`crate::wall::Book::projection`]), with the
    /// same answers and errors as from a ledger.
    pub fn answer_projection(self, projection: &Projection) -> Result<Answer, QueryError> {
        self.answer_from(projection)
    }

    fn answer_from(self, ledger: &impl Figures) -> Result<Answer, QueryError> {
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

/// What answering needs of a wall's figures: a [`Ledger`], or a [`Tally`] for the profile
/// asked about (a tally knows only its target's figures, so `p` is that profile).
trait Figures {
    fn profiles(&self) -> usize;
    fn profile_ice_on(&self, p: usize, d: u64) -> u64;
    fn profile_cost_up_to(&self, p: usize, d: u64) -> u64;
    fn cost_up_to(&self, d: u64) -> u64;
    fn total_cost(&self) -> u64;
}

impl Figures for Ledger {
    fn profiles(&self) -> usize {
        Ledger::profiles(self)
    }
    fn profile_ice_on(&self, p: usize, d: u64) -> u64 {
        Ledger::profile_ice_on(self, p, d)
    }
    fn profile_cost_up_to(&self, p: usize, d: u64) -> u64 {
        Ledger::profile_cost_up_to(self, p, d)
    }
    fn cost_up_to(&self, d: u64) -> u64 {
        Ledger::cost_up_to(self, d)
    }
    fn total_cost(&self) -> u64 {
        Ledger::total_cost(self)
    }
}

impl Figures for Tally {
    fn profiles(&self) -> usize {
        Tally::profiles(self)
    }
    fn profile_ice_on(&self, _p: usize, d: u64) -> u64 {
        self.remaining().ice_on(d)
    }
    fn profile_cost_up_to(&self, _p: usize, d: u64) -> u64 {
        self.remaining().cost_up_to(d)
    }
    fn cost_up_to(&self, d: u64) -> u64 {
        self.remaining().cost_up_to(d)
    }
    fn total_cost(&self) -> u64 {
        Remaining::total_cost(self.remaining())
    }
}

impl Figures for Projection {
    fn profiles(&self) -> usize {
        Projection::profiles(self)
    }
    fn profile_ice_on(&self, p: usize, d: u64) -> u64 {
        self.profile_feet_on(p, d) * ICE_PER_FOOT
    }
    fn profile_cost_up_to(&self, p: usize, d: u64) -> u64 {
        self.profile_feet_up_to(p, d) * COST_PER_FOOT
    }
    fn cost_up_to(&self, d: u64) -> u64 {
        self.feet_up_to(d) * COST_PER_FOOT
    }
    fn total_cost(&self) -> u64 {
        self.total_feet() * COST_PER_FOOT
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

#[cfg(test)]
mod one_pass {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    /// A wall as text (blank lines, tabs, CRLF mixed in) and its walls.
    fn walls() -> impl Strategy<Value = (String, Vec<Vec<u8>>)> {
        prop::collection::vec(prop::collection::vec(0u8..=30, 1..12), 1..6).prop_flat_map(
            |profiles| {
                let n = profiles.len();
                (Just(profiles), prop::collection::vec(0u8..4, n)).prop_map(|(profiles, seps)| {
                    let mut text = String::new();
                    for (p, sep) in profiles.iter().zip(&seps) {
                        let line: Vec<String> = p.iter().map(u8::to_string).collect();
                        text.push_str(&line.join(if *sep == 1 { "\t" } else { " " }));
                        text.push_str(match sep {
                            0 => "\n",
                            1 => "\r\n",
                            2 => "\n\n  \n",
                            _ => " \n",
                        });
                    }
                    (text, profiles)
                })
            },
        )
    }

    fn query() -> impl Strategy<Value = Query> {
        let day = prop_oneof![0u64..40, Just(u64::MAX), 1u64..200];
        let profile = prop_oneof![0u64..8, Just(u64::MAX)];
        prop_oneof![
            (profile.clone(), day.clone())
                .prop_map(|(profile, day)| Query::ProfileIceOn { profile, day }),
            (profile, day.clone())
                .prop_map(|(profile, day)| Query::ProfileCostUpTo { profile, day }),
            day.prop_map(|day| Query::CostUpTo { day }),
            Just(Query::TotalCost),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { rng_seed: RngSeed::Fixed(384), ..ProptestConfig::default() })]

        /// One pass answers exactly what the ledger answers, errors included, for one crew per
        /// section and for limited crews.
        #[test]
        fn one_pass_equals_the_ledger(
            (text, profiles) in walls(),
            queries in prop::collection::vec(query(), 1..8),
            crews in prop_oneof![Just(Crews::Unlimited), (1u32..6).prop_map(Crews::Limited)],
        ) {
            let wall = Wall::parse(text.as_bytes(), 2000).unwrap();
            prop_assert_eq!(&wall, &Wall::from_profiles(&profiles));
            let schedule = match crews {
                Crews::Unlimited => Schedule::unlimited(&wall),
                Crews::Limited(n) => Schedule::with_crews(&wall, n),
            };
            let ledger = Ledger::new(&wall, &schedule);
            for q in queries {
                let expected = q.answer(&ledger);
                let got = q.answer_file(text.as_bytes(), 2000, crews).unwrap();
                prop_assert_eq!(got, expected, "{:?}", q);
            }
        }

        /// A bad file gives the parser's own error, whatever the query.
        #[test]
        fn bad_files_fail_the_same(text in "[0-9 \n#x-]{0,40}", q in query(), max in 1usize..4) {
            let parsed = Wall::parse(text.as_bytes(), max);
            let got = q.answer_file(text.as_bytes(), max, Crews::Unlimited);
            match parsed {
                Ok(_) => prop_assert!(got.is_ok()),
                Err(e) => prop_assert_eq!(got.unwrap_err(), e),
            }
        }
    }
}

//! Answers with one crew per section in closed form: every unfinished section grows 1 ft a day
//! until it reaches 30, so a set of sections' ice on day d and cost up to day d depend only on
//! how many sections have each number of feet still to raise. Counted in one pass over a
//! profiles file ([`Wall::parse_into`](super::Wall::parse_into)), no wall or schedule is built.

use super::profile::HeightSink;
use super::{COST_PER_FOOT, ICE_PER_FOOT, MAX_HEIGHT};

/// How many sections still have 0, 1, …, 30 ft to raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    counts: [u64; MAX_HEIGHT as usize + 1],
}

impl Default for Remaining {
    fn default() -> Remaining {
        Remaining {
            counts: [0; MAX_HEIGHT as usize + 1],
        }
    }
}

impl Remaining {
    /// Counts a section of height `h` (0..=30).
    #[inline]
    pub fn add(&mut self, h: u8) {
        self.counts[usize::from(MAX_HEIGHT - h)] += 1;
    }

    /// Cubic yards used on day `d` (1-based) with one crew per section: a section works on day
    /// d when it has at least d feet to raise.
    pub fn ice_on(&self, d: u64) -> u64 {
        let working: u64 = (1..self.counts.len())
            .filter(|&r| r as u64 >= d)
            .map(|r| self.counts[r])
            .sum();
        working * ICE_PER_FOOT
    }

    /// Gold Dragons spent up to and including day `d` with one crew per section.
    pub fn cost_up_to(&self, d: u64) -> u64 {
        let feet: u64 = (0..self.counts.len())
            .map(|r| self.counts[r] * (r as u64).min(d))
            .sum();
        feet * COST_PER_FOOT
    }

    /// Gold Dragons of the whole work, whatever the crews.
    pub fn total_cost(&self) -> u64 {
        self.cost_up_to(u64::from(MAX_HEIGHT))
    }
}

/// A [`HeightSink`] counting the number of profiles and the [`Remaining`] feet of one profile
/// (`Some(p)`, 0-based) or of the whole wall (`None`).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    target: Option<usize>,
    profile: usize,
    remaining: Remaining,
}

impl Tally {
    pub fn new(target: Option<usize>) -> Tally {
        Tally {
            target,
            ..Tally::default()
        }
    }

    /// Profiles seen (all of them once the parse has ended).
    pub fn profiles(&self) -> usize {
        self.profile
    }

    /// The counted feet: of the target profile, or of the wall.
    pub fn remaining(&self) -> &Remaining {
        &self.remaining
    }
}

impl HeightSink for Tally {
    #[inline]
    fn height(&mut self, h: u8) {
        if self.target.is_none_or(|t| t == self.profile) {
            self.remaining.add(h);
        }
    }

    fn end_profile(&mut self) {
        self.profile += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wall::{EXAMPLE_PROFILES, Ledger, Schedule, Wall};

    #[test]
    fn the_example_in_closed_form() {
        let wall = Wall::parse(EXAMPLE_PROFILES.as_bytes(), 2000).unwrap();
        let ledger = Ledger::new(&wall, &Schedule::unlimited(&wall));
        for target in [None, Some(0), Some(1), Some(2)] {
            let mut tally = Tally::new(target);
            Wall::parse_into(EXAMPLE_PROFILES.as_bytes(), 2000, &mut tally).unwrap();
            assert_eq!(tally.profiles(), 3);
            let r = tally.remaining();
            for d in 1..40 {
                let (ice, cost) = match target {
                    None => (ledger.ice_on(d), ledger.cost_up_to(d)),
                    Some(p) => (ledger.profile_ice_on(p, d), ledger.profile_cost_up_to(p, d)),
                };
                assert_eq!(
                    (r.ice_on(d), r.cost_up_to(d)),
                    (ice, cost),
                    "{target:?} {d}"
                );
            }
        }
    }
}

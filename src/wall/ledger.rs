//! Ice and money by day, per profile and overall, answered without walking days.
//!
//! A section worked on days `s..e` (end exclusive) raised `[s ≤ d]·(d − s + 1) − [e ≤ d]·(d − e + 1)`
//! feet up to day `d`, and is being worked on day `d` when `[s ≤ d] − [e ≤ d]` is 1. Summing
//! over sections needs only, for the sorted starts and ends, how many are ≤ d and their sum:
//! one binary search each over the distinct values.

use super::{COST_PER_FOOT, ICE_PER_FOOT, Schedule, Wall};

/// Sorted distinct days with the running count and sum of all values up to each.
#[derive(Debug, Clone, Default)]
struct DayMarks {
    days: Vec<u64>,
    count: Vec<u64>,
    sum: Vec<u64>,
}

impl DayMarks {
    fn new(mut values: Vec<u64>) -> DayMarks {
        if !values.is_sorted() {
            values.sort_unstable();
        }
        let mut marks = DayMarks::default();
        let (mut count, mut sum) = (0, 0);
        for v in values {
            count += 1;
            sum += v;
            if marks.days.last() == Some(&v) {
                *marks.count.last_mut().unwrap() = count;
                *marks.sum.last_mut().unwrap() = sum;
            } else {
                marks.days.push(v);
                marks.count.push(count);
                marks.sum.push(sum);
            }
        }
        marks
    }

    /// (how many values are ≤ d, their sum).
    fn up_to(&self, d: u64) -> (u64, u64) {
        match self.days.partition_point(|&v| v <= d) {
            0 => (0, 0),
            i => (self.count[i - 1], self.sum[i - 1]),
        }
    }

    /// Σ over values v ≤ d of (d − v + 1).
    fn days_since(&self, d: u64) -> u64 {
        let (count, sum) = self.up_to(d);
        count * (d + 1) - sum
    }
}

/// Starts and (exclusive) ends of the worked sections of one profile, or of the whole wall.
#[derive(Debug, Clone, Default)]
struct Worked {
    starts: DayMarks,
    ends: DayMarks,
    feet: u64,
    last_day: u64,
}

impl Worked {
    fn new(starts: Vec<u64>, ends: Vec<u64>) -> Worked {
        let feet = ends.iter().sum::<u64>() - starts.iter().sum::<u64>();
        let last_day = ends.iter().max().map_or(0, |e| e - 1);
        Worked {
            starts: DayMarks::new(starts),
            ends: DayMarks::new(ends),
            feet,
            last_day,
        }
    }

    fn sections_worked_on(&self, d: u64) -> u64 {
        self.starts.up_to(d).0 - self.ends.up_to(d).0
    }

    fn feet_up_to(&self, d: u64) -> u64 {
        // Past the last day nothing changes; clamping keeps huge days from overflowing.
        let d = d.min(self.last_day + 1);
        self.starts.days_since(d) - self.ends.days_since(d)
    }
}

/// Ice and cost of a wall under one schedule. Days are 1-based; day 0 counts nothing.
#[derive(Debug, Clone)]
pub struct Ledger {
    profiles: Vec<Worked>,
    wall: Worked,
    days: u64,
}

impl Ledger {
    /// One pass over the schedule, then every query is a few binary searches.
    pub fn new(wall: &Wall, schedule: &Schedule) -> Ledger {
        let work = schedule.sections();
        let worked = |range: std::ops::Range<usize>| {
            let items = work[range].iter().filter(|w| w.feet > 0);
            let starts = items.clone().map(|w| w.start).collect();
            let ends = items.map(|w| w.start + u64::from(w.feet)).collect();
            Worked::new(starts, ends)
        };
        let profiles = (0..wall.profiles())
            .map(|p| worked(wall.profile_start(p)..wall.profile_start(p + 1)))
            .collect();
        Ledger {
            profiles,
            wall: worked(0..work.len()),
            days: schedule.days_to_finish(),
        }
    }

    pub fn profiles(&self) -> usize {
        self.profiles.len()
    }

    /// The last working day.
    pub fn days_to_finish(&self) -> u64 {
        self.days
    }

    /// The last working day of profile `p` (0-based).
    pub fn profile_days_to_finish(&self, p: usize) -> u64 {
        self.profiles[p].last_day
    }

    /// Cubic yards used on day `d` by profile `p` (0-based).
    pub fn profile_ice_on(&self, p: usize, d: u64) -> u64 {
        self.profiles[p].sections_worked_on(d) * ICE_PER_FOOT
    }

    /// Gold Dragons spent up to and including day `d` on profile `p`.
    pub fn profile_cost_up_to(&self, p: usize, d: u64) -> u64 {
        self.profiles[p].feet_up_to(d) * COST_PER_FOOT
    }

    /// Cubic yards used on day `d` over the whole wall.
    pub fn ice_on(&self, d: u64) -> u64 {
        self.wall.sections_worked_on(d) * ICE_PER_FOOT
    }

    /// Cubic yards used up to and including day `d` over the whole wall.
    pub fn ice_up_to(&self, d: u64) -> u64 {
        self.wall.feet_up_to(d) * ICE_PER_FOOT
    }

    /// Gold Dragons spent up to and including day `d` over the whole wall.
    pub fn cost_up_to(&self, d: u64) -> u64 {
        self.wall.feet_up_to(d) * COST_PER_FOOT
    }

    /// Total cubic yards of profile `p`.
    pub fn profile_total_ice(&self, p: usize) -> u64 {
        self.profiles[p].feet * ICE_PER_FOOT
    }

    /// Total Gold Dragons of profile `p`.
    pub fn profile_total_cost(&self, p: usize) -> u64 {
        self.profiles[p].feet * COST_PER_FOOT
    }

    /// Total cubic yards of the wall.
    pub fn total_ice(&self) -> u64 {
        self.wall.feet * ICE_PER_FOOT
    }

    /// Total Gold Dragons of the wall.
    pub fn total_cost(&self) -> u64 {
        self.wall.feet * COST_PER_FOOT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(crews: Option<u32>) -> Ledger {
        let wall = Wall::parse(super::super::EXAMPLE_PROFILES.as_bytes(), 2000).unwrap();
        let schedule = match crews {
            None => Schedule::unlimited(&wall),
            Some(n) => Schedule::with_crews(&wall, n),
        };
        Ledger::new(&wall, &schedule)
    }

    #[test]
    fn the_original_tasks_answers() {
        let l = example(None);
        assert_eq!(l.profile_ice_on(0, 1), 585);
        assert_eq!(l.profile_cost_up_to(0, 1), 1_111_500);
        assert_eq!(l.cost_up_to(1), 3_334_500);
        assert_eq!(l.total_cost(), 32_233_500);
        assert_eq!(l.total_ice(), 87 * 195);
    }

    #[test]
    fn after_the_last_day_nothing_more_is_spent() {
        for crews in [None, Some(1), Some(3), Some(10)] {
            let l = example(crews);
            let last = l.days_to_finish();
            assert!(l.ice_on(last) > 0);
            for d in [last + 1, last + 1000, u64::MAX / 4] {
                assert_eq!(l.ice_on(d), 0);
                assert_eq!(l.cost_up_to(d), l.total_cost());
                assert_eq!(l.profile_cost_up_to(2, d), l.profile_total_cost(2));
            }
            assert_eq!(l.cost_up_to(0), 0);
        }
    }

    #[test]
    fn one_crew_works_one_foot_a_day() {
        let l = example(Some(1));
        for d in 1..=87 {
            assert_eq!(l.ice_on(d), 195, "day {d}");
            assert_eq!(l.ice_up_to(d), 195 * d);
        }
        assert_eq!(l.profile_days_to_finish(0), 16);
        assert_eq!(l.profile_days_to_finish(2), 87);
    }
}

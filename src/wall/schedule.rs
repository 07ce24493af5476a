//! The whole run computed at once: which crew raises which section, from which day.
//!
//! With N crews, sections are taken in queue order (profile-major, section-minor) by whichever
//! crew is free first, ties going to the lower crew number; a min-heap of "free from day" gives
//! exactly that without walking idle days. Unlimited mode is N = number of unfinished sections.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{MAX_HEIGHT, Wall};

/// How one section gets raised: by `crew` (1-based), on days `start..start + feet`.
/// A section already at 30 has `feet == 0`, `start == 0` and `crew == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionWork {
    pub start: u64,
    pub feet: u8,
    pub crew: u32,
}

impl SectionWork {
    /// A section already at 30: nobody works it.
    pub const NONE: SectionWork = SectionWork {
        start: 0,
        feet: 0,
        crew: 0,
    };

    /// The last day worked (0 when there is no work).
    pub fn last_day(&self) -> u64 {
        if self.feet == 0 {
            0
        } else {
            self.start + u64::from(self.feet) - 1
        }
    }
}

/// The whole run: one [`SectionWork`] per section in queue order, and the day each crew is relieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    crews: Option<u32>,
    work: Vec<SectionWork>,
    relieved: Vec<u64>,
    days: u64,
}

impl Schedule {
    /// One crew per unfinished section: every section grows from day 1.
    pub fn unlimited(wall: &Wall) -> Schedule {
        let mut crew = 0;
        let mut relieved = Vec::new();
        let work = plan_sections(wall, |feet| {
            crew += 1;
            relieved.push(u64::from(feet) + 1);
            (1, crew)
        });
        let days = work.iter().map(SectionWork::last_day).max().unwrap_or(0);
        Schedule {
            crews: None,
            work,
            relieved,
            days,
        }
    }

    /// `crews` crews (at least 1) working through the queue.
    pub fn with_crews(wall: &Wall, crews: u32) -> Schedule {
        assert!(crews >= 1, "at least one crew");
        // (free from day, crew) packed in one integer: one comparison per heap step.
        let pack = |day: u64, crew: u32| (u128::from(day) << 32) | u128::from(crew);
        let mut free: BinaryHeap<Reverse<u128>> =
            (1..=crews).map(|c| Reverse(pack(1, c))).collect();
        let mut days = 0;
        let work = plan_sections(wall, |feet| {
            let mut top = free.peek_mut().expect("crews never leave the heap");
            let (start, crew) = ((top.0 >> 32) as u64, top.0 as u32);
            let end = start + u64::from(feet);
            top.0 = pack(end, crew);
            drop(top);
            days = days.max(end - 1);
            (start, crew)
        });
        let mut relieved = vec![0; crews as usize];
        for Reverse(packed) in free {
            relieved[packed as u32 as usize - 1] = (packed >> 32) as u64;
        }
        Schedule {
            crews: Some(crews),
            work,
            relieved,
            days,
        }
    }

    /// `None` for unlimited crews.
    pub fn crews(&self) -> Option<u32> {
        self.crews
    }

    /// One entry per section, in the wall's order.
    pub fn sections(&self) -> &[SectionWork] {
        &self.work
    }

    /// The day each crew (index = crew - 1) is relieved for lack of sections.
    pub fn relieved_on(&self) -> &[u64] {
        &self.relieved
    }

    /// The last working day (0 when the wall is already finished).
    pub fn days_to_finish(&self) -> u64 {
        self.days
    }
}

/// One [`SectionWork`] per section of `wall`, in queue order: [`SectionWork::NONE`] for a
/// finished one, else the first day and the crew `assign` gives its feet to raise (called for
/// the unfinished sections only, in order).
fn plan_sections(wall: &Wall, mut assign: impl FnMut(u8) -> (u64, u32)) -> Vec<SectionWork> {
    wall.heights()
        .iter()
        .map(|&h| {
            let feet = MAX_HEIGHT - h;
            if feet == 0 {
                return SectionWork::NONE;
            }
            let (start, crew) = assign(feet);
            SectionWork { start, feet, crew }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Wall {
        Wall::parse(super::super::EXAMPLE_PROFILES.as_bytes(), 2000).unwrap()
    }

    #[test]
    fn example_days_to_finish() {
        let wall = example();
        assert_eq!(Schedule::unlimited(&wall).days_to_finish(), 13);
        assert_eq!(Schedule::with_crews(&wall, 1).days_to_finish(), 87);
        assert_eq!(Schedule::with_crews(&wall, 3).days_to_finish(), 31);
        assert_eq!(Schedule::with_crews(&wall, 10).days_to_finish(), 13);
    }

    #[test]
    fn one_crew_goes_section_by_section() {
        let s = Schedule::with_crews(&example(), 1);
        let starts: Vec<u64> = s.sections().iter().map(|w| w.start).collect();
        assert_eq!(starts, [1, 10, 15, 17, 30, 43, 51, 64, 75]);
        assert_eq!(s.relieved_on(), &[88]);
    }

    #[test]
    fn finished_sections_are_skipped() {
        let wall = Wall::from_profiles(&[vec![30, 29], vec![30]]);
        let s = Schedule::with_crews(&wall, 2);
        assert_eq!(
            s.sections()[0],
            SectionWork {
                start: 0,
                feet: 0,
                crew: 0
            }
        );
        assert_eq!(
            s.sections()[1],
            SectionWork {
                start: 1,
                feet: 1,
                crew: 1
            }
        );
        assert_eq!(s.relieved_on(), &[2, 1]);
        assert_eq!(s.days_to_finish(), 1);
        assert_eq!(
            Schedule::unlimited(&Wall::from_profiles(&[[30]])).days_to_finish(),
            0
        );
    }
}

//! The live site: the wall raised day by day by crews that can be added and removed between
//! days. The engine drives it; [`super::Schedule`] computes the same run at once.

use std::collections::BTreeSet;
use std::fmt;

use super::{MAX_HEIGHT, Wall};

/// How many crews work the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crews {
    /// One crew per unfinished section (the original task's rule).
    Unlimited,
    /// A fixed number of crews that move on to the next unfinished section.
    Limited(u32),
}

/// One crew's day, as logged and reported. Profiles and sections are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrewWork {
    pub day: u64,
    pub crew: u32,
    pub kind: WorkKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// Raised a section by one foot, short of 30.
    Raised {
        profile: u32,
        section: u32,
        from: u8,
        to: u8,
    },
    /// Raised a section to 30.
    Completed { profile: u32, section: u32 },
    /// Found no section left.
    Relieved,
}

impl fmt::Display for CrewWork {
    /// The crew log line of DESIGN §1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "day {} · crew {} · ", self.day, self.crew)?;
        match self.kind {
            WorkKind::Raised {
                profile,
                section,
                from,
                to,
            } => {
                write!(f, "profile {profile} section {section} · {from} → {to} ft")
            }
            WorkKind::Completed { profile, section } => {
                write!(f, "completed profile {profile} section {section}")
            }
            WorkKind::Relieved => f.write_str("relieved (no sections left)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrewState {
    /// New, or freed at the end of the last day: picks a section before working.
    Idle,
    Working(usize),
    /// Found nothing to do; still picks up a section that is handed back.
    Relieved,
}

/// Why a crew could not be added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrewChangeError {
    /// Unlimited mode has one crew per section by definition.
    Unlimited,
    /// There is no crew left to remove.
    NoCrews,
}

impl fmt::Display for CrewChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CrewChangeError::Unlimited => {
                "crews are unlimited (one per section); start with --crews N to manage crews"
            }
            CrewChangeError::NoCrews => "no crew left to remove",
        })
    }
}

/// The wall under construction.
#[derive(Debug, Clone)]
pub struct Site {
    wall: Wall,
    heights: Vec<u8>,
    unlimited: bool,
    crews: Vec<CrewState>,
    /// Every section before `next` is taken, finished, or in `returned`.
    next: usize,
    /// Sections handed back by a removed crew, picked before `next`.
    returned: BTreeSet<usize>,
    unfinished: usize,
    day: u64,
    feet_raised: u64,
}

impl Site {
    pub fn new(wall: Wall, crews: Crews) -> Site {
        let heights = wall.heights().to_vec();
        let unfinished = heights.iter().filter(|&&h| h < MAX_HEIGHT).count();
        let (unlimited, count) = match crews {
            Crews::Unlimited => (true, unfinished),
            Crews::Limited(n) => (false, n as usize),
        };
        Site {
            wall,
            heights,
            unlimited,
            crews: vec![CrewState::Idle; count],
            next: 0,
            returned: BTreeSet::new(),
            unfinished,
            day: 0,
            feet_raised: 0,
        }
    }

    /// The wall as it was at the start.
    pub fn wall(&self) -> &Wall {
        &self.wall
    }

    /// Current heights, in the wall's order.
    pub fn heights(&self) -> &[u8] {
        &self.heights
    }

    /// Days worked so far (0 before the first).
    pub fn day(&self) -> u64 {
        self.day
    }

    pub fn crews(&self) -> Crews {
        if self.unlimited {
            Crews::Unlimited
        } else {
            Crews::Limited(self.crews.len() as u32)
        }
    }

    /// Number of crews on site (in unlimited mode, one per section that was unfinished).
    pub fn crew_count(&self) -> usize {
        self.crews.len()
    }

    /// The section (flat index) each crew is on, `None` when idle or relieved; index = crew - 1.
    pub fn assignments(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.crews.iter().map(|c| match c {
            CrewState::Working(s) => Some(*s),
            _ => None,
        })
    }

    /// Feet raised so far over the whole wall.
    pub fn feet_raised(&self) -> u64 {
        self.feet_raised
    }

    /// Every section is at 30.
    pub fn is_complete(&self) -> bool {
        self.unfinished == 0
    }

    /// Complete and every crew already told so: another day would log nothing.
    pub fn is_done(&self) -> bool {
        self.is_complete() && self.crews.iter().all(|c| *c == CrewState::Relieved)
    }

    /// Adds a crew; it starts work on the next day. Returns its number.
    pub fn add_crew(&mut self) -> Result<u32, CrewChangeError> {
        if self.unlimited {
            return Err(CrewChangeError::Unlimited);
        }
        self.crews.push(CrewState::Idle);
        Ok(self.crews.len() as u32)
    }

    /// Removes the highest-numbered crew at the end of the current day; its unfinished section
    /// goes back to the queue in its original place. Returns the crew's number.
    pub fn remove_crew(&mut self) -> Result<u32, CrewChangeError> {
        if self.unlimited {
            return Err(CrewChangeError::Unlimited);
        }
        let number = self.crews.len() as u32;
        match self.crews.pop() {
            None => Err(CrewChangeError::NoCrews),
            Some(state) => {
                if let CrewState::Working(s) = state {
                    self.returned.insert(s);
                }
                Ok(number)
            }
        }
    }

    /// Works one more day and returns what each crew did, in crew order.
    pub fn step(&mut self) -> Vec<CrewWork> {
        let mut log = Vec::new();
        self.step_into(&mut log);
        log
    }

    /// [`Site::step`] into a caller's buffer (cleared first).
    pub fn step_into(&mut self, log: &mut Vec<CrewWork>) {
        log.clear();
        self.day += 1;
        let day = self.day;
        for i in 0..self.crews.len() {
            let crew = i as u32 + 1;
            let section = match self.crews[i] {
                CrewState::Working(s) => s,
                state => match self.take_next() {
                    Some(s) => s,
                    None => {
                        if state == CrewState::Idle {
                            log.push(CrewWork {
                                day,
                                crew,
                                kind: WorkKind::Relieved,
                            });
                        }
                        self.crews[i] = CrewState::Relieved;
                        continue;
                    }
                },
            };
            let from = self.heights[section];
            let to = from + 1;
            self.heights[section] = to;
            self.feet_raised += 1;
            let profile_index = self.wall.profile_of(section);
            let profile = profile_index as u32 + 1;
            let section_number = (section - self.wall.profile_start(profile_index)) as u32 + 1;
            let kind = if to == MAX_HEIGHT {
                self.unfinished -= 1;
                self.crews[i] = CrewState::Idle;
                WorkKind::Completed {
                    profile,
                    section: section_number,
                }
            } else {
                self.crews[i] = CrewState::Working(section);
                WorkKind::Raised {
                    profile,
                    section: section_number,
                    from,
                    to,
                }
            };
            log.push(CrewWork { day, crew, kind });
        }
    }

    /// The next untaken unfinished section in queue order.
    fn take_next(&mut self) -> Option<usize> {
        while self.next < self.heights.len() && self.heights[self.next] == MAX_HEIGHT {
            self.next += 1;
        }
        match self.returned.first() {
            Some(&r) if r < self.next || self.next == self.heights.len() => {
                self.returned.pop_first()
            }
            _ if self.next < self.heights.len() => {
                self.next += 1;
                Some(self.next - 1)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Wall {
        Wall::parse(super::super::EXAMPLE_PROFILES.as_bytes(), 2000).unwrap()
    }

    fn run(site: &mut Site) -> Vec<CrewWork> {
        let mut all = Vec::new();
        while !site.is_done() {
            all.extend(site.step());
        }
        all
    }

    #[test]
    fn log_lines_read_as_designed() {
        let mut site = Site::new(example(), Crews::Limited(3));
        let log = run(&mut site);
        let lines: Vec<String> = log.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines[0],
            "day 1 · crew 1 · profile 1 section 1 · 21 → 22 ft"
        );
        assert!(lines.contains(&"day 1 · crew 3 · profile 1 section 3 · 28 → 29 ft".to_string()));
        assert!(lines.contains(&"day 2 · crew 3 · completed profile 1 section 3".to_string()));
        assert!(lines.contains(&"day 3 · crew 3 · profile 2 section 1 · 17 → 18 ft".to_string()));
        assert!(lines.contains(&"day 5 · crew 2 · completed profile 1 section 2".to_string()));
        assert_eq!(site.day(), 32);
        let last: Vec<&String> = lines.iter().filter(|l| l.contains("relieved")).collect();
        assert_eq!(last.len(), 3);
    }

    #[test]
    fn one_crew_is_relieved_on_day_88() {
        let mut site = Site::new(example(), Crews::Limited(1));
        let log = run(&mut site);
        assert_eq!(
            log.last().unwrap().to_string(),
            "day 88 · crew 1 · relieved (no sections left)"
        );
        assert_eq!(site.feet_raised(), example().feet_to_raise());
    }

    #[test]
    fn unlimited_mode_refuses_crew_changes() {
        let mut site = Site::new(example(), Crews::Unlimited);
        assert_eq!(site.crew_count(), 9);
        assert_eq!(site.add_crew(), Err(CrewChangeError::Unlimited));
        assert_eq!(site.remove_crew(), Err(CrewChangeError::Unlimited));
        run(&mut site);
        assert_eq!(site.day(), 14);
    }

    #[test]
    fn a_removed_crews_section_goes_back_in_its_place() {
        let wall = Wall::from_profiles(&[vec![28, 28, 28]]);
        let mut site = Site::new(wall, Crews::Limited(2));
        site.step(); // crew 1 on section 1, crew 2 on section 2
        assert_eq!(site.remove_crew(), Ok(2));
        let day2 = site.step();
        assert_eq!(day2.len(), 1);
        // Crew 1 completes section 1 on day 2, then takes section 2 (29 ft) before section 3.
        assert_eq!(
            day2[0].kind,
            WorkKind::Completed {
                profile: 1,
                section: 1
            }
        );
        let day3 = site.step();
        assert_eq!(
            day3[0].kind,
            WorkKind::Completed {
                profile: 1,
                section: 2
            }
        );
        assert_eq!(site.add_crew(), Ok(2));
        let day4 = site.step();
        assert_eq!(
            day4[0].kind,
            WorkKind::Raised {
                profile: 1,
                section: 3,
                from: 28,
                to: 29
            }
        );
        assert_eq!(day4[1].kind, WorkKind::Relieved);
        assert_eq!(site.remove_crew(), Ok(2));
        assert_eq!(site.remove_crew(), Ok(1));
        assert_eq!(site.remove_crew(), Err(CrewChangeError::NoCrews));
        site.step();
        assert!(!site.is_complete(), "no crew, no progress");
    }
}

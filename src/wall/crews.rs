//! The works: the wall raised day by day by crews that can be added and removed between
//! days. The engine drives it; [`super::Schedule`] computes the same run at once.

use std::collections::BTreeSet;
use std::fmt;

use super::{MAX_HEIGHT, Wall};

/// How many crews work the wall. In JSON a number, or the word `"unlimited"` (as `--crews`
/// takes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crews {
    /// One crew per unfinished section (the original task's rule).
    Unlimited,
    /// A fixed number of crews that move on to the next unfinished section.
    Limited(u32),
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum CrewsJson {
    Limited(u32),
    Word(String),
}

impl serde::Serialize for Crews {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Crews::Limited(n) => CrewsJson::Limited(*n),
            Crews::Unlimited => CrewsJson::Word("unlimited".into()),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Crews {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Crews, D::Error> {
        match CrewsJson::deserialize(d)? {
            CrewsJson::Limited(n) => Ok(Crews::Limited(n)),
            CrewsJson::Word(w) if w == "unlimited" => Ok(Crews::Unlimited),
            CrewsJson::Word(w) => Err(serde::de::Error::custom(format!("crews: {w:?}"))),
        }
    }
}

/// `3`, or `unlimited`.
impl fmt::Display for Crews {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crews::Unlimited => f.write_str("unlimited"),
            Crews::Limited(n) => write!(f, "{n}"),
        }
    }
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

/// Why the works could not be resumed from stored crew reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeError(pub String);

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResumeError {}

/// The wall under construction.
#[derive(Debug, Clone)]
pub struct Works {
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
    /// The day its last section reached 30 ft (see [`Works::done_on`]).
    done_on: Option<u64>,
}

impl Works {
    pub fn new(wall: Wall, crews: Crews) -> Works {
        let heights = wall.heights().to_vec();
        let unfinished = heights.iter().filter(|&&h| h < MAX_HEIGHT).count();
        let (unlimited, count) = match crews {
            Crews::Unlimited => (true, unfinished),
            Crews::Limited(n) => (false, n as usize),
        };
        Works {
            wall,
            heights,
            unlimited,
            crews: vec![CrewState::Idle; count],
            next: 0,
            returned: BTreeSet::new(),
            unfinished,
            day: 0,
            feet_raised: 0,
            // A wall with no section to raise was done before its first day.
            done_on: (unfinished == 0).then_some(0),
        }
    }

    /// Works that continue an earlier run of `wall`: `heights` are the current heights (in the
    /// wall's order) and `day` the last day worked. Every crew starts the next day idle and takes
    /// sections in queue order, which are exactly the sections the earlier run had in progress
    /// (crews always hold the first unfinished sections of the queue), so the wall grows as it
    /// would have. Unlimited mode puts one crew on each unfinished section. On a complete wall
    /// the crews are already relieved. Feet raised count from the wall's original heights.
    pub fn resume(
        wall: Wall,
        crews: Crews,
        heights: Vec<u8>,
        day: u64,
    ) -> Result<Works, ResumeError> {
        if heights.len() != wall.sections() {
            return Err(ResumeError(format!(
                "{} heights given for a wall of {} sections",
                heights.len(),
                wall.sections()
            )));
        }
        let mut feet_raised = 0;
        for (i, (&now, &start)) in heights.iter().zip(wall.heights()).enumerate() {
            if now < start || now > MAX_HEIGHT {
                let p = wall.profile_of(i);
                return Err(ResumeError(format!(
                    "profile {} section {} is {now} ft, which does not follow its {start} ft at the start",
                    p + 1,
                    i - wall.profile_start(p) + 1
                )));
            }
            feet_raised += u64::from(now - start);
        }
        let mut works = Works::new(wall, crews);
        works.unfinished = heights.iter().filter(|&&h| h < MAX_HEIGHT).count();
        if works.unlimited {
            works.crews = vec![CrewState::Idle; works.unfinished];
        }
        if works.unfinished == 0 {
            works.crews.fill(CrewState::Relieved);
        }
        // Its heights do not tell on which day a resumed complete wall was done (its reports
        // do: `LatestReports::done_on`).
        works.done_on = None;
        works.heights = heights;
        works.day = day;
        works.feet_raised = feet_raised;
        Ok(works)
    }

    /// The current heights and the last day worked, as stored crew reports (in id order) tell:
    /// each section's height is that of its latest report, or its height in `wall` when none.
    /// A report of a section the wall does not have, or a height that goes down, is an error.
    pub fn state_from_reports(
        wall: &Wall,
        reports: &[super::CrewReport],
    ) -> Result<(Vec<u8>, u64), ResumeError> {
        let mut heights = wall.heights().to_vec();
        let mut day = 0;
        for r in reports {
            day = day.max(r.day);
            let (Some(p), Some(s), Some(h)) = (r.profile, r.section, r.height) else {
                continue;
            };
            let p0 = p as usize;
            let fits = p0 >= 1
                && p0 <= wall.profiles()
                && s >= 1
                && (s as usize) <= wall.profile(p0 - 1).len()
                && h <= MAX_HEIGHT;
            if !fits {
                return Err(ResumeError(format!(
                    "crew report {} is of profile {p} section {s} at {h} ft, which this wall \
                     does not have",
                    r.id
                )));
            }
            let flat = wall.profile_start(p0 - 1) + s as usize - 1;
            if h < heights[flat] {
                return Err(ResumeError(format!(
                    "crew report {} lowers profile {p} section {s} from {} to {h} ft",
                    r.id, heights[flat]
                )));
            }
            heights[flat] = h;
        }
        Ok((heights, day))
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

    /// Feet raised so far over the whole wall.
    pub fn feet_raised(&self) -> u64 {
        self.feet_raised
    }

    /// Every section is at 30.
    pub fn is_complete(&self) -> bool {
        self.unfinished == 0
    }

    /// The day the wall was done: the day its last section reached 30 ft, which is the last day
    /// a crew raised a foot of it. This is the day `wallwatch report` says it is "done on"
    /// (`Ledger::days_to_finish` computes the same day from the whole schedule), and the day
    /// the site says it was done. Crews with nothing left are told so (`relieved`) on the day
    /// after, which the site's day counter also counts; that day is not the wall's. `None` while
    /// a section is unfinished, and for a wall resumed complete.
    pub fn done_on(&self) -> Option<u64> {
        self.done_on
    }

    /// Complete and every crew already told so: another day would log nothing.
    pub fn is_done(&self) -> bool {
        self.is_complete() && self.crews.iter().all(|c| *c == CrewState::Relieved)
    }

    /// Whether the crews at work hold exactly the first unfinished sections in queue order, the
    /// others being free: true unless a removed crew's section waits to be taken again. Then
    /// the days to come are those of [`super::Schedule`] over the current heights (the
    /// sections in progress each day are the same; only which crew works which may differ).
    pub fn holds_queue_prefix(&self) -> bool {
        self.returned.is_empty()
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

    /// [`Works::step`] into a caller's buffer (cleared first).
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
                if self.unfinished == 0 {
                    self.done_on = Some(day);
                }
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

    fn run(works: &mut Works) -> Vec<CrewWork> {
        let mut all = Vec::new();
        while !works.is_done() {
            all.extend(works.step());
        }
        all
    }

    #[test]
    fn log_lines_read_as_designed() {
        let mut works = Works::new(example(), Crews::Limited(3));
        let log = run(&mut works);
        let lines: Vec<String> = log.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines[0],
            "day 1 · crew 1 · profile 1 section 1 · 21 → 22 ft"
        );
        assert!(lines.contains(&"day 1 · crew 3 · profile 1 section 3 · 28 → 29 ft".to_string()));
        assert!(lines.contains(&"day 2 · crew 3 · completed profile 1 section 3".to_string()));
        assert!(lines.contains(&"day 3 · crew 3 · profile 2 section 1 · 17 → 18 ft".to_string()));
        assert!(lines.contains(&"day 5 · crew 2 · completed profile 1 section 2".to_string()));
        assert_eq!(works.day(), 32);
        let last: Vec<&String> = lines.iter().filter(|l| l.contains("relieved")).collect();
        assert_eq!(last.len(), 3);
    }

    #[test]
    fn one_crew_is_relieved_on_day_88() {
        let mut works = Works::new(example(), Crews::Limited(1));
        let log = run(&mut works);
        assert_eq!(
            log.last().unwrap().to_string(),
            "day 88 · crew 1 · relieved (no sections left)"
        );
        assert_eq!(works.feet_raised(), example().feet_to_raise());
    }

    #[test]
    fn unlimited_mode_refuses_crew_changes() {
        let mut works = Works::new(example(), Crews::Unlimited);
        assert_eq!(works.crew_count(), 9);
        assert_eq!(works.add_crew(), Err(CrewChangeError::Unlimited));
        assert_eq!(works.remove_crew(), Err(CrewChangeError::Unlimited));
        run(&mut works);
        assert_eq!(works.day(), 14);
    }

    #[test]
    fn a_removed_crews_section_goes_back_in_its_place() {
        let wall = Wall::from_profiles(&[vec![28, 28, 28]]);
        let mut works = Works::new(wall, Crews::Limited(2));
        works.step(); // crew 1 on section 1, crew 2 on section 2
        assert_eq!(works.remove_crew(), Ok(2));
        let day2 = works.step();
        assert_eq!(day2.len(), 1);
        // Crew 1 completes section 1 on day 2, then takes section 2 (29 ft) before section 3.
        assert_eq!(
            day2[0].kind,
            WorkKind::Completed {
                profile: 1,
                section: 1
            }
        );
        let day3 = works.step();
        assert_eq!(
            day3[0].kind,
            WorkKind::Completed {
                profile: 1,
                section: 2
            }
        );
        assert_eq!(works.add_crew(), Ok(2));
        let day4 = works.step();
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
        assert_eq!(works.remove_crew(), Ok(2));
        assert_eq!(works.remove_crew(), Ok(1));
        assert_eq!(works.remove_crew(), Err(CrewChangeError::NoCrews));
        works.step();
        assert!(!works.is_complete(), "no crew, no progress");
    }

    fn reports_of(log: &[CrewWork]) -> Vec<crate::wall::CrewReport> {
        let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        log.iter()
            .enumerate()
            .map(|(i, w)| crate::wall::CrewReport {
                id: i as u64 + 1,
                ..crate::wall::CrewReport::from_work(w, t)
            })
            .collect()
    }

    /// Stops a run after `cut` days, resumes it from its reports, and checks that the rest of
    /// the run raises the same sections to the same heights on the same days.
    fn resumes_like_the_uninterrupted_run(crews: Crews, cut: u64) {
        let mut whole = Works::new(example(), crews);
        let mut first = Works::new(example(), crews);
        let mut log = Vec::new();
        for _ in 0..cut {
            if first.is_done() {
                break;
            }
            whole.step();
            log.extend(first.step());
        }
        let (heights, day) = Works::state_from_reports(&example(), &reports_of(&log)).unwrap();
        assert_eq!(heights, first.heights());
        assert_eq!(day, first.day());
        let mut resumed = Works::resume(example(), crews, heights, day).unwrap();
        assert_eq!(resumed.feet_raised(), whole.feet_raised());
        while !whole.is_complete() {
            whole.step();
            resumed.step();
            assert_eq!(resumed.day(), whole.day());
            assert_eq!(
                resumed.heights(),
                whole.heights(),
                "{crews:?} day {}",
                whole.day()
            );
            assert_eq!(resumed.feet_raised(), whole.feet_raised());
        }
        assert!(resumed.is_complete());
    }

    #[test]
    fn a_resumed_site_grows_like_the_uninterrupted_one() {
        for cut in [0, 1, 2, 5, 12, 30] {
            resumes_like_the_uninterrupted_run(Crews::Limited(3), cut);
            resumes_like_the_uninterrupted_run(Crews::Limited(1), cut);
            resumes_like_the_uninterrupted_run(Crews::Limited(10), cut);
            resumes_like_the_uninterrupted_run(Crews::Unlimited, cut.min(12));
        }
    }

    #[test]
    fn resuming_a_complete_wall_logs_nothing_more() {
        let mut works = Works::new(example(), Crews::Limited(3));
        let log = run(&mut works);
        let (heights, day) = Works::state_from_reports(&example(), &reports_of(&log)).unwrap();
        assert!(heights.iter().all(|&h| h == MAX_HEIGHT));
        let resumed = Works::resume(example(), Crews::Limited(3), heights, day).unwrap();
        assert!(resumed.is_done());
        assert_eq!(resumed.day(), 32);
    }

    #[test]
    fn reports_of_another_wall_are_refused() {
        let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let report = |profile, section, height| crate::wall::CrewReport {
            id: 7,
            timestamp: t,
            day: 1,
            crew: 1,
            profile: Some(profile),
            section: Some(section),
            height: Some(height),
        };
        let wall = example();
        let e = Works::state_from_reports(&wall, &[report(4, 1, 20)]).unwrap_err();
        assert!(e.0.contains("profile 4 section 1"), "{e}");
        let e = Works::state_from_reports(&wall, &[report(2, 2, 20)]).unwrap_err();
        assert!(e.0.contains("profile 2 section 2"), "{e}");
        let e = Works::state_from_reports(&wall, &[report(1, 1, 10)]).unwrap_err();
        assert!(
            e.0.contains("lowers profile 1 section 1 from 21 to 10"),
            "{e}"
        );
        let e = Works::resume(wall.clone(), Crews::Limited(1), vec![30; 3], 1).unwrap_err();
        assert!(e.0.contains("3 heights"), "{e}");
        let mut lower = wall.heights().to_vec();
        lower[0] = 20;
        // One line, single spaces.
        assert_eq!(
            Works::resume(wall, Crews::Limited(1), lower, 1)
                .unwrap_err()
                .to_string(),
            "profile 1 section 1 is 20 ft, which does not follow its 21 ft at the start"
        );
    }
}

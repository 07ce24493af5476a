//! What resuming a stored run needs of its crew reports, gathered by the store without handing
//! over every report: each section's first and latest report, the reports that break their
//! section's history, and the last day. [`Works::state_from_latest`] turns it into the heights and
//! day to continue from, with the same checks and messages as [`Works::state_from_reports`].

use std::collections::{HashMap, HashSet};

use super::crews::{ResumeError, Works};
use super::{CrewReport, MAX_HEIGHT, Wall};

/// One section's stored reports, summed up (reports with profile, section and height set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionReports {
    /// The section's report with the greatest id.
    pub latest: CrewReport,
    /// The id and height of the section's report with the smallest id.
    pub first: (u64, u8),
}

/// A crew report that breaks its section's history: its height is above [`MAX_HEIGHT`], or below
/// the height of the section's report before it (by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Irregular {
    pub id: u64,
    pub profile: u32,
    pub section: u32,
    pub height: u8,
    /// The height of the section's report before this one; `None` for the section's first.
    pub previous: Option<u8>,
}

impl Irregular {
    /// The report `id` of a section at `height`, after a report at `previous` (if any), when
    /// that breaks the section's history.
    pub fn check(
        id: u64,
        profile: u32,
        section: u32,
        height: u8,
        previous: Option<u8>,
    ) -> Option<Irregular> {
        (height > MAX_HEIGHT || previous.is_some_and(|p| height < p)).then_some(Irregular {
            id,
            profile,
            section,
            height,
            previous,
        })
    }
}

/// What a store tells of its crew reports for resuming (`Store::latest_crew_reports`).
///
/// Only reports with profile, section and height all set belong to a section; the others (a
/// relieved crew's) count for `last_day` alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatestReports {
    /// Every section with a report, in the id order of the latest reports.
    pub sections: Vec<SectionReports>,
    /// Every irregular report, in id order (none in a store a run wrote).
    pub irregular: Vec<Irregular>,
    /// The greatest day of any crew report, relieved crews' included; 0 without reports.
    pub last_day: u64,
}

impl LatestReports {
    /// Gathers crew reports given in id order, keeping one entry per section (stores that
    /// cannot ask a database for it, and the reference the others are tested against).
    pub fn from_reports<E>(
        reports: impl IntoIterator<Item = Result<CrewReport, E>>,
    ) -> Result<LatestReports, E> {
        let mut sections: HashMap<(u32, u32), SectionReports> = HashMap::new();
        let mut irregular = Vec::new();
        let mut last_day = 0;
        for r in reports {
            let r = r?;
            last_day = last_day.max(r.day);
            let (Some(p), Some(s), Some(h)) = (r.profile, r.section, r.height) else {
                continue;
            };
            match sections.entry((p, s)) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let entry = e.get_mut();
                    irregular.extend(Irregular::check(r.id, p, s, h, entry.latest.height));
                    entry.latest = r;
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    irregular.extend(Irregular::check(r.id, p, s, h, None));
                    e.insert(SectionReports {
                        first: (r.id, h),
                        latest: r,
                    });
                }
            }
        }
        let mut sections: Vec<SectionReports> = sections.into_values().collect();
        sections.sort_unstable_by_key(|s| s.latest.id);
        Ok(LatestReports {
            sections,
            irregular,
            last_day,
        })
    }

    /// The day of the latest report of any section (relieved crews' reports are of no
    /// section): for a complete wall, the day it was done (`Works::done_on`); 0 without one.
    pub fn done_on(&self) -> u64 {
        self.sections
            .iter()
            .map(|s| s.latest.day)
            .max()
            .unwrap_or(0)
    }

    /// The sections' latest reports, in id order.
    pub fn into_latest(self) -> Vec<CrewReport> {
        self.sections.into_iter().map(|s| s.latest).collect()
    }
}

impl Works {
    /// [`Works::state_from_reports`] from what a store summed up of its reports: the same
    /// heights, day and errors (the first bad report by id, in the same words), without every
    /// report at hand.
    pub fn state_from_latest(
        wall: &Wall,
        latest: &LatestReports,
    ) -> Result<(Vec<u8>, u64), ResumeError> {
        let mut heights = wall.heights().to_vec();
        // The bad report with the smallest id: reports of different sections do not interact,
        // so that is the one a pass over every report in id order stops at.
        let mut error: Option<(u64, String)> = None;
        let mut offer = |id: u64, text: String| {
            if error.as_ref().is_none_or(|(first, _)| id < *first) {
                error = Some((id, text));
            }
        };
        let does_not_have = |id: u64, p: u32, s: u32, h: u8| {
            format!(
                "crew report {id} is of profile {p} section {s} at {h} ft, which this wall does \
                 not have"
            )
        };
        let lowers = |id: u64, p: u32, s: u32, from: u8, h: u8| {
            format!("crew report {id} lowers profile {p} section {s} from {from} to {h} ft")
        };
        // Sections whose first report is bad already: their later reports cannot come first.
        let mut bad_first: HashSet<(u32, u32)> = HashSet::new();
        for section in &latest.sections {
            let r = &section.latest;
            let (Some(p), Some(s), Some(h)) = (r.profile, r.section, r.height) else {
                continue;
            };
            let (first_id, first_height) = section.first;
            let Some(flat) = flat_index(wall, p, s).filter(|_| first_height <= MAX_HEIGHT) else {
                offer(first_id, does_not_have(first_id, p, s, first_height));
                bad_first.insert((p, s));
                continue;
            };
            if first_height < heights[flat] {
                offer(
                    first_id,
                    lowers(first_id, p, s, heights[flat], first_height),
                );
                bad_first.insert((p, s));
                continue;
            }
            heights[flat] = h;
        }
        for r in &latest.irregular {
            if bad_first.contains(&(r.profile, r.section)) {
                continue;
            }
            match r.previous {
                _ if r.height > MAX_HEIGHT || flat_index(wall, r.profile, r.section).is_none() => {
                    offer(r.id, does_not_have(r.id, r.profile, r.section, r.height));
                }
                Some(previous) if r.height < previous => {
                    offer(r.id, lowers(r.id, r.profile, r.section, previous, r.height));
                }
                _ => {}
            }
        }
        match error {
            Some((_, text)) => Err(ResumeError(text)),
            None => Ok((heights, latest.last_day)),
        }
    }
}

/// The index in the wall's height order of profile `p` section `s` (both 1-based), if the wall
/// has it.
fn flat_index(wall: &Wall, p: u32, s: u32) -> Option<usize> {
    let p0 = p as usize;
    (p0 >= 1 && p0 <= wall.profiles() && s >= 1 && (s as usize) <= wall.profile(p0 - 1).len())
        .then(|| wall.profile_start(p0 - 1) + s as usize - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wall::{Crews, EXAMPLE_PROFILES};

    fn example() -> Wall {
        Wall::parse(EXAMPLE_PROFILES.as_bytes(), 2000).unwrap()
    }

    fn report(id: u64, day: u64, p: u32, s: u32, h: u8) -> CrewReport {
        CrewReport {
            id,
            timestamp: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            day,
            crew: 1,
            profile: Some(p),
            section: Some(s),
            height: Some(h),
        }
    }

    fn relieved(id: u64, day: u64) -> CrewReport {
        CrewReport {
            profile: None,
            section: None,
            height: None,
            ..report(id, day, 0, 0, 0)
        }
    }

    fn gather(reports: &[CrewReport]) -> LatestReports {
        LatestReports::from_reports(reports.iter().cloned().map(Ok::<_, ()>)).unwrap()
    }

    /// Both ways of rebuilding the state agree, errors included, word for word.
    fn agree(reports: &[CrewReport]) -> Result<(Vec<u8>, u64), ResumeError> {
        let wall = example();
        let all = Works::state_from_reports(&wall, reports);
        let latest = Works::state_from_latest(&wall, &gather(reports));
        assert_eq!(latest, all, "{reports:?}");
        latest
    }

    /// A stored complete run tells the day it was done by its sections' reports, whatever day
    /// its crews were relieved on; it is the day the run itself said.
    #[test]
    fn a_stored_run_tells_the_day_it_was_done() {
        let mut works = Works::new(example(), Crews::Limited(3));
        let mut reports = Vec::new();
        while !works.is_done() {
            for w in works.step() {
                let id = reports.len() as u64 + 1;
                reports.push(CrewReport::from_work(
                    &w,
                    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                ));
                reports.last_mut().unwrap().id = id;
            }
        }
        let latest = gather(&reports);
        assert_eq!(latest.last_day, 32, "the relief day");
        assert_eq!(latest.done_on(), 31);
        assert_eq!(works.done_on(), Some(31));
        assert_eq!(gather(&[relieved(1, 4)]).done_on(), 0);
    }

    #[test]
    fn a_whole_run_gives_the_same_state() {
        for crews in [Crews::Limited(1), Crews::Limited(3), Crews::Unlimited] {
            let mut site = Works::new(example(), crews);
            let mut reports = Vec::new();
            while !site.is_done() {
                for w in site.step() {
                    let id = reports.len() as u64 + 1;
                    reports.push(CrewReport {
                        id,
                        ..CrewReport::from_work(&w, chrono::DateTime::UNIX_EPOCH)
                    });
                }
                let (heights, day) = agree(&reports).unwrap();
                assert_eq!((heights.as_slice(), day), (site.heights(), site.day()));
            }
            let latest = gather(&reports);
            assert!(latest.irregular.is_empty());
            let ids: Vec<u64> = latest.sections.iter().map(|s| s.latest.id).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        }
    }

    #[test]
    fn relieved_reports_count_for_the_day_only() {
        let reports = [report(1, 1, 1, 1, 22), relieved(2, 4)];
        let (heights, day) = agree(&reports).unwrap();
        assert_eq!((heights[0], day), (22, 4));
        assert_eq!(gather(&reports).into_latest(), [report(1, 1, 1, 1, 22)]);
        assert_eq!(agree(&[relieved(1, 2)]).unwrap().1, 2);
        assert_eq!(agree(&[]).unwrap().1, 0);
    }

    #[test]
    fn the_first_bad_report_is_named_as_before() {
        let cases: Vec<(Vec<CrewReport>, &str)> = vec![
            (
                vec![report(3, 1, 4, 1, 20), report(5, 2, 4, 1, 21)],
                "crew report 3 is of profile 4 section 1 at 20 ft",
            ),
            (
                vec![report(3, 1, 1, 1, 22), report(4, 1, 2, 2, 20)],
                "crew report 4 is of profile 2 section 2",
            ),
            (
                vec![report(1, 1, 1, 1, 10), report(2, 2, 1, 1, 25)],
                "crew report 1 lowers profile 1 section 1 from 21 to 10 ft",
            ),
            // lowered in the middle, raised again after
            (
                vec![
                    report(1, 1, 1, 1, 22),
                    report(2, 2, 1, 1, 25),
                    report(3, 3, 1, 1, 23),
                    report(4, 4, 1, 1, 26),
                ],
                "crew report 3 lowers profile 1 section 1 from 25 to 23 ft",
            ),
            (
                vec![
                    report(1, 1, 1, 1, 22),
                    report(2, 2, 1, 1, 31),
                    report(3, 3, 1, 1, 30),
                ],
                "crew report 2 is of profile 1 section 1 at 31 ft",
            ),
            (
                vec![report(1, 1, 1, 1, 31)],
                "crew report 1 is of profile 1 section 1 at 31 ft",
            ),
            // the smallest id wins across sections and kinds of fault
            (
                vec![
                    report(1, 1, 1, 1, 22),
                    report(2, 1, 2, 1, 18),
                    report(3, 2, 2, 1, 17),
                    report(4, 2, 1, 1, 21),
                    report(5, 3, 9, 9, 1),
                ],
                "crew report 3 lowers profile 2 section 1 from 18 to 17 ft",
            ),
            (
                vec![
                    report(1, 1, 1, 1, 22),
                    report(2, 1, 9, 1, 18),
                    report(3, 2, 1, 1, 21),
                ],
                "crew report 2 is of profile 9 section 1 at 18 ft",
            ),
            (
                vec![
                    report(1, 1, 3, 1, 10),
                    report(2, 1, 1, 1, 22),
                    report(3, 2, 1, 1, 21),
                ],
                "crew report 1 lowers profile 3 section 1 from 17 to 10 ft",
            ),
        ];
        for (reports, want) in cases {
            let e = agree(&reports).unwrap_err();
            assert!(e.0.starts_with(want), "{e} (wanted {want})");
        }
    }
}

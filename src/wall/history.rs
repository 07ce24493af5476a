//! What the crews did, day by day: feet raised per profile per day, kept as runs of equal days
//! (a crew on one profile for 27 days is one run), with the feet before each run, so that "on day
//! d" and "up to day d" are one binary search. [`Book`] keeps it beside the live [`Works`] and
//! projects the days not yet worked by running a copy of the site to its end.

use std::collections::BTreeMap;

use super::crews::{CrewChangeError, CrewWork, Crews, WorkKind, Works};
use super::{CrewReport, Ledger, Schedule, Wall};

/// Days `first_day..first_day + days`, each with `feet_per_day` feet raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    first_day: u64,
    days: u64,
    feet_per_day: u64,
    /// Feet raised before this run.
    feet_before: u64,
}

impl Run {
    fn last_day(&self) -> u64 {
        self.first_day + self.days - 1
    }
}

/// Runs of one profile, or of the whole wall, in day order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Runs(Vec<Run>);

impl Runs {
    /// Adds `feet` raised on `day`, which is after every day recorded so far.
    fn push(&mut self, day: u64, feet: u64) {
        if feet == 0 {
            return;
        }
        if let Some(last) = self.0.last_mut()
            && last.last_day() + 1 == day
            && last.feet_per_day == feet
        {
            last.days += 1;
            return;
        }
        let feet_before = self.total();
        self.0.push(Run {
            first_day: day,
            days: 1,
            feet_per_day: feet,
            feet_before,
        });
    }

    fn total(&self) -> u64 {
        self.0
            .last()
            .map_or(0, |r| r.feet_before + r.days * r.feet_per_day)
    }

    /// The run holding the last day at or before `d`, if any.
    fn at(&self, d: u64) -> Option<&Run> {
        match self.0.partition_point(|r| r.first_day <= d) {
            0 => None,
            i => Some(&self.0[i - 1]),
        }
    }

    fn on(&self, d: u64) -> u64 {
        self.at(d)
            .filter(|r| d <= r.last_day())
            .map_or(0, |r| r.feet_per_day)
    }

    fn up_to(&self, d: u64) -> u64 {
        self.at(d).map_or(0, |r| {
            r.feet_before + r.feet_per_day * r.days.min(d - r.first_day + 1)
        })
    }

    fn last_day(&self) -> u64 {
        self.0.last().map_or(0, Run::last_day)
    }
}

/// Feet raised per profile per day. Days are 1-based and recorded in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    profiles: Vec<Runs>,
    wall: Runs,
    /// The last day recorded (0 before the first).
    day: u64,
}

impl History {
    /// No day yet, for a wall of `profiles` profiles.
    pub fn new(profiles: usize) -> History {
        History {
            profiles: vec![Runs::default(); profiles],
            wall: Runs::default(),
            day: 0,
        }
    }

    /// The history that stored crew reports tell, in any order: each report with a section
    /// raised that section by one foot on its day. Reports of profiles the wall does not have are
    /// left out (the store's wall is checked when a run resumes).
    pub fn from_reports<'a>(
        wall: &Wall,
        reports: impl IntoIterator<Item = &'a CrewReport>,
    ) -> History {
        let mut days: BTreeMap<u64, BTreeMap<usize, u64>> = BTreeMap::new();
        let mut history = History::new(wall.profiles());
        for r in reports {
            history.day = history.day.max(r.day);
            if let (Some(p), Some(_)) = (r.profile, r.height)
                && (1..=wall.profiles()).contains(&(p as usize))
            {
                *days
                    .entry(r.day)
                    .or_default()
                    .entry(p as usize - 1)
                    .or_default() += 1;
            }
        }
        for (day, profiles) in days {
            history.push_day(day, profiles);
        }
        history
    }

    /// Records one day's work (every crew's, as [`Works::step`] returns it).
    pub fn record(&mut self, day: u64, work: &[CrewWork]) {
        let mut feet: BTreeMap<usize, u64> = BTreeMap::new();
        for w in work {
            match w.kind {
                WorkKind::Raised { profile, .. } | WorkKind::Completed { profile, .. } => {
                    *feet.entry(profile as usize - 1).or_default() += 1;
                }
                WorkKind::Relieved => {}
            }
        }
        self.push_day(day, feet);
        self.day = self.day.max(day);
    }

    fn push_day(&mut self, day: u64, feet: BTreeMap<usize, u64>) {
        let mut all = 0;
        for (p, f) in feet {
            if let Some(runs) = self.profiles.get_mut(p) {
                runs.push(day, f);
                all += f;
            }
        }
        self.wall.push(day, all);
    }

    pub fn profiles(&self) -> usize {
        self.profiles.len()
    }

    /// The last day recorded.
    pub fn day(&self) -> u64 {
        self.day
    }

    /// The last day any foot was raised.
    pub fn last_working_day(&self) -> u64 {
        self.wall.last_day()
    }

    /// Feet raised by profile `p` (0-based) on day `d`.
    pub fn profile_feet_on(&self, p: usize, d: u64) -> u64 {
        self.profiles[p].on(d)
    }

    /// Feet raised by profile `p` (0-based) up to and including day `d`.
    pub fn profile_feet_up_to(&self, p: usize, d: u64) -> u64 {
        self.profiles[p].up_to(d)
    }

    pub fn feet_on(&self, d: u64) -> u64 {
        self.wall.on(d)
    }

    pub fn feet_up_to(&self, d: u64) -> u64 {
        self.wall.up_to(d)
    }

    pub fn total_feet(&self) -> u64 {
        self.wall.total()
    }
}

/// The live site and what it has done: the engine works the days through it; readers take a copy
/// and ask for the [`Book::projected`] history.
#[derive(Debug, Clone)]
pub struct Book {
    works: Works,
    history: History,
    /// Changes to what the days to come will be (crews added or removed, another wall begun);
    /// a day worked as planned is not one. Equal plans, equal [`Book::projection`]s.
    plan: u64,
}

impl Book {
    /// A book of `site` whose days so far are `history` (empty for a new run; for a resumed one,
    /// what the stored reports tell, or empty when the past is not needed).
    pub fn new(site: Works, history: History) -> Book {
        Book {
            works: site,
            history,
            plan: 0,
        }
    }

    pub fn works(&self) -> &Works {
        &self.works
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn plan(&self) -> u64 {
        self.plan
    }

    /// Works the next day (see [`Works::step_into`]) and records it.
    pub fn step_into(&mut self, log: &mut Vec<CrewWork>) {
        self.works.step_into(log);
        self.history.record(self.works.day(), log);
    }

    pub fn add_crew(&mut self) -> Result<u32, CrewChangeError> {
        let n = self.works.add_crew()?;
        self.plan += 1;
        Ok(n)
    }

    pub fn remove_crew(&mut self) -> Result<u32, CrewChangeError> {
        let n = self.works.remove_crew()?;
        self.plan += 1;
        Ok(n)
    }

    /// Another wall's works from their start, with no days behind them (a new plan: a reader
    /// holding the old one sees the change).
    pub fn begin(&mut self, works: Works) {
        self.history = History::new(works.wall().profiles());
        self.works = works;
        self.plan += 1;
    }

    /// The days worked as they happened, then the days to come as the site would work them with
    /// its crews now and no further change, up to the wall's completion (or up to the day after
    /// which nothing more is raised: a site left with no crew).
    pub fn projected(&self) -> History {
        let mut site = self.works.clone();
        let mut history = self.history.clone();
        let mut log = Vec::new();
        while !site.is_done() {
            site.step_into(&mut log);
            let raised = log.iter().any(|w| w.kind != WorkKind::Relieved);
            history.record(site.day(), &log);
            if !raised && !site.is_complete() {
                break;
            }
        }
        history
    }
}

/// The wall's days: those worked as they happened, the rest as the site will work them with
/// its crews now and no further change.
#[derive(Debug, Clone)]
pub enum Projection {
    /// The days to come from a schedule over the current heights (day 1 of `ledger` is the day
    /// after `day`): a few binary searches per question, whatever the wall's size.
    Ledger {
        history: History,
        day: u64,
        ledger: Ledger,
    },
    /// Every day, the days to come by working a copy of the site ([`Book::projected`]).
    Stepped(History),
}

impl Projection {
    pub fn profiles(&self) -> usize {
        match self {
            Projection::Ledger { history, .. } | Projection::Stepped(history) => history.profiles(),
        }
    }

    /// Feet raised by profile `p` (0-based) on day `d`.
    pub fn profile_feet_on(&self, p: usize, d: u64) -> u64 {
        match self {
            Projection::Stepped(h) => h.profile_feet_on(p, d),
            Projection::Ledger { history, day, .. } if d <= *day => history.profile_feet_on(p, d),
            Projection::Ledger { day, ledger, .. } => {
                ledger.profile_ice_on(p, d - day) / super::ICE_PER_FOOT
            }
        }
    }

    /// Feet raised by profile `p` (0-based) up to and including day `d`.
    pub fn profile_feet_up_to(&self, p: usize, d: u64) -> u64 {
        match self {
            Projection::Stepped(h) => h.profile_feet_up_to(p, d),
            Projection::Ledger {
                history,
                day,
                ledger,
            } => {
                let past = history.profile_feet_up_to(p, d.min(*day));
                let future = if d > *day {
                    ledger.profile_cost_up_to(p, d - day) / super::COST_PER_FOOT
                } else {
                    0
                };
                past + future
            }
        }
    }

    /// Feet raised over the wall up to and including day `d`.
    pub fn feet_up_to(&self, d: u64) -> u64 {
        match self {
            Projection::Stepped(h) => h.feet_up_to(d),
            Projection::Ledger {
                history,
                day,
                ledger,
            } => {
                let past = history.feet_up_to(d.min(*day));
                let future = if d > *day {
                    ledger.cost_up_to(d - day) / super::COST_PER_FOOT
                } else {
                    0
                };
                past + future
            }
        }
    }

    pub fn total_feet(&self) -> u64 {
        match self {
            Projection::Stepped(h) => h.total_feet(),
            Projection::Ledger {
                history, ledger, ..
            } => history.total_feet() + ledger.total_cost() / super::COST_PER_FOOT,
        }
    }
}

impl Book {
    /// The wall's days ([`Projection`]): from a schedule over the current heights when the
    /// crews hold the first unfinished sections ([`Works::holds_queue_prefix`]) and there is at
    /// least one; else by working a copy of the site ([`Book::projected`]).
    pub fn projection(&self) -> Projection {
        let site = &self.works;
        let crews = match site.crews() {
            Crews::Limited(0) => None,
            c => Some(c),
        };
        match crews {
            Some(crews) if site.holds_queue_prefix() => {
                let wall = site.wall();
                let heights = site.heights();
                let profiles: Vec<&[u8]> = (0..wall.profiles())
                    .map(|p| &heights[wall.profile_start(p)..wall.profile_start(p + 1)])
                    .collect();
                let now = Wall::from_profiles(&profiles);
                let schedule = match crews {
                    Crews::Unlimited => Schedule::unlimited(&now),
                    Crews::Limited(n) => Schedule::with_crews(&now, n),
                };
                Projection::Ledger {
                    history: self.history.clone(),
                    day: site.day(),
                    ledger: Ledger::new(&now, &schedule),
                }
            }
            _ => Projection::Stepped(self.projected()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wall::{Crews, EXAMPLE_PROFILES, Ledger, Schedule};
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    fn example() -> Wall {
        Wall::parse(EXAMPLE_PROFILES.as_bytes(), 2000).unwrap()
    }

    /// A book projected from `days` worked equals the ledger of the whole schedule on every day.
    fn check_against_ledger(wall: &Wall, crews: Crews, days: u64) -> Result<(), TestCaseError> {
        let mut book = Book::new(
            Works::new(wall.clone(), crews),
            History::new(wall.profiles()),
        );
        let mut log = Vec::new();
        for _ in 0..days {
            book.step_into(&mut log);
        }
        let h = book.projected();
        let schedule = match crews {
            Crews::Unlimited => Schedule::unlimited(wall),
            Crews::Limited(n) => Schedule::with_crews(wall, n),
        };
        let ledger = Ledger::new(wall, &schedule);
        let ice = crate::wall::ICE_PER_FOOT;
        let cost = crate::wall::COST_PER_FOOT;
        for d in (1..ledger.days_to_finish() + 3).chain([u64::MAX]) {
            for p in 0..wall.profiles() {
                prop_assert_eq!(h.profile_feet_on(p, d) * ice, ledger.profile_ice_on(p, d));
                prop_assert_eq!(
                    h.profile_feet_up_to(p, d) * cost,
                    ledger.profile_cost_up_to(p, d)
                );
            }
            prop_assert_eq!(h.feet_up_to(d) * cost, ledger.cost_up_to(d));
        }
        prop_assert_eq!(h.total_feet() * cost, ledger.total_cost());
        Ok(())
    }

    /// A book of `wall` after `ops`: 0 adds a crew, 1 removes one, anything else works a day.
    fn book_after(wall: &Wall, crews: Crews, ops: &[u8]) -> Book {
        let mut book = Book::new(
            Works::new(wall.clone(), crews),
            History::new(wall.profiles()),
        );
        let mut log = Vec::new();
        for op in ops {
            match op {
                0 => {
                    let _ = book.add_crew();
                }
                1 => {
                    let _ = book.remove_crew();
                }
                _ => book.step_into(&mut log),
            }
        }
        book
    }

    #[test]
    fn the_example_wall_with_3_crews_after_5_days() {
        check_against_ledger(&example(), Crews::Limited(3), 5).unwrap();
        check_against_ledger(&example(), Crews::Unlimited, 2).unwrap();
    }

    #[test]
    fn a_site_left_without_crews_projects_no_more_work() {
        let wall = example();
        let mut book = Book::new(Works::new(wall.clone(), Crews::Limited(1)), History::new(3));
        book.step_into(&mut Vec::new());
        book.remove_crew().unwrap();
        let h = book.projected();
        assert_eq!(h.total_feet(), 1);
        assert_eq!(h.profile_feet_on(0, 1), 1);
        assert_eq!(h.profile_feet_on(0, 2), 0);
    }

    #[test]
    fn reports_in_any_order_give_the_same_history() {
        let wall = example();
        let mut book = Book::new(Works::new(wall.clone(), Crews::Limited(2)), History::new(3));
        let mut reports = Vec::new();
        let mut log = Vec::new();
        let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for _ in 0..20 {
            book.step_into(&mut log);
            reports.extend(log.iter().map(|w| CrewReport::from_work(w, t)));
        }
        reports.reverse();
        assert_eq!(&History::from_reports(&wall, &reports), book.history());
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            rng_seed: RngSeed::Fixed(1414),
            ..ProptestConfig::default()
        })]

        #[test]
        fn projection_after_any_day_equals_the_ledger(
            profiles in prop::collection::vec(prop::collection::vec(0u8..=30, 1..8), 1..5),
            crews in prop_oneof![Just(Crews::Unlimited), (1u32..6).prop_map(Crews::Limited)],
            days in 0u64..40,
        ) {
            check_against_ledger(&Wall::from_profiles(&profiles), crews, days)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 3000,
            rng_seed: RngSeed::Fixed(1415),
            ..ProptestConfig::default()
        })]

        /// After any crew changes, the fast projection (when it applies) answers exactly what
        /// working a copy of the site does, on every day.
        #[test]
        fn the_schedule_projection_equals_working_the_site(
            profiles in prop::collection::vec(prop::collection::vec(0u8..=30, 1..8), 1..5),
            crews in prop_oneof![Just(Crews::Unlimited), (1u32..5).prop_map(Crews::Limited)],
            ops in prop::collection::vec(0u8..6, 0..30),
        ) {
            let wall = Wall::from_profiles(&profiles);
            let book = book_after(&wall, crews, &ops);
            let stepped = Projection::Stepped(book.projected());
            let fast = book.projection();
            let d_max = stepped.total_feet() + book.works().day() + 3;
            for d in (0..=d_max).chain([u64::MAX]) {
                for p in 0..wall.profiles() {
                    prop_assert_eq!(fast.profile_feet_on(p, d), stepped.profile_feet_on(p, d), "p{} d{}", p, d);
                    prop_assert_eq!(fast.profile_feet_up_to(p, d), stepped.profile_feet_up_to(p, d), "p{} d{}", p, d);
                }
                prop_assert_eq!(fast.feet_up_to(d), stepped.feet_up_to(d), "d{}", d);
            }
            prop_assert_eq!(fast.total_feet(), stepped.total_feet());
        }

        /// A projection made after any crew changes answers every question exactly as one made
        /// after more days worked with no change between: days worked as planned do not change
        /// it, so it need not be made again for them (the plan stays the same).
        #[test]
        fn days_worked_as_planned_leave_the_projection_as_it_was(
            profiles in prop::collection::vec(prop::collection::vec(0u8..=30, 1..8), 1..5),
            crews in prop_oneof![Just(Crews::Unlimited), (1u32..5).prop_map(Crews::Limited)],
            ops in prop::collection::vec(0u8..6, 0..30),
            later in 1u64..40,
        ) {
            let wall = Wall::from_profiles(&profiles);
            let mut book = book_after(&wall, crews, &ops);
            let (then, plan) = (book.projection(), book.plan());
            for _ in 0..later {
                book.step_into(&mut Vec::new());
            }
            prop_assert_eq!(book.plan(), plan);
            let now = book.projection();
            let d_max = now.total_feet() + book.works().day() + 3;
            for d in (0..=d_max).chain([u64::MAX]) {
                for p in 0..wall.profiles() {
                    prop_assert_eq!(then.profile_feet_on(p, d), now.profile_feet_on(p, d), "p{} d{}", p, d);
                    prop_assert_eq!(then.profile_feet_up_to(p, d), now.profile_feet_up_to(p, d), "p{} d{}", p, d);
                }
                prop_assert_eq!(then.feet_up_to(d), now.feet_up_to(d), "d{}", d);
            }
            prop_assert_eq!(then.total_feet(), now.total_feet());
        }
    }
}

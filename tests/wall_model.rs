//! The Wall domain against a literal, day-by-day reference model written here from DESIGN §1.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use wallwatch::wall::{
    COST_PER_FOOT, Crews, ICE_PER_FOOT, Ledger, Schedule, Wall, WorkKind, Works,
};

/// Feet raised per profile on each day, simulated the slow, obvious way.
fn reference(profiles: &[Vec<u8>], crews: Option<usize>) -> Vec<Vec<u64>> {
    let mut heights: Vec<Vec<u8>> = profiles.to_vec();
    let mut queue: std::collections::VecDeque<(usize, usize)> = profiles
        .iter()
        .enumerate()
        .flat_map(|(p, hs)| {
            hs.iter()
                .enumerate()
                .filter(|(_, h)| **h < 30)
                .map(move |(s, _)| (p, s))
        })
        .collect();
    let crews = crews.unwrap_or(queue.len());
    let mut working: Vec<Option<(usize, usize)>> = vec![None; crews];
    let mut days = Vec::new();
    while heights.iter().flatten().any(|&h| h < 30) {
        let mut today = vec![0u64; profiles.len()];
        for slot in working.iter_mut() {
            if slot.is_none() {
                *slot = queue.pop_front();
            }
            if let Some((p, s)) = *slot {
                heights[p][s] += 1;
                today[p] += 1;
                if heights[p][s] == 30 {
                    *slot = None;
                }
            }
        }
        days.push(today);
    }
    days
}

fn walls() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(0u8..=30, 1..300), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: RngSeed::Fixed(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn ledger_matches_the_reference_day_by_day(profiles in walls(), crews in prop::option::of(1usize..60)) {
        let wall = Wall::from_profiles(&profiles);
        let schedule = match crews {
            None => Schedule::unlimited(&wall),
            Some(n) => Schedule::with_crews(&wall, n as u32),
        };
        let ledger = Ledger::new(&wall, &schedule);
        let days = reference(&profiles, crews);
        prop_assert_eq!(ledger.days_to_finish(), days.len() as u64);
        let mut to_date = vec![0u64; profiles.len()];
        for (i, today) in days.iter().enumerate() {
            let d = i as u64 + 1;
            for (p, &feet) in today.iter().enumerate() {
                to_date[p] += feet;
                prop_assert_eq!(ledger.profile_ice_on(p, d), feet * ICE_PER_FOOT, "profile {} day {}", p + 1, d);
                prop_assert_eq!(ledger.profile_cost_up_to(p, d), to_date[p] * COST_PER_FOOT);
            }
            prop_assert_eq!(ledger.ice_on(d), today.iter().sum::<u64>() * ICE_PER_FOOT);
            prop_assert_eq!(ledger.cost_up_to(d), to_date.iter().sum::<u64>() * COST_PER_FOOT);
        }
        let after = days.len() as u64 + 1;
        prop_assert_eq!(ledger.ice_on(after), 0);
        prop_assert_eq!(ledger.cost_up_to(after), ledger.total_cost());
        prop_assert_eq!(ledger.total_ice(), wall.feet_to_raise() * ICE_PER_FOOT);
    }

    #[test]
    fn stepping_the_site_matches_the_schedule(profiles in walls(), crews in prop::option::of(1u32..60)) {
        let wall = Wall::from_profiles(&profiles);
        let (schedule, mode) = match crews {
            None => (Schedule::unlimited(&wall), Crews::Unlimited),
            Some(n) => (Schedule::with_crews(&wall, n), Crews::Limited(n)),
        };
        let mut site = Works::new(wall.clone(), mode);
        let mut started = vec![None; wall.sections()];
        let mut relieved = vec![0u64; site.crew_count()];
        while !site.is_done() {
            for work in site.step() {
                match work.kind {
                    WorkKind::Relieved => relieved[work.crew as usize - 1] = work.day,
                    WorkKind::Raised { profile, section, .. } | WorkKind::Completed { profile, section } => {
                        let i = wall.profile_start(profile as usize - 1) + section as usize - 1;
                        started[i].get_or_insert((work.day, work.crew));
                    }
                }
            }
        }
        for (i, w) in schedule.sections().iter().enumerate() {
            let expected = (w.feet > 0).then_some((w.start, w.crew));
            prop_assert_eq!(started[i], expected, "section {}", i);
        }
        prop_assert_eq!(&relieved[..], schedule.relieved_on());
        prop_assert!(site.heights().iter().all(|&h| h == 30));
        prop_assert_eq!(site.feet_raised(), wall.feet_to_raise());
        // One day a wall is done: the site's is the report's, whatever day the crews were
        // relieved on (the site's day counter goes on to the last relief).
        let days = wallwatch::wall::Ledger::new(&wall, &schedule).days_to_finish();
        prop_assert_eq!(site.done_on(), Some(days));
        prop_assert!(site.day() >= days);
    }

    #[test]
    fn crews_change_the_days_never_the_cost(profiles in walls(), crews in 1u32..60) {
        let wall = Wall::from_profiles(&profiles);
        let unlimited = Ledger::new(&wall, &Schedule::unlimited(&wall));
        let limited = Ledger::new(&wall, &Schedule::with_crews(&wall, crews));
        let one = Ledger::new(&wall, &Schedule::with_crews(&wall, 1));
        prop_assert_eq!(limited.total_cost(), unlimited.total_cost());
        prop_assert_eq!(limited.total_ice(), unlimited.total_ice());
        prop_assert!(limited.days_to_finish() >= unlimited.days_to_finish());
        let unfinished = wall.heights().iter().filter(|&&h| h < 30).count();
        let enough = Ledger::new(&wall, &Schedule::with_crews(&wall, unfinished.max(1) as u32));
        prop_assert_eq!(enough.days_to_finish(), unlimited.days_to_finish());
        prop_assert_eq!(one.days_to_finish(), wall.feet_to_raise());
    }
}

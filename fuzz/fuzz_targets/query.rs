//! Fuzzes the query path: `Query::parse` then `Query::answer` against fixed small walls, each
//! with an unlimited schedule and with 2 crews. The input bytes are the path (lossy UTF-8).
//!
//! Properties, beyond "never panics":
//! - a rejected path is `UnknownPath` holding exactly the input, and every error message is one
//!   line without control characters (safe for a terminal);
//! - a parsed query, written back as its canonical path (with and without a trailing `/`),
//!   parses to the same query;
//! - the answer is an error exactly when the profile is outside the wall (`NoSuchProfile`) or,
//!   failing that, the day is 0 (`DayZero`);
//! - an answer serialises to a JSON object with exactly the keys of its kind, echoing the
//!   query's profile and day; amounts are whole feet of ice or money, never more than the
//!   profile's or wall's total, and the totals agree between schedules.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wallwatch::wall::query::{Query, QueryError};
use wallwatch::wall::{COST_PER_FOOT, ICE_PER_FOOT, Ledger, Schedule, Wall};

struct Case {
    wall: Wall,
    ledgers: Vec<Ledger>,
}

/// The example wall, and one with a finished profile and a profile that starts at 0.
static CASES: LazyLock<Vec<Case>> = LazyLock::new(|| {
    ["21 25 28\n17\n17 22 17 19 17\n", "30 30\n0 29 30\n30\n"]
        .iter()
        .map(|src| {
            let wall = Wall::parse(src.as_bytes(), 2000).expect("fixed wall parses");
            let ledgers = vec![
                Ledger::new(&wall, &Schedule::unlimited(&wall)),
                Ledger::new(&wall, &Schedule::with_crews(&wall, 2)),
            ];
            Case { wall, ledgers }
        })
        .collect()
});

/// The canonical path of a query.
fn path_of(query: Query) -> String {
    match query {
        Query::ProfileIceOn { profile, day } => format!("/profiles/{profile}/days/{day}"),
        Query::ProfileCostUpTo { profile, day } => format!("/profiles/{profile}/overview/{day}"),
        Query::CostUpTo { day } => format!("/profiles/overview/{day}"),
        Query::TotalCost => "/profiles/overview".to_string(),
    }
}

fn check_message(e: &QueryError) {
    let message = e.to_string();
    assert!(!message.is_empty());
    assert!(
        !message.chars().any(char::is_control),
        "error message has a control character (newline included): {message:?}"
    );
}

fn as_u64(v: &Value, key: &str, json: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{key} missing or not a number in {json}"))
}

fn check_answer(query: Query, case: &Case, ledger: &Ledger) {
    let profiles = case.wall.profiles() as u64;
    let (profile, day) = match query {
        Query::ProfileIceOn { profile, day } | Query::ProfileCostUpTo { profile, day } => {
            (Some(profile), Some(day))
        }
        Query::CostUpTo { day } => (None, Some(day)),
        Query::TotalCost => (None, None),
    };
    let expected_err = match (profile, day) {
        (Some(p), _) if p == 0 || p > profiles => Some(QueryError::NoSuchProfile {
            profile: p,
            profiles: case.wall.profiles(),
        }),
        (_, Some(0)) => Some(QueryError::DayZero),
        _ => None,
    };
    let answer = match query.answer(ledger) {
        Ok(answer) => answer,
        Err(e) => {
            check_message(&e);
            assert_eq!(Some(e), expected_err, "{query:?}");
            return;
        }
    };
    assert_eq!(expected_err, None, "{query:?} answered {answer:?}");

    let json = serde_json::to_string(&answer).expect("an answer serialises");
    let v: Value = serde_json::from_str(&json).expect("the JSON reads back");
    let object = v.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let want: &[&str] = match query {
        Query::ProfileIceOn { .. } => &["day", "ice_amount", "profile"],
        Query::ProfileCostUpTo { .. } => &["cost", "day", "profile"],
        Query::CostUpTo { .. } | Query::TotalCost => &["cost", "day"],
    };
    assert_eq!(keys, want, "{json}");
    match day {
        Some(d) => assert_eq!(as_u64(&v, "day", &json), d, "{json}"),
        None => assert!(v["day"].is_null(), "{json}"),
    }
    if let Some(p) = profile {
        assert_eq!(as_u64(&v, "profile", &json), p, "{json}");
    }
    let total = ledger.total_cost();
    assert_eq!(
        total,
        case.wall.feet_to_raise() * COST_PER_FOOT,
        "total cost is the feet to raise"
    );
    match query {
        Query::ProfileIceOn { profile, .. } => {
            let ice = as_u64(&v, "ice_amount", &json);
            let sections = case.wall.profile(profile as usize - 1).len() as u64;
            assert_eq!(ice % ICE_PER_FOOT, 0, "{json}");
            assert!(ice <= sections * ICE_PER_FOOT, "{json}");
        }
        Query::ProfileCostUpTo { profile, day } => {
            let cost = as_u64(&v, "cost", &json);
            let p = profile as usize - 1;
            assert_eq!(cost % COST_PER_FOOT, 0, "{json}");
            assert!(cost <= ledger.profile_total_cost(p), "{json}");
            if day > ledger.profile_days_to_finish(p) {
                assert_eq!(cost, ledger.profile_total_cost(p), "{json}");
            }
        }
        Query::CostUpTo { day } => {
            let cost = as_u64(&v, "cost", &json);
            assert_eq!(cost % COST_PER_FOOT, 0, "{json}");
            assert!(cost <= total, "{json}");
            if day >= ledger.days_to_finish() {
                assert_eq!(cost, total, "{json}");
            }
        }
        Query::TotalCost => assert_eq!(as_u64(&v, "cost", &json), total, "{json}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    let query = match Query::parse(&path) {
        Ok(query) => query,
        Err(e) => {
            check_message(&e);
            assert_eq!(e, QueryError::UnknownPath(path.to_string()));
            return;
        }
    };
    let canonical = path_of(query);
    assert_eq!(Query::parse(&canonical), Ok(query), "{canonical}");
    assert_eq!(
        Query::parse(&format!("{canonical}/")),
        Ok(query),
        "{canonical}/"
    );
    for case in CASES.iter() {
        for ledger in &case.ledgers {
            check_answer(query, case, ledger);
        }
    }
});

//! The Wall domain on the 1M-section wall (../shared/profiles/large_500x2000.txt):
//! parsing, queries, and whole-run crew simulation.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use wallwatch::wall::query::Query;
use wallwatch::wall::{Ledger, Schedule, Wall};

const LARGE: &str = "../shared/profiles/large_500x2000.txt";

fn large_file() -> Vec<u8> {
    std::fs::read(LARGE)
        .unwrap_or_else(|e| panic!("{LARGE}: {e} (the benchmarks need shared/ beside the project)"))
}

fn parse(c: &mut Criterion) {
    let bytes = large_file();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("large_500x2000", |b| {
        b.iter(|| Wall::parse(black_box(&bytes), 2000).unwrap())
    });
    group.finish();
}

/// One question about the file, from its bytes: counted in one pass (what `wallwatch query`
/// does with one crew per section) against building the wall and its ledger first.
fn query_file(c: &mut Criterion) {
    let bytes = large_file();
    let mut group = c.benchmark_group("query_file");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    for (name, query) in [
        ("total_cost", Query::TotalCost),
        (
            "profile_cost_up_to",
            Query::ProfileCostUpTo {
                profile: 250,
                day: 15,
            },
        ),
    ] {
        group.bench_function(BenchmarkId::new("one_pass", name), |b| {
            b.iter(|| {
                let mut tally = query.tally();
                Wall::parse_from(black_box(&bytes[..]), 2000, &mut tally).unwrap();
                query.answer_tally(&tally).unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("wall_and_ledger", name), |b| {
            b.iter(|| {
                let wall = Wall::parse(black_box(&bytes), 2000).unwrap();
                query
                    .answer(&Ledger::new(&wall, &Schedule::unlimited(&wall)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// 1000 queries of all four kinds over random profiles and days, fixed seed.
fn random_paths(wall: &Wall, days: u64, seed: u64) -> Vec<Query> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..1000)
        .map(|_| {
            let profile = rng.random_range(1..=wall.profiles() as u64);
            let day = rng.random_range(1..=days + 1);
            match rng.random_range(0..4) {
                0 => Query::ProfileIceOn { profile, day },
                1 => Query::ProfileCostUpTo { profile, day },
                2 => Query::CostUpTo { day },
                _ => Query::TotalCost,
            }
        })
        .collect()
}

fn queries(c: &mut Criterion) {
    let wall = Wall::parse(&large_file(), 2000).unwrap();
    let mut group = c.benchmark_group("query_1000");
    group.throughput(Throughput::Elements(1000));
    for (name, schedule) in [
        ("unlimited", Schedule::unlimited(&wall)),
        ("1_crew", Schedule::with_crews(&wall, 1)),
    ] {
        let ledger = Ledger::new(&wall, &schedule);
        let days = ledger.days_to_finish();
        let paths = random_paths(&wall, days, 7);
        group.bench_function(BenchmarkId::new(name, "random_days"), |b| {
            b.iter(|| {
                paths
                    .iter()
                    .map(|q| q.answer(&ledger).unwrap().cost.unwrap_or(1))
                    .sum::<u64>()
            })
        });
        // The same queries pinned to an early and a late day: the time must not depend on it.
        for (label, day) in [("day_1", 1), ("last_day", days)] {
            let pinned: Vec<Query> = paths
                .iter()
                .map(|q| match *q {
                    Query::ProfileIceOn { profile, .. } => Query::ProfileIceOn { profile, day },
                    Query::ProfileCostUpTo { profile, .. } => {
                        Query::ProfileCostUpTo { profile, day }
                    }
                    Query::CostUpTo { .. } => Query::CostUpTo { day },
                    Query::TotalCost => Query::TotalCost,
                })
                .collect();
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| {
                    pinned
                        .iter()
                        .map(|q| q.answer(&ledger).unwrap().cost.unwrap_or(1))
                        .sum::<u64>()
                })
            });
        }
    }
    group.finish();
}

fn crews(c: &mut Criterion) {
    let wall = Wall::parse(&large_file(), 2000).unwrap();
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(wall.feet_to_raise()));
    for crews in [1, 100, 10_000] {
        group.bench_function(BenchmarkId::new("crews", crews), |b| {
            b.iter(|| Schedule::with_crews(black_box(&wall), crews).days_to_finish())
        });
    }
    group.bench_function("unlimited", |b| {
        b.iter(|| Schedule::unlimited(black_box(&wall)).days_to_finish())
    });
    group.finish();
}

criterion_group!(benches, parse, query_file, queries, crews);
criterion_main!(benches);

//! Every store through the `Store` trait: batches in, counts and rows out, filters, reopening,
//! big batches, all-or-nothing appends, errors that name the URL, and each section's latest crew
//! report for resuming (the same as worked out from every report).
//!
//! PostgreSQL tests use the server in `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts
//! one), else one the test process starts for itself (see `support/postgres.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use wallwatch::config::Config;
use wallwatch::engine::Opening;
use wallwatch::engine::resume::{Resumed, prepare};
use wallwatch::sensors::Reading;
use wallwatch::store::{self, Batch, Counts, ReadingFilter, Store};
use wallwatch::wall::{CrewReport, Crews, Irregular, LatestReports, SectionReports, Works};

#[path = "support/postgres.rs"]
mod postgres;
use postgres::{Schema, admin_value, postgres_url};

/// A timestamp with microseconds, `n` steps of 1.000123 s after a fixed start.
fn at(n: i64) -> DateTime<Utc> {
    let micros = 1_790_000_000_000_000 + n * 1_000_123;
    DateTime::from_timestamp_micros(micros).unwrap()
}

/// A reading; those with an even id carry the time they were stored (the others have none, as
/// readings a store kept from before it recorded it), which every store gives back as it was.
fn reading(id: u64, sensor: &str, value: i32) -> Reading {
    Reading {
        id,
        timestamp: at(id as i64),
        sensor: sensor.to_string(),
        value,
        stored_at: id.is_multiple_of(2).then(|| at(id as i64 + 500)),
    }
}

fn worked(id: u64, day: u64, crew: u32, profile: u32, section: u32, height: u8) -> CrewReport {
    CrewReport {
        id,
        timestamp: at(id as i64 * 7),
        day,
        crew,
        profile: Some(profile),
        section: Some(section),
        height: Some(height),
    }
}

fn relieved(id: u64, day: u64, crew: u32) -> CrewReport {
    CrewReport {
        id,
        timestamp: at(id as i64 * 7),
        day,
        crew,
        profile: None,
        section: None,
        height: None,
    }
}

/// Sensor names that need care: a comma, a quote, a newline, non-ASCII.
const SENSORS: [&str; 4] = ["thermo-1", "strain,2", "say \"seis\"", "two\nlines é"];

/// Three batches: readings from several sensors, crew reports including relieved ones, and one
/// batch with readings only.
fn batches() -> Vec<Batch> {
    let mut id = 0;
    let mut readings = |n: usize| -> Vec<Reading> {
        (0..n)
            .map(|i| {
                id += 1;
                reading(
                    id,
                    SENSORS[(id as usize) % SENSORS.len()],
                    (i as i32 * 37) % 201 - 100,
                )
            })
            .collect()
    };
    vec![
        Batch {
            readings: readings(5),
            crew_reports: vec![worked(1, 1, 1, 1, 1, 22), worked(2, 1, 2, 2, 1, 18)],
        },
        Batch {
            readings: readings(7),
            crew_reports: vec![worked(3, 2, 1, 1, 1, 30), relieved(4, 2, 2)],
        },
        Batch {
            readings: readings(3),
            crew_reports: vec![],
        },
        Batch {
            readings: vec![],
            crew_reports: vec![relieved(5, 3, 1)],
        },
    ]
}

fn all_readings(batches: &[Batch]) -> Vec<Reading> {
    batches.iter().flat_map(|b| b.readings.clone()).collect()
}

fn all_crew(batches: &[Batch]) -> Vec<CrewReport> {
    batches
        .iter()
        .flat_map(|b| b.crew_reports.clone())
        .collect()
}

fn expected_counts(readings: &[Reading], crew: &[CrewReport]) -> Counts {
    Counts {
        readings: readings.len() as u64,
        crew_reports: crew.len() as u64,
        last_reading_id: readings.last().map_or(0, |r| r.id),
        last_crew_report_id: crew.last().map_or(0, |c| c.id),
    }
}

/// Filters with their expected ids, worked out by hand from `batches()` (ids 1..=15, sensor
/// `SENSORS[id % 4]`, timestamps increasing with the id).
fn filter_cases() -> Vec<(ReadingFilter, Vec<u64>)> {
    let sensor = |s: &str| Some(s.to_string());
    vec![
        (ReadingFilter::default(), (1..=15).collect()),
        (
            ReadingFilter {
                sensor: sensor("strain,2"),
                ..Default::default()
            },
            vec![1, 5, 9, 13],
        ),
        (
            ReadingFilter {
                sensor: sensor("two\nlines é"),
                ..Default::default()
            },
            vec![3, 7, 11, 15],
        ),
        (
            ReadingFilter {
                sensor: sensor("nobody"),
                ..Default::default()
            },
            vec![],
        ),
        (
            ReadingFilter {
                limit: Some(3),
                ..Default::default()
            },
            vec![13, 14, 15],
        ),
        (
            ReadingFilter {
                limit: Some(0),
                ..Default::default()
            },
            vec![],
        ),
        (
            ReadingFilter {
                limit: Some(100),
                ..Default::default()
            },
            (1..=15).collect(),
        ),
        (
            ReadingFilter {
                sensor: sensor("thermo-1"),
                limit: Some(2),
                ..Default::default()
            },
            vec![8, 12],
        ),
        (
            ReadingFilter {
                since: Some(at(13)),
                ..Default::default()
            },
            vec![13, 14, 15],
        ),
        (
            ReadingFilter {
                until: Some(at(2)),
                ..Default::default()
            },
            vec![1, 2],
        ),
        // a bound between two readings, with nanoseconds a store cannot hold
        (
            ReadingFilter {
                since: Some(at(4) + chrono::Duration::nanoseconds(1)),
                until: Some(at(7) - chrono::Duration::nanoseconds(1)),
                ..Default::default()
            },
            vec![5, 6],
        ),
        (
            ReadingFilter {
                sensor: sensor("say \"seis\""),
                since: Some(at(3)),
                until: Some(at(11)),
                limit: Some(2),
            },
            vec![6, 10],
        ),
    ]
}

/// Appends `batches()` to an empty store and checks counts, rows and filters.
fn fill_and_check(store: &mut dyn Store) -> Vec<Batch> {
    assert_eq!(
        store.counts().unwrap(),
        Counts::default(),
        "{}: not empty",
        store.url()
    );
    let batches = batches();
    let mut readings = Vec::new();
    let mut crew = Vec::new();
    for batch in &batches {
        store.append(batch).unwrap();
        readings.extend(batch.readings.iter().cloned());
        crew.extend(batch.crew_reports.iter().cloned());
        assert_eq!(store.counts().unwrap(), expected_counts(&readings, &crew));
    }
    store.append(&Batch::default()).unwrap();
    check_contents(store, &batches);
    batches
}

/// The batched cursor (`readings_after`) pages through exactly what the filter selects, in
/// any page size and from any id, and `start_of_last` finds where the most recent n start.
fn check_paging(store: &mut dyn Store, filter: &ReadingFilter, readings: &[Reading]) {
    let unlimited = ReadingFilter {
        limit: None,
        ..filter.clone()
    };
    let all = unlimited.apply(readings.iter().cloned());
    for page in [1, 2, 5, 1000] {
        let mut got = Vec::new();
        let mut after = 0;
        loop {
            let batch = store.readings_after(filter, after, page).unwrap();
            assert!(batch.len() <= page, "{}: page {page}", store.url());
            let Some(last) = batch.last() else { break };
            after = last.id;
            got.extend(batch);
        }
        assert_eq!(got, all, "{}: {filter:?} in pages of {page}", store.url());
    }
    for from in [0, 3, 7, 100] {
        let expected: Vec<Reading> = all
            .iter()
            .filter(|r| r.id > from)
            .take(3)
            .cloned()
            .collect();
        assert_eq!(
            store.readings_after(filter, from, 3).unwrap(),
            expected,
            "{}: {filter:?} after {from}",
            store.url()
        );
    }
    let last_id = readings.last().map_or(0, |r| r.id);
    for up_to in [last_id, last_id.saturating_sub(4)] {
        let upto: Vec<&Reading> = all.iter().filter(|r| r.id <= up_to).collect();
        for n in [0, 1, 2, 3, 50] {
            let expected = upto.len().checked_sub(n + 1).map_or(0, |i| upto[i].id);
            assert_eq!(
                store.start_of_last(filter, n, up_to).unwrap(),
                expected,
                "{}: {filter:?} last {n} up to {up_to}",
                store.url()
            );
        }
    }
}

fn check_contents(store: &mut dyn Store, batches: &[Batch]) {
    let readings = all_readings(batches);
    let crew = all_crew(batches);
    assert_eq!(store.counts().unwrap(), expected_counts(&readings, &crew));
    assert_eq!(
        store.last_reading_id().unwrap(),
        readings.last().map_or(0, |r| r.id),
        "{}",
        store.url()
    );
    assert_eq!(store.readings(&ReadingFilter::default()).unwrap(), readings);
    assert_eq!(store.crew_reports().unwrap(), crew);
    // `/crews/log`'s read: the reports of some days, in id order, at most a limit.
    let last_day = crew.iter().map(|r| r.day).max().unwrap_or(0);
    for (from, to, limit) in [
        (1, u64::MAX, usize::MAX),
        (1, 1, 10),
        (2, 3, 10),
        (2, 3, 1),
        (last_day, last_day, 100),
        (last_day + 1, u64::MAX, 100),
        (u64::MAX, u64::MAX, 100),
    ] {
        let expected: Vec<CrewReport> = crew
            .iter()
            .filter(|r| (from..=to).contains(&r.day))
            .take(limit)
            .cloned()
            .collect();
        assert_eq!(
            store.crew_reports_of_days(from, to, limit).unwrap(),
            expected,
            "{}: days {from}..={to}, limit {limit}",
            store.url()
        );
    }
    assert_eq!(
        store.latest_crew_reports().unwrap(),
        reference_latest(&crew),
        "{}",
        store.url()
    );
    let exactly_the_sample = readings == all_readings(&self::batches());
    for (filter, ids) in filter_cases() {
        let got: Vec<u64> = store
            .readings(&filter)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        // the in-memory reference filter agrees …
        let reference: Vec<u64> = filter
            .apply(readings.iter().cloned())
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(got, reference, "{}: {filter:?}", store.url());
        check_paging(store, &filter, &readings);
        // … and so does the hand-worked answer, while the store holds just the sample
        if exactly_the_sample {
            assert_eq!(got, ids, "{}: {filter:?}", store.url());
        }
    }
}

/// What `latest_crew_reports` must answer for a store holding `crew`: the same as worked out
/// from every report.
fn reference_latest(crew: &[CrewReport]) -> LatestReports {
    LatestReports::from_reports(crew.iter().cloned().map(Ok::<_, ()>)).unwrap()
}

fn unset_height(id: u64, day: u64, crew: u32, profile: u32, section: u32) -> CrewReport {
    CrewReport {
        height: None,
        ..worked(id, day, crew, profile, section, 0)
    }
}

/// Five days of crew reports, a day a batch: sections raised over several days, relieved crews,
/// a report lowering its section, one above 30 ft and one without a height.
fn days() -> Vec<Batch> {
    let day = |crew_reports| Batch {
        readings: vec![],
        crew_reports,
    };
    vec![
        day(vec![
            worked(1, 1, 1, 1, 1, 22),
            worked(2, 1, 2, 1, 2, 25),
            worked(3, 1, 3, 2, 1, 18),
        ]),
        day(vec![
            worked(4, 2, 1, 1, 1, 23),
            worked(5, 2, 2, 1, 2, 26),
            worked(6, 2, 3, 2, 1, 19),
        ]),
        day(vec![
            worked(7, 3, 1, 1, 1, 24),
            relieved(8, 3, 2),
            worked(9, 3, 3, 2, 1, 20),
        ]),
        day(vec![worked(10, 4, 3, 2, 1, 19), relieved(11, 4, 1)]),
        day(vec![
            relieved(12, 5, 3),
            worked(13, 5, 4, 3, 2, 31),
            unset_height(14, 5, 1, 1, 1),
        ]),
    ]
}

/// `latest_crew_reports` after each day of `days()`, against the reference and, at the end,
/// against the answer worked out by hand.
fn check_latest(store: &mut dyn Store) {
    let url = store.url().to_string();
    assert_eq!(
        store.latest_crew_reports().unwrap(),
        LatestReports::default(),
        "{url}: empty"
    );
    let mut crew = Vec::new();
    for batch in days() {
        store.append(&batch).unwrap();
        crew.extend(batch.crew_reports);
        assert_eq!(
            store.latest_crew_reports().unwrap(),
            reference_latest(&crew),
            "{url}: after day {}",
            crew.last().unwrap().day
        );
    }
    let section = |latest: CrewReport, first: (u64, u8)| SectionReports { latest, first };
    let irregular = |id, profile, section, height, previous| Irregular {
        id,
        profile,
        section,
        height,
        previous,
    };
    let want = LatestReports {
        sections: vec![
            section(worked(5, 2, 2, 1, 2, 26), (2, 25)),
            section(worked(7, 3, 1, 1, 1, 24), (1, 22)),
            section(worked(10, 4, 3, 2, 1, 19), (3, 18)),
            section(worked(13, 5, 4, 3, 2, 31), (13, 31)),
        ],
        irregular: vec![
            irregular(10, 2, 1, 19, Some(20)),
            irregular(13, 3, 2, 31, None),
        ],
        last_day: 5,
    };
    assert_eq!(store.latest_crew_reports().unwrap(), want, "{url}");
    assert_eq!(
        store.latest_crew_reports().unwrap().into_latest(),
        [5, 7, 10, 13].map(|id| crew[id - 1].clone()),
        "{url}"
    );
}

/// `prepare` on `store`, against what it made of every stored report before it asked
/// the store for the latest ones: the same heights, day and latest reports, or the same error.
fn check_prepare(store: &mut dyn Store, config: &Config) -> Result<Resumed, String> {
    let reports = store.crew_reports().unwrap();
    let old = Works::state_from_reports(&config.engine.wall, &reports);
    let url = store.url().to_string();
    let told = std::sync::Mutex::new(Vec::new());
    let prepared = prepare(store, &config.engine, true, &|step| {
        told.lock().unwrap().push(step)
    });
    match (prepared, old) {
        (Ok(resumed), Ok((heights, day))) => {
            // Each step that is long on a big store, told as it begins.
            let n = reports.len() as u64;
            let steps = if n == 0 {
                vec![Opening::Counting]
            } else {
                vec![
                    Opening::Counting,
                    Opening::Latest { crew_reports: n },
                    Opening::History { crew_reports: n },
                ]
            };
            assert_eq!(*told.lock().unwrap(), steps, "{url}");
            assert_eq!(resumed.site.heights(), heights.as_slice(), "{url}");
            // The past days read back for the HTTP API: what every stored report tells.
            assert_eq!(
                resumed.history,
                wallwatch::wall::History::from_reports(&config.engine.wall, &reports),
                "{url}"
            );
            assert_eq!(resumed.site.day(), day, "{url}");
            let mut latest = std::collections::HashMap::new();
            for r in reports {
                if let (Some(p), Some(s), Some(_)) = (r.profile, r.section, r.height) {
                    latest.insert((p, s), r);
                }
            }
            let mut latest: Vec<CrewReport> = latest.into_values().collect();
            latest.sort_by_key(|r| r.id);
            assert_eq!(resumed.latest, latest, "{url}");
            Ok(resumed)
        }
        (Err(e), Err(old)) => {
            let e = e.to_string();
            assert_eq!(e, format!("store '{url}': cannot resume: {old}"));
            Err(e)
        }
        (Ok(_), Err(old)) => panic!("{url}: resumed where it used to fail with {old}"),
        (Err(e), Ok(_)) => panic!("{url}: cannot resume any more: {e}"),
    }
}

/// Resuming the example wall (3 crews) from `url` after 5 days, after the whole run (relieved
/// crews included), and from a store where a report lowers a section, later raised again.
fn check_resume(url: &str) {
    let mut config = Config::example();
    config.engine.crews = Crews::Limited(3);
    config.engine.store = url.parse().unwrap();
    let mut store = store::open(url).unwrap();
    let fresh = check_prepare(store.as_mut(), &config).unwrap();
    assert_eq!((fresh.site.day(), fresh.latest.len()), (0, 0));
    let mut site = Works::new((*config.engine.wall).clone(), config.engine.crews);
    let mut id = 0;
    let mut work = |store: &mut dyn Store, days: u64| {
        for _ in 0..days {
            let crew_reports = site
                .step()
                .iter()
                .map(|w| {
                    id += 1;
                    CrewReport {
                        id,
                        ..CrewReport::from_work(w, at(id as i64))
                    }
                })
                .collect();
            store
                .append(&Batch {
                    readings: vec![],
                    crew_reports,
                })
                .unwrap();
        }
    };
    work(store.as_mut(), 5);
    let five = check_prepare(store.as_mut(), &config).unwrap();
    assert_eq!(five.site.day(), 5);
    work(store.as_mut(), 27);
    // The whole run stored (resuming it would start the next run: see `check_complete`).
    let reports = store.crew_reports().unwrap();
    let (heights, day) = Works::state_from_reports(&config.engine.wall, &reports).unwrap();
    assert!(heights.iter().all(|&h| h == 30) && day == 32, "{url}");
    assert!(
        store
            .crew_reports()
            .unwrap()
            .iter()
            .any(|r| r.height.is_none())
    );
    let last = store.counts().unwrap().last_crew_report_id;
    store
        .append(&Batch {
            readings: vec![],
            crew_reports: vec![
                worked(last + 1, 33, 1, 1, 1, 29),
                worked(last + 2, 34, 1, 1, 1, 30),
            ],
        })
        .unwrap();
    let e = check_prepare(store.as_mut(), &config).err().unwrap();
    assert!(
        e.ends_with(&format!(
            "cannot resume: crew report {} lowers profile 1 section 1 from 30 to 29 ft",
            last + 1
        )),
        "{e}"
    );
    store.close().unwrap();
}

/// A store holding the example wall's whole run: `prepare` starts run 2 of the same wall from
/// its own heights, the finished run's crew reports kept as past run 1.
fn check_complete(url: &str) {
    let mut config = Config::example();
    config.engine.crews = Crews::Limited(3);
    config.engine.store = url.parse().unwrap();
    let mut store = store::open(url).unwrap();
    // A new run first: the store takes the wall's fingerprint.
    assert_eq!(
        prepare(store.as_mut(), &config.engine, true, &|_| {})
            .unwrap()
            .run,
        1
    );
    let mut site = Works::new((*config.engine.wall).clone(), config.engine.crews);
    let mut crew_reports = Vec::new();
    while !site.is_done() {
        for w in site.step() {
            let id = crew_reports.len() as u64 + 1;
            crew_reports.push(CrewReport {
                id,
                ..CrewReport::from_work(&w, at(id as i64))
            });
        }
    }
    let n = crew_reports.len() as u64;
    store
        .append(&Batch {
            readings: vec![],
            crew_reports,
        })
        .unwrap();
    let again = prepare(store.as_mut(), &config.engine, true, &|_| {}).unwrap();
    assert_eq!(again.run, 2, "{url}");
    assert_eq!(again.site.day(), 0, "{url}");
    assert_eq!(again.site.heights(), config.engine.wall.heights(), "{url}");
    assert!(again.latest.is_empty(), "{url}");
    assert_eq!(store.crew_reports().unwrap(), [], "{url}");
    let past = store.past_runs().unwrap();
    assert_eq!((past[0].run, past[0].crew_reports), (1, n), "{url}");
    store.close().unwrap();
}

#[test]
fn every_store_resumes_as_from_every_report() {
    check_resume("memory:");
    check_complete("memory:");
    let dir = tempfile::tempdir().unwrap();
    check_resume(&temp_url(dir.path(), "csv", "resume.csv"));
    check_complete(&temp_url(dir.path(), "csv", "complete.csv"));
    check_resume(&temp_url(dir.path(), "sqlite", "resume.db"));
    check_complete(&temp_url(dir.path(), "sqlite", "complete.db"));
    if let Some(base) = postgres_url() {
        let schema = Schema::new(&base, "resume");
        check_resume(&schema.url);
        let schema = Schema::new(&base, "complete");
        check_complete(&schema.url);
    }
}

/// A batch whose crew report repeats a stored id: it must fail and leave nothing behind.
fn check_all_or_nothing(store: &mut dyn Store) {
    let before = store.counts().unwrap();
    let bad = Batch {
        readings: vec![reading(before.last_reading_id + 1, "thermo-1", 1)],
        crew_reports: vec![relieved(before.last_crew_report_id, 9, 1)],
    };
    let err = store.append(&bad).unwrap_err();
    assert!(err.to_string().contains(store.url()), "{err}");
    assert_eq!(
        store.counts().unwrap(),
        before,
        "{}: half a batch stored",
        store.url()
    );
    // the same ids then go in fine
    let good = Batch {
        readings: bad.readings.clone(),
        crew_reports: vec![relieved(before.last_crew_report_id + 1, 9, 1)],
    };
    store.append(&good).unwrap();
    let after = store.counts().unwrap();
    assert_eq!(after.readings, before.readings + 1);
    assert_eq!(after.last_crew_report_id, before.last_crew_report_id + 1);
    assert_eq!(
        store
            .readings(&ReadingFilter {
                limit: Some(1),
                ..Default::default()
            })
            .unwrap(),
        good.readings
    );
}

fn big_batch(store: &mut dyn Store) {
    let start = store.counts().unwrap().last_reading_id;
    let readings: Vec<Reading> = (1..=10_000u64)
        .map(|i| {
            reading(
                start + i,
                &format!("s-{}", i % 1000),
                (i % 201) as i32 - 100,
            )
        })
        .collect();
    store
        .append(&Batch {
            readings: readings.clone(),
            crew_reports: vec![],
        })
        .unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(counts.readings, 10_000);
    assert_eq!(counts.last_reading_id, start + 10_000);
    assert_eq!(store.readings(&ReadingFilter::default()).unwrap(), readings);
    let one: Vec<u64> = store
        .readings(&ReadingFilter {
            sensor: Some("s-7".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        one,
        (0..10).map(|k| start + 7 + k * 1000).collect::<Vec<_>>()
    );
}

/// Reopens a store holding `batches()` and checks everything is there and ids continue.
fn check_reopen(url: &str, batches: &[Batch]) {
    let mut store = store::open(url).unwrap();
    check_contents(store.as_mut(), batches);
    let counts = store.counts().unwrap();
    let next = Batch {
        readings: vec![reading(counts.last_reading_id + 1, "thermo-1", 100)],
        crew_reports: vec![relieved(counts.last_crew_report_id + 1, 4, 1)],
    };
    store.append(&next).unwrap();
    store.close().unwrap();
    let mut store = store::open(url).unwrap();
    let mut all = batches.to_vec();
    all.push(next);
    check_contents(store.as_mut(), &all);
    store.close().unwrap();
}

/// The error opening `url`, which must fail.
fn open_err(url: &str) -> String {
    match store::open(url) {
        Ok(s) => panic!("{url}: opened as {}", s.url()),
        Err(e) => e.to_string(),
    }
}

fn open_existing_err(url: &str) -> String {
    match store::open_existing(url) {
        Ok(s) => panic!("{url}: opened as {}", s.url()),
        Err(e) => e.to_string(),
    }
}

fn temp_url(dir: &Path, scheme: &str, file: &str) -> String {
    format!("{scheme}:{}", dir.join(file).display())
}

#[test]
fn memory_store() {
    let mut store = store::open("memory:").unwrap();
    assert_eq!(store.url(), "memory:");
    fill_and_check(store.as_mut());
    store.close().unwrap();
    let mut store = store::open("memory:").unwrap();
    big_batch(store.as_mut());
    let mut store = store::open("memory:").unwrap();
    check_latest(store.as_mut());
}

#[test]
fn csv_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = temp_url(dir.path(), "csv", "run.csv");
    let mut store = store::open(&url).unwrap();
    assert_eq!(store.url(), url);
    let batches = fill_and_check(store.as_mut());
    store.close().unwrap();
    check_reopen(&url, &batches);

    let readings = std::fs::read_to_string(dir.path().join("run.csv")).unwrap();
    let crew = std::fs::read_to_string(dir.path().join("run.crew_reports.csv")).unwrap();
    let lines: Vec<&str> = readings.lines().collect();
    assert_eq!(lines[0], "id,timestamp,sensor,value,stored_at");
    assert_eq!(
        readings.matches("id,timestamp").count(),
        1,
        "header written once"
    );
    assert_eq!(
        lines[1],
        format!("1,{},\"strain,2\",-100,", store::format_timestamp(&at(1)))
    );
    assert_eq!(
        lines[3],
        format!("3,{},\"two", store::format_timestamp(&at(3)))
    );
    assert!(readings.contains(",\"say \"\"seis\"\"\","), "{readings}");
    let crew_lines: Vec<&str> = crew.lines().collect();
    assert_eq!(
        crew_lines[0],
        "id,timestamp,day,crew,profile,section,height"
    );
    assert_eq!(
        crew_lines[1],
        format!("1,{},1,1,1,1,22", store::format_timestamp(&at(7)))
    );
    assert_eq!(
        crew_lines[4],
        format!("4,{},2,2,,,", store::format_timestamp(&at(28)))
    );
    assert!(store::format_timestamp(&at(1)).ends_with('Z'));

    let mut store = store::open(&url).unwrap();
    check_all_or_nothing(store.as_mut());
    store.close().unwrap();

    let big = temp_url(dir.path(), "csv", "big.csv");
    let mut store = store::open(&big).unwrap();
    big_batch(store.as_mut());

    let days = temp_url(dir.path(), "csv", "days.csv");
    let mut store = store::open(&days).unwrap();
    check_latest(store.as_mut());
    store.close().unwrap();
    let mut store = store::open(&days).unwrap();
    assert_eq!(
        store.latest_crew_reports().unwrap(),
        reference_latest(&all_crew(&self::days())),
        "after reopening"
    );
}

#[test]
fn csv_latest_crew_reports_name_a_damaged_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = temp_url(dir.path(), "csv", "run.csv");
    let mut store = store::open(&url).unwrap();
    store.append(&days()[0]).unwrap();
    // damaged after opening (opening reads the files and would refuse it already)
    let crew_path = dir.path().join("run.crew_reports.csv");
    let mut text = std::fs::read_to_string(&crew_path).unwrap();
    text.push_str("4,2026-01-01T00:00:00.000000Z,2,1,1,1,high\n");
    std::fs::write(&crew_path, &text).unwrap();
    let err = store.latest_crew_reports().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "store '{url}': {}:5: height 'high' is not valid",
            crew_path.display()
        )
    );
    assert_eq!(err, store.crew_reports().unwrap_err().to_string());
    std::fs::write(&crew_path, text.replace(",high\n", ",\"20\n")).unwrap();
    let err = store.latest_crew_reports().unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("store '{url}': {}:5: ", crew_path.display()))
            && err.contains("not closed"),
        "{err}"
    );
}

#[test]
fn csv_store_rejects_foreign_and_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.csv");
    std::fs::write(&foreign, "a,b,c\n1,2,3\n").unwrap();
    let url = format!("csv:{}", foreign.display());
    let err = open_err(&url);
    assert!(
        err.starts_with(&format!("store '{url}': ")) && err.contains("header"),
        "{err}"
    );

    let cut = dir.path().join("cut.csv");
    std::fs::write(
        &cut,
        "id,timestamp,sensor,value\n1,2026-01-01T00:00:00.000000Z,a,",
    )
    .unwrap();
    let url = format!("csv:{}", cut.display());
    let err = open_err(&url);
    assert!(err.contains(&url) && err.contains("incomplete"), "{err}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,timestamp,sensor,value\n1,2026-01-01T00:00:00.000000Z,a,7\nx,y,z,w\n",
    )
    .unwrap();
    let url = format!("csv:{}", bad.display());
    let err = open_err(&url);
    assert!(err.contains(&format!("{}:3:", bad.display())), "{err}");
    assert!(!err.contains('\n'));
}

fn sqlite_pragma(path: &Path, pragma: &str) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("PRAGMA {pragma}"), [], |r| {
        r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        })
    })
    .unwrap()
}

#[test]
fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let url = format!("sqlite:{}", path.display());
    let mut store = store::open(&url).unwrap();
    assert_eq!(store.url(), url);
    let batches = fill_and_check(store.as_mut());
    check_all_or_nothing(store.as_mut());
    store.close().unwrap();
    assert!(store.counts().unwrap_err().to_string().contains("closed"));

    assert_eq!(sqlite_pragma(&path, "journal_mode"), "wal");
    assert_eq!(sqlite_pragma(&path, "user_version"), "6");
    assert_eq!(sqlite_pragma(&path, "integrity_check"), "ok");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let text: String = conn
        .query_row("SELECT timestamp FROM readings WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(text, store::format_timestamp(&at(1)));
    let uses_index: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM readings WHERE sensor = 'x' ORDER BY id",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(uses_index.contains("readings_sensor_id"), "{uses_index}");
    let nulls: (Option<i64>, Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT profile, section, height FROM crew_reports WHERE id = 4",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(nulls, (None, None, None));
    drop(conn);

    // the all-or-nothing check added one reading and one crew report
    let mut with_extra = batches.clone();
    with_extra.push(Batch {
        readings: vec![reading(16, "thermo-1", 1)],
        crew_reports: vec![relieved(6, 9, 1)],
    });
    check_reopen(&url, &with_extra);

    let big = temp_url(dir.path(), "sqlite", "big.db");
    let mut store = store::open(&big).unwrap();
    big_batch(store.as_mut());

    let days = dir.path().join("days.db");
    let url = format!("sqlite:{}", days.display());
    let mut store = store::open(&url).unwrap();
    check_latest(store.as_mut());
    store.close().unwrap();
    let mut store = store::open(&url).unwrap();
    assert_eq!(
        store.latest_crew_reports().unwrap(),
        reference_latest(&all_crew(&self::days())),
        "after reopening"
    );
    store.close().unwrap();
    // Each section's latest report comes from an index, not from reading every report.
    let conn = rusqlite::Connection::open(&days).unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    let set = "profile IS NOT NULL AND section IS NOT NULL AND height IS NOT NULL";
    let history = plan(&format!(
        "SELECT id, profile, section, height FROM crew_reports WHERE {set} \
         ORDER BY profile, section, id"
    ));
    assert!(
        history.contains("COVERING INDEX crew_reports_section") && !history.contains("TEMP"),
        "{history}"
    );
    let by_id = plan(
        "SELECT c.id, c.timestamp FROM json_each('[1,2]') AS j JOIN crew_reports AS c \
         ON c.id = j.value",
    );
    assert!(by_id.contains("INTEGER PRIMARY KEY"), "{by_id}");
    let day = plan("SELECT coalesce(max(day), 0) FROM crew_reports");
    assert!(day.contains("crew_reports_day"), "{day}");
}

/// A version 1 file (before the crew report indexes) is migrated when opened, rows intact.
#[test]
fn sqlite_store_migrates_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, \
         sensor TEXT NOT NULL, value INTEGER NOT NULL);
         CREATE INDEX readings_sensor_id ON readings (sensor, id);
         CREATE TABLE crew_reports (id INTEGER PRIMARY KEY, timestamp TEXT, day INTEGER, \
         crew INTEGER, profile INTEGER, section INTEGER, height INTEGER);
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    for r in all_crew(&days()) {
        conn.execute(
            "INSERT INTO crew_reports VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                r.id as i64,
                store::format_timestamp(&r.timestamp),
                r.day as i64,
                r.crew,
                r.profile,
                r.section,
                r.height
            ],
        )
        .unwrap();
    }
    drop(conn);
    let url = format!("sqlite:{}", path.display());
    let mut store = store::open(&url).unwrap();
    assert_eq!(sqlite_pragma(&path, "user_version"), "6");
    assert_eq!(store.crew_reports().unwrap(), all_crew(&days()));
    assert_eq!(
        store.latest_crew_reports().unwrap(),
        reference_latest(&all_crew(&days()))
    );
    store.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'crew_reports' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(indexes, ["crew_reports_day", "crew_reports_section"]);
    drop(conn);
    // opening again changes nothing
    store::open(&url).unwrap().close().unwrap();
    assert_eq!(sqlite_pragma(&path, "user_version"), "6");
}

#[test]
fn sqlite_store_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();

    let newer = dir.path().join("newer.db");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let url = format!("sqlite:{}", newer.display());
    let err = open_err(&url);
    assert!(
        err.starts_with(&format!("store '{url}': ")) && err.contains("version 99"),
        "{err}"
    );

    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "these are not the rows you are looking for\n".repeat(100),
    )
    .unwrap();
    let url = format!("sqlite:{}", text.display());
    let err = open_err(&url);
    assert!(
        err.starts_with(&format!("store '{url}': ")) && err.contains("not a database"),
        "{err}"
    );

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE readings (x TEXT)")
        .unwrap();
    let url = format!("sqlite:{}", foreign.display());
    let err = open_err(&url);
    assert!(
        err.contains(&url) && err.contains("not a wallwatch database"),
        "{err}"
    );

    let url = format!("sqlite:{}", dir.path().join("no/such/dir/run.db").display());
    let err = open_err(&url);
    assert!(err.starts_with(&format!("store '{url}': ")), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn bad_urls_are_named() {
    for url in [
        "",
        "nope",
        "nope:x",
        "memory:x",
        "csv:",
        "sqlite:",
        "mysql://u@h/db",
    ] {
        let err = open_err(url);
        assert!(
            err.starts_with(&format!("store '{url}': unknown store URL")),
            "{url}: {err}"
        );
    }
    let err = open_err("postgres://u:pw@127.0.0.1:notaport/db");
    assert!(
        err.starts_with("store 'postgres://u:***@127.0.0.1:notaport/db': "),
        "{err}"
    );
    assert!(!err.contains("pw@"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite:{}", dir.path().join("missing.db").display());
    let err = open_existing_err(&missing);
    assert!(err.starts_with(&format!("store '{missing}': ")), "{err}");
    assert!(
        !dir.path().join("missing.db").exists(),
        "open_existing created the file"
    );
}

#[test]
fn unreachable_postgres_fails_quickly_naming_the_url() {
    let start = Instant::now();
    let err = open_err("postgres://wallwatch:hunter2@127.0.0.1:1/db");
    assert!(
        err.starts_with("store 'postgres://wallwatch:***@127.0.0.1:1/db': "),
        "{err}"
    );
    assert!(err.contains("connect"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains('\n'), "{err}");
    // a generous bound: the point is that it does not hang
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn redacts_passwords() {
    assert_eq!(
        store::redact_url("postgres://a:b@h:5/d"),
        "postgres://a:***@h:5/d"
    );
    assert_eq!(
        store::redact_url("postgresql://a@h/d"),
        "postgresql://a@h/d"
    );
    assert_eq!(
        store::redact_url("postgres://h/d?user=a&password=b&x=1"),
        "postgres://h/d?user=a&password=***&x=1"
    );
    assert_eq!(store::redact_url("sqlite:a:b@c.db"), "sqlite:a:b@c.db");
    // A raw `/` in the password does not end the authority before it.
    assert_eq!(
        store::redact_url("postgres://a:pa/ss@h:5/d"),
        "postgres://a:***@h:5/d"
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

#[test]
fn postgres_store() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "main");
    let mut store = store::open(&schema.url).unwrap();
    assert_eq!(store.url(), store::redact_url(&schema.url));
    let batches = fill_and_check(store.as_mut());
    check_all_or_nothing(store.as_mut());
    store.close().unwrap();
    let mut with_extra = batches.clone();
    with_extra.push(Batch {
        readings: vec![reading(16, "thermo-1", 1)],
        crew_reports: vec![relieved(6, 9, 1)],
    });
    check_reopen(&schema.url, &with_extra);
}

#[test]
fn postgres_latest_crew_reports() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "latest");
    let mut store = store::open(&schema.url).unwrap();
    check_latest(store.as_mut());
    store.close().unwrap();
    let mut store = store::open(&schema.url).unwrap();
    assert_eq!(
        store.latest_crew_reports().unwrap(),
        reference_latest(&all_crew(&days())),
        "after reopening"
    );
    store.close().unwrap();
}

#[test]
fn postgres_big_batch() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "big");
    let mut store = store::open(&schema.url).unwrap();
    big_batch(store.as_mut());
    store.close().unwrap();
}

/// The store is usable from inside an async runtime too (it never nests runtimes).
#[tokio::test]
async fn postgres_store_inside_a_runtime() {
    let Some(base) = postgres_url() else { return };
    // the test's own helper blocks, so it runs off the async workers
    let schema = tokio::task::spawn_blocking(move || Schema::new(&base, "rt"))
        .await
        .unwrap();
    let mut store = store::open(&schema.url).unwrap();
    store.append(&batches()[0]).unwrap();
    assert_eq!(store.counts().unwrap().readings, 5);
    store.close().unwrap();
    tokio::task::spawn_blocking(move || drop(schema))
        .await
        .unwrap();
}

/// A dropped connection costs one failed call at most; the store reconnects and the retried
/// batch lands once.
#[test]
fn postgres_store_reconnects() {
    let Some(base) = postgres_url() else { return };
    let schema = Schema::new(&base, "reconnect");
    let app = schema.name.clone();
    let url = format!("{}&application_name={app}", schema.url);
    let mut store = store::open(&url).unwrap();
    let batches = batches();
    store.append(&batches[0]).unwrap();
    let terminated = admin_value(
        &base,
        &format!(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{app}'"
        ),
    );
    assert_eq!(terminated, "1", "the store's connection was not found");
    let mut failures = 0;
    while let Err(e) = store.append(&batches[1]) {
        assert!(e.to_string().starts_with("store 'postgres://"), "{e}");
        failures += 1;
        assert!(failures < 3, "still failing: {e}");
    }
    let expected: Vec<Batch> = batches[..2].to_vec();
    check_contents(store.as_mut(), &expected);
    store.close().unwrap();
}

/// Agents' readings: each (agent, seq) is stored once. A batch repeating some (a redelivery)
/// stores only the new ones and names the ids left out; the marks are the ranges of seqs stored
/// per agent, and a persistent store still knows them when opened again. A seq far above the
/// agent's (a stranger's message) is a range of its own: the agent's next seq is still new
/// (with one high-water mark per agent it was left out as stored).
fn check_agents_once(url: &str, persistent: bool) {
    use wallwatch::store::Origin;
    let origin = |id: u64, agent: &str, seq: u64| Origin {
        id,
        agent: agent.into(),
        seq,
    };
    let mut store = store::open(url).unwrap();
    let first = Batch {
        readings: vec![
            reading(1, "a/s", 1),
            reading(2, "local", 2),
            reading(3, "b/s", 3),
            reading(4, "a/s", 4),
        ],
        crew_reports: vec![],
    };
    let origins = [origin(1, "a", 1), origin(3, "b", 7), origin(4, "a", 2)];
    assert_eq!(
        store.append_remote(&first, &origins).unwrap(),
        Vec::<u64>::new()
    );
    // a:2 and b:7 again (new ids), with a:3 new.
    let again = Batch {
        readings: vec![
            reading(5, "a/s", 4),
            reading(6, "b/s", 3),
            reading(7, "a/s", 5),
        ],
        crew_reports: vec![],
    };
    let origins = [origin(5, "a", 2), origin(6, "b", 7), origin(7, "a", 3)];
    assert_eq!(
        store.append_remote(&again, &origins).unwrap(),
        vec![5, 6],
        "{url}"
    );
    let ids: Vec<u64> = store
        .readings(&ReadingFilter::default())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 7], "{url}");
    let ranges = |store: &mut Box<dyn store::Store>| -> Vec<(String, Vec<(u64, u64)>)> {
        store
            .agent_marks()
            .unwrap()
            .into_iter()
            .map(|(a, r)| (a, r.iter().collect()))
            .collect()
    };
    assert_eq!(
        ranges(&mut store),
        [
            ("a".to_string(), vec![(1, 3)]),
            ("b".to_string(), vec![(7, 7)])
        ],
        "{url}"
    );
    // A forged seq far above a's, then a's next: both stored, as two ranges.
    let forged = Batch {
        readings: vec![reading(8, "a/s", 9), reading(9, "a/s", 4)],
        crew_reports: vec![],
    };
    let origins = [origin(8, "a", 1_000_000), origin(9, "a", 4)];
    assert_eq!(
        store.append_remote(&forged, &origins).unwrap(),
        Vec::<u64>::new(),
        "{url}"
    );
    let expected = [
        ("a".to_string(), vec![(1, 4), (1_000_000, 1_000_000)]),
        ("b".to_string(), vec![(7, 7)]),
    ];
    assert_eq!(ranges(&mut store), expected, "{url}");
    store.close().unwrap();
    if persistent {
        let mut store = store::open(url).unwrap();
        assert_eq!(ranges(&mut store), expected, "{url}");
        let redelivered = Batch {
            readings: vec![reading(10, "a/s", 4), reading(11, "a/s", 4)],
            crew_reports: vec![],
        };
        assert_eq!(
            store
                .append_remote(&redelivered, &[origin(10, "a", 3), origin(11, "a", 5)])
                .unwrap(),
            vec![10],
            "{url}"
        );
        assert_eq!(store.counts().unwrap().readings, 8, "{url}");
        store.close().unwrap();
    }
}

#[test]
fn every_store_stores_an_agents_reading_once() {
    let dir = tempfile::tempdir().unwrap();
    check_agents_once("memory:", false);
    check_agents_once(&temp_url(dir.path(), "csv", "agents.csv"), true);
    check_agents_once(&temp_url(dir.path(), "sqlite", "agents.db"), true);
}

#[test]
fn postgres_stores_an_agents_reading_once() {
    let Some(url) = postgres_url() else { return };
    let schema = Schema::new(&url, "agents");
    check_agents_once(&schema.url, true);
}

/// A version 2 file (before agents' readings) gains the columns `agent` and `seq` (null for
/// every reading there) and their unique index when opened.
#[test]
fn sqlite_store_migrates_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, \
         sensor TEXT NOT NULL, value INTEGER NOT NULL);
         CREATE INDEX readings_sensor_id ON readings (sensor, id);
         CREATE TABLE crew_reports (id INTEGER PRIMARY KEY, timestamp TEXT, day INTEGER, \
         crew INTEGER, profile INTEGER, section INTEGER, height INTEGER);
         CREATE INDEX crew_reports_section ON crew_reports (profile, section, id, height);
         CREATE INDEX crew_reports_day ON crew_reports (day);
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
         INSERT INTO readings VALUES (1, '2026-11-23T12:00:00.000000Z', 'sensor-1', 5);
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let url = format!("sqlite:{}", path.display());
    let mut store = store::open(&url).unwrap();
    assert_eq!(sqlite_pragma(&path, "user_version"), "6");
    assert_eq!(store.counts().unwrap().readings, 1);
    assert!(store.agent_marks().unwrap().is_empty());
    let batch = Batch {
        readings: vec![reading(2, "a/s", 1)],
        crew_reports: vec![],
    };
    let origin = wallwatch::store::Origin {
        id: 2,
        agent: "a".into(),
        seq: 9,
    };
    assert!(store.append_remote(&batch, &[origin]).unwrap().is_empty());
    store.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(i64, Option<String>, Option<i64>)> = conn
        .prepare("SELECT id, agent, seq FROM readings ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows, [(1, None, None), (2, Some("a".into()), Some(9))]);
    // The (agent, seq) index holds agents' readings only: a local reading costs no entry
    // (SQLite wrote 20-40 % more rows per second in `bench pipeline` with it partial).
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'readings_agent_seq'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.ends_with("WHERE agent IS NOT NULL"), "{sql}");
    drop(conn);
    store::open(&url).unwrap().close().unwrap();
    assert_eq!(sqlite_pragma(&path, "user_version"), "6");
}

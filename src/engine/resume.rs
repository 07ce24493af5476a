//! Before a run starts: check that the store belongs to this wall (a stored fingerprint), clear
//! it on `--fresh`, and rebuild the site from the stored crew reports so that the wall continues
//! where the last run stopped (the day after the last stored day, every section at its latest
//! stored height). Runs on the caller's thread before any task starts: an error leaves the store
//! as it was. The store is asked only for each section's latest report and the last day
//! ([`Store::latest_crew_reports`]), not for every report, so a wall of a million sections
//! resumes after many days without reading them all back.

use std::sync::Arc;

use super::EngineError;
use super::EngineOptions;
use super::change::Replay;
use super::opening::Opening;
use crate::store::{Counts, Store, StoreError, WALL_HASH_KEY, redact_url};
use crate::wall::{CrewReport, History, Wall, Works};

/// The site to run and, when it continues a stored run, each changed section's latest report
/// (id order) so the screen can show the wall as it stands.
pub struct Resumed {
    pub site: Works,
    /// The site's wall, shared (as the `Started` event carries it) without another copy.
    pub wall: Arc<Wall>,
    /// The number of the run the store holds (1 until another wall is loaded).
    pub run: u32,
    /// The changes made to the run while it ran before (crews, sensors, speed, pause), to make
    /// again; the crews are already in `site`.
    pub replay: Replay,
    pub latest: Vec<CrewReport>,
    /// The store's counts after any `--fresh` clearing: ids continue after these.
    pub counts: Counts,
    /// The stored days, profile by profile, when asked for (reading every crew report back);
    /// else empty.
    pub history: History,
}

/// Checks the store's wall, clears it when `config.fresh`, and rebuilds the site; with
/// `history`, also the stored days (every crew report is read back for that). `told` hears
/// of each step that may take long on a big store as it begins.
pub fn prepare(
    store: &mut dyn Store,
    config: &EngineOptions,
    history: bool,
    told: &dyn Fn(Opening),
) -> Result<Resumed, EngineError> {
    let url = crate::text::sanitize(&redact_url(store.url())).into_owned();
    let fail = |e: StoreError| EngineError::Store(e);
    if config.fresh {
        told(Opening::Clearing);
        let before = store.counts().map_err(fail)?;
        store.clear().map_err(fail)?;
        tracing::info!(
            target: "store",
            "--fresh: cleared store '{url}' ({} readings, {} crew reports and every earlier run \
             and change removed); starting over",
            before.readings,
            before.crew_reports
        );
    }
    let replay = Replay::of(&store.changes().map_err(fail)?)
        .map_err(|e| EngineError::Store(StoreError(format!("store '{url}': {e}"))))?;
    let (shared, run) = the_wall(store, config, &replay, &url)?;
    let wall = (*shared).clone();
    let hash = wall.fingerprint();
    told(Opening::Counting);
    let counts = store.counts().map_err(fail)?;
    let crews = replay.crews(config.crews);
    match store.meta_get(WALL_HASH_KEY).map_err(fail)? {
        Some(stored) if stored != hash => {
            return Err(EngineError::Store(StoreError(format!(
                "store '{url}' holds a run of another wall (hash {}, this wall's is {hash}); use \
                 --fresh to start over or another store",
                crate::text::sanitize(&stored)
            ))));
        }
        Some(_) => {}
        None if counts.crew_reports > 0 => {
            return Err(EngineError::Store(StoreError(format!(
                "store '{url}' holds crew reports of an unknown wall (no wall hash stored); use \
                 --fresh to start over or another store"
            ))));
        }
        None => store.meta_set(WALL_HASH_KEY, &hash).map_err(fail)?,
    }
    if counts.crew_reports == 0 {
        let history = History::new(wall.profiles());
        return Ok(Resumed {
            site: Works::new(wall, crews),
            wall: shared,
            run,
            replay,
            latest: Vec::new(),
            counts,
            history,
        });
    }
    told(Opening::Latest {
        crew_reports: counts.crew_reports,
    });
    let stored = store.latest_crew_reports().map_err(fail)?;
    let cannot = |e: crate::wall::ResumeError| {
        EngineError::Store(StoreError(format!("store '{url}': cannot resume: {e}")))
    };
    let (heights, day) = Works::state_from_latest(&wall, &stored).map_err(cannot)?;
    let history = if history {
        told(Opening::History {
            crew_reports: counts.crew_reports,
        });
        History::from_reports(&wall, &store.crew_reports().map_err(fail)?)
    } else {
        History::new(wall.profiles())
    };
    let done_on = stored.done_on();
    let latest: Vec<CrewReport> = stored.into_latest();
    let site = Works::resume(wall, crews, heights, day).map_err(cannot)?;
    if site.is_complete() {
        return again(store, (site, shared, &hash), (run, done_on), replay, &url);
    }
    tracing::info!(
        target: "engine",
        "resuming run {run} of the wall from store '{url}' on day {}: day {} done, {} of {} feet \
         raised, {} readings and {} crew reports already stored",
        site.day() + 1,
        site.day(),
        site.feet_raised(),
        site.wall().feet_to_raise(),
        counts.readings,
        counts.crew_reports
    );
    Ok(Resumed {
        site,
        wall: shared,
        run,
        replay,
        latest,
        counts,
        history,
    })
}

/// A stored run whose wall is complete is not resumed (nothing would move): the next run builds
/// the same wall again from its start, with the same crews; the finished run stays in the store.
fn again(
    store: &mut dyn Store,
    (finished, shared, hash): (Works, Arc<Wall>, &str),
    (run, done_on): (u32, u64),
    replay: Replay,
    url: &str,
) -> Result<Resumed, EngineError> {
    let fail = |e: StoreError| EngineError::Store(e);
    let next = run + 1;
    store.start_run(next, hash).map_err(fail)?;
    tracing::info!(
        target: "engine",
        "the wall in store '{url}' was done on day {done_on} (run {run}); run {next} builds it \
         again from the start (run {run} stays in the store)"
    );
    Ok(Resumed {
        history: History::new(shared.profiles()),
        site: Works::new((*shared).clone(), finished.crews()),
        wall: shared,
        run: next,
        replay,
        latest: Vec::new(),
        counts: store.counts().map_err(fail)?,
    })
}

/// The wall the site runs and its run's number: the wall loaded last, if one was (the profiles
/// given at start are then not used, and the log says so), else the configured one. A load
/// whose run a crash kept the store from starting is started here.
fn the_wall(
    store: &mut dyn Store,
    config: &EngineOptions,
    replay: &Replay,
    url: &str,
) -> Result<(Arc<Wall>, u32), EngineError> {
    let fail = |e: StoreError| EngineError::Store(e);
    let Some(loaded) = &replay.wall else {
        return Ok((config.wall.clone(), store.run().map_err(fail)?));
    };
    // Accepted once, so parsed without the site's limit on sections.
    let wall = Wall::parse(loaded.profiles.as_bytes(), usize::MAX).map_err(|e| {
        EngineError::Store(StoreError(format!(
            "store '{url}': the wall loaded as run {} cannot be read: {e}",
            loaded.run
        )))
    })?;
    let hash = wall.fingerprint();
    if store.run().map_err(fail)? < loaded.run {
        store.start_run(loaded.run, &hash).map_err(fail)?;
        tracing::info!(target: "store", "run {} of store '{url}' started (the site stopped as it loaded its wall)", loaded.run);
    }
    let run = store.run().map_err(fail)?;
    if config.wall.fingerprint() != hash {
        tracing::info!(
            target: "engine",
            "the site runs the wall loaded last (run {}, wall {hash}), not the one it was \
             started with (--fresh starts over with that)",
            loaded.run
        );
    }
    Ok((Arc::new(wall), run))
}

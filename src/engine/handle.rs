//! The `Engine` handle: starts a run (every task, under the supervisor), hands out its command
//! sender and figures, and on shutdown waits for the supervisor's drain.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::change::{Replay, SensorStep};
use super::collector::{self, Stored};
use super::failures::{Failures, panic_message};
use super::gauges::Gauges;
use super::network::{Network, NetworkProbe};
use super::opening::{OnOpening, Opening};
use super::pipeline::{PipelineEnds, spawn_pipeline};
use super::publisher::Publisher;
use super::remote::{RemoteInlet, RemoteLink};
use super::summary::{RunCounters, Summary};
use super::supervisor::Supervisor;
use super::tasks::{CrewPlan, Shared, WallState};
use super::{CommandSender, EngineError, EngineOptions, Event, SensorInfo, WallProgress};
use crate::sensors::{Sensor, SensorFactory};
use crate::store::Store;

/// Capacity of the event channel to the watcher (see `publisher` for what happens when full).
pub const EVENT_CHANNEL: usize = 256;
/// How long a drain that passed its deadline may take to count what is left.
pub const GIVE_UP_GRACE: Duration = Duration::from_secs(5);

/// What tests and benchmarks may inject.
#[derive(Default)]
pub struct StartOptions {
    /// Use this store instead of opening `config.store`.
    pub store: Option<Box<dyn Store>>,
    /// Observe every message's send and delivery.
    pub probe: Option<Arc<dyn NetworkProbe>>,
    /// Leave the stored rows out of the events (no `Event::Readings` or `Event::CrewReports`), for
    /// watchers that only count: headless runs and benchmarks need not be sent every row.
    pub skip_rows: bool,
    /// When resuming, read every stored crew report back for the wall's past days (answers
    /// about them, [`Gauges::book`]); without it a resumed run knows its own days only.
    pub history: bool,
    /// Accept readings from agents (`Engine::remote_inlet`), reporting what is stored here.
    pub remote: Option<Arc<RemoteLink>>,
    /// Told each step of opening the store and resuming its run, as it begins.
    pub on_opening: Option<OnOpening>,
}

/// The running engine.
pub struct Engine {
    commands: CommandSender,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<Result<Summary, EngineError>>,
    gauges: Gauges,
    failures: Failures,
    inlet: Option<RemoteInlet>,
    /// Who asked the engine to stop with `Command::Shutdown`, once someone has.
    stop_asked: watch::Receiver<Option<String>>,
    /// How long a stop waits for the store ([`EngineOptions::drain_timeout`]).
    drain_timeout: Duration,
}

impl Engine {
    /// Starts a run: opens the store and resumes the wall (on tokio's blocking pool, as both do
    /// file or network I/O), makes the sensors, starts every task. The first event is
    /// `Event::Started`.
    pub async fn start(
        config: &EngineOptions,
    ) -> Result<(Engine, mpsc::Receiver<Event>), EngineError> {
        Engine::start_with(config, StartOptions::default()).await
    }

    /// [`Engine::start`] with an injected store or network probe.
    pub async fn start_with(
        config: &EngineOptions,
        mut options: StartOptions,
    ) -> Result<(Engine, mpsc::Receiver<Event>), EngineError> {
        config.check().map_err(EngineError::Options)?;
        let day_length = Duration::try_from_secs_f64(config.day_seconds)
            .map_err(|_| EngineError::Options(format!("--day-seconds: {}", config.day_seconds)))?;
        let (store, resumed) = open_store(config, &mut options).await?;
        let replay = &resumed.replay;
        let (factory, sensors) = make_sensors(config, replay)?;
        let speed = replay.speed.unwrap_or(config.speed);
        let publisher = Publisher::new();
        let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL);
        let (network, packets) = Network::new(
            config.network_limit,
            config.latency,
            config.seed,
            options.probe.take(),
            collector::MAILBOX,
        );
        let site = &resumed.site;
        announce(
            config,
            speed,
            &publisher,
            network.limit(),
            (site, &resumed.wall),
            &sensors,
            store.url(),
        );
        let budget = config.max_readings.unwrap_or(u64::MAX);
        let shared = Arc::new(Shared::new(speed, network, publisher, budget));
        if replay.changes > 0 {
            if replay.paused == Some(true) {
                shared.clock.set_paused(true);
                shared.publisher.publish(Event::Paused(true));
            }
            tracing::info!(
                target: "control",
                "{} earlier changes applied again: {}",
                replay.changes,
                replay.describe()
            );
        }
        let (read_tx, read_rx) = mpsc::channel(collector::READ_QUEUE);
        let gauges = Gauges {
            counters: shared.network.state(),
            shared: shared.clone(),
            wall: Arc::new(WallState::new(resumed.site, resumed.history, resumed.run)),
            stored: Arc::new(Stored::default()),
            store_url: store.url().to_string(),
            start_counts: resumed.counts,
            seed: config.seed,
            reader: collector::StoreReader(read_tx),
            remote: options.remote.clone(),
        };
        let ends = PipelineEnds {
            store,
            packets,
            events: event_tx,
            counts: resumed.counts,
            skip_rows: options.skip_rows,
            sensors_stopped: shared.sensors_stopped.clone(),
            reads: read_rx,
            remote: options.remote.clone(),
        };
        let plan = CrewPlan {
            day_length,
            start: Duration::ZERO,
            days: config.days,
            until_complete: config.until_complete,
        };
        let producers = (factory, sensors);
        let engine = Engine::launch(config, plan, producers, ends, gauges, options.remote);
        Ok((engine, event_rx))
    }

    /// Starts every task: the pipeline first, then the crew and the sensors under the
    /// supervisor, which answers the commands and drains on `stop`.
    fn launch(
        config: &EngineOptions,
        plan: CrewPlan,
        producers: (SensorFactory, Vec<Sensor>),
        ends: PipelineEnds,
        gauges: Gauges,
        remote: Option<Arc<RemoteLink>>,
    ) -> Engine {
        let failures = Failures::new();
        let shared = &gauges.shared;
        let pipeline = spawn_pipeline(
            config,
            &failures,
            &shared.publisher,
            &gauges.stored,
            &gauges.counters,
            ends,
        );
        let inlet = remote.map(|link| RemoteInlet::new(shared.network.clone(), link));
        let remote_gate = inlet.as_ref().map(|i| i.open.clone());
        let supervisor = Supervisor::start(
            (plan, config.max_sections),
            producers,
            pipeline,
            gauges.clone(),
            failures.clone(),
            remote_gate,
        );
        let (commands, command_rx) = mpsc::channel(64);
        let (stop, stop_rx) = watch::channel(false);
        let (asked, stop_asked) = watch::channel(None);
        let supervisor = tokio::spawn(supervisor.run(command_rx, stop_rx, asked));
        Engine {
            gauges,
            commands: CommandSender(commands),
            stop,
            supervisor,
            failures,
            inlet,
            stop_asked,
            drain_timeout: config.drain_timeout,
        }
    }

    /// Where readings from agents enter the network (with `StartOptions::remote`).
    pub fn remote_inlet(&self) -> Option<RemoteInlet> {
        self.inlet.clone()
    }

    /// Where commands go. A `Command::Shutdown` starts the drain; then call [`Engine::shutdown`]
    /// for the summary.
    pub fn command_sender(&self) -> CommandSender {
        self.commands.clone()
    }

    /// Produced and stored counts so far.
    pub fn counters(&self) -> RunCounters {
        RunCounters {
            readings_produced: self.gauges.shared.readings_produced.load(Ordering::Relaxed),
            readings_stored: self.gauges.stored.readings.load(Ordering::Relaxed),
            crew_reports_produced: self
                .gauges
                .shared
                .crew_reports_produced
                .load(Ordering::Relaxed),
            crew_reports_stored: self.gauges.stored.crew_reports.load(Ordering::Relaxed),
        }
    }

    /// Durations of the store writes so far (one per `Store::append` call, retries included);
    /// subtract an earlier snapshot for one interval's figures.
    pub fn write_stats(&self) -> super::stats::Snapshot {
        self.gauges.stored.writes.snapshot()
    }

    pub fn network_stats(&self) -> super::NetworkStats {
        self.gauges.counters.stats()
    }

    /// The wall after the last finished day.
    pub fn progress(&self) -> WallProgress {
        self.gauges.progress()
    }

    /// Simulated time since the start.
    pub fn simulated(&self) -> Duration {
        self.gauges.shared.clock.now()
    }

    /// The engine's live figures, for a reader that outlives this handle's borrow.
    pub fn gauges(&self) -> Gauges {
        self.gauges.clone()
    }

    /// Drains and stops: producers stop (a reading already taken is still sent), in-flight
    /// messages land, the collector flushes, the store closes. Then the event channel closes.
    ///
    /// If an engine task panicked (the supervisor then drains at once by itself), the result is
    /// [`EngineError::Panicked`] naming the task and its message, whatever else happened.
    ///
    /// The drain waits for the store at most [`EngineOptions::drain_timeout`]: past it the
    /// writer stops trying and counts what is left as not stored (the summary's `not_stored`);
    /// should a store call not even return, the engine ends [`GIVE_UP_GRACE`] later all the same,
    /// its summary from the counters.
    pub async fn shutdown(self) -> Result<Summary, EngineError> {
        let _ = self.stop.send(true);
        let mut supervisor = self.supervisor;
        let gauges = self.gauges;
        let ended = tokio::select! {
            ended = &mut supervisor => ended,
            () = store_stuck_for(&gauges.stored, self.drain_timeout) => {
                tracing::warn!(
                    target: "engine",
                    "the drain passed its deadline ({}): what the store has not taken is lost",
                    humantime(self.drain_timeout)
                );
                gauges.stored.give_up();
                match tokio::time::timeout(GIVE_UP_GRACE, &mut supervisor).await {
                    Ok(ended) => ended,
                    Err(_) => {
                        tracing::error!(target: "engine", "a store call did not return; ending");
                        supervisor.abort();
                        Ok(Ok(gauges.summary_cut_short()))
                    }
                }
            }
        };
        let result = match ended {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(EngineError::Panicked(format!(
                "the engine's supervisor task panicked: {}",
                panic_message(e.into_panic().as_ref())
            ))),
            Err(e) => Err(EngineError::Internal(format!("engine task failed: {e}"))),
        };
        match self.failures.first() {
            Some(line) => Err(EngineError::Panicked(line)),
            None => result,
        }
    }

    /// Completes when an engine task panics, with the panic's line (the engine is then already
    /// draining; call [`Engine::shutdown`] for the error). Never completes otherwise.
    pub fn failed(&self) -> impl Future<Output = String> + Send + 'static {
        let failures = self.failures.clone();
        async move { failures.wait().await }
    }

    /// Completes when a `Command::Shutdown` was accepted, with who gave it (the engine is then
    /// already draining: whoever runs it stops too, as on SIGTERM, and calls
    /// [`Engine::shutdown`]). Never completes otherwise.
    pub fn stop_asked(&self) -> impl Future<Output = String> + Send + 'static {
        let mut asked = self.stop_asked.clone();
        async move {
            let who = asked
                .wait_for(Option::is_some)
                .await
                .map(|who| who.clone().unwrap_or_default());
            match who {
                Ok(who) => who,
                // The supervisor ended without a Shutdown: no one asked.
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// Opens the store (the injected one of `options`, if any) and prepares the resumed site, on
/// tokio's blocking pool. With agents (`options.remote`), also reads the marks the store holds
/// for them into the remote link.
async fn open_store(
    config: &EngineOptions,
    options: &mut StartOptions,
) -> Result<(Box<dyn Store>, super::resume::Resumed), EngineError> {
    let (url, for_resume) = (config.store.clone(), config.clone());
    let (injected, history, agents) = (
        options.store.take(),
        options.history,
        options.remote.is_some(),
    );
    let told = options
        .on_opening
        .clone()
        .unwrap_or_else(|| Arc::new(|_| {}));
    let (store, resumed, marks) = tokio::task::spawn_blocking(move || {
        told(Opening::Connecting);
        let mut store = collector::open_store(&url, &for_resume.holder, injected)?;
        let resumed = super::resume::prepare(store.as_mut(), &for_resume, history, &*told)?;
        let marks = if agents {
            told(Opening::AgentMarks);
            store.agent_marks().map_err(EngineError::Store)?
        } else {
            crate::store::AgentMarks::new()
        };
        Ok::<_, EngineError>((store, resumed, marks))
    })
    .await
    .map_err(|e| EngineError::Internal(format!("opening the store failed: {e}")))??;
    if let Some(link) = &options.remote {
        link.set_marks(marks);
    }
    Ok((store, resumed))
}

/// The factory and the starting sensors, of the configured kinds, cycled; then the sensors the
/// run's earlier changes added and removed, in their order, so each has the name (and so the
/// seed) it had.
fn make_sensors(
    config: &EngineOptions,
    replay: &Replay,
) -> Result<(SensorFactory, Vec<Sensor>), EngineError> {
    let mut factory = SensorFactory::new(config.seed);
    let mut sensors = (0..config.sensors)
        .map(|i| {
            let kind = &config.sensor_kinds[i % config.sensor_kinds.len().max(1)];
            factory.make(kind).map_err(EngineError::Sensor)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for step in &replay.sensors {
        match step {
            SensorStep::Add(kind) => sensors.push(factory.make(kind).map_err(EngineError::Sensor)?),
            SensorStep::Remove(name) => sensors.retain(|s| s.name() != name),
        }
    }
    Ok((factory, sensors))
}

/// Publishes `Event::Started` and logs the run's shape.
fn announce(
    config: &EngineOptions,
    speed: crate::units::Speed,
    publisher: &Publisher,
    network_limit: usize,
    (site, wall): (&crate::wall::Works, &Arc<crate::wall::Wall>),
    sensors: &[Sensor],
    store_url: &str,
) {
    publisher.publish(Event::Started {
        wall: wall.clone(),
        heights: site.heights().to_vec(),
        progress: WallProgress::of(site),
        crews: site.crews(),
        sensors: sensors.iter().map(SensorInfo::of).collect(),
        network_limit,
        store: store_url.to_string(),
        speed,
    });
    tracing::info!(
        target: "engine",
        "started: {} sensors, {} crews, network limit {}, latency {}, store {}, seed {}",
        sensors.len(),
        site.crews(),
        network_limit,
        config.latency,
        crate::text::sanitize(store_url),
        config.seed
    );
}

/// Ends once the store has not taken the write under way for `timeout`, counted from the stop
/// at the earliest: the network's last rows may take their `--latency` to arrive, and a store
/// that keeps taking them is not held to the deadline.
async fn store_stuck_for(stored: &super::collector::Stored, timeout: Duration) {
    let stopped = tokio::time::Instant::now();
    loop {
        let since = stored.stuck_since().map(|s| s.max(stopped));
        let due = since.map_or(tokio::time::Instant::now() + timeout, |s| s + timeout);
        tokio::time::sleep_until(due).await;
        if stored
            .stuck_since()
            .is_some_and(|s| s.max(stopped) + timeout <= tokio::time::Instant::now())
        {
            return;
        }
    }
}

/// `30s`, `1.5s`, `250ms`: a real-time span as a log line says it.
fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

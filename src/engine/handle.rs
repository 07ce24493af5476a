//! The `Engine` handle: starts every part, routes commands, and drains on shutdown.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::EngineOptions;
use super::collector::{self, Stored};
use super::network::{Network, NetworkProbe, NetworkState};
use super::publisher::Publisher;
use super::remote::{RemoteInlet, RemoteLink};
use super::tasks::{self, CrewCommand, CrewPlan, Shared, WallState};
use super::{Command, CommandSender, Event, Replier, Request, SensorInfo, Speed, WallProgress};
use crate::sensors::{KINDS, SensorError, SensorFactory};
use crate::store::{Store, StoreError};

/// Capacity of the event channel to the watcher (see `publisher` for what happens when full).
pub const EVENT_CHANNEL: usize = 256;
/// How often network and store counters are published.
pub const STATS_EVERY: Duration = Duration::from_millis(250);

/// Why the engine could not start or stop cleanly. One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    Store(StoreError),
    Sensor(SensorError),
    /// An option out of its range (options built without `Config`, which checks them first).
    Options(String),
    /// An engine task panicked: which, and its message. The run was ended because of it.
    Panicked(String),
    Internal(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Store(e) => write!(f, "{e}"),
            EngineError::Sensor(e) => write!(f, "{e}"),
            EngineError::Options(e) | EngineError::Panicked(e) | EngineError::Internal(e) => {
                f.write_str(e)
            }
        }
    }
}

impl std::error::Error for EngineError {}

/// Produced and stored counts of one kind of row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Flow {
    pub produced: u64,
    pub stored: u64,
}

/// The network part of the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct NetworkSummary {
    pub limit: usize,
    pub max_in_flight: usize,
    pub delivered: u64,
    pub mean_wait_ms: f64,
    pub mean_latency_ms: f64,
}

/// Rows the store holds at the end (this run's and earlier runs').
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StoreRows {
    pub readings: u64,
    pub crew_reports: u64,
}

/// What a run did; the headless JSON summary.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    /// Readings made by sensors and stored, this run.
    pub readings: Flow,
    /// Crew reports made and stored, this run.
    pub crew_reports: Flow,
    pub network: NetworkSummary,
    pub wall: WallProgress,
    /// The store's URL.
    pub store: String,
    pub store_rows: StoreRows,
    pub seed: u64,
    /// Simulated seconds elapsed.
    pub simulated_seconds: f64,
    /// Rows left out of the screen feed because the watcher was slow (all were stored).
    pub screen_rows_coalesced: u64,
    /// Readings from agents through the broker (only with `--broker`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<super::remote::RemoteSummary>,
}

/// The store writer's figures so far.
#[derive(Debug, Clone)]
pub struct StoreWrites {
    /// Each `Store::append` call's duration, failed ones included.
    pub durations: super::stats::Snapshot,
    /// Rows per successful write (as values, see `Histogram::record_value`).
    pub rows: super::stats::Snapshot,
    pub failures: u64,
    pub retries: u64,
    /// The last write failed and is being retried.
    pub failing: bool,
    /// The last failed write's error, if any write has failed.
    pub last_error: Option<String>,
}

/// A snapshot of the run's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounters {
    pub readings_produced: u64,
    pub readings_stored: u64,
    pub crew_reports_produced: u64,
    pub crew_reports_stored: u64,
}

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
}

/// The running engine.
pub struct Engine {
    commands: CommandSender,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<Result<Summary, EngineError>>,
    shared: Arc<Shared>,
    stored: Arc<Stored>,
    counters: Arc<NetworkState>,
    gauges: Gauges,
    failures: Failures,
    inlet: Option<RemoteInlet>,
}

/// The engine's live figures, readable from anywhere while it runs (`status`).
#[derive(Clone)]
pub struct Gauges {
    shared: Arc<Shared>,
    wall: Arc<WallState>,
    stored: Arc<Stored>,
    counters: Arc<NetworkState>,
    store_url: String,
    /// Rows the store held when the run started.
    start_counts: crate::store::Counts,
    seed: u64,
    reader: collector::StoreReader,
    remote: Option<Arc<RemoteLink>>,
}

impl Gauges {
    /// The summary as it stands now (the store's rows: those it held at the start plus this
    /// run's stored ones).
    pub fn summary(&self) -> Summary {
        let readings = self.stored.readings.load(Ordering::Relaxed);
        let crew_reports = self.stored.crew_reports.load(Ordering::Relaxed);
        self.summary_with(StoreRows {
            readings: self.start_counts.readings + readings,
            crew_reports: self.start_counts.crew_reports + crew_reports,
        })
    }

    /// Reads of the store while the engine writes to it.
    pub fn store_reader(&self) -> collector::StoreReader {
        self.reader.clone()
    }

    /// A copy of the wall's site and its history as of now.
    pub fn book(&self) -> crate::wall::Book {
        self.wall.book().clone()
    }

    /// The version of the book (see [`crate::wall::Book::version`]), without copying it.
    pub fn book_version(&self) -> u64 {
        self.wall.book_version()
    }

    /// The store's writes: their durations, rows per write, failures and retries.
    pub fn store_writes(&self) -> StoreWrites {
        StoreWrites {
            durations: self.stored.writes.snapshot(),
            rows: self.stored.batch_rows.snapshot(),
            failures: self.stored.write_failures.load(Ordering::Relaxed),
            retries: self.stored.write_retries.load(Ordering::Relaxed),
            failing: self.stored.failing.load(Ordering::Relaxed),
            last_error: self
                .stored
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// The network now, with each packet's wait for permits.
    pub fn network(&self) -> (super::NetworkStats, super::stats::Snapshot) {
        (self.counters.stats(), self.counters.waits())
    }

    /// Simulated time since the start.
    pub fn simulated(&self) -> Duration {
        self.shared.clock.now()
    }

    /// The wall after the last finished day.
    pub fn progress(&self) -> WallProgress {
        self.wall.progress()
    }

    fn summary_with(&self, store_rows: StoreRows) -> Summary {
        let net = self.counters.stats();
        Summary {
            readings: Flow {
                produced: self.shared.readings_produced.load(Ordering::Relaxed),
                stored: self.stored.readings.load(Ordering::Relaxed),
            },
            crew_reports: Flow {
                produced: self.shared.crew_reports_produced.load(Ordering::Relaxed),
                stored: self.stored.crew_reports.load(Ordering::Relaxed),
            },
            network: NetworkSummary {
                limit: net.limit,
                max_in_flight: net.max_in_flight,
                delivered: net.delivered,
                mean_wait_ms: net.mean_wait_ms,
                mean_latency_ms: net.mean_latency_ms,
            },
            wall: self.progress(),
            store: self.store_url.clone(),
            store_rows,
            seed: self.seed,
            simulated_seconds: self.shared.clock.now().as_secs_f64(),
            screen_rows_coalesced: self.shared.publisher.coalesced(),
            remote: self.remote.as_ref().map(|l| l.summary()),
        }
    }
}

struct RunningSensor {
    info: SensorInfo,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The engine tasks that panicked: the first one's line is kept, and whoever waits (the
/// supervisor, [`Engine::failed`]) is woken. Every engine task runs under [`spawn_watched`].
#[derive(Clone)]
pub struct Failures(Arc<watch::Sender<Option<String>>>);

impl Failures {
    fn new() -> Failures {
        Failures(Arc::new(watch::channel(None).0))
    }

    fn record(&self, line: String) {
        self.0.send_if_modified(|first| {
            let new = first.is_none();
            if new {
                *first = Some(line);
            }
            new
        });
    }

    /// The first panic's line, if a task has panicked.
    pub fn first(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Waits until a task panics; returns the first panic's line.
    pub async fn wait(&self) -> String {
        let mut rx = self.0.subscribe();
        loop {
            if let Some(line) = rx.borrow_and_update().clone() {
                return line;
            }
            // The sender lives in `self`: `changed` fails only if it is dropped, which it is not.
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The text of a panic's payload, on one line.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Spawns an engine task named `task`. If it panics, the panic is recorded in `failures` (so the
/// run ends and says so) and then resumed, so its `JoinHandle` still reports it.
fn spawn_watched<F>(task: String, failures: &Failures, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let failures = failures.clone();
    tokio::spawn(async move {
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(output) => output,
            Err(payload) => {
                failures.record(format!(
                    "the {task} task panicked: {}",
                    panic_message(payload.as_ref())
                ));
                std::panic::resume_unwind(payload)
            }
        }
    })
}

/// The tasks between the network and the watcher: the collector, the store writer, the stats
/// publisher and the event forwarder.
struct Pipeline {
    collector: JoinHandle<()>,
    finish: oneshot::Sender<()>,
    writer: JoinHandle<Result<crate::store::Counts, StoreError>>,
    stats: JoinHandle<()>,
    publisher_done: Arc<Notify>,
    forward: JoinHandle<()>,
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
        let (factory, sensors) = make_sensors(config)?;
        let publisher = Publisher::new();
        let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL);
        let stored = Arc::new(Stored::default());
        let counts = resumed.counts;
        let site = resumed.site;
        let store_url = store.url().to_string();
        let (network, packets) = Network::new(
            config.network_limit,
            config.latency,
            config.seed,
            options.probe,
            collector::MAILBOX,
        );
        let counters = network.state();
        announce(
            config,
            &publisher,
            network.limit(),
            &site,
            &sensors,
            &store_url,
        );
        let budget = config.max_readings.unwrap_or(u64::MAX);
        let shared = Arc::new(Shared::new(
            config.speed,
            network,
            publisher.clone(),
            budget,
        ));
        let wall = Arc::new(WallState::new(site, resumed.history));

        let failures = Failures::new();
        let (read_tx, read_rx) = mpsc::channel(collector::READ_QUEUE);
        let ends = PipelineEnds {
            store,
            packets,
            events: event_tx,
            counts,
            skip_rows: options.skip_rows,
            sensors_stopped: shared.sensors_stopped.clone(),
            reads: read_rx,
            remote: options.remote.clone(),
        };
        let pipeline = spawn_pipeline(config, &failures, &publisher, &stored, &counters, ends);
        let plan = CrewPlan {
            day_length,
            days: config.days,
            until_complete: config.until_complete,
        };
        let (crew, crew_tx, crew_stop) = spawn_crew(plan, &shared, &wall, &failures);
        let running: Vec<RunningSensor> = sensors
            .into_iter()
            .map(|s| spawn_sensor(s, &shared, &failures))
            .collect();

        let (commands, command_rx) = mpsc::channel(64);
        let (stop, stop_rx) = watch::channel(false);
        let gauges = Gauges {
            shared: shared.clone(),
            wall,
            stored: stored.clone(),
            counters: counters.clone(),
            store_url,
            start_counts: counts,
            seed: config.seed,
            reader: collector::StoreReader(read_tx),
            remote: options.remote.clone(),
        };
        let inlet = options
            .remote
            .map(|link| RemoteInlet::new(shared.network.clone(), link));
        let supervisor = Supervisor {
            gauges: gauges.clone(),
            shared: shared.clone(),
            factory,
            sensors: running,
            retired: Vec::new(),
            next_kind: 0,
            crew_tx,
            crew_stop,
            crew,
            pipeline,
            failures: failures.clone(),
            remote_gate: inlet.as_ref().map(|i| i.open.clone()),
        };
        let supervisor = tokio::spawn(supervisor.run(command_rx, stop_rx));
        Ok((
            Engine {
                gauges,
                commands: CommandSender(commands),
                stop,
                supervisor,
                shared,
                stored,
                counters,
                failures,
                inlet,
            },
            event_rx,
        ))
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
            readings_produced: self.shared.readings_produced.load(Ordering::Relaxed),
            readings_stored: self.stored.readings.load(Ordering::Relaxed),
            crew_reports_produced: self.shared.crew_reports_produced.load(Ordering::Relaxed),
            crew_reports_stored: self.stored.crew_reports.load(Ordering::Relaxed),
        }
    }

    /// Durations of the store writes so far (one per `Store::append` call, retries included);
    /// subtract an earlier snapshot for one interval's figures.
    pub fn write_stats(&self) -> super::stats::Snapshot {
        self.stored.writes.snapshot()
    }

    pub fn network_stats(&self) -> super::NetworkStats {
        self.counters.stats()
    }

    /// The wall after the last finished day.
    pub fn progress(&self) -> WallProgress {
        self.gauges.progress()
    }

    /// Simulated time since the start.
    pub fn simulated(&self) -> Duration {
        self.shared.clock.now()
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
    pub async fn shutdown(self) -> Result<Summary, EngineError> {
        let _ = self.stop.send(true);
        let result = match self.supervisor.await {
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
    let (store, resumed, marks) = tokio::task::spawn_blocking(move || {
        let mut store = collector::open_store(&url, injected)?;
        let resumed = super::resume::prepare(store.as_mut(), &for_resume, history)?;
        let marks = if agents {
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

/// Starts the crew task; returns it, its command channel and its stop signal.
fn spawn_crew(
    plan: CrewPlan,
    shared: &Arc<Shared>,
    wall: &Arc<WallState>,
    failures: &Failures,
) -> (
    JoinHandle<()>,
    mpsc::Sender<CrewCommand>,
    watch::Sender<bool>,
) {
    let (stop, stop_rx) = watch::channel(false);
    let (commands, commands_rx) = mpsc::channel(16);
    let task = spawn_watched(
        "crew".into(),
        failures,
        tasks::crew_task(plan, shared.clone(), wall.clone(), commands_rx, stop_rx),
    );
    (task, commands, stop)
}

/// The factory and the starting sensors, of the configured kinds, cycled.
fn make_sensors(
    config: &EngineOptions,
) -> Result<(SensorFactory, Vec<crate::sensors::Sensor>), EngineError> {
    let mut factory = SensorFactory::new(config.seed);
    let sensors = (0..config.sensors)
        .map(|i| {
            let kind = &config.sensor_kinds[i % config.sensor_kinds.len().max(1)];
            factory.make(kind).map_err(EngineError::Sensor)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((factory, sensors))
}

/// Publishes `Event::Started` and logs the run's shape.
fn announce(
    config: &EngineOptions,
    publisher: &Publisher,
    network_limit: usize,
    site: &crate::wall::Works,
    sensors: &[crate::sensors::Sensor],
    store_url: &str,
) {
    publisher.publish(Event::Started {
        wall: config.wall.clone(),
        heights: site.heights().to_vec(),
        progress: WallProgress::of(site),
        crews: site.crews(),
        sensors: sensors.iter().map(info).collect(),
        network_limit,
        store: store_url.to_string(),
        speed: config.speed,
    });
    tracing::info!(
        target: "engine",
        "started: {} sensors, {} crews, network limit {}, latency {}, store {}, seed {}",
        config.sensors,
        match site.crews() {
            crate::wall::Crews::Unlimited => "unlimited".to_string(),
            crate::wall::Crews::Limited(n) => n.to_string(),
        },
        network_limit,
        config.latency,
        crate::text::sanitize(store_url),
        config.seed
    );
}

/// What the pipeline connects: the network's mailbox, the store, the watcher's channel.
struct PipelineEnds {
    store: Box<dyn Store>,
    packets: mpsc::Receiver<super::network::Payload>,
    events: mpsc::Sender<Event>,
    /// Rows the store held at the start.
    counts: crate::store::Counts,
    skip_rows: bool,
    /// Woken when the last running sensor ends (see [`tasks::Alive`]).
    sensors_stopped: Arc<Notify>,
    reads: mpsc::Receiver<collector::StoreRead>,
    remote: Option<Arc<RemoteLink>>,
}

/// Starts the event forwarder, the store writer, the collector and the stats publisher.
fn spawn_pipeline(
    config: &EngineOptions,
    failures: &Failures,
    publisher: &Arc<Publisher>,
    stored: &Arc<Stored>,
    counters: &Arc<NetworkState>,
    ends: PipelineEnds,
) -> Pipeline {
    let publisher_done = Arc::new(Notify::new());
    let forward = spawn_watched(
        "event forwarder".into(),
        failures,
        publisher
            .clone()
            .forward(ends.events, publisher_done.clone()),
    );
    let (finish, finish_rx) = oneshot::channel();
    let (batch_tx, batch_rx) = mpsc::channel(collector::WRITE_QUEUE);
    let writer = spawn_watched(
        "store writer".into(),
        failures,
        collector::writer_task(
            ends.store,
            batch_rx,
            ends.reads,
            stored.clone(),
            publisher.clone(),
            ends.skip_rows,
            ends.remote,
        ),
    );
    let collector = spawn_watched(
        "collector".into(),
        failures,
        collector::run(
            ends.packets,
            finish_rx,
            batch_tx,
            ends.counts,
            config.batch_size,
            config.flush_after,
            ends.sensors_stopped,
        ),
    );
    let stats = spawn_watched(
        "stats".into(),
        failures,
        stats_task(counters.clone(), stored.clone(), publisher.clone()),
    );
    Pipeline {
        collector,
        finish,
        writer,
        stats,
        publisher_done,
        forward,
    }
}

fn info(s: &crate::sensors::Sensor) -> SensorInfo {
    SensorInfo {
        name: s.name().to_string(),
        kind: s.kind().to_string(),
        interval_ms: u64::try_from(s.interval().as_millis()).unwrap_or(u64::MAX),
    }
}

fn spawn_sensor(
    sensor: crate::sensors::Sensor,
    shared: &Arc<Shared>,
    failures: &Failures,
) -> RunningSensor {
    let info = info(&sensor);
    let (stop, stop_rx) = watch::channel(false);
    let task = spawn_watched(
        format!("{} sensor", info.name),
        failures,
        tasks::sensor_task(sensor, tasks::Alive::new(shared), stop_rx),
    );
    RunningSensor { info, stop, task }
}

async fn stats_task(counters: Arc<NetworkState>, stored: Arc<Stored>, publisher: Arc<Publisher>) {
    let mut tick = tokio::time::interval(STATS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = None;
    loop {
        tick.tick().await;
        let stats = counters.stats();
        let rows = stored.rows();
        if last != Some((stats, rows)) {
            publisher.publish(Event::Network(stats));
            if !stored.failing.load(Ordering::Relaxed) {
                publisher.publish(Event::Store {
                    rows,
                    failing: None,
                });
            }
            last = Some((stats, rows));
        }
    }
}

struct Supervisor {
    shared: Arc<Shared>,
    factory: SensorFactory,
    sensors: Vec<RunningSensor>,
    retired: Vec<JoinHandle<()>>,
    next_kind: usize,
    crew_tx: mpsc::Sender<CrewCommand>,
    crew_stop: watch::Sender<bool>,
    crew: JoinHandle<()>,
    pipeline: Pipeline,
    gauges: Gauges,
    failures: Failures,
    /// Closed by the drain (waiting for remote deliveries under way), with a broker.
    remote_gate: Option<Arc<tokio::sync::RwLock<bool>>>,
}

impl Supervisor {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Request>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Summary, EngineError> {
        let mut commands_open = true;
        let failures = self.failures.clone();
        let failed = failures.wait();
        tokio::pin!(failed);
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                line = &mut failed => {
                    tracing::error!(target: "engine", "{line}; ending the run");
                    break;
                }
                req = commands.recv(), if commands_open => match req {
                    None => commands_open = false,
                    Some(Request { command: Command::Shutdown, reply }) => {
                        reply.send(Ok("stopping".into()));
                        break;
                    }
                    Some(Request { command, reply }) => self.command(command, reply).await,
                },
            }
        }
        self.drain().await
    }

    async fn command(&mut self, cmd: Command, reply: Replier) {
        let publisher = &self.shared.publisher;
        let result = match cmd {
            // The crew task answers between days.
            Command::AddCrew => {
                let _ = self.crew_tx.send(CrewCommand::Add(reply)).await;
                return;
            }
            Command::RemoveCrew => {
                let _ = self.crew_tx.send(CrewCommand::Remove(reply)).await;
                return;
            }
            Command::AddSensor { kind } => {
                let kind = kind.unwrap_or_else(|| {
                    let k = KINDS[self.next_kind % KINDS.len()];
                    self.next_kind += 1;
                    k.to_string()
                });
                let most = *crate::units::SENSORS_RANGE.end();
                match self.factory.make(&kind) {
                    _ if self.sensors.len() >= most => {
                        Err(format!("{most} sensors already, the most a run may have"))
                    }
                    Ok(sensor) => {
                        let running = spawn_sensor(sensor, &self.shared, &self.failures);
                        let name = running.info.name.clone();
                        tracing::info!(target: "engine", "sensor {name} added");
                        publisher.publish(Event::SensorAdded(running.info.clone()));
                        self.sensors.push(running);
                        Ok(format!("sensor {name} added"))
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Command::RemoveSensor => match self.sensors.pop() {
                Some(s) => {
                    let _ = s.stop.send(true);
                    self.retired.push(s.task);
                    tracing::info!(target: "engine", "sensor {} removed", s.info.name);
                    let done = format!("sensor {} removed", s.info.name);
                    publisher.publish(Event::SensorRemoved(s.info.name));
                    Ok(done)
                }
                None => Err("no sensor left to remove".into()),
            },
            Command::TogglePause => {
                let paused = self.shared.clock.toggle_pause();
                let what = if paused { "paused" } else { "resumed" };
                tracing::info!(target: "engine", "{what}");
                publisher.publish(Event::Paused(paused));
                Ok(what.into())
            }
            // Out of range: refused, the clock untouched.
            Command::SetSpeed(speed) => crate::units::check_speed(speed).map(|speed| {
                self.shared.clock.set_speed(speed);
                publisher.publish(Event::SpeedChanged(speed));
                match speed {
                    Speed::Max => "speed max".into(),
                    Speed::Factor(f) => format!("speed ×{f}"),
                }
            }),
            Command::Shutdown => Ok("stopping".into()),
        };
        reply.send(result);
    }

    async fn drain(self) -> Result<Summary, EngineError> {
        tracing::info!(target: "engine", "stopping: producers stop, the network drains");
        let _ = self.crew_stop.send(true);
        for s in &self.sensors {
            let _ = s.stop.send(true);
        }
        // Remote readings: none taken from now on, and those under way land first.
        if let Some(gate) = &self.remote_gate {
            *gate.write().await = false;
        }
        // A task's panic is already in `failures` (see `spawn_watched`): `Engine::shutdown`
        // reports it. Here the drain only goes on past it.
        let _ = self.crew.await;
        for s in self.sensors {
            let _ = s.task.await;
        }
        for t in self.retired {
            let _ = t.await;
        }
        let p = self.pipeline;
        let _ = p.finish.send(());
        let _ = p.collector.await;
        let closed = match p.writer.await {
            Ok(r) => r.map_err(EngineError::Store),
            Err(e) => Err(EngineError::Internal(format!("the store task failed: {e}"))),
        };
        p.stats.abort();
        let net = self.gauges.counters.stats();
        let rows = self.gauges.stored.rows();
        self.shared.publisher.publish(Event::Network(net));
        self.shared.publisher.publish(Event::Store {
            rows,
            failing: None,
        });
        p.publisher_done.notify_one();
        let _ = p.forward.await;
        let counts = closed?;
        let summary = self.gauges.summary_with(StoreRows {
            readings: counts.readings,
            crew_reports: counts.crew_reports,
        });
        tracing::info!(
            target: "engine",
            "stopped: {} readings and {} crew reports stored",
            summary.readings.stored,
            summary.crew_reports.stored
        );
        Ok(summary)
    }
}

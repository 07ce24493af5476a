//! The supervisor: the task that owns the running sensors and the crew task, answers commands,
//! and drains the run when told to stop or when an engine task panics.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{RwLock, mpsc, watch};
use tokio::task::JoinHandle;

use super::failures::{Failures, spawn_watched};
use super::gauges::Gauges;
use super::pipeline::Pipeline;
use super::summary::{StoreRows, Summary};
use super::tasks::{self, CrewPlan, Shared, WallState};
use super::{
    Asker, COUNT_RANGE, Change, Command, EngineError, Event, IDEMPOTENCY_WINDOW, Outcome, Refusal,
    Reply, Request, SensorInfo, Speed,
};
use crate::sensors::{KINDS, Sensor, SensorFactory};
use crate::wall::{Crews, Wall, Works};

/// How long a wall's load waits for the crew reports of the wall before it to be stored.
const OLD_RUN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Owns the producers (the crew task and the sensor tasks) and the pipeline, for the run's
/// length: answers commands, and drains everything in order at the end.
pub(super) struct Supervisor {
    shared: Arc<Shared>,
    factory: SensorFactory,
    sensors: Vec<RunningSensor>,
    retired: Vec<JoinHandle<()>>,
    next_kind: usize,
    crew_stop: watch::Sender<bool>,
    crew: JoinHandle<()>,
    /// The crew task's limits, for the task a loaded wall starts.
    plan: CrewPlan,
    /// The most sections a loaded wall's profile may have.
    max_sections: usize,
    pipeline: Pipeline,
    gauges: Gauges,
    failures: Failures,
    /// Closed by the drain (waiting for remote deliveries under way), with a broker.
    remote_gate: Option<Arc<RwLock<bool>>>,
    /// The answers to keyed commands, for their retries.
    answered: Answered,
}

impl Supervisor {
    /// Starts the crew task and the sensor tasks, owned by the supervisor returned (to be run).
    /// `remote_gate`, with a broker, is closed by the drain.
    pub(super) fn start(
        (plan, max_sections): (CrewPlan, usize),
        (factory, sensors): (SensorFactory, Vec<Sensor>),
        pipeline: Pipeline,
        gauges: Gauges,
        failures: Failures,
        remote_gate: Option<Arc<RwLock<bool>>>,
    ) -> Supervisor {
        let shared = gauges.shared.clone();
        let (crew, crew_stop) = spawn_crew(plan.clone(), &shared, &gauges.wall, &failures);
        let sensors = sensors
            .into_iter()
            .map(|s| spawn_sensor(s, &shared, &failures))
            .collect();
        Supervisor {
            gauges,
            shared,
            factory,
            sensors,
            retired: Vec::new(),
            next_kind: 0,
            crew_stop,
            crew,
            plan,
            max_sections,
            pipeline,
            failures,
            remote_gate,
            answered: Answered::default(),
        }
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Request>,
        mut stop: watch::Receiver<bool>,
        stop_asked: watch::Sender<Option<String>>,
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
                    Some(Request { command: Command::Shutdown, asker, reply, .. }) => {
                        tracing::info!(target: "control", "{asker}: stopping");
                        reply.send(Ok(Outcome::Stopping));
                        // Whoever runs the engine stops with it (else a site without its
                        // engine would run on).
                        stop_asked.send_replace(Some(asker.0));
                        break;
                    }
                    Some(request) => self.answer(request).await,
                },
            }
        }
        self.drain().await
    }

    /// Carries out one command and answers it; every answer is logged with who asked.
    async fn answer(
        &mut self,
        Request {
            command,
            asker,
            key,
            reply,
        }: Request,
    ) {
        if let Some(first) = key.as_deref().and_then(|k| self.answered.get(k, &command)) {
            tracing::info!(target: "control", "{asker}: a retry, answered as before");
            reply.send(first);
            return;
        }
        let keyed = key.map(|k| (k, hash_of(&command)));
        let result = self.carry_out(command, &asker).await;
        if let Some((key, hash)) = keyed {
            self.answered.keep(key, hash, result.clone());
        }
        match &result {
            Ok(outcome) => tracing::info!(target: "control", "{asker}: {outcome}"),
            Err(why) => tracing::info!(target: "control", "{asker}: refused: {why}"),
        }
        reply.send(result);
    }

    /// Decides, records the change in the store (the command fails if the store cannot), then
    /// makes it: a change is never made unrecorded, and a refused command changes nothing.
    async fn carry_out(&mut self, command: Command, asker: &Asker) -> Reply {
        let plan = self.decide(command)?;
        if let Plan::LoadWall { wall, crews } = plan {
            return self.load_wall(wall, crews, asker).await;
        }
        if let Some(change) = plan.change() {
            self.record(&change, asker).await?;
        }
        Ok(self.make(plan))
    }

    /// What `command` would do, or why not; nothing is changed yet.
    fn decide(&mut self, command: Command) -> Result<Plan, Refusal> {
        let count_in_range = |n: u32| {
            crate::units::in_range(n, &COUNT_RANGE).map_err(|e| Refusal::OutOfRange(e.to_string()))
        };
        Ok(match command {
            Command::AddCrews(n) => {
                let n = count_in_range(n)?;
                let crews = self.limited_crews()?;
                if self.gauges.wall.book().works().is_complete() {
                    return Err(Refusal::WallComplete);
                }
                let most = *crate::units::CREWS_RANGE.end();
                if crews.saturating_add(n) > most {
                    return Err(Refusal::TooManyCrews { most });
                }
                Plan::AddCrews(n)
            }
            Command::RemoveCrews(n) => {
                let n = count_in_range(n)?;
                let crews = self.limited_crews()?;
                if n >= crews {
                    return Err(Refusal::LastCrew { crews });
                }
                Plan::RemoveCrews(n)
            }
            Command::AddSensors { kind, count } => {
                self.plan_sensors(kind, count_in_range(count)?)?
            }
            Command::RemoveSensors(names) => {
                let mut unique: Vec<String> = Vec::new();
                for name in names {
                    if !self.sensors.iter().any(|s| s.info.name == name) {
                        return Err(Refusal::UnknownSensor(name));
                    }
                    if !unique.contains(&name) {
                        unique.push(name);
                    }
                }
                if unique.is_empty() {
                    return Err(Refusal::NoSensor);
                }
                Plan::RemoveSensors(unique)
            }
            Command::RemoveNewestSensor => match self.sensors.last() {
                Some(s) => Plan::RemoveSensors(vec![s.info.name.clone()]),
                None => return Err(Refusal::NoSensor),
            },
            Command::Pause | Command::Resume => {
                let paused = command == Command::Pause;
                if self.shared.clock.is_paused() == paused {
                    Plan::Unchanged(Outcome::Paused { paused })
                } else {
                    Plan::Pause(paused)
                }
            }
            // Out of range: refused, the clock untouched.
            Command::SetSpeed(speed) => Plan::Speed(
                crate::units::check_speed(speed).map_err(|e| Refusal::OutOfRange(e.to_string()))?,
            ),
            Command::LoadWall { profiles, crews } => {
                let wall = Wall::parse(profiles.as_bytes(), self.max_sections)
                    .map_err(|e| Refusal::BadWall(e.to_string()))?;
                let crews = match crews {
                    None => self.gauges.wall.book().works().crews(),
                    Some(Crews::Limited(n)) => Crews::Limited(
                        crate::units::in_range(n, &crate::units::CREWS_RANGE)
                            .map_err(|e| Refusal::OutOfRange(e.to_string()))?,
                    ),
                    Some(Crews::Unlimited) => Crews::Unlimited,
                };
                Plan::LoadWall { wall, crews }
            }
            Command::Shutdown => Plan::Unchanged(Outcome::Stopping),
        })
    }

    /// Loads `wall` as the next run: the crew task stops, the old run's crew reports are all
    /// stored, the load is recorded and the store starts the run, then the new wall's crew task
    /// starts (day 1 ends a day from now). Until the store has recorded it, a failure leaves
    /// the old wall working as it was.
    async fn load_wall(&mut self, wall: Wall, crews: Crews, asker: &Asker) -> Reply {
        let _ = self.crew_stop.send(true);
        let _ = (&mut self.crew).await;
        let run = self.gauges.wall.run().0 + 1;
        let hash = wall.fingerprint();
        let change = Change::WallLoaded {
            run,
            profiles: super::change::profiles_text(&wall),
            crews,
        };
        let recorded = match self.old_run_stored().await {
            Ok(()) => self.record(&change, asker).await,
            Err(why) => Err(why),
        };
        if let Err(why) = recorded {
            self.start_crew(self.shared.clock.now());
            return Err(why);
        }
        if let Err(e) = self.gauges.reader.start_run(run, hash.clone()).await {
            tracing::error!(target: "store", "run {run} recorded but not started: {e}; the site starts it when it starts again");
            self.start_crew(self.shared.clock.now());
            return Err(Refusal::Store(format!(
                "run {run} was recorded but the store could not start it ({e}); it starts when \
                 the site starts again"
            )));
        }
        let (profiles, sections) = (wall.profiles(), wall.sections());
        let wall = Arc::new(wall);
        let progress = self
            .gauges
            .wall
            .begin(Works::new((*wall).clone(), crews), run);
        self.shared.publisher.publish(Event::WallLoaded {
            wall,
            progress,
            crews,
            run,
        });
        self.start_crew(self.shared.clock.now());
        Ok(Outcome::WallLoaded {
            run,
            fingerprint: hash,
            profiles,
            sections,
            crews,
        })
    }

    /// Waits until every crew report made so far is stored (at most [`OLD_RUN_WAIT`]), so that
    /// none of the old run's lands in the new one's.
    async fn old_run_stored(&self) -> Result<(), Refusal> {
        let deadline = tokio::time::Instant::now() + OLD_RUN_WAIT;
        loop {
            let stored = self.gauges.stored.crew_reports.load(Ordering::Acquire);
            let made = self.shared.crew_reports_produced.load(Ordering::Acquire);
            if stored >= made {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Refusal::Store(format!(
                    "{} crew reports of the wall now are not stored yet; try again",
                    made - stored
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// Starts the crew task again (after a load, or after one that failed: the day under way
    /// then starts again), its next day ending a day after `start`.
    fn start_crew(&mut self, start: std::time::Duration) {
        self.plan.start = start;
        let (crew, stop) = spawn_crew(
            self.plan.clone(),
            &self.shared,
            &self.gauges.wall,
            &self.failures,
        );
        self.crew = crew;
        self.crew_stop = stop;
    }

    /// The crews now, when they are limited (unlimited crews cannot be added or removed).
    fn limited_crews(&self) -> Result<u32, Refusal> {
        match self.gauges.wall.book().works().crews() {
            Crews::Limited(n) => Ok(n),
            Crews::Unlimited => Err(Refusal::UnlimitedCrews),
        }
    }

    /// `count` sensors of `kind` (or of the kinds in turn), made on a copy of the factory: the
    /// factory itself moves on only when they are recorded, so that a restart names them alike.
    fn plan_sensors(&mut self, kind: Option<String>, count: u32) -> Result<Plan, Refusal> {
        let most = *crate::units::SENSORS_RANGE.end();
        if self.sensors.len() + count as usize > most {
            return Err(Refusal::TooManySensors { most });
        }
        let mut factory = self.factory.clone();
        let mut next_kind = self.next_kind;
        let sensors = (0..count)
            .map(|_| {
                let kind = kind.clone().unwrap_or_else(|| {
                    next_kind += 1;
                    KINDS[(next_kind - 1) % KINDS.len()].to_string()
                });
                factory
                    .make(&kind)
                    .map_err(|e| Refusal::UnknownKind(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan::AddSensors {
            sensors,
            factory,
            next_kind,
        })
    }

    /// Appends `change` to the store and waits until it is committed.
    async fn record(&self, change: &Change, asker: &Asker) -> Result<(), Refusal> {
        self.gauges
            .reader
            .append_change(chrono::Utc::now(), asker.0.clone(), change.to_json())
            .await
            .map(|_| ())
            .map_err(|e| Refusal::Store(e.to_string()))
    }

    /// Makes a decided (and recorded) change and says what it did.
    fn make(&mut self, plan: Plan) -> Outcome {
        let publisher = self.shared.publisher.clone();
        match plan {
            Plan::AddCrews(n) => {
                let (numbers, crews) = self.change_crews(n, |book| book.add_crew().ok());
                Outcome::CrewsAdded { numbers, crews }
            }
            Plan::RemoveCrews(n) => {
                let (numbers, crews) = self.change_crews(n, |book| book.remove_crew().ok());
                Outcome::CrewsRemoved { numbers, crews }
            }
            Plan::AddSensors {
                sensors,
                factory,
                next_kind,
            } => {
                self.factory = factory;
                self.next_kind = next_kind;
                let mut added = Vec::new();
                for sensor in sensors {
                    let running = spawn_sensor(sensor, &self.shared, &self.failures);
                    publisher.publish(Event::SensorAdded(running.info.clone()));
                    added.push(running.info.clone());
                    self.sensors.push(running);
                }
                Outcome::SensorsAdded { sensors: added }
            }
            Plan::RemoveSensors(names) => {
                for name in &names {
                    if let Some(i) = self.sensors.iter().position(|s| &s.info.name == name) {
                        let s = self.sensors.remove(i);
                        let _ = s.stop.send(true);
                        self.retired.push(s.task);
                        publisher.publish(Event::SensorRemoved(s.info.name));
                    }
                }
                Outcome::SensorsRemoved { names }
            }
            Plan::Pause(paused) => {
                self.shared.clock.set_paused(paused);
                publisher.publish(Event::Paused(paused));
                Outcome::Paused { paused }
            }
            Plan::Speed(speed) => {
                self.shared.clock.set_speed(speed);
                publisher.publish(Event::SpeedChanged(speed));
                Outcome::Speed { speed }
            }
            Plan::Unchanged(outcome) => outcome,
            Plan::LoadWall { .. } => unreachable!("a wall is loaded by load_wall"),
        }
    }

    /// Adds or removes `n` crews with `one` (between two days), publishes the crews now, and
    /// returns the numbers of the crews changed and how many crews there are now.
    fn change_crews(
        &self,
        n: u32,
        one: impl Fn(&mut crate::wall::Book) -> Option<u32>,
    ) -> (Vec<u32>, u32) {
        let (numbers, now) = self.gauges.wall.change_crews(|book| {
            let numbers: Vec<u32> = (0..n).filter_map(|_| one(book)).collect();
            (numbers, book.works().crews())
        });
        self.shared.publisher.publish(Event::CrewsChanged(now));
        let crews = match now {
            Crews::Limited(n) => n,
            // Never: unlimited crews are refused before they get here.
            Crews::Unlimited => 0,
        };
        (numbers, crews)
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
        // Given up: the rows held at the start and this run's stored ones.
        let summary = match closed? {
            Some(counts) => self.gauges.summary_with(StoreRows {
                readings: counts.readings,
                crew_reports: counts.crew_reports,
            }),
            None => self.gauges.summary(),
        };
        tracing::info!(
            target: "engine",
            "stopped: {} readings and {} crew reports stored",
            summary.readings.stored,
            summary.crew_reports.stored
        );
        Ok(summary)
    }
}

/// The answers to keyed commands of the last [`IDEMPOTENCY_WINDOW`], each with its command's
/// hash (a loaded wall's text is not kept for ten minutes).
#[derive(Default)]
struct Answered(std::collections::HashMap<String, (tokio::time::Instant, u64, Reply)>);

impl Answered {
    /// The first answer to `key`, if it was given for the same command within the window. The
    /// same key with another command is not a retry: it is carried out (and keeps the key).
    fn get(&mut self, key: &str, command: &Command) -> Option<Reply> {
        let now = tokio::time::Instant::now();
        self.0
            .retain(|_, (at, _, _)| now.duration_since(*at) < IDEMPOTENCY_WINDOW);
        match self.0.get(key) {
            Some((_, first, reply)) if *first == hash_of(command) => Some(reply.clone()),
            _ => None,
        }
    }

    fn keep(&mut self, key: String, hash: u64, reply: Reply) {
        self.0
            .insert(key, (tokio::time::Instant::now(), hash, reply));
    }
}

/// A command's JSON, hashed.
fn hash_of(command: &Command) -> u64 {
    let json = serde_json::to_vec(command).unwrap_or_default();
    crate::hash::fnv1a(crate::hash::FNV_OFFSET, &json)
}

/// A decided command, ready to be recorded and made.
enum Plan {
    AddCrews(u32),
    RemoveCrews(u32),
    AddSensors {
        sensors: Vec<Sensor>,
        /// The factory and the kinds' turn after making them.
        factory: SensorFactory,
        next_kind: usize,
    },
    RemoveSensors(Vec<String>),
    Pause(bool),
    Speed(Speed),
    /// Recorded and made by [`Supervisor::load_wall`].
    LoadWall {
        wall: Wall,
        crews: Crews,
    },
    /// Nothing to change or record (pausing a paused site, a stop).
    Unchanged(Outcome),
}

impl Plan {
    /// The change to record, as it will be made.
    fn change(&self) -> Option<Change> {
        Some(match self {
            Plan::AddCrews(count) => Change::CrewsAdded { count: *count },
            Plan::RemoveCrews(count) => Change::CrewsRemoved { count: *count },
            Plan::AddSensors { sensors, .. } => Change::SensorsAdded {
                kinds: sensors.iter().map(|s| s.kind().to_string()).collect(),
            },
            Plan::RemoveSensors(names) => Change::SensorsRemoved {
                names: names.clone(),
            },
            Plan::Pause(paused) => Change::Paused { paused: *paused },
            Plan::Speed(speed) => Change::Speed { speed: *speed },
            Plan::LoadWall { .. } | Plan::Unchanged(_) => return None,
        })
    }
}

/// A sensor task the supervisor started, and how to stop it.
struct RunningSensor {
    info: SensorInfo,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts the crew task; returns it and its stop signal.
fn spawn_crew(
    plan: CrewPlan,
    shared: &Arc<Shared>,
    wall: &Arc<WallState>,
    failures: &Failures,
) -> (JoinHandle<()>, watch::Sender<bool>) {
    let (stop, stop_rx) = watch::channel(false);
    let task = spawn_watched(
        "crew".into(),
        failures,
        tasks::crew_task(plan, shared.clone(), wall.clone(), stop_rx),
    );
    (task, stop)
}

/// Starts a sensor's task.
fn spawn_sensor(sensor: Sensor, shared: &Arc<Shared>, failures: &Failures) -> RunningSensor {
    let info = SensorInfo::of(&sensor);
    let (stop, stop_rx) = watch::channel(false);
    let task = spawn_watched(
        format!("{} sensor", info.name),
        failures,
        tasks::sensor_task(sensor, tasks::Alive::new(shared), stop_rx),
    );
    RunningSensor { info, stop, task }
}

//! The supervisor: the task that owns the running sensors and the crew task, answers commands,
//! and drains the run when told to stop or when an engine task panics.

use std::sync::Arc;

use tokio::sync::{RwLock, mpsc, watch};
use tokio::task::JoinHandle;

use super::failures::{Failures, spawn_watched};
use super::gauges::Gauges;
use super::pipeline::Pipeline;
use super::summary::{StoreRows, Summary};
use super::tasks::{self, CrewCommand, CrewPlan, Shared, WallState};
use super::{Command, EngineError, Event, Replier, Request, SensorInfo, Speed};
use crate::sensors::{KINDS, Sensor, SensorFactory};

/// Owns the producers (the crew task and the sensor tasks) and the pipeline, for the run's
/// length: answers commands, and drains everything in order at the end.
pub(super) struct Supervisor {
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
    remote_gate: Option<Arc<RwLock<bool>>>,
}

impl Supervisor {
    /// Starts the crew task and the sensor tasks, owned by the supervisor returned (to be run).
    /// `remote_gate`, with a broker, is closed by the drain.
    pub(super) fn start(
        plan: CrewPlan,
        (factory, sensors): (SensorFactory, Vec<Sensor>),
        pipeline: Pipeline,
        gauges: Gauges,
        failures: Failures,
        remote_gate: Option<Arc<RwLock<bool>>>,
    ) -> Supervisor {
        let shared = gauges.shared.clone();
        let (crew, crew_tx, crew_stop) = spawn_crew(plan, &shared, &gauges.wall, &failures);
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
            crew_tx,
            crew_stop,
            crew,
            pipeline,
            failures,
            remote_gate,
        }
    }

    pub(super) async fn run(
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

/// A sensor task the supervisor started, and how to stop it.
struct RunningSensor {
    info: SensorInfo,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
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

//! The tasks between the network and the watcher: the collector, the store writer, the stats
//! publisher and the event forwarder, started together and drained by the supervisor.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::collector::{self, Stored};
use super::failures::{Failures, spawn_watched};
use super::network::{NetworkState, Payload};
use super::publisher::Publisher;
use super::remote::RemoteLink;
use super::{EngineOptions, Event};
use crate::store::{Store, StoreError};

/// How often network and store counters are published.
pub const STATS_EVERY: Duration = Duration::from_millis(250);

/// The tasks between the network and the watcher: the collector, the store writer, the stats
/// publisher and the event forwarder.
pub(super) struct Pipeline {
    pub(super) collector: JoinHandle<()>,
    pub(super) finish: oneshot::Sender<()>,
    pub(super) writer: JoinHandle<Result<Option<crate::store::Counts>, StoreError>>,
    pub(super) stats: JoinHandle<()>,
    pub(super) publisher_done: Arc<Notify>,
    pub(super) forward: JoinHandle<()>,
}

/// What the pipeline connects: the network's mailbox, the store, the watcher's channel.
pub(super) struct PipelineEnds {
    pub(super) store: Box<dyn Store>,
    pub(super) packets: mpsc::Receiver<Payload>,
    pub(super) events: mpsc::Sender<Event>,
    /// Rows the store held at the start.
    pub(super) counts: crate::store::Counts,
    pub(super) skip_rows: bool,
    /// Woken when the last running sensor ends (see [`super::tasks::Alive`]).
    pub(super) sensors_stopped: Arc<Notify>,
    pub(super) reads: mpsc::Receiver<collector::StoreRead>,
    pub(super) remote: Option<Arc<RemoteLink>>,
}

/// Starts the event forwarder, the store writer, the collector and the stats publisher.
pub(super) fn spawn_pipeline(
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
            collector::Sizes {
                batch_size: config.batch_size,
                packet: config.network_limit,
                flush_after: config.flush_after,
            },
            ends.sensors_stopped,
            stored.clone(),
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

/// Publishes the network's and the store's counters every [`STATS_EVERY`], when they changed
/// (the store's only while it is not failing: the writer publishes its failures).
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

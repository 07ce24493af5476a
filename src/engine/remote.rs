//! Readings from other machines: what a feeder of remote readings (the broker's subscriber,
//! `crate::broker::subscriber`) and the engine share. The engine knows nothing of MQTT.
//!
//! A remote message is a network message like a local one: [`RemoteInlet::admit`] takes one
//! permit of the same semaphore on its arrival (so local and remote messages together never
//! exceed the limit), [`Admitted::deliver`] holds it until the reading is in the collector's
//! mailbox and then gives it back, [`Admitted::refuse`] gives it back for a message that is not
//! to be stored. No simulated latency is added: the reading has crossed a real network already. The collector numbers it
//! with the others; the store keeps its (agent, seq) at most once; and once its batch is stored,
//! [`RemoteLink`] records the agent's highest stored seq, which the feeder publishes as the
//! site's confirmation.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{Notify, OwnedRwLockReadGuard, RwLock};

pub use super::network::RemoteReading;
use super::network::{Closed, Network, Payload, RemotePermit};
use crate::store::{AgentMarks, SeqRanges};

/// Counts of the remote readings of a run, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RemoteSummary {
    /// Messages that arrived on the readings topic (every one is acknowledged).
    pub received: u64,
    /// Malformed or oversized payloads: logged, acknowledged, never stored.
    pub rejected: u64,
    /// Redeliveries of readings already taken (at or below the agent's mark), left out.
    pub duplicates: u64,
    /// Readings that came after a gap in their agent's sequence (a reconnect race); left out
    /// unconfirmed, so the agent sends them again in order.
    pub out_of_order: u64,
    /// Readings delivered into the collector's mailbox.
    pub delivered: u64,
    /// Readings stored this run.
    pub stored: u64,
    /// Readings the store left out as stored already.
    pub store_duplicates: u64,
}

impl RemoteSummary {
    /// Agents' readings the site took in to store: delivered to the collector, less those the
    /// store left out as stored already.
    pub fn taken(&self) -> u64 {
        self.delivered.saturating_sub(self.store_duplicates)
    }
}

/// What the engine and the feeder share: counters, the agents' stored seqs, and how the link
/// to the broker fares.
#[derive(Debug, Default)]
pub struct RemoteLink {
    pub received: AtomicU64,
    pub rejected: AtomicU64,
    pub duplicates: AtomicU64,
    pub out_of_order: AtomicU64,
    pub delivered: AtomicU64,
    pub stored: AtomicU64,
    pub store_duplicates: AtomicU64,
    /// Every agent's stored seqs (what the store held at the start, then this run's).
    marks: Mutex<AgentMarks>,
    /// The seqs stored (or to be confirmed again) since the feeder last took them, per agent,
    /// kept as ranges: a batch's thousands of consecutive seqs are one entry, and each is
    /// looked up once in `marks` for the stored range it lies in.
    changed: Mutex<BTreeMap<String, SeqRanges>>,
    notify: Notify,
    /// Why the broker link is failing, while it keeps failing (see `broker::subscriber`).
    failing: Mutex<Option<String>>,
}

/// A range of an agent's seqs the site has stored: `(agent, start, end)`, what a confirmation
/// says.
pub type Confirmation = (String, u64, u64);

impl RemoteLink {
    pub fn new() -> Arc<RemoteLink> {
        Arc::new(RemoteLink::default())
    }

    pub fn summary(&self) -> RemoteSummary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RemoteSummary {
            received: get(&self.received),
            rejected: get(&self.rejected),
            duplicates: get(&self.duplicates),
            out_of_order: get(&self.out_of_order),
            delivered: get(&self.delivered),
            stored: get(&self.stored),
            store_duplicates: get(&self.store_duplicates),
        }
    }

    /// The store's marks when the run starts (set by the engine, before any delivery): each
    /// agent's latest range is confirmed again.
    pub(crate) fn set_marks(&self, marks: AgentMarks) {
        let mut changed = lock(&self.changed);
        for (agent, ranges) in &marks {
            if let Some((_, end)) = ranges.last() {
                changed.entry(agent.clone()).or_default().insert(end);
            }
        }
        *lock(&self.marks) = marks;
        drop(changed);
        self.notify.notify_one();
    }

    /// Every agent's stored seqs.
    pub fn marks(&self) -> AgentMarks {
        lock(&self.marks).clone()
    }

    /// Each agent's latest stored range (the one with the highest seqs): what a restarted
    /// agent starts above, confirmed on every connection.
    pub fn latest(&self) -> Vec<Confirmation> {
        lock(&self.marks)
            .iter()
            .filter_map(|(a, r)| r.last().map(|(s, e)| (a.clone(), s, e)))
            .collect()
    }

    /// After a batch is stored: `agent`'s `seqs` are (some were already).
    pub(crate) fn stored(&self, agent: &str, seqs: impl IntoIterator<Item = u64>) {
        let mut marks = lock(&self.marks);
        let ranges = marks.entry(agent.to_string()).or_default();
        let mut changed = lock(&self.changed);
        let changed = changed.entry(agent.to_string()).or_default();
        for seq in seqs {
            ranges.insert(seq);
            changed.insert(seq);
        }
        self.notify.notify_one();
    }

    /// `agent` sent `seq` again (a redelivery of a stored reading, or not yet stored): if it
    /// is stored, its range is confirmed again (the agent may have missed the confirmation:
    /// one lost with a killed site, or of a range it had not reached).
    pub fn confirm_again(&self, agent: &str, seq: u64) {
        let stored = lock(&self.marks)
            .get(agent)
            .is_some_and(|r| r.contains(seq));
        if stored {
            lock(&self.changed)
                .entry(agent.to_string())
                .or_default()
                .insert(seq);
            self.notify.notify_one();
        }
    }

    /// Waits until some agent's ranges grew, then takes them: each once, lowest first per
    /// agent (so a retained confirmation is left at the highest).
    pub async fn changed(&self) -> Vec<Confirmation> {
        loop {
            let taken = self.take_changed();
            if !taken.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }

    /// The ranges that grew, without waiting.
    pub fn take_changed(&self) -> Vec<Confirmation> {
        let changed = std::mem::take(&mut *lock(&self.changed));
        let marks = lock(&self.marks);
        let mut out: Vec<Confirmation> = Vec::new();
        for (agent, seqs) in changed {
            let Some(ranges) = marks.get(&agent) else {
                continue;
            };
            // A run of changed seqs, all stored, lies in one stored range.
            let mut ranges: Vec<(u64, u64)> = seqs
                .iter()
                .filter_map(|(start, _)| ranges.range_of(start))
                .collect();
            ranges.dedup();
            out.extend(ranges.into_iter().map(|(s, e)| (agent.clone(), s, e)));
        }
        out
    }

    /// The broker link keeps failing (`Some` and why), or works again (`None`).
    pub fn set_failing(&self, why: Option<String>) {
        *lock(&self.failing) = why;
    }

    /// Why the broker link keeps failing, if it does.
    pub fn failing(&self) -> Option<String> {
        lock(&self.failing).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where remote readings enter the network. Cloned freely; closed by the engine's drain, which
/// waits for the deliveries under way.
#[derive(Clone)]
pub struct RemoteInlet {
    pub(crate) network: Arc<Network>,
    pub(crate) open: Arc<RwLock<bool>>,
    pub(crate) link: Arc<RemoteLink>,
}

/// A remote message that arrived and holds its permit.
pub struct Admitted {
    permit: RemotePermit,
    network: Arc<Network>,
    link: Arc<RemoteLink>,
    /// Keeps the engine's drain waiting until this message is delivered or refused.
    _open: OwnedRwLockReadGuard<bool>,
}

impl Admitted {
    /// Puts the reading in the collector's mailbox (waiting while it is full), then gives the
    /// permit back.
    pub async fn deliver(self, reading: RemoteReading) -> Result<(), Closed> {
        let Admitted {
            permit,
            network,
            link,
            _open,
        } = self;
        network
            .deliver_remote(permit, Payload::Remote(Box::new(reading)))
            .await?;
        link.delivered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Gives the permit back: the message is not to be stored.
    pub fn refuse(self) {
        self.permit.refuse();
    }
}

impl RemoteInlet {
    /// An open inlet into `network`, reporting to `link`.
    pub(crate) fn new(network: Arc<Network>, link: Arc<RemoteLink>) -> RemoteInlet {
        RemoteInlet {
            network,
            open: Arc::new(RwLock::new(true)),
            link,
        }
    }

    /// A message arrived: takes its permit, waiting in line with local messages. `Err(Closed)`
    /// once the engine drains: the message is not taken (not to be acknowledged).
    pub async fn admit(&self) -> Result<Admitted, Closed> {
        let open = self.open.clone().read_owned().await;
        if !*open {
            return Err(Closed);
        }
        let permit = self.network.admit_remote().await?;
        Ok(Admitted {
            permit,
            network: self.network.clone(),
            link: self.link.clone(),
            _open: open,
        })
    }

    /// The link the engine reports stored readings to.
    pub fn link(&self) -> &Arc<RemoteLink> {
        &self.link
    }
}

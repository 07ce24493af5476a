//! The site's log: a `tracing` layer that keeps each event (Debug and above, as a level, a
//! target and the formatted message) in a bounded buffer for the site task, which hands the
//! lines to every viewer. Recording never blocks and never waits for the site.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tracing::field::{Field, Visit};

use super::model::LogLine;

/// Every target the code logs under (`tracing::info!(target: "crew", …)`), listed in the log
/// pane's target selector from the start. A test holds this list to the code.
pub const TARGETS: [&str; 9] = [
    "crew", "sensor", "network", "store", "engine", "serve", "http", "broker", "control",
];

/// Lines kept for the site task at most; older ones are dropped (and counted) past it.
pub const PENDING: usize = 2_000;

/// Lines recorded and not yet taken by the site.
#[derive(Default)]
pub struct LogFeed {
    lines: Mutex<VecDeque<LogLine>>,
    bell: Notify,
    dropped: AtomicU64,
}

impl LogFeed {
    pub fn new() -> Arc<LogFeed> {
        Arc::new(LogFeed::default())
    }

    pub fn push(&self, line: LogLine) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == PENDING {
            lines.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lines.push_back(line);
        drop(lines);
        self.bell.notify_one();
    }

    /// Every line recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<LogLine> {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.drain(..).collect()
    }

    /// Waits until a line is recorded (one waiter: the site task).
    pub async fn rung(&self) {
        self.bell.notified().await
    }

    /// Lines dropped because the site did not take them in time.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The layer that records into this feed.
    pub fn layer(self: &Arc<Self>) -> LogLayer {
        LogLayer(self.clone())
    }
}

/// The `tracing` layer of a [`LogFeed`]; filter it with `with_filter` (the site shows Debug and
/// above; Trace events, one per reading, are not for the screen).
pub struct LogLayer(Arc<LogFeed>);

struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0.push(LogLine {
            at: chrono::Utc::now(),
            level: meta.level().to_string(),
            target: meta.target().to_string(),
            message: message.0,
        });
    }
}

#[cfg(test)]
mod tests {
    /// The `target: "…"` of every log call under src/, in the order first seen.
    fn targets_logged_to() -> Vec<String> {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
            entries.sort_by_key(|e| e.path());
            for entry in entries {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for piece in text.split("target: \"").skip(1) {
                        let Some((name, rest)) = piece.split_once('"') else {
                            continue;
                        };
                        // A log call's target is followed by its message; a struct field
                        // (`target: "t".into()`) is not a log call.
                        if rest.starts_with(',') && !found.iter().any(|f| f == name) {
                            found.push(name.to_string());
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        found
    }

    #[test]
    fn the_target_list_is_every_target_the_code_logs_to() {
        let mut logged = targets_logged_to();
        logged.sort();
        let mut listed: Vec<String> = TARGETS.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(
            listed, logged,
            "site::log::TARGETS against the code's log calls"
        );
    }

    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_become_lines_and_the_buffer_stays_bounded() {
        let feed = LogFeed::new();
        let subscriber = tracing_subscriber::registry().with(feed.layer());
        let before = chrono::Utc::now();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "crew", "day {} · crew {}", 3, 1);
            tracing::warn!(target: "store", retry = 2, "write failed");
        });
        let after = chrono::Utc::now();
        let lines = feed.take();
        assert!(lines.iter().all(|l| before <= l.at && l.at <= after));
        let lines: Vec<_> = lines
            .into_iter()
            .map(|l| (l.level, l.target, l.message))
            .collect();
        let line = |l: &str, t: &str, m: &str| (l.to_string(), t.to_string(), m.to_string());
        assert_eq!(
            lines,
            vec![
                line("INFO", "crew", "day 3 · crew 1"),
                line("WARN", "store", "write failed retry=2"),
            ]
        );
        for i in 0..PENDING + 5 {
            feed.push(LogLine {
                at: chrono::Utc::now(),
                level: "INFO".into(),
                target: "t".into(),
                message: i.to_string(),
            });
        }
        let lines = feed.take();
        assert_eq!(lines.len(), PENDING);
        assert_eq!(lines[0].message, "5");
        assert_eq!(feed.dropped(), 5);
    }
}

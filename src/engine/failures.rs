//! Panics in engine tasks: every task runs under [`spawn_watched`], which records the first
//! panic in [`Failures`] so the run ends and says which task failed.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The engine tasks that panicked: the first one's line is kept, and whoever waits (the
/// supervisor, [`super::Engine::failed`]) is woken. Every engine task runs under [`spawn_watched`].
#[derive(Clone)]
pub struct Failures(Arc<watch::Sender<Option<String>>>);

impl Failures {
    pub(super) fn new() -> Failures {
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
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    crate::text::one_line(&text)
}

/// Spawns an engine task named `task`. If it panics, the panic is recorded in `failures` (so the
/// run ends and says so) and then resumed, so its `JoinHandle` still reports it.
pub(super) fn spawn_watched<F>(
    task: String,
    failures: &Failures,
    future: F,
) -> JoinHandle<F::Output>
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

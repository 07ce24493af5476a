//! The event loop that owns the [`App`] and the screen: it waits on `select! { biased; input,
//! the site's messages, frame deadline }` (the site's updates carry its log lines too), drains
//! everything pending, and draws only when something changed, as [`super::pacing`] allows.

use std::future::{Future, poll_fn};
use std::io;
use std::sync::atomic::Ordering;
use std::task::Poll;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::guard::{PANIC_NOTIFY, PANICKED};
use super::logging::record_log;
use super::pacing::Pacing;
use super::renderer::{FrameSink, Renderer};
use crate::app::App;
use crate::engine::Command;
use crate::site::viewer::ViewerMsg;

/// How the loop ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q`, Esc or Ctrl-C.
    Quit,
    /// SIGTERM or SIGHUP (named).
    Signal(&'static str),
}

#[derive(Debug)]
pub enum TuiError {
    Io(io::Error),
    /// The site's channel closed: the engine stopped (or panicked), or the server went away.
    EngineStopped,
    /// A thread or task panicked; the terminal is already restored.
    Panicked,
}

impl std::fmt::Display for TuiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TuiError::Io(e) => write!(f, "terminal: {e}"),
            TuiError::EngineStopped => f.write_str("the site stopped"),
            TuiError::Panicked => f.write_str("a task panicked"),
        }
    }
}

impl std::error::Error for TuiError {}

impl From<io::Error> for TuiError {
    fn from(e: io::Error) -> Self {
        TuiError::Io(e)
    }
}

/// Runs the dashboard until the user quits, SIGTERM/SIGHUP arrives, the site's channel
/// closes or a task panics. Reads keys from the real terminal.
pub async fn run<B>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: mpsc::Receiver<ViewerMsg>,
    commands: mpsc::Sender<(u64, Command)>,
) -> Result<Exit, TuiError>
where
    B: FrameSink,
    B::Error: Send + Sync + 'static,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let stop = async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        }
    };
    run_with(terminal, app, EventStream::new(), events, commands, stop).await
}

/// [`run`] with the input stream and the stop signal given (for tests and benches).
pub async fn run_with<B, S, F>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    input: S,
    events: mpsc::Receiver<ViewerMsg>,
    commands: mpsc::Sender<(u64, Command)>,
    stop: F,
) -> Result<Exit, TuiError>
where
    B: FrameSink,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    F: Future<Output = &'static str>,
{
    let mut renderer = Renderer::new();
    run_with_renderer(terminal, app, input, events, commands, stop, &mut renderer).await
}

/// [`run_with`] drawing through the caller's `renderer` (whose counters and timings the caller
/// reads afterwards: `bench tui`).
pub async fn run_with_renderer<B, S, F>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: S,
    mut events: mpsc::Receiver<ViewerMsg>,
    commands: mpsc::Sender<(u64, Command)>,
    stop: F,
    renderer: &mut Renderer,
) -> Result<Exit, TuiError>
where
    B: FrameSink,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    F: Future<Output = &'static str>,
{
    tokio::pin!(stop);
    renderer.start_blank(terminal)?;
    let mut pacing = Pacing::new();
    let mut input_open = true;
    loop {
        if PANICKED.load(Ordering::SeqCst) {
            return Err(TuiError::Panicked);
        }
        let deadline = pacing.draw_if_due(terminal, app, renderer)?;
        let log_visible = renderer.log_visible();
        tokio::select! {
            biased;
            _ = PANIC_NOTIFY.notified() => return Err(TuiError::Panicked),
            name = &mut stop => return Ok(Exit::Signal(name)),
            ev = input.next(), if input_open => {
                let mut keys = KeyTarget { terminal, app, commands: &commands, renderer };
                let burst = keys.read_input(ev, &mut input).await?;
                pacing.dirty |= burst.changed;
                // A key's feedback (and the command it gave) is shown at once.
                pacing.prompt |= burst.changed;
                input_open &= !burst.closed;
            }
            msg = events.recv() => {
                let Some(msg) = msg else { return Err(TuiError::EngineStopped) };
                pacing.dirty |= apply_site_messages(msg, &mut events, app, log_visible);
                pacing.prompt |= std::mem::take(&mut app.steered);
            }
            _ = tokio::time::sleep_until(deadline), if pacing.dirty => {}
        }
        if app.quit {
            return Ok(Exit::Quit);
        }
    }
}

impl Pacing {
    /// Draws a frame if one is due; returns when the next one may be.
    fn draw_if_due<B>(
        &mut self,
        terminal: &mut Terminal<B>,
        app: &mut App,
        renderer: &mut Renderer,
    ) -> io::Result<Instant>
    where
        B: FrameSink,
        B::Error: Send + Sync + 'static,
    {
        let now = Instant::now();
        if self.dirty && now >= self.earliest(now, app.is_started()) {
            renderer.draw(terminal, app)?;
            self.drawn(now);
        }
        Ok(self.earliest(now, app.is_started()))
    }
}

/// What a burst of input did.
struct InputBurst {
    /// The screen needs a new frame.
    changed: bool,
    /// The input stream ended (it is not polled again).
    closed: bool,
}

/// What input acts on: the app (whose keys become the site's commands) and its screen.
struct KeyTarget<'a, B: FrameSink> {
    terminal: &'a mut Terminal<B>,
    app: &'a mut App,
    commands: &'a mpsc::Sender<(u64, Command)>,
    renderer: &'a mut Renderer,
}

impl<B> KeyTarget<'_, B>
where
    B: FrameSink,
    B::Error: Send + Sync + 'static,
{
    /// Handles `first` and every input event already pending after it, up to a quit.
    async fn read_input<S>(
        &mut self,
        first: Option<io::Result<TermEvent>>,
        input: &mut S,
    ) -> Result<InputBurst, TuiError>
    where
        S: Stream<Item = io::Result<TermEvent>> + Unpin,
    {
        let mut burst = InputBurst {
            changed: false,
            closed: false,
        };
        let mut ev = first;
        loop {
            match ev {
                None => {
                    burst.closed = true;
                    return Ok(burst);
                }
                Some(Err(e)) => return Err(TuiError::Io(e)),
                Some(Ok(e)) => burst.changed |= self.on_input(e)?,
            }
            if self.app.quit {
                return Ok(burst);
            }
            // Polled with this task's waker: a stream polled with a dummy one (as `now_or_never`
            // does) may hand that waker its wake-up and never wake us (crossterm's EventStream
            // keeps the first waker of a pending poll).
            match poll_fn(|cx| Poll::Ready(input.poll_next_unpin(cx))).await {
                Poll::Ready(next) => ev = next,
                Poll::Pending => return Ok(burst),
            }
        }
    }

    /// One input event; returns whether the screen needs a new frame.
    fn on_input(&mut self, ev: TermEvent) -> Result<bool, TuiError> {
        let app = &mut *self.app;
        match ev {
            TermEvent::Key(key) if key.kind == KeyEventKind::Press => {
                app.notice = None;
                if let Some(cmd) = app.on_key(key) {
                    match self.commands.try_send(app.ask(cmd)) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            app.notice = Some("the site is busy; try again".into());
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            return Err(TuiError::EngineStopped);
                        }
                    }
                }
                Ok(true)
            }
            TermEvent::Resize(w, h) => {
                self.renderer.full_redraw(self.terminal, w, h)?;
                Ok(true)
            }
            TermEvent::FocusGained => Ok(true),
            _ => Ok(false),
        }
    }
}

/// Applies `first` and every site message already waiting; the log's new lines go to the log
/// pane's buffer. Returns whether the screen needs a new frame.
fn apply_site_messages(
    first: ViewerMsg,
    events: &mut mpsc::Receiver<ViewerMsg>,
    app: &mut App,
    log_visible: bool,
) -> bool {
    let mut changed = app.apply(first);
    while let Ok(msg) = events.try_recv() {
        changed |= app.apply(msg);
    }
    let lines = std::mem::take(&mut app.new_log);
    if !lines.is_empty() {
        record_log(&lines);
        // Lines also move at every frame; this keeps the hot buffer short meanwhile.
        tui_logger::move_events();
        changed |= log_visible;
    }
    changed
}

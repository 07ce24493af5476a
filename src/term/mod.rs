//! The terminal: setup and restore (a Drop guard and a panic hook), the event loop that owns
//! the [`App`] and the screen, and frame pacing.
//!
//! The loop waits on `select! { biased; input, the site's messages, frame deadline }` (the
//! site's updates carry its log lines too), drains everything pending, and draws only when something changed, at most 10 frames a
//! second, each frame inside synchronized output. A frame that would write nothing writes
//! nothing (not even the synchronized-output brackets), and when the log pane's rows moved up
//! as a block, the shift is sent as a terminal scroll (DECSTBM region + SU) instead of a
//! repaint.

pub mod counting;
pub mod diff;

use counting::Compact;
use std::future::{Future, poll_fn};
use std::io::{self, Write};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Duration, Instant};

use crate::app::App;
use crate::engine::Command;
use crate::site::LogLine;
use crate::site::viewer::ViewerMsg;
use crate::ui;
use counting::CountingBackend;

/// Shortest time between two frames (10 frames a second at most).
pub const FRAME: Duration = Duration::from_millis(100);
/// Longest wait for the engine's first event before the first paint.
pub const FIRST_PAINT_WAIT: Duration = Duration::from_millis(250);

/// DEC 2026: the terminal shows the frame only when it is complete (what crossterm's
/// `BeginSynchronizedUpdate` / `EndSynchronizedUpdate` write).
pub const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
pub const END_SYNC: &[u8] = b"\x1b[?2026l";

/// A backend the loop can also send raw control sequences to (synchronized output, scroll
/// regions). Backends that are not a byte stream (the test backend) say so with `is_stream`,
/// and get the same diffs without either.
pub trait FrameSink: Backend {
    /// Whether this backend is a byte stream that takes [`FrameSink::control`].
    fn is_stream(&self) -> bool {
        true
    }
    /// Writes `bytes` as they are (a no-op where `is_stream` is false).
    fn control(&mut self, bytes: &[u8]) -> io::Result<()>;
}

impl<W: Write> FrameSink for CrosstermBackend<W> {
    fn control(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }
}

impl<W: Write> FrameSink for CountingBackend<W> {
    fn control(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }
}

impl<W: Write> FrameSink for Compact<W> {
    fn control(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }
}

impl FrameSink for TestBackend {
    fn is_stream(&self) -> bool {
        false
    }
    fn control(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

fn backend_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> io::Error {
    io::Error::other(e)
}

/// Draws frames, remembering the last one to skip empty frames and to scroll the log.
#[derive(Debug, Default)]
pub struct Renderer {
    last: Option<Buffer>,
    /// Frames written to the terminal.
    pub frames: u64,
    /// Log shifts sent as terminal scrolls.
    pub scrolls: u64,
    log_visible: bool,
    /// When set, each written frame's render time (layout, drawing, diff, write) is recorded.
    pub timings: Option<FrameTimings>,
}

/// Render times, recorded by a [`Renderer`] when asked (for `bench tui`).
#[derive(Debug, Default, Clone)]
pub struct FrameTimings {
    /// Time spent in [`Renderer::draw`] for each frame that wrote something.
    pub render: Vec<std::time::Duration>,
    /// When the first frame had been written.
    pub first_frame: Option<std::time::Instant>,
}

impl Renderer {
    pub fn new() -> Renderer {
        Renderer::default()
    }

    /// Whether the last frame showed the log pane.
    pub fn log_visible(&self) -> bool {
        self.log_visible
    }

    /// Forgets the screen: the next frame clears and repaints everything (after a resize,
    /// including a same-size one, or anything else that may have scribbled on the terminal).
    pub fn full_redraw<B>(
        &mut self,
        terminal: &mut Terminal<B>,
        width: u16,
        height: u16,
    ) -> io::Result<()>
    where
        B: FrameSink,
        B::Error: Send + Sync + 'static,
    {
        let area = Rect::new(0, 0, width, height);
        terminal.resize(area).map_err(backend_err)?;
        self.last = Some(Buffer::empty(area));
        Ok(())
    }

    /// Renders `app`; writes only what changed. Returns whether anything was written.
    pub fn draw<B>(&mut self, terminal: &mut Terminal<B>, app: &mut App) -> io::Result<bool>
    where
        B: FrameSink,
        B::Error: Send + Sync + 'static,
    {
        let Some(_) = &self.timings else {
            return self.draw_frame(terminal, app);
        };
        let start = std::time::Instant::now();
        let wrote = self.draw_frame(terminal, app)?;
        if wrote && let Some(t) = &mut self.timings {
            let end = std::time::Instant::now();
            t.render.push(end - start);
            t.first_frame.get_or_insert(end);
        }
        Ok(wrote)
    }

    fn draw_frame<B>(&mut self, terminal: &mut Terminal<B>, app: &mut App) -> io::Result<bool>
    where
        B: FrameSink,
        B::Error: Send + Sync + 'static,
    {
        terminal.autoresize().map_err(backend_err)?;
        tui_logger::move_events();
        let mut frame = terminal.get_frame();
        let size = frame.area();
        let areas = ui::layout(size, app);
        app.set_viewport(areas.viewport());
        ui::draw(&mut frame, app);
        self.log_visible = areas.log.is_some() && !areas.too_small;
        // What the terminal shows: the last frame, or a blank screen after a clear. The new
        // frame is diffed against it once; ratatui's own second buffer is not used.
        let mut shown = match self.last.take() {
            Some(last) if last.area == size => last,
            _ => Buffer::empty(size),
        };
        let next = std::mem::take(terminal.current_buffer_mut());
        let stream = terminal.backend().is_stream();
        // The log's inner rows, if the pane spans the whole width (DECSTBM scrolls whole rows).
        let region = areas
            .log
            .filter(|l| stream && l.x == 0 && l.width == size.width && l.height > 4)
            .map(|l| {
                let inner = ui::log::inner(l);
                (inner.y, inner.bottom())
            });
        let mut scroll = None;
        if let Some((top, bottom)) = region {
            scroll = scroll_amount(&shown, &next, top, bottom).map(|k| {
                shift_up(&mut shown, top, bottom, k);
                format!("\x1b[0m\x1b[{};{}r\x1b[{}S\x1b[r", top + 1, bottom, k)
            });
            mark_for_rewrite(&mut shown, &next, top, bottom);
        }
        let updates = diff::diff(&shown, &next);
        let wrote = scroll.is_some() || !updates.is_empty();
        if wrote {
            let backend = terminal.backend_mut();
            if stream {
                backend.control(BEGIN_SYNC)?;
            }
            if let Some(seq) = &scroll {
                backend.control(seq.as_bytes())?;
                self.scrolls += 1;
            }
            backend.draw(updates.into_iter()).map_err(backend_err)?;
            if stream {
                backend.control(END_SYNC)?;
            }
            Backend::flush(backend).map_err(backend_err)?;
            self.frames += 1;
        }
        // The drawn frame becomes what the terminal shows; the old one is reused, blanked,
        // as the next frame's canvas.
        shown.reset();
        *terminal.current_buffer_mut() = shown;
        self.last = Some(next);
        Ok(wrote)
    }
}

fn row(buf: &Buffer, y: u16) -> &[Cell] {
    let w = buf.area.width as usize;
    let start = (y - buf.area.y) as usize * w;
    &buf.content[start..start + w]
}

/// How many rows `new`'s region `top..bottom` moved up from `old`'s, when scrolling the
/// terminal by that much and painting the new rows costs fewer bytes than the plain diff.
pub fn scroll_amount(old: &Buffer, new: &Buffer, top: u16, bottom: u16) -> Option<u16> {
    let h = bottom.saturating_sub(top);
    if old.area != new.area || bottom > new.area.bottom() || h < 3 {
        return None;
    }
    let k = (1..h - 1).find(|&k| (top..bottom - k).all(|y| row(old, y + k) == row(new, y)))?;
    let plain: usize = (top..bottom)
        .map(|y| row_cost(row(old, y), row(new, y)))
        .sum();
    let scrolled: usize = 16
        + (bottom - k..bottom)
            .map(|y| text_cost(row(new, y)))
            .sum::<usize>();
    (scrolled < plain).then_some(k)
}

/// Roughly the bytes ratatui's diff sends for one row: a cursor move (~8 bytes) for every run
/// of changed cells, plus the cells. A blank row is written in one run (see
/// [`mark_for_rewrite`]).
fn row_cost(old: &[Cell], new: &[Cell]) -> usize {
    if text_len(old) == 0 {
        return text_cost(new);
    }
    let mut cost = 0;
    let mut in_run = false;
    for (a, b) in old.iter().zip(new) {
        if a != b {
            cost += if in_run { 1 } else { 9 };
        }
        in_run = a != b;
    }
    cost
}

fn text_cost(cells: &[Cell]) -> usize {
    match text_len(cells) {
        0 => 0,
        n => 8 + n,
    }
}

/// Cells up to the last one that is not a plain blank.
fn text_len(cells: &[Cell]) -> usize {
    cells.len()
        - cells
            .iter()
            .rev()
            .take_while(|c| **c == Cell::EMPTY)
            .count()
}

/// Rows of `top..bottom` that are blank on the terminal (`prev`) and get text in `new` are
/// marked to differ up to the text's end, so ratatui writes each in one run instead of moving
/// the cursor from word to word over the blanks.
fn mark_for_rewrite(prev: &mut Buffer, new: &Buffer, top: u16, bottom: u16) {
    let w = prev.area.width as usize;
    for y in top..bottom {
        let len = text_len(row(new, y));
        if len == 0 || text_len(row(prev, y)) != 0 {
            continue;
        }
        let start = (y - prev.area.y) as usize * w;
        for cell in &mut prev.content[start..start + len] {
            // A style the screen never uses: differs from every new cell.
            cell.modifier |= Modifier::HIDDEN | Modifier::CROSSED_OUT;
        }
    }
}

/// Moves rows `top+k..bottom` of `buf` up by `k` and blanks the last `k` (what the terminal
/// does on a scroll up inside a region).
pub fn shift_up(buf: &mut Buffer, top: u16, bottom: u16, k: u16) {
    let w = buf.area.width as usize;
    let base = |y: u16| (y - buf.area.y) as usize * w;
    let (to, end) = (base(top), base(bottom));
    buf.content[to..end].rotate_left(k as usize * w);
    for cell in &mut buf.content[end - k as usize * w..end] {
        cell.reset();
    }
}

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

static PANICKED: AtomicBool = AtomicBool::new(false);
static PANIC_NOTIFY: LazyLock<Notify> = LazyLock::new(Notify::new);

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
    // The screen model starts blank, as the terminal does: made now, with the terminal, not in
    // the first frame.
    if renderer.last.is_none() {
        let size = terminal.size().map_err(|e| TuiError::Io(backend_err(e)))?;
        renderer.last = Some(Buffer::empty(Rect::new(0, 0, size.width, size.height)));
    }
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    // The first paint waits, briefly, for the site's snapshot: one complete opening paint
    // instead of a placeholder screen and then the panes over it (4.2 KB instead of 5.4 KB at
    // 120x40).
    let first_paint_by = Instant::now() + FIRST_PAINT_WAIT;
    let mut input_open = true;
    loop {
        if PANICKED.load(Ordering::SeqCst) {
            return Err(TuiError::Panicked);
        }
        let now = Instant::now();
        let earliest = match last_draw {
            Some(t) => t + FRAME,
            None if app.is_started() => now,
            None => first_paint_by,
        };
        if dirty && now >= earliest {
            renderer.draw(terminal, app)?;
            last_draw = Some(now);
            dirty = false;
        }
        let deadline = last_draw.map_or(earliest, |t| t + FRAME);
        let log_visible = renderer.log_visible();
        tokio::select! {
            biased;
            _ = PANIC_NOTIFY.notified() => return Err(TuiError::Panicked),
            name = &mut stop => return Ok(Exit::Signal(name)),
            ev = input.next(), if input_open => {
                let mut ev = ev;
                loop {
                    match ev {
                        None => {
                            input_open = false;
                            break;
                        }
                        Some(Err(e)) => return Err(TuiError::Io(e)),
                        Some(Ok(e)) => dirty |= on_input(e, terminal, app, &commands, renderer)?,
                    }
                    if app.quit {
                        return Ok(Exit::Quit);
                    }
                    // Polled with this task's waker: a stream polled with a dummy one (as
                    // `now_or_never` does) may hand that waker its wake-up and never wake us
                    // (crossterm's EventStream keeps the first waker of a pending poll).
                    match poll_fn(|cx| Poll::Ready(input.poll_next_unpin(cx))).await {
                        Poll::Ready(next) => ev = next,
                        Poll::Pending => break,
                    }
                }
            }
            ev = events.recv() => {
                let Some(ev) = ev else { return Err(TuiError::EngineStopped) };
                dirty |= app.apply(ev);
                while let Ok(ev) = events.try_recv() {
                    dirty |= app.apply(ev);
                }
                let lines = std::mem::take(&mut app.new_log);
                if !lines.is_empty() {
                    record_log(&lines);
                    // Lines also move at every frame; this keeps the hot buffer short meanwhile.
                    tui_logger::move_events();
                    dirty |= log_visible;
                }
            }
            _ = tokio::time::sleep_until(deadline), if dirty => {}
        }
        if app.quit {
            return Ok(Exit::Quit);
        }
    }
}

fn on_input<B>(
    ev: TermEvent,
    terminal: &mut Terminal<B>,
    app: &mut App,
    commands: &mpsc::Sender<(u64, Command)>,
    renderer: &mut Renderer,
) -> Result<bool, TuiError>
where
    B: FrameSink,
    B::Error: Send + Sync + 'static,
{
    match ev {
        TermEvent::Key(key) if key.kind == KeyEventKind::Press => {
            app.notice = None;
            if let Some(cmd) = app.on_key(key) {
                match commands.try_send(app.ask(cmd)) {
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
            renderer.full_redraw(terminal, w, h)?;
            Ok(true)
        }
        TermEvent::FocusGained => Ok(true),
        _ => Ok(false),
    }
}

// ---- The real terminal ----

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Stdout as the dashboard writes it: one write per frame, nothing once the terminal has been
/// restored (so a half frame can never land on the user's shell after a panic).
#[derive(Debug, Default)]
pub struct TermWriter {
    buf: Vec<u8>,
}

impl Write for TermWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if ACTIVE.load(Ordering::SeqCst) && !self.buf.is_empty() {
            let mut out = io::stdout().lock();
            out.write_all(&self.buf)?;
            out.flush()?;
        }
        self.buf.clear();
        Ok(())
    }
}

/// The dashboard's terminal type.
pub type DashTerminal = Terminal<Compact<TermWriter>>;

/// The terminal in dashboard mode; restores it when dropped (also on `?` returns and panics).
pub struct Tui {
    pub terminal: DashTerminal,
}

impl Tui {
    /// Enters raw mode and the alternate screen, hides the cursor and installs the panic hook.
    pub fn enter() -> io::Result<Tui> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout().lock();
        let setup = crossterm::execute!(
            out,
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide,
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        );
        drop(out);
        if let Err(e) = setup {
            let _ = restore();
            return Err(e);
        }
        match Terminal::new(Compact::new(TermWriter::default())) {
            Ok(terminal) => Ok(Tui { terminal }),
            Err(e) => {
                let _ = restore();
                Err(e)
            }
        }
    }

    /// Restores the terminal now (idempotent; also done on drop).
    pub fn restore(&mut self) -> io::Result<()> {
        let _ = Backend::flush(self.terminal.backend_mut());
        restore()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// Leaves the dashboard mode: ends any synchronized frame, resets scroll region and colours,
/// leaves the alternate screen, shows the cursor, leaves raw mode. Does nothing twice.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    out.write_all(END_SYNC)?;
    out.write_all(b"\x1b[r\x1b[0m")?;
    crossterm::execute!(
        out,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    )?;
    drop(out);
    crossterm::terminal::disable_raw_mode()
}

/// A panic anywhere (any thread, any task) first restores the terminal, then prints as usual,
/// then wakes the loop, which returns [`TuiError::Panicked`]. Installed once.
pub fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore();
        previous(info);
        PANICKED.store(true, Ordering::SeqCst);
        PANIC_NOTIFY.notify_one();
    }));
}

/// Prepares the log pane's buffer (tui-logger's; the pane shows Info and above by default,
/// ←/→ in the log pane change that per target). Lines come from the site's feed (see
/// [`record_log`]); tui-logger's own mover thread (which wakes every 10 ms) is not started: the
/// loop moves the lines when they arrive and before each frame.
pub fn init_log_pane() {
    tui_logger::set_default_level(tui_logger::LevelFilter::Debug);
    tui_logger::set_buffer_depth(2_000);
    tui_logger::set_hot_buffer_depth(4_000);
}

/// Sends this process's own `tracing` events (Debug and above; Trace events, one per reading,
/// are dropped before anything formats them) to the site's log feed, and prepares the log
/// pane. Returns the feed, for the site.
pub fn init_dashboard_logging() -> Result<std::sync::Arc<crate::site::LogFeed>, String> {
    init_dashboard_logging_to(None)
}

/// [`init_dashboard_logging`], the lines also to `--log-file`'s layer.
pub fn init_dashboard_logging_to(
    file: Option<crate::logfile::FileLayer>,
) -> Result<std::sync::Arc<crate::site::LogFeed>, String> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    init_log_pane();
    let feed = crate::site::LogFeed::new();
    tracing_subscriber::registry()
        .with(file)
        .with(tracing_subscriber::filter::LevelFilter::DEBUG.boxed())
        .with(feed.layer())
        .try_init()
        .map_err(|e| format!("log: {e}"))?;
    Ok(feed)
}

/// Puts the site's log lines in the log pane's buffer. tui-logger stamps each record with the
/// time it reaches the buffer and has no way to take another, so the time the site logged the
/// line (this viewer's local time of day, in seconds) rides in the record's `line` field, which
/// the pane's formatter reads (see `ui::log`).
pub fn record_log(lines: &[LogLine]) {
    use chrono::Timelike;
    let drain = tui_logger::Drain::new();
    for line in lines {
        let level = line.level.parse().unwrap_or(log::Level::Info);
        let logged = line.at.with_timezone(&chrono::Local);
        drain.log(
            &log::Record::builder()
                .level(level)
                .target(&line.target)
                .line(Some(logged.num_seconds_from_midnight()))
                .args(format_args!("{}", line.message))
                .build(),
        );
    }
}

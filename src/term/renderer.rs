//! Drawing frames to the terminal: [`Renderer`] diffs each frame against the last one shown,
//! writes nothing for a frame that changed nothing, wraps each frame in synchronized output and
//! sends a log shift as a terminal scroll. [`FrameSink`] is what it needs of a backend.

use std::io::{self, Write};

use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::counting::{Compact, CountingBackend};
use super::{diff, scroll};
use crate::app::App;
use crate::ui;

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

    /// Starts the screen model blank, as the terminal is, unless it has one already: made with
    /// the terminal, not in the first frame.
    pub fn start_blank<B>(&mut self, terminal: &Terminal<B>) -> io::Result<()>
    where
        B: FrameSink,
        B::Error: Send + Sync + 'static,
    {
        if self.last.is_none() {
            let size = terminal.size().map_err(backend_err)?;
            self.last = Some(Buffer::empty(Rect::new(0, 0, size.width, size.height)));
        }
        Ok(())
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
        let scroll =
            region.and_then(|(top, bottom)| scroll::log_scroll(&mut shown, &next, top, bottom));
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

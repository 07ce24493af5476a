//! A backend that counts the bytes a real terminal would receive: crossterm's own escape
//! sequences written into a counting writer, with a fixed size (no terminal needed). Used by
//! `bench tui` and the tests that measure what a frame costs.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

/// A writer that counts every byte it passes on.
#[derive(Debug)]
pub struct CountingWriter<W> {
    inner: W,
    bytes: Arc<AtomicU64>,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// [`CrosstermBackend`] over a [`CountingWriter`], `width`×`height` cells.
pub struct CountingBackend<W: Write> {
    inner: CrosstermBackend<CountingWriter<W>>,
    size: Size,
    cursor: Position,
    bytes: Arc<AtomicU64>,
}

impl<W: Write> CountingBackend<W> {
    pub fn new(writer: W, width: u16, height: u16) -> Self {
        let bytes = Arc::new(AtomicU64::new(0));
        CountingBackend {
            inner: CrosstermBackend::new(CountingWriter {
                inner: writer,
                bytes: bytes.clone(),
            }),
            size: Size { width, height },
            cursor: Position::ORIGIN,
            bytes,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A handle on the byte count that stays valid while the terminal owns the backend.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// Changes the size the backend reports (a simulated terminal resize).
    pub fn set_size(&mut self, width: u16, height: u16) {
        self.size = Size { width, height };
    }
}

impl<W: Write> Write for CountingBackend<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut self.inner)
    }
}

impl<W: Write> Backend for CountingBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.cursor = position.into();
        self.inner.set_cursor_position(self.cursor)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        Ok(self.size)
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.size,
            pixels: Size {
                width: 0,
                height: 0,
            },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

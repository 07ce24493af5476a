//! The dashboard's backend, [`Compact`]: ratatui cells to terminal bytes, as few as possible
//! (users watch over ssh). Compared with crossterm's backend it writes the short SGR forms
//! (`ESC[36m`, not `ESC[38;5;6m`), sets only the attributes that changed, moves the cursor
//! forward on the same row with `ESC[nC`, and resets once per frame.
//!
//! [`CountingBackend`] is the same backend over a writer that counts bytes, with a fixed size
//! (no terminal needed), for `bench tui` and the tests.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// A ratatui backend writing compact escape sequences to `W`.
pub struct Compact<W: Write> {
    out: W,
    /// `None`: ask the real terminal.
    size: Option<Size>,
    cursor: Position,
    scratch: String,
}

impl<W: Write> Compact<W> {
    /// A backend for the real terminal (size and cursor queries go to the tty).
    pub fn new(out: W) -> Self {
        Compact {
            out,
            size: None,
            cursor: Position::ORIGIN,
            scratch: String::new(),
        }
    }

    /// A backend of a fixed size that never queries a terminal.
    pub fn fixed(out: W, width: u16, height: u16) -> Self {
        Compact {
            size: Some(Size { width, height }),
            ..Compact::new(out)
        }
    }
}

fn colour(s: &mut String, c: Color, background: bool) {
    let base = if background { 40 } else { 30 };
    let _ = match c {
        Color::Reset => write!(s, "{}", base + 9),
        Color::Black => write!(s, "{base}"),
        Color::Red => write!(s, "{}", base + 1),
        Color::Green => write!(s, "{}", base + 2),
        Color::Yellow => write!(s, "{}", base + 3),
        Color::Blue => write!(s, "{}", base + 4),
        Color::Magenta => write!(s, "{}", base + 5),
        Color::Cyan => write!(s, "{}", base + 6),
        Color::Gray => write!(s, "{}", base + 7),
        Color::DarkGray => write!(s, "{}", base + 60),
        Color::LightRed => write!(s, "{}", base + 61),
        Color::LightGreen => write!(s, "{}", base + 62),
        Color::LightYellow => write!(s, "{}", base + 63),
        Color::LightBlue => write!(s, "{}", base + 64),
        Color::LightMagenta => write!(s, "{}", base + 65),
        Color::LightCyan => write!(s, "{}", base + 66),
        Color::White => write!(s, "{}", base + 67),
        Color::Indexed(i) => write!(s, "{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => write!(s, "{};2;{r};{g};{b}", base + 8),
    };
}

const MODIFIERS: [(Modifier, u8); 9] = [
    (Modifier::BOLD, 1),
    (Modifier::DIM, 2),
    (Modifier::ITALIC, 3),
    (Modifier::UNDERLINED, 4),
    (Modifier::SLOW_BLINK, 5),
    (Modifier::RAPID_BLINK, 6),
    (Modifier::REVERSED, 7),
    (Modifier::HIDDEN, 8),
    (Modifier::CROSSED_OUT, 9),
];

#[derive(Clone, Copy, PartialEq)]
struct Pen {
    fg: Color,
    bg: Color,
    modifier: Modifier,
}

const PLAIN: Pen = Pen {
    fg: Color::Reset,
    bg: Color::Reset,
    modifier: Modifier::empty(),
};

/// The SGR sequence that turns `from` into `to`.
fn sgr(s: &mut String, from: Pen, to: Pen) {
    s.push_str("\x1b[");
    let mut first = true;
    let mut sep = |s: &mut String| {
        if !first {
            s.push(';');
        }
        first = false;
    };
    let from = if from.modifier.difference(to.modifier).is_empty() {
        from
    } else {
        // Attributes only go away with a reset (their off-codes are not uniform).
        sep(s);
        s.push('0');
        PLAIN
    };
    for (m, code) in MODIFIERS {
        if to.modifier.contains(m) && !from.modifier.contains(m) {
            sep(s);
            let _ = write!(s, "{code}");
        }
    }
    if to.fg != from.fg {
        sep(s);
        colour(s, to.fg, false);
    }
    if to.bg != from.bg {
        sep(s);
        colour(s, to.bg, true);
    }
    s.push('m');
}

impl<W: Write> Write for Compact<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Backend for Compact<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let s = &mut self.scratch;
        s.clear();
        let mut pen = PLAIN;
        // Where the terminal's cursor is, when known.
        let mut at: Option<(u16, u16)> = None;
        for (x, y, cell) in content {
            match at {
                Some((cx, cy)) if cy == y && cx == x => {}
                Some((cx, cy)) if cy == y && cx < x => {
                    let _ = write!(s, "\x1b[{}C", x - cx);
                }
                _ => {
                    let _ = write!(s, "\x1b[{};{}H", y + 1, x + 1);
                }
            }
            let want = Pen {
                fg: cell.fg,
                bg: cell.bg,
                modifier: cell.modifier,
            };
            if want != pen {
                sgr(s, pen, want);
                pen = want;
            }
            let symbol = cell.symbol();
            s.push_str(symbol);
            let width = unicode_width(symbol);
            at = Some((x.saturating_add(width), y));
            self.cursor = Position {
                x: x.saturating_add(width),
                y,
            };
        }
        if pen != PLAIN {
            s.push_str("\x1b[0m");
        }
        self.out.write_all(s.as_bytes())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.out.write_all(b"\x1b[?25l")
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.out.write_all(b"\x1b[?25h")
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        if self.size.is_some() {
            return Ok(self.cursor);
        }
        crossterm::cursor::position().map(|(x, y)| Position { x, y })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        self.cursor = p;
        write!(self.out, "\x1b[{};{}H", p.y + 1, p.x + 1)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.out.write_all(match clear_type {
            ClearType::All => b"\x1b[0m\x1b[2J",
            ClearType::AfterCursor => b"\x1b[0m\x1b[J",
            ClearType::BeforeCursor => b"\x1b[0m\x1b[1J",
            ClearType::CurrentLine => b"\x1b[0m\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[0m\x1b[K",
        })
    }

    fn size(&self) -> io::Result<Size> {
        match self.size {
            Some(size) => Ok(size),
            None => crossterm::terminal::size().map(|(width, height)| Size { width, height }),
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let columns_rows = self.size()?;
        let pixels = match self.size {
            Some(_) => Size {
                width: 0,
                height: 0,
            },
            None => crossterm::terminal::window_size()
                .map(|w| Size {
                    width: w.width,
                    height: w.height,
                })
                .unwrap_or(Size {
                    width: 0,
                    height: 0,
                }),
        };
        Ok(WindowSize {
            columns_rows,
            pixels,
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn unicode_width(symbol: &str) -> u16 {
    ratatui::text::Span::raw(symbol).width().max(1) as u16
}

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

/// The dashboard's backend over a [`CountingWriter`], `width`×`height` cells.
pub struct CountingBackend<W: Write> {
    inner: Compact<CountingWriter<W>>,
    bytes: Arc<AtomicU64>,
}

impl<W: Write> CountingBackend<W> {
    pub fn new(writer: W, width: u16, height: u16) -> Self {
        let bytes = Arc::new(AtomicU64::new(0));
        let counting = CountingWriter {
            inner: writer,
            bytes: bytes.clone(),
        };
        CountingBackend {
            inner: Compact::fixed(counting, width, height),
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
        self.inner.size = Some(Size { width, height });
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
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pen(fg: Color, bg: Color, modifier: Modifier) -> Pen {
        Pen { fg, bg, modifier }
    }

    #[test]
    fn sgr_is_short_and_resets_only_to_drop_attributes() {
        let mut s = String::new();
        sgr(
            &mut s,
            PLAIN,
            pen(Color::Cyan, Color::Reset, Modifier::BOLD),
        );
        assert_eq!(s, "\x1b[1;36m");
        s.clear();
        sgr(
            &mut s,
            pen(Color::Cyan, Color::Reset, Modifier::BOLD),
            pen(Color::Reset, Color::Reset, Modifier::BOLD),
        );
        assert_eq!(s, "\x1b[39m");
        s.clear();
        sgr(
            &mut s,
            pen(Color::Cyan, Color::Reset, Modifier::BOLD),
            pen(Color::Black, Color::Yellow, Modifier::empty()),
        );
        assert_eq!(s, "\x1b[0;30;43m");
        s.clear();
        sgr(
            &mut s,
            PLAIN,
            pen(Color::Indexed(244), Color::Rgb(1, 2, 3), Modifier::empty()),
        );
        assert_eq!(s, "\x1b[38;5;244;48;2;1;2;3m");
        s.clear();
        sgr(
            &mut s,
            PLAIN,
            pen(Color::DarkGray, Color::White, Modifier::REVERSED),
        );
        assert_eq!(s, "\x1b[7;90;107m");
    }
}

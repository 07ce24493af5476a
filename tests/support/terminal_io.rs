//! The terminal loop driven in process: a writer the test reads while the terminal owns it,
//! a keyboard fed from a channel, frames counted, and the screen checked through a terminal
//! emulator (vt100).
#![allow(dead_code)] // each test file uses its own part of this

use ratatui::buffer::Buffer;

/// A writer whose bytes the test can read while a terminal owns it.
#[derive(Clone, Default)]
pub struct Shared(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Checks that what a terminal emulator shows after `parser` processed the output is `buf`.
pub fn assert_screen_matches(parser: &vt100::Parser, buf: &Buffer) {
    let screen = parser.screen();
    for y in 0..buf.area.height {
        let mut want = String::new();
        let mut got = String::new();
        for x in 0..buf.area.width {
            want.push_str(buf[(x, y)].symbol());
            let c = screen
                .cell(y, x)
                .map(|c| c.contents().to_string())
                .unwrap_or_default();
            got.push_str(if c.is_empty() { " " } else { &c });
        }
        assert_eq!(got, want, "row {y} differs");
        for x in 0..buf.area.width {
            let (want, got) = (&buf[(x, y)], screen.cell(y, x).unwrap());
            let reversed = want.modifier.contains(ratatui::style::Modifier::REVERSED);
            assert_eq!(
                (
                    vt_colour(want.fg),
                    vt_colour(want.bg),
                    want.modifier.contains(ratatui::style::Modifier::BOLD),
                    reversed
                ),
                (got.fgcolor(), got.bgcolor(), got.bold(), got.inverse()),
                "style of ({x}, {y}) {:?}",
                want.symbol()
            );
        }
    }
}

fn vt_colour(c: ratatui::style::Color) -> vt100::Color {
    use ratatui::style::Color as C;
    match c {
        C::Reset => vt100::Color::Default,
        C::Black => vt100::Color::Idx(0),
        C::Red => vt100::Color::Idx(1),
        C::Green => vt100::Color::Idx(2),
        C::Yellow => vt100::Color::Idx(3),
        C::Blue => vt100::Color::Idx(4),
        C::Magenta => vt100::Color::Idx(5),
        C::Cyan => vt100::Color::Idx(6),
        C::Gray => vt100::Color::Idx(7),
        C::DarkGray => vt100::Color::Idx(8),
        C::LightRed => vt100::Color::Idx(9),
        C::LightGreen => vt100::Color::Idx(10),
        C::LightYellow => vt100::Color::Idx(11),
        C::LightBlue => vt100::Color::Idx(12),
        C::LightMagenta => vt100::Color::Idx(13),
        C::LightCyan => vt100::Color::Idx(14),
        C::White => vt100::Color::Idx(15),
        C::Indexed(i) => vt100::Color::Idx(i),
        C::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
    }
}

/// A stream of terminal events fed from a channel (the test's keyboard).
pub fn input_stream(
    rx: tokio::sync::mpsc::UnboundedReceiver<crossterm::event::Event>,
) -> impl futures_util::Stream<Item = std::io::Result<crossterm::event::Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    }))
}

pub fn press(c: char) -> crossterm::event::Event {
    crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ))
}

/// Number of frames in a byte stream (each is wrapped in synchronized output).
pub fn frames(bytes: &[u8]) -> usize {
    bytes
        .windows(wallwatch::term::BEGIN_SYNC.len())
        .filter(|w| *w == wallwatch::term::BEGIN_SYNC)
        .count()
}

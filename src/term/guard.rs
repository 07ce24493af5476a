//! The real terminal in dashboard mode: [`Tui`] enters raw mode and the alternate screen and
//! restores the terminal when dropped; the panic hook restores it first thing on a panic; and
//! [`TermWriter`] writes nothing once it is restored.

use std::io::{self, Write};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::Notify;

use super::counting::Compact;
use super::renderer::END_SYNC;

/// Set by the panic hook; the event loop checks it (and is woken by [`PANIC_NOTIFY`]).
pub(super) static PANICKED: AtomicBool = AtomicBool::new(false);
pub(super) static PANIC_NOTIFY: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Whether the terminal is in dashboard mode.
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

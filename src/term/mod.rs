//! The terminal: setup and restore (a Drop guard and a panic hook: [`guard`]), the event loop
//! that owns the [`crate::app::App`] and the screen ([`event_loop`]) and when it draws
//! ([`pacing`]), drawing frames
//! ([`renderer`], with [`diff`], [`scroll`] and the [`counting`] backend), and the log pane's
//! lines ([`logging`]).
//!
//! Each frame is drawn inside synchronized output. A frame that would write nothing writes
//! nothing (not even the synchronized-output brackets), and when the log pane's rows moved up
//! as a block, the shift is sent as a terminal scroll (DECSTBM region + SU) instead of a
//! repaint.

pub mod counting;
pub mod diff;
pub mod event_loop;
pub mod guard;
pub mod logging;
pub mod pacing;
pub mod renderer;
pub mod scroll;

pub use event_loop::{Exit, TuiError, run, run_with, run_with_renderer};
pub use guard::{DashTerminal, TermWriter, Tui, install_panic_hook, restore};
pub use logging::{init_dashboard_logging, init_dashboard_logging_to, init_log_pane, record_log};
pub use pacing::{FIRST_PAINT_WAIT, FRAME, PROMPT_FRAME, Pacing};
pub use renderer::{BEGIN_SYNC, END_SYNC, FrameSink, FrameTimings, Renderer};
pub use scroll::{scroll_amount, shift_up};

//! When frames are drawn: only when something changed, at most one per [`FRAME`] (10 a second,
//! which keeps a busy site cheap over ssh), sooner when the frame shows what someone steered
//! (a key, a command's effect or its answer: [`PROMPT_FRAME`]), and the first once the site's
//! snapshot is in or [`FIRST_PAINT_WAIT`] has passed. Pure timing, so that the benchmarks'
//! viewers time their would-be frames by the same rule.

use tokio::time::{Duration, Instant};

/// Shortest time between two frames (10 frames a second at most).
pub const FRAME: Duration = Duration::from_millis(100);
/// Shortest time between two frames when the second shows what someone steered.
pub const PROMPT_FRAME: Duration = Duration::from_millis(16);
/// Longest wait for the engine's first event before the first paint.
pub const FIRST_PAINT_WAIT: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Pacing {
    /// Something changed since the last frame.
    pub dirty: bool,
    /// What changed includes a key, a command's effect or its answer.
    pub prompt: bool,
    last_draw: Option<Instant>,
    /// The first paint waits, briefly, for the site's snapshot: one complete opening paint
    /// instead of a placeholder screen and then the panes over it (4.2 KB instead of 5.4 KB
    /// at 120x40).
    first_paint_by: Instant,
}

impl Pacing {
    pub fn new() -> Pacing {
        Pacing {
            dirty: true,
            prompt: false,
            last_draw: None,
            first_paint_by: Instant::now() + FIRST_PAINT_WAIT,
        }
    }

    /// The earliest the next frame may be drawn, seen at `now`; `started`: the site's first
    /// snapshot is in.
    pub fn earliest(&self, now: Instant, started: bool) -> Instant {
        match self.last_draw {
            Some(t) if self.prompt => t + PROMPT_FRAME,
            Some(t) => t + FRAME,
            None if started => now,
            None => self.first_paint_by,
        }
    }

    /// A frame was drawn at `at`.
    pub fn drawn(&mut self, at: Instant) {
        self.last_draw = Some(at);
        self.dirty = false;
        self.prompt = false;
    }
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_steered_frame_follows_the_last_sooner_than_a_busy_one() {
        let mut pacing = Pacing::new();
        let t0 = Instant::now();
        assert_eq!(pacing.earliest(t0, false), t0 + FIRST_PAINT_WAIT);
        assert_eq!(
            pacing.earliest(t0, true),
            t0,
            "the snapshot is painted at once"
        );
        pacing.drawn(t0);
        pacing.dirty = true;
        assert_eq!(pacing.earliest(t0, true), t0 + FRAME);
        pacing.prompt = true;
        assert_eq!(pacing.earliest(t0, true), t0 + PROMPT_FRAME);
        pacing.drawn(t0 + PROMPT_FRAME);
        assert!(!pacing.prompt && !pacing.dirty);
        assert_eq!(pacing.earliest(t0, true), t0 + PROMPT_FRAME + FRAME);
    }
}

//! Progress of long command-line work on standard error: what is done, the rate and the time
//! left, drawn by indicatif (at most 20 times a second, cleared when the work ends). Shown only
//! when standard error is a terminal and the command was not asked for JSON, so a pipe, a log
//! file or `--json` gets nothing but the output itself.

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Whether a command shows progress: standard error is a terminal and its output is not JSON.
pub fn wanted(json: bool) -> bool {
    shown_on(json, std::io::stderr().is_terminal())
}

/// [`wanted`], given whether standard error is a terminal.
fn shown_on(json: bool, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && !json
}

/// The line of a count: `readings ████▌ 5,000 of 10,000 rows · 41,000 rows/s · 0s left`.
fn count_template(unit: &str, with_total: bool) -> String {
    if with_total {
        format!(
            "{{prefix}} {{bar:24}} {{human_pos}} of {{human_len}} {unit} · {{rate}} {unit}/s \
             · {{eta}} left"
        )
    } else {
        format!("{{prefix}} {{spinner}} {{human_pos}} {unit} · {{rate}} {unit}/s")
    }
}

/// The steps line on standard error while it is shown, so that log lines written there go above
/// it ([`StderrAbove`]) rather than into it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Standard error for log lines: while a steps line is shown, each write clears it, writes,
/// and draws it again below.
#[derive(Default)]
pub struct StderrAbove;

impl Write for StderrAbove {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let shown = SHOWN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .filter(|bar| !bar.is_finished());
        match shown {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Steps counted before the bar hears of them: a reading costs less than telling the bar.
const FLUSH_EVERY: u64 = 1024;

/// A progress line, or nothing (not wanted). Cleared when dropped, so that an error line or the
/// result follows on a clean line.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Steps not yet told to the bar.
    pending: Cell<u64>,
}

impl Progress {
    /// No progress.
    pub fn hidden() -> Progress {
        Progress {
            bar: None,
            pending: Cell::new(0),
        }
    }

    /// Counts `unit`s ("rows", "readings") done under `label`; with a `total`, a bar, the rate
    /// and the time left, else the count and the rate.
    pub fn count(shown: bool, label: &str, unit: &str, total: Option<u64>) -> Progress {
        Progress::on_stderr(shown, label, total, &count_template(unit, total.is_some()))
    }

    /// Counts bytes read under `label`; with a `total`, a bar and the time left.
    pub fn bytes(shown: bool, label: &str, total: Option<u64>) -> Progress {
        let template = match total {
            Some(_) => "{prefix} {bar:24} {bytes} of {total_bytes} · {bytes_per_sec} · {eta} left",
            None => "{prefix} {spinner} {bytes} · {bytes_per_sec}",
        };
        Progress::on_stderr(shown, label, total, template)
    }

    /// Names the step under way and the time spent so far (`store sqlite:w.db ⠋ counting the
    /// stored rows · 2s`), drawn only once the work has taken `after`: a quick start draws
    /// nothing. Steps are told from any thread through [`Progress::teller`].
    pub fn steps(shown: bool, label: &str, after: Duration) -> Progress {
        if !shown {
            return Progress::hidden();
        }
        Progress::steps_on(ProgressDrawTarget::stderr(), label, after)
    }

    fn steps_on(target: ProgressDrawTarget, label: &str, after: Duration) -> Progress {
        let style = ProgressStyle::with_template("{prefix} {spinner} {msg} · {elapsed}")
            .expect("the template is valid");
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
            .with_style(style)
            .with_prefix(label.to_string());
        let later = bar.clone();
        // A step can be one long store call: the line must appear (and its time move) while
        // it runs, so a thread of its own shows it.
        std::thread::spawn(move || {
            std::thread::sleep(after);
            if !later.is_finished() {
                later.set_draw_target(target);
                *SHOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(later.clone());
                later.enable_steady_tick(Duration::from_millis(100));
            }
        });
        Progress {
            bar: Some(bar),
            pending: Cell::new(0),
        }
    }

    /// Tells the line which step is now under way, from any thread.
    pub fn teller(&self) -> impl Fn(String) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |step| {
            if let Some(bar) = &bar {
                bar.set_message(step);
            }
        }
    }

    fn on_stderr(shown: bool, label: &str, total: Option<u64>, template: &str) -> Progress {
        if !shown {
            return Progress::hidden();
        }
        Progress::on(ProgressDrawTarget::stderr(), label, total, template)
    }

    fn on(target: ProgressDrawTarget, label: &str, total: Option<u64>, template: &str) -> Progress {
        let style = ProgressStyle::with_template(template)
            .expect("the templates here are valid")
            .progress_chars("█▉▊▋▌▍▎▏ ")
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", HumanCount(state.per_sec() as u64));
                },
            );
        let bar = ProgressBar::with_draw_target(total, target)
            .with_style(style)
            .with_prefix(label.to_string());
        bar.tick();
        Progress {
            bar: Some(bar),
            pending: Cell::new(0),
        }
    }

    /// One more step done.
    pub fn inc(&self) {
        self.add(1);
    }

    /// `n` more steps done.
    pub fn add(&self, n: u64) {
        let Some(bar) = &self.bar else { return };
        let pending = self.pending.get() + n;
        if pending >= FLUSH_EVERY {
            bar.inc(pending);
            self.pending.set(0);
        } else {
            self.pending.set(pending);
        }
    }

    /// `done` steps done in all (for work counted elsewhere).
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            self.pending.set(0);
            bar.set_position(done);
        }
    }

    /// Starts counting again from 0 under another label (a second pass over the same work),
    /// drawn at once: a short step would otherwise fall between two of the bar's draws.
    pub fn restart(&self, label: &str) {
        if let Some(bar) = &self.bar {
            self.pending.set(0);
            bar.set_prefix(label.to_string());
            bar.reset();
            bar.force_draw();
        }
    }

    /// The work is done: the line is cleared (as it is when dropped).
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_only_on_a_terminal_and_without_json() {
        assert!(shown_on(false, true));
        assert!(!shown_on(true, true));
        assert!(!shown_on(false, false));
        assert!(!shown_on(true, false));
    }

    #[test]
    fn hidden_progress_has_no_bar() {
        let p = Progress::count(false, "readings", "rows", Some(10));
        assert!(p.bar.is_none());
        p.add(5_000);
        assert_eq!(p.pending.get(), 0);
    }

    /// A terminal that keeps everything drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Drawn(std::sync::Arc<std::sync::Mutex<String>>);

    impl indicatif::TermLike for Drawn {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_count_says_what_is_done_the_rate_and_the_time_left() {
        let term = Drawn::default();
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let p = Progress::on(
            target,
            "readings",
            Some(10_000),
            &count_template("rows", true),
        );
        p.set(5_000);
        p.bar.as_ref().unwrap().force_draw();
        let drawn = term.0.lock().unwrap().clone();
        let line = drawn.trim_end();
        let line = &line[line.rfind("readings ").expect("drawn")..];
        assert!(line.contains(" 5,000 of 10,000 rows · "), "{line}");
        assert!(
            line.contains(" rows/s · ") && line.ends_with(" left"),
            "{line}"
        );
    }

    #[test]
    fn steps_are_drawn_with_their_time_once_the_work_has_lasted() {
        let term = Drawn::default();
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let p = Progress::steps_on(target, "store sqlite:w.db", Duration::ZERO);
        let bar = p.bar.clone().expect("a bar");
        let shown_by = std::time::Instant::now() + Duration::from_secs(10);
        while bar.is_hidden() {
            assert!(std::time::Instant::now() < shown_by, "never shown");
            std::thread::sleep(Duration::from_millis(1));
        }
        p.teller()("counting the stored rows".into());
        bar.force_draw();
        let drawn = term.0.lock().unwrap().clone();
        assert!(
            drawn.contains("store sqlite:w.db ")
                && drawn.contains(" counting the stored rows · 0s"),
            "{drawn:?}"
        );
        // A start quicker than the delay draws nothing at all.
        let term = Drawn::default();
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let p = Progress::steps_on(target, "store", Duration::from_secs(3600));
        p.teller()("opening the store".into());
        p.bar.as_ref().unwrap().force_draw();
        p.clear();
        assert_eq!(*term.0.lock().unwrap(), "");
    }

    #[test]
    fn steps_reach_the_bar_in_groups() {
        let p = Progress::on(
            ProgressDrawTarget::hidden(),
            "readings",
            Some(10_000),
            &count_template("rows", true),
        );
        let bar = p.bar.clone().expect("drawn");
        for _ in 0..FLUSH_EVERY - 1 {
            p.inc();
        }
        assert_eq!(bar.position(), 0);
        p.inc();
        assert_eq!(bar.position(), FLUSH_EVERY);
        p.set(9_000);
        assert_eq!(bar.position(), 9_000);
        p.restart("writing");
        assert_eq!((bar.position(), bar.prefix()), (0, "writing".to_string()));
    }
}

//! The renderer and the event loop on a byte-counting backend read back by a terminal
//! emulator (vt100), on tokio's paused clock.

#[path = "support/fixed_run.rs"]
mod fixed_run;
#[path = "support/terminal_io.rs"]
mod terminal_io;
#[path = "support/test_backend.rs"]
mod test_backend;

use std::collections::VecDeque;
use std::future::pending;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crossterm::event::Event as TermEvent;
use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio::time::{Duration, sleep};
use wallwatch::app::theme::Palette;
use wallwatch::engine::{Command, NetworkStats};
use wallwatch::site::viewer::ViewerMsg;
use wallwatch::site::{Change, Feed, Update};
use wallwatch::term::counting::CountingBackend;
use wallwatch::term::{self, Exit, Renderer, TuiError};
use wallwatch::units::Speed;
use wallwatch::wall::Crews;

fn terminal(
    w: u16,
    h: u16,
) -> (
    Terminal<CountingBackend<terminal_io::Shared>>,
    terminal_io::Shared,
) {
    let out = terminal_io::Shared::default();
    (
        Terminal::new(CountingBackend::new(out.clone(), w, h)).unwrap(),
        out,
    )
}

#[test]
fn the_bytes_written_reproduce_the_screen() {
    let (mut term, out) = terminal(120, 40);
    let mut app = fixed_run::demo_app(Palette::TrueColor);
    let mut parser = vt100::Parser::new(40, 120, 0);
    let mut renderer = Renderer::new();
    assert!(renderer.draw(&mut term, &mut app).unwrap());
    let first = out.take();
    assert!(first.starts_with(term::BEGIN_SYNC) && first.ends_with(term::END_SYNC));
    parser.process(&first);
    terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 120, 40));
    assert_eq!(term.backend().bytes(), first.len() as u64);

    // A change is sent as a diff, and the emulator still agrees.
    for ev in fixed_run::run_events(&fixed_run::example_wall(), Crews::Limited(3), 9)
        .into_iter()
        .skip(12)
    {
        app.update(ev);
    }
    assert!(renderer.draw(&mut term, &mut app).unwrap());
    let diff = out.take();
    assert!(
        diff.len() < first.len() / 4,
        "{} vs {}",
        diff.len(),
        first.len()
    );
    parser.process(&diff);
    terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 120, 40));
}

#[test]
fn a_frame_without_changes_writes_nothing() {
    let (mut term, out) = terminal(80, 24);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let mut renderer = Renderer::new();
    renderer.draw(&mut term, &mut app).unwrap();
    out.take();
    for _ in 0..3 {
        assert!(!renderer.draw(&mut term, &mut app).unwrap());
    }
    assert_eq!(out.len(), 0);
    assert_eq!(renderer.frames, 1);
}

#[test]
fn a_full_redraw_clears_and_repaints_even_at_the_same_size() {
    let (mut term, out) = terminal(80, 24);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let mut renderer = Renderer::new();
    renderer.draw(&mut term, &mut app).unwrap();
    let first = out.take();
    renderer.full_redraw(&mut term, 80, 24).unwrap();
    renderer.draw(&mut term, &mut app).unwrap();
    let again = out.take();
    assert!(
        String::from_utf8_lossy(&again).contains("\x1b[2J"),
        "the screen is cleared"
    );
    let mut parser = vt100::Parser::new(24, 80, 0);
    parser.process(b"garbage that the clear wipes out");
    parser.process(&again);
    terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 80, 24));
    assert!(again.len() + 200 > first.len(), "everything is repainted");
}

#[test]
fn shrinking_the_terminal_is_followed() {
    let (mut term, out) = terminal(120, 40);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let mut renderer = Renderer::new();
    renderer.draw(&mut term, &mut app).unwrap();
    term.backend_mut().set_size(80, 24);
    out.take();
    renderer.draw(&mut term, &mut app).unwrap();
    let mut parser = vt100::Parser::new(24, 80, 0);
    parser.process(&out.take());
    terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 80, 24));
}

/// A viewer's numbered command, as the loop sends it.
type Asked = (u64, Command);

fn demo_channels() -> (
    mpsc::Sender<ViewerMsg>,
    mpsc::Receiver<ViewerMsg>,
    mpsc::Sender<Asked>,
    mpsc::Receiver<Asked>,
) {
    let (etx, erx) = mpsc::channel(64);
    let (ctx, crx) = mpsc::channel(16);
    (etx, erx, ctx, crx)
}

/// The site's update `seq`, with one change.
fn update(seq: u64, change: Change) -> ViewerMsg {
    ViewerMsg::Feed(Feed::Update(Arc::new(Update {
        seq,
        changes: vec![change],
    })))
}

/// Input that behaves like crossterm's `EventStream`: a pending poll registers its waker only
/// when none is registered yet, and the next event wakes that first waker.
#[derive(Clone, Default)]
struct FirstWakerInput(Arc<Mutex<(VecDeque<TermEvent>, Option<Waker>)>>);

impl FirstWakerInput {
    fn push(&self, ev: TermEvent) {
        let mut s = self.0.lock().unwrap();
        s.0.push_back(ev);
        if let Some(w) = s.1.take() {
            w.wake();
        }
    }
}

impl futures_util::Stream for FirstWakerInput {
    type Item = std::io::Result<TermEvent>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = self.0.lock().unwrap();
        if let Some(ev) = s.0.pop_front() {
            return Poll::Ready(Some(Ok(ev)));
        }
        if s.1.is_none() {
            s.1 = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Each key wakes the loop at once, whatever came before: draining pending input after a key
/// must not leave a dummy waker with the input stream (keys then waited for the next engine
/// event, seconds later).
#[tokio::test(start_paused = true)]
async fn every_key_wakes_the_loop_at_once() {
    let (mut term, _out) = terminal(100, 30);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (_etx, erx, ctx, mut crx) = demo_channels();
    let input = FirstWakerInput::default();
    let keys = input.clone();
    let typist = tokio::spawn(async move {
        for c in ['c', 's', 'q'] {
            sleep(Duration::from_secs(1)).await;
            let sent = tokio::time::Instant::now();
            keys.push(terminal_io::press(c));
            if c != 'q' {
                let cmd = tokio::time::timeout(Duration::from_millis(50), crx.recv()).await;
                assert!(cmd.is_ok(), "{c:?} was not handled within 50 ms");
                assert!(sent.elapsed() < Duration::from_millis(50));
            }
        }
    });
    let run = term::run_with(&mut term, &mut app, input, erx, ctx, pending());
    let exit = tokio::time::timeout(Duration::from_secs(10), run).await;
    assert!(exit.is_ok(), "the loop never saw q");
    assert_eq!(exit.unwrap().unwrap(), Exit::Quit);
    typist.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn keys_become_commands_and_q_quits() {
    let (mut term, out) = terminal(100, 30);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (_etx, erx, ctx, mut crx) = demo_channels();
    let (ktx, krx) = mpsc::unbounded_channel();
    for c in ['c', 's', 'S', ' ', '+', '?'] {
        ktx.send(terminal_io::press(c)).unwrap();
    }
    let keys = ktx.clone();
    tokio::spawn(async move {
        sleep(Duration::from_secs(1)).await;
        keys.send(terminal_io::press('q')).unwrap();
    });
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        erx,
        ctx,
        pending(),
    )
    .await;
    assert_eq!(exit.unwrap(), Exit::Quit);
    let mut got = Vec::new();
    while let Ok((_id, c)) = crx.try_recv() {
        got.push(c);
    }
    assert_eq!(
        got,
        [
            Command::AddCrews(1),
            Command::AddSensors {
                kind: None,
                count: 1
            },
            Command::RemoveNewestSensor,
            Command::Pause,
            Command::SetSpeed(Speed::Factor(2.0)),
        ]
    );
    // The help overlay was drawn before q.
    let mut parser = vt100::Parser::new(30, 100, 0);
    parser.process(&out.take());
    assert!(
        parser
            .screen()
            .contents()
            .contains("Keys · ? or Esc closes")
    );
}

#[tokio::test(start_paused = true)]
async fn a_signal_ends_the_loop() {
    let (mut term, _out) = terminal(80, 24);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (_etx, erx, ctx, _crx) = demo_channels();
    let (_ktx, krx) = mpsc::unbounded_channel();
    let stop = async {
        sleep(Duration::from_secs(3)).await;
        "SIGTERM"
    };
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        erx,
        ctx,
        stop,
    )
    .await;
    assert_eq!(exit.unwrap(), Exit::Signal("SIGTERM"));
}

#[tokio::test(start_paused = true)]
async fn a_dead_engine_is_an_error() {
    let (mut term, _out) = terminal(80, 24);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (etx, erx, ctx, _crx) = demo_channels();
    let (_ktx, krx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        sleep(Duration::from_secs(2)).await;
        drop(etx);
    });
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        erx,
        ctx,
        pending(),
    )
    .await;
    assert!(matches!(exit, Err(TuiError::EngineStopped)), "{exit:?}");
}

#[tokio::test(start_paused = true)]
async fn frame_pacing_and_idle_silence() {
    let (mut term, out) = terminal(120, 40);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (etx, erx, ctx, _crx) = demo_channels();
    let (ktx, krx) = mpsc::unbounded_channel();
    let probe = out.clone();
    let feeder = tokio::spawn(async move {
        sleep(Duration::from_millis(50)).await;
        probe.take(); // the first frame
        for i in 0..400u64 {
            let stats = NetworkStats {
                limit: 5,
                in_flight: (i % 5) as usize,
                waiting: i as usize,
                delivered: i,
                ..Default::default()
            };
            let change = Change::Network {
                stats,
                delivered_per_s: i,
            };
            etx.send(update(i + 1, change)).await.unwrap();
            sleep(Duration::from_millis(5)).await;
        }
        sleep(Duration::from_secs(1)).await;
        let busy = probe.take();
        sleep(Duration::from_secs(10)).await;
        let idle = probe.take();
        ktx.send(terminal_io::press('q')).unwrap();
        (busy, idle, etx)
    });
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        erx,
        ctx,
        pending(),
    )
    .await;
    assert_eq!(exit.unwrap(), Exit::Quit);
    let (busy, idle, _etx) = feeder.await.unwrap();
    let frames = terminal_io::frames(&busy);
    assert!(
        (15..=21).contains(&frames),
        "{frames} frames in 2 s of constant change"
    );
    assert!(
        idle.is_empty(),
        "{} bytes written while nothing changed",
        idle.len()
    );
}

#[tokio::test(start_paused = true)]
async fn resize_events_repaint_everything() {
    let (mut term, out) = terminal(80, 24);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (_etx, erx, ctx, _crx) = demo_channels();
    let (ktx, krx) = mpsc::unbounded_channel();
    let probe = out.clone();
    let task = tokio::spawn(async move {
        sleep(Duration::from_millis(500)).await;
        let first = probe.take();
        ktx.send(TermEvent::Resize(80, 24)).unwrap();
        sleep(Duration::from_millis(500)).await;
        let again = probe.take();
        ktx.send(terminal_io::press('q')).unwrap();
        (first, again)
    });
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        erx,
        ctx,
        pending(),
    )
    .await;
    assert_eq!(exit.unwrap(), Exit::Quit);
    let (first, again) = task.await.unwrap();
    let mut parser = vt100::Parser::new(24, 80, 0);
    parser.process(&first);
    parser.process(b"\x1b[5;5Hscribble");
    parser.process(&again);
    terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 80, 24));
}

/// On a busy site frames come at most every `FRAME`, but the frame that shows a command's
/// effect follows the last one within a quarter of that: whoever paused sees it at once.
#[tokio::test(start_paused = true)]
async fn a_commands_effect_is_drawn_at_once_on_a_busy_site() {
    use wallwatch::term::FRAME;
    let (mut term, out) = terminal(120, 40);
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let (etx, erx, ctx, _crx) = demo_channels();
    let (ktx, krx) = mpsc::unbounded_channel();
    let probe = out.clone();
    let feeder = tokio::spawn(async move {
        let busy = |seq: u64| {
            let stats = NetworkStats {
                limit: 5,
                delivered: seq,
                ..Default::default()
            };
            update(
                seq,
                Change::Network {
                    stats,
                    delivered_per_s: seq,
                },
            )
        };
        let mut seq = 0;
        // Constant change, until just after a frame was drawn.
        loop {
            seq += 1;
            etx.send(busy(seq)).await.unwrap();
            sleep(Duration::from_millis(1)).await;
            let drawn = !probe.take().is_empty();
            if seq > 300 && drawn {
                break;
            }
        }
        seq += 1;
        etx.send(update(seq, Change::Paused(true))).await.unwrap();
        sleep(FRAME / 4).await;
        let shown = String::from_utf8_lossy(&probe.take()).into_owned();
        // And the cadence after it is the busy one again.
        sleep(FRAME / 2).await;
        seq += 1;
        etx.send(busy(seq)).await.unwrap();
        sleep(Duration::from_millis(1)).await;
        let soon_after = probe.take();
        ktx.send(terminal_io::press('q')).unwrap();
        (shown, soon_after, etx)
    });
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        erx,
        ctx,
        pending(),
    )
    .await;
    assert_eq!(exit.unwrap(), Exit::Quit);
    let (shown, soon_after, _etx) = feeder.await.unwrap();
    assert!(
        shown.contains("PAUSED"),
        "no frame with the pause: {shown:?}"
    );
    assert!(
        soon_after.is_empty(),
        "a busy change drawn before its frame's slot"
    );
}

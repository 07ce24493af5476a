//! The log pane fed by tracing through the site's log feed and tui-logger, and what watching
//! the dashboard costs in bytes. One process-wide logger, so these tests take turns.

#[path = "support/fixed_run.rs"]
mod fixed_run;
#[path = "support/terminal_io.rs"]
mod terminal_io;
#[path = "support/test_backend.rs"]
mod test_backend;

use std::sync::{Arc, Mutex, OnceLock};

use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, sleep, sleep_until};
use wallwatch::app::App;
use wallwatch::app::theme::Palette;
use wallwatch::engine::{Event, NetworkStats, WallProgress};
use wallwatch::sensors::Reading;
use wallwatch::site::viewer::ViewerMsg;
use wallwatch::site::{Change, Feed, LogFeed, LogLine, Site, Update};
use wallwatch::term::counting::CountingBackend;
use wallwatch::term::{self, Exit, Renderer};
use wallwatch::units::Speed;
use wallwatch::wall::{self, CrewReport, Crews};

static TURN: Mutex<()> = Mutex::new(());

/// The dashboard's log feed (what `tracing` records for the site).
fn feed() -> Arc<LogFeed> {
    static FEED: OnceLock<Arc<LogFeed>> = OnceLock::new();
    FEED.get_or_init(|| term::init_dashboard_logging().unwrap())
        .clone()
}

fn logging() -> std::sync::MutexGuard<'static, ()> {
    feed();
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Brings what was logged to `app`'s log pane the way the site and the loop do: the site takes
/// the feed's lines and sends them in an update; the loop hands the app's new lines to the
/// pane's buffer.
fn settle(app: &mut App) {
    let lines = feed().take();
    let seq = app.seq + 1;
    app.apply(ViewerMsg::Feed(Feed::Update(Arc::new(Update {
        seq,
        changes: vec![Change::Log(lines)],
    }))));
    term::record_log(&std::mem::take(&mut app.new_log));
    // tui-logger moves events from its hot buffer on its own thread; do it now.
    tui_logger::move_events();
}

#[test]
fn log_lines_are_shown_sanitized_and_routine_levels_are_hidden() {
    let _turn = logging();
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    tracing::info!(target: "crew", "day 3 · crew 3 · profile 2 section 1 · 18 → 19 ft");
    tracing::debug!(target: "sensor", "routine reading hidden by default");
    tracing::warn!(target: "store", "write failed: \x1b[2Jdisk\x07 full");
    settle(&mut app);
    let buf = test_backend::render(&mut app, 120, 40);
    let text = test_backend::text(&buf);
    assert!(
        text.contains("INFO  crew    day 3 · crew 3 · profile 2 section 1 · 18 → 19 ft"),
        "{text}"
    );
    assert!(
        text.contains("WARN  store   write failed: \\u{1b}[2Jdisk\\u{7} full"),
        "{text}"
    );
    assert!(!text.contains("routine reading"));
    for cell in buf.content() {
        assert!(!cell.symbol().chars().any(char::is_control));
    }
}

/// A line shows the time the site logged it, not when it reached this viewer: an attached
/// viewer gets a fresh snapshot's 200 lines at once, logged over hours.
#[test]
fn log_lines_show_when_the_site_logged_them() {
    use chrono::TimeZone;
    let _turn = logging();
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let today = chrono::Local::now().date_naive();
    let at = |h, m, s| {
        chrono::Local
            .from_local_datetime(&today.and_hms_opt(h, m, s).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let line = |at, message: &str| LogLine {
        at,
        level: "INFO".into(),
        target: "crew".into(),
        message: message.into(),
    };
    let seq = app.seq + 1;
    app.apply(ViewerMsg::Feed(Feed::Update(Arc::new(Update {
        seq,
        changes: vec![Change::Log(vec![
            line(at(3, 4, 5), "logged before dawn"),
            line(at(23, 59, 58), "logged at midnight"),
        ])],
    }))));
    term::record_log(&std::mem::take(&mut app.new_log));
    tui_logger::move_events();
    let text = test_backend::text(&test_backend::render(&mut app, 120, 40));
    assert!(
        text.contains("03:04:05 INFO  crew    logged before dawn"),
        "{text}"
    );
    assert!(
        text.contains("23:59:58 INFO  crew    logged at midnight"),
        "{text}"
    );
}

#[test]
fn new_log_lines_scroll_the_terminal_instead_of_repainting() {
    let _turn = logging();
    let words = [
        "north", "ice", "crew", "raven", "gate", "watch", "snow", "wight", "oath", "steel",
    ];
    let line = |i: usize| -> String {
        (0..3 + i % 7)
            .map(|j| words[(i * 7 + j * 3) % words.len()])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    for i in 0..40 {
        tracing::info!(target: "engine", "{} {i}", line(i));
    }
    settle(&mut app);
    let out = terminal_io::Shared::default();
    let mut term = Terminal::new(CountingBackend::new(out.clone(), 120, 40)).unwrap();
    let mut renderer = Renderer::new();
    let mut parser = vt100::Parser::new(40, 120, 0);
    renderer.draw(&mut term, &mut app).unwrap();
    parser.process(&out.take());
    // The same two frames drawn the plain ratatui way, for comparison.
    let plain_out = terminal_io::Shared::default();
    let mut plain = Terminal::new(CountingBackend::new(plain_out.clone(), 120, 40)).unwrap();
    plain
        .draw(|f| {
            wallwatch::ui::draw(f, &app);
        })
        .unwrap();
    plain_out.take();

    for i in 40..43 {
        tracing::info!(target: "crew", "{} {i}", line(i));
    }
    settle(&mut app);
    assert!(renderer.draw(&mut term, &mut app).unwrap());
    let scrolled = out.take();
    assert_eq!(renderer.scrolls, 1);
    assert!(
        String::from_utf8_lossy(&scrolled).contains("S\x1b[r"),
        "a scroll inside a region"
    );
    parser.process(&scrolled);
    terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 120, 40));
    plain
        .draw(|f| {
            wallwatch::ui::draw(f, &app);
        })
        .unwrap();
    let repainted = plain_out.take();
    assert!(
        scrolled.len() * 3 < repainted.len(),
        "scroll {} bytes vs repaint {} bytes",
        scrolled.len(),
        repainted.len()
    );
}

#[test]
fn the_screen_stays_exact_while_the_log_moves_under_the_help_overlay() {
    let _turn = logging();
    let targets = ["crew", "engine", "store", "network"];
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    for i in 0..30 {
        tracing::info!(target: "engine", "warm-up line {i}");
    }
    settle(&mut app);
    let out = terminal_io::Shared::default();
    let mut term = Terminal::new(CountingBackend::new(out.clone(), 120, 40)).unwrap();
    let mut renderer = Renderer::new();
    let mut parser = vt100::Parser::new(40, 120, 0);
    renderer.draw(&mut term, &mut app).unwrap();
    parser.process(&out.take());
    for round in 0..60 {
        // Help opens and closes between rounds; lines of every target keep arriving.
        if round % 20 == 0 || round % 20 == 15 {
            app.help = !app.help;
        }
        for j in 0..1 + round % 3 {
            let target = targets[(round + j) % targets.len()];
            match target {
                "crew" => tracing::info!(target: "crew", "day {round} · crew {j} · line"),
                "engine" => tracing::info!(target: "engine", "engine line {round}.{j}"),
                "store" => tracing::warn!(target: "store", "store line {round}.{j}"),
                _ => tracing::info!(target: "network", "network line {round}.{j}"),
            }
        }
        settle(&mut app);
        renderer.draw(&mut term, &mut app).unwrap();
        parser.process(&out.take());
        terminal_io::assert_screen_matches(&parser, &test_backend::render(&mut app, 120, 40));
    }
}

/// The defaults as the engine will run them (5 sensors, a day every 5 s with 3 crews, network
/// stats four times a second, a store batch a second), fed through the site (its model, its
/// updates, its log feed) to the real loop for a minute on the paused clock at 120x40. Prints
/// and bounds bytes per second after the first frame.
#[tokio::test(start_paused = true)]
// The lock only keeps the other tests of this file (other threads) out of the shared logger.
#[allow(clippy::await_holding_lock)]
async fn watching_the_defaults_costs_under_300_bytes_a_second() {
    let _turn = logging();
    let out = terminal_io::Shared::default();
    let mut term = Terminal::new(CountingBackend::new(out.clone(), 120, 40)).unwrap();
    let mut app = App::new(Palette::Ansi16);
    let (etx, erx) = mpsc::channel(256);
    let (ctx, _crx) = mpsc::channel(16);
    let (ktx, krx) = mpsc::unbounded_channel();
    let wall = fixed_run::example_wall();
    let infos = fixed_run::sensor_infos();
    let probe = out.clone();
    const SECONDS: u64 = 60;
    let feeder = tokio::spawn(async move {
        etx.send(Event::Started {
            wall: Arc::new(wall.clone()),
            heights: wall.heights().to_vec(),
            progress: WallProgress::default(),
            crews: Crews::Limited(3),
            sensors: infos.clone(),
            network_limit: 5,
            store: "sqlite:wallwatch.db".into(),
            speed: Speed::Factor(1.0),
        })
        .await
        .unwrap();
        sleep(Duration::from_millis(200)).await;
        let first = probe.take().len();
        let start = Instant::now();
        let mut site = wall::Works::new(wall, Crews::Limited(3));
        let (mut id, mut delivered) = (0u64, 0u64);
        let mut values = vec![0i32; infos.len()];
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        // Ticks of 250 ms.
        for tick in 1..=SECONDS * 4 {
            sleep_until(start + Duration::from_millis(tick * 250)).await;
            let ms = tick * 250;
            let mut readings = Vec::new();
            for (s, info) in infos.iter().enumerate() {
                if ms % info.interval_ms == 0 {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    values[s] = (values[s] + (rng % 21) as i32 - 10).clamp(-100, 100);
                    id += 1;
                    readings.push(Reading {
                        id,
                        timestamp: fixed_run::ts(ms as i64 / 1000),
                        sensor: info.name.clone(),
                        value: values[s],
                        stored_at: None,
                    });
                    tracing::trace!(target: "sensor", "{} = {}", info.name, values[s]);
                }
            }
            delivered += readings.len() as u64;
            if !readings.is_empty() {
                etx.send(Event::Readings(readings)).await.unwrap();
            }
            if ms % 5000 == 0 && !site.is_done() {
                let work = site.step();
                let reports: Vec<CrewReport> = work
                    .iter()
                    .map(|w| {
                        tracing::info!(target: "crew", "{w}");
                        CrewReport::from_work(w, fixed_run::ts(ms as i64 / 1000))
                    })
                    .collect();
                delivered += reports.len() as u64;
                etx.send(Event::CrewReports(reports)).await.unwrap();
                etx.send(Event::Day(WallProgress {
                    day: site.day(),
                    ..Default::default()
                }))
                .await
                .unwrap();
            }
            let stats = NetworkStats {
                limit: 5,
                in_flight: (rng % 3) as usize,
                max_in_flight: 3,
                waiting: 0,
                delivered,
                mean_wait_ms: 0.4,
                mean_latency_ms: 40.0,
                ..NetworkStats::default()
            };
            etx.send(Event::Network(stats)).await.unwrap();
            if ms % 1000 == 0 {
                let rows = delivered;
                tracing::debug!(target: "store", "stored a batch, {rows} rows");
                etx.send(Event::Store {
                    rows,
                    failing: None,
                })
                .await
                .unwrap();
            }
        }
        sleep(Duration::from_millis(200)).await;
        let total = probe.take();
        ktx.send(terminal_io::press('q')).unwrap();
        (first, total, etx)
    });
    // The site, on the feeder's engine events and the log feed; this viewer's link to it.
    let site = Site::start(erx, Some(feed())).await.expect("Started");
    let (vtx, vrx) = mpsc::channel(4);
    let mut subscription = site.hub.subscribe();
    tokio::spawn(async move {
        while let Some(f) = subscription.next().await {
            if vtx.send(ViewerMsg::Feed(f)).await.is_err() {
                break;
            }
        }
    });
    let exit = term::run_with(
        &mut term,
        &mut app,
        terminal_io::input_stream(krx),
        vrx,
        ctx,
        std::future::pending(),
    )
    .await;
    assert_eq!(exit.unwrap(), Exit::Quit);
    let (first, total, etx) = feeder.await.unwrap();
    drop(etx);
    site.finished().await;
    let per_s = total.len() as f64 / SECONDS as f64;
    let frames = terminal_io::frames(&total) as f64 / SECONDS as f64;
    if std::env::var_os("DUMP_FRAMES").is_some() {
        let mut sizes: Vec<(usize, String)> = Vec::new();
        let marks: Vec<usize> = (0..total.len())
            .filter(|&i| total[i..].starts_with(term::BEGIN_SYNC))
            .collect();
        for (n, &m) in marks.iter().enumerate() {
            let end = marks.get(n + 1).copied().unwrap_or(total.len());
            sizes.push((
                end - m,
                String::from_utf8_lossy(&total[m..end])
                    .escape_debug()
                    .to_string(),
            ));
        }
        let mut hist = std::collections::BTreeMap::new();
        for (len, _) in &sizes {
            *hist.entry(len / 50 * 50).or_insert(0) += 1;
        }
        println!("frame size histogram (50-byte buckets): {hist:?}");
        sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (len, s) in sizes
            .iter()
            .take(3)
            .chain(sizes.iter().skip(sizes.len() / 2).take(3))
        {
            println!("--- {len} bytes:\n{s}");
        }
    }
    println!("first frame {first} bytes; then {per_s:.0} bytes/s, {frames:.1} frames/s at 120x40");
    assert!(first > 2000, "the first frame paints the screen");
    assert!(per_s <= 300.0, "{per_s:.0} bytes/s");
}

/// The target selector shows each target by name with the level it shows in words, not
/// tui-logger's raw `EWIDT:crew`; ←/→ on the selected target change its level there.
#[test]
fn the_target_selector_shows_targets_by_name_and_their_level_in_words() {
    let _turn = logging();
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    tracing::info!(target: "crew", "day 1 · crew 1 · profile 1 section 1 · 21 → 22 ft");
    tracing::warn!(target: "store", "write failed");
    settle(&mut app);
    app.focus = wallwatch::app::Pane::Log;
    app.log_targets = true;
    let text = test_backend::text(&test_backend::render(&mut app, 120, 40));
    assert!(!text.contains("EWIDT"), "{text}");
    assert!(!text.contains(":crew"), "{text}");
    // A row of the selector: the name, then a level word.
    let levels = ["off", "error", "warn", "info", "debug", "trace"];
    let row = |name: &str| {
        text.lines()
            .find_map(|l| {
                let at = l.find(&format!(" {name} "))?;
                let words: Vec<&str> = l[at..].split_whitespace().take(2).collect();
                levels.contains(&words[1]).then_some(words)
            })
            .unwrap_or_else(|| panic!("no row of {name}:\n{text}"))
    };
    assert_eq!(row("crew"), ["crew", "info"]);
    assert_eq!(row("store"), ["store", "info"]);
    // One level less for the selected target (the first, in name order) shows in words.
    let selected = wallwatch::ui::log::read_targets(ratatui::layout::Rect::new(0, 0, 19, 20), &app)
        .into_iter()
        .find(|r| r.selected)
        .expect("a target is selected");
    app.log.transition(tui_logger::TuiWidgetEvent::LeftKey);
    let text = test_backend::text(&test_backend::render(&mut app, 120, 40));
    assert!(
        text.lines()
            .any(|l| l.contains(&format!("› {}", selected.target)) && l.contains(" warn")),
        "{text}"
    );
}

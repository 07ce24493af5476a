//! The whole screen drawn from the fixed run: text snapshots, colours, sizes, hostile data.

#[path = "support/fixed_run.rs"]
mod fixed_run;
#[path = "support/test_backend.rs"]
mod test_backend;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use wallwatch::app::Pane;
use wallwatch::app::theme::Palette;
use wallwatch::engine::{Command, Event, SensorInfo};
use wallwatch::sensors::Reading;
use wallwatch::site::viewer::ViewerMsg;

fn screen(w: u16, h: u16) -> String {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    test_backend::text(&test_backend::render(&mut app, w, h))
}

#[test]
fn snapshot_80x24() {
    insta::assert_snapshot!(screen(80, 24));
}

#[test]
fn snapshot_140x45() {
    insta::assert_snapshot!(screen(140, 45));
}

#[test]
fn snapshot_help_overlay() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    app.help = true;
    insta::assert_snapshot!(test_backend::text(&test_backend::render(&mut app, 80, 24)));
}

/// A big wall far along: large figures everywhere the status bar looks.
fn large_app() -> wallwatch::app::App {
    use wallwatch::wall::{Crews, Wall};
    let wall = Wall::from_profiles(&vec![vec![0u8; 2000]; 3]);
    let crews = Crews::Limited(1000);
    let mut app = wallwatch::app::App::new(Palette::Ansi16);
    let t0 = tokio::time::Instant::now();
    app.update(fixed_run::started(&wall, crews, fixed_run::sensor_infos()));
    for ev in fixed_run::run_events(&wall, crews, 125) {
        fixed_run::update_at(&mut app, ev, t0);
    }
    let rows = Event::Store {
        rows: 1_234_567_890,
        failing: None,
    };
    fixed_run::update_at(&mut app, rows, t0);
    app.notice = Some("crews 1001, 1002 join tomorrow".into());
    app
}

/// The 80x24 status bar with large numbers: whole items, in the same words as at any size,
/// the rows dropped first; the footer's key feedback and hints cut between hints, never inside
/// a word.
#[test]
fn snapshot_80x24_large_numbers() {
    let mut app = large_app();
    insta::assert_snapshot!(test_backend::text(&test_backend::render(&mut app, 80, 24)));
}

/// At every width the status bar fits (nothing is cut by the edge, so no word is cut), keeps
/// its form, and drops whole items in the fixed order: rows, network, sensors, ice, crews,
/// Dragons; the day and the speed stay.
#[test]
fn the_status_bar_drops_whole_items_in_a_fixed_order() {
    let app = large_app();
    let order = ["rows ", "net ", "sensors ", "ice ", "crews ", " Dragons"];
    let mut dropped_before = 0;
    for width in (20..=220).rev() {
        let line = wallwatch::ui::status::status_line(&app, true, width);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert!(line.width() <= width.max(24), "{width}: {text:?}");
        assert!(
            text.contains("Day 125") && text.contains("▶ 1×"),
            "{width}: {text}"
        );
        assert!(
            !text.contains('│') && !text.contains('₲'),
            "one form: {text}"
        );
        let dropped = order.iter().take_while(|w| !text.contains(*w)).count();
        assert!(
            order[dropped..].iter().all(|w| text.contains(w)),
            "{width}: items went out of order: {text}"
        );
        assert!(dropped >= dropped_before, "{width}: {text}");
        dropped_before = dropped;
        let footer = wallwatch::ui::status::footer(&app, width);
        assert!(footer.width() <= width, "{width}: footer too wide");
    }
    assert_eq!(
        dropped_before,
        order.len(),
        "at 20 columns only the day and speed are left"
    );
}

#[test]
fn snapshot_too_small() {
    insta::assert_snapshot!(screen(30, 8));
}

#[test]
fn snapshot_narrow_60x16() {
    insta::assert_snapshot!(screen(60, 16));
}

#[test]
fn every_size_down_to_1x1_draws_without_panicking() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    for w in 1..=90u16 {
        for h in 1..=30u16 {
            if w > 8 && h > 8 && (w % 3 != 0 || h % 2 != 0) {
                continue; // every small size, a sample of the larger ones
            }
            test_backend::render(&mut app, w, h);
        }
    }
    app.help = true;
    for (w, h) in [(1, 1), (2, 1), (10, 3), (40, 10), (45, 12)] {
        test_backend::render(&mut app, w, h);
    }
    let text = test_backend::text(&test_backend::render(
        &mut fixed_run::demo_app(Palette::Ansi16),
        1,
        1,
    ));
    assert_eq!(text.trim_end().chars().count(), 1);
}

/// Cells of `row` that show `symbol`.
fn find(buf: &Buffer, row: &str, symbol: &str) -> Vec<(u16, u16)> {
    let text = test_backend::text(buf);
    let y = text
        .lines()
        .position(|l| l.contains(row))
        .unwrap_or_else(|| panic!("no row {row}")) as u16;
    (0..buf.area.width)
        .filter(|&x| buf[(x, y)].symbol() == symbol)
        .map(|x| (x, y))
        .collect()
}

#[test]
fn finished_sections_are_green_and_crews_are_marked() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let buf = test_backend::render(&mut app, 80, 24);
    // Day 6: P1 sections 2 and 3 are at 30 ft; crew 1 works P1 section 1 (27 ft).
    let done = find(&buf, "P1 ", "█");
    assert_eq!(done.len(), 2, "one glyph per section at 80 columns");
    for p in done {
        assert_eq!(buf[p].fg, Color::Green);
    }
    let crew = find(&buf, "P1 ", "▇");
    assert_eq!(crew.len(), 1);
    let cell = &buf[crew[0]];
    assert_eq!((cell.fg, cell.bg), (Color::Black, Color::Yellow));
    assert!(cell.modifier.contains(Modifier::BOLD));
    // P3: crew 2 on section 1 (18 ft, ▅); section 4 (19 ft) is also ▅ but has no crew.
    let fives = find(&buf, "P3 ", "▅");
    assert_eq!(fives.len(), 2);
    assert_eq!(buf[fives[0]].bg, Color::Yellow);
    assert_eq!(buf[fives[1]].bg, Color::Reset);
    assert_eq!(
        buf[fives[1]].fg,
        Color::Blue,
        "an unfinished section in ice blue"
    );
}

#[test]
fn a_failing_store_shows_a_warning() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    app.update(Event::Store {
        rows: 218,
        failing: Some("database is locked".into()),
    });
    let buf = test_backend::render(&mut app, 140, 45);
    let text = test_backend::text(&buf);
    let y = text
        .lines()
        .position(|l| l.contains("store failing: database is locked"))
        .expect("shown") as u16;
    let line: Vec<char> = text.lines().nth(y as usize).unwrap().chars().collect();
    let x = line.iter().position(|&c| c == '⚠').unwrap() as u16;
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
}

#[test]
fn the_focused_pane_has_the_accent_title_bar() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let buf = test_backend::render(&mut app, 80, 24);
    let text = test_backend::text(&buf);
    let bar_row = |title: &str| {
        text.lines()
            .position(|l| l.starts_with(&format!(" {title}")))
            .unwrap() as u16
    };
    let (wall, sensors) = (bar_row("Wall"), bar_row("Sensors"));
    assert_eq!(wall, 0);
    // The bar spans the pane (the Network pane's bar is beside it), the title in bold.
    for x in [0, 20] {
        assert_eq!(buf[(x, wall)].bg, Color::Cyan, "focused bar at x={x}");
    }
    assert_eq!(
        buf[(79, wall)].bg,
        Color::DarkGray,
        "the Network pane's bar"
    );
    assert!(buf[(1, wall)].modifier.contains(Modifier::BOLD));
    assert_eq!(buf[(0, sensors)].bg, Color::DarkGray);
    assert_eq!(buf[(79, sensors)].bg, Color::DarkGray);
    app.focus = Pane::Sensors;
    let buf = test_backend::render(&mut app, 80, 24);
    assert_eq!(buf[(0, wall)].bg, Color::DarkGray);
    assert_eq!(buf[(79, sensors)].bg, Color::Cyan);
    // The help overlay takes the focus away from every pane.
    app.help = true;
    let buf = test_backend::render(&mut app, 80, 24);
    assert_eq!(buf[(0, sensors)].bg, Color::DarkGray);
}

#[test]
fn no_colour_palette_draws_no_colours() {
    let mut app = fixed_run::demo_app(Palette::None);
    app.update(Event::Store {
        rows: 1,
        failing: Some("down".into()),
    });
    app.update(Event::Paused(true));
    for (w, h) in [(80, 24), (140, 45)] {
        let buf = test_backend::render(&mut app, w, h);
        for cell in buf.content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
        // Crews are still told apart, by reverse video.
        assert!(
            buf.content()
                .iter()
                .any(|c| c.modifier.contains(Modifier::REVERSED))
        );
    }
}

#[test]
fn control_characters_in_data_never_reach_the_screen() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    let evil = "bad\x1b[31mname\x07\r\n\u{9b}2J";
    app.update(Event::SensorAdded(SensorInfo {
        name: evil.into(),
        kind: "k\x1bind".into(),
        interval_ms: 1,
    }));
    app.update(Event::Readings(vec![Reading {
        id: 1,
        timestamp: fixed_run::ts(0),
        sensor: evil.into(),
        value: 5,
        stored_at: None,
    }]));
    let (id, _) = app.ask(Command::AddSensors {
        kind: None,
        count: 1,
    });
    app.apply(ViewerMsg::Reply {
        id,
        reply: Err(wallwatch::engine::Refusal::UnknownKind(
            "no\x1b]0;title\x07pe".into(),
        )),
    });
    app.update(Event::Store {
        rows: 1,
        failing: Some("err\x1b[2Jor".into()),
    });
    app.sensor_scroll = 99; // the new sensor is last
    let buf = test_backend::render(&mut app, 140, 45);
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "{:?}",
            cell.symbol()
        );
    }
    let text = test_backend::text(&buf);
    assert!(
        text.contains("bad\\u{1b}[31mname"),
        "sanitized, not dropped:\n{text}"
    );
    assert!(text.contains("no\\u{1b}]0;title\\u{7}pe"));
    assert!(text.contains("err\\u{1b}[2Jor"));
    // The escaped name, longer than the raw one, still fits its column: the kind after it
    // starts under the header's "kind".
    let header = text
        .lines()
        .find(|l| l.contains(" kind ") && l.contains(" last "))
        .unwrap();
    let evil_row = text.lines().find(|l| l.contains("bad\\u{1b}")).unwrap();
    let col = |line: &str, what: &str| line[..line.find(what).unwrap()].chars().count();
    assert_eq!(col(evil_row, "k\\u{1b}ind"), col(header, "kind"), "{text}");
}

#[test]
fn a_pane_that_scrolls_shows_its_position_in_its_title_bar() {
    let mut app = fixed_run::demo_app(Palette::Ansi16);
    for i in 0..30 {
        app.update(Event::SensorAdded(SensorInfo {
            name: format!("extra-{i:02}"),
            kind: "default".into(),
            interval_ms: 5000,
        }));
    }
    let buf = test_backend::render(&mut app, 80, 24);
    let text = test_backend::text(&buf);
    let bar = text.lines().find(|l| l.starts_with(" Sensors")).unwrap();
    let shown = app.viewport.sensor_rows;
    assert!(shown > 0 && shown < 35);
    assert!(
        bar.trim_end().ends_with(&format!("1–{shown} of 35")),
        "{bar:?}"
    );
    // The rows drawn are the rows the viewport counts: the first and the last visible sensor.
    assert!(text.contains(" gate-north "));
    assert!(text.contains(&format!(" extra-{:02} ", shown - 6)));
    assert!(!text.contains(&format!(" extra-{:02} ", shown - 5)));
    // At the end, the last sensor is on the pane's last row.
    app.focus = Pane::Sensors;
    app.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::End,
    ));
    let text = test_backend::text(&test_backend::render(&mut app, 80, 24));
    let bar = text.lines().find(|l| l.starts_with(" Sensors")).unwrap();
    assert!(
        bar.trim_end()
            .ends_with(&format!("{}–35 of 35", 36 - shown)),
        "{bar:?}"
    );
    assert!(text.contains(" extra-29 "));
}

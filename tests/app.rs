//! The App on its own: every key, and the state events build.

#[path = "support/fixed_run.rs"]
mod fixed_run;

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::time::{Duration, Instant};
use wallwatch::app::theme::Palette;
use wallwatch::app::{App, HISTORY, Pane, Viewport};
use wallwatch::engine::{Command, Event, NetworkStats, SensorInfo, WallProgress};
use wallwatch::sensors::Reading;
use wallwatch::site::Model;
use wallwatch::site::viewer::ViewerMsg;
use wallwatch::units::Speed;
use wallwatch::wall::{COST_PER_FOOT, Crews, ICE_PER_FOOT, Wall, Works};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), m)
}

fn started(crews: Crews) -> App {
    let mut app = App::new(Palette::Ansi16);
    let wall = fixed_run::example_wall();
    app.update(Event::Started {
        heights: wall.heights().to_vec(),
        wall: Arc::new(wall),
        progress: WallProgress::default(),
        crews,
        sensors: fixed_run::sensor_infos(),
        network_limit: 5,
        store: "memory:".into(),
        speed: Speed::Factor(1.0),
    });
    app
}

fn site(app: &App) -> &Model {
    app.site.as_ref().expect("started")
}

#[test]
fn crew_and_sensor_keys_send_their_commands() {
    let mut app = started(Crews::Limited(3));
    assert_eq!(app.on_key(ch('c')), Some(Command::AddCrews(1)));
    assert_eq!(app.on_key(ch('C')), Some(Command::RemoveCrews(1)));
    assert_eq!(
        app.on_key(ch('s')),
        Some(Command::AddSensors {
            kind: None,
            count: 1
        })
    );
    assert_eq!(app.on_key(ch('S')), Some(Command::RemoveNewestSensor));
    assert_eq!(app.on_key(ch(' ')), Some(Command::Pause));
    assert!(!app.quit);
}

#[test]
fn crew_keys_in_unlimited_mode_explain_and_send_nothing() {
    let mut app = started(Crews::Unlimited);
    assert_eq!(app.on_key(ch('c')), None);
    let notice = app.notice.clone().expect("an explanation");
    assert!(notice.contains("unlimited"), "{notice}");
    app.notice = None;
    assert_eq!(app.on_key(ch('C')), None);
    assert!(app.notice.is_some());
    assert_eq!(app.crew_count(), Some(9), "one crew per section");
}

#[test]
fn only_presses_count() {
    let mut app = started(Crews::Limited(3));
    for kind in [KeyEventKind::Release, KeyEventKind::Repeat] {
        let mut k = ch('c');
        k.kind = kind;
        assert_eq!(app.on_key(k), None);
        let mut q = ch('q');
        q.kind = kind;
        app.on_key(q);
        assert!(!app.quit);
    }
}

#[test]
fn plus_and_minus_double_and_halve_the_speed() {
    let mut app = started(Crews::Limited(3));
    // Each step is from the speed the site reports (the viewer's model is the site's): the
    // site's answer to one key comes before the next key.
    let step = |app: &mut App, c| {
        let cmd = app.on_key(ch(c));
        if let Some(Command::SetSpeed(s)) = cmd {
            app.update(Event::SpeedChanged(s));
        }
        cmd
    };
    assert_eq!(
        step(&mut app, '+'),
        Some(Command::SetSpeed(Speed::Factor(2.0)))
    );
    assert_eq!(
        step(&mut app, '+'),
        Some(Command::SetSpeed(Speed::Factor(4.0)))
    );
    assert_eq!(
        step(&mut app, '-'),
        Some(Command::SetSpeed(Speed::Factor(2.0)))
    );
    // The engine's word wins.
    app.update(Event::SpeedChanged(Speed::Max));
    assert_eq!(app.on_key(ch('+')), None, "nothing is faster than max");
    assert_eq!(
        app.on_key(ch('-')),
        Some(Command::SetSpeed(Speed::Factor(4096.0)))
    );
    app.update(Event::SpeedChanged(Speed::Factor(1.0 / 16.0)));
    assert_eq!(app.on_key(ch('-')), None, "slowest already");
}

#[test]
fn speed_keys_pressed_before_the_sites_answer_stack() {
    let mut app = started(Crews::Limited(3));
    let press = |app: &mut App, c| app.on_key(ch(c)).map(|cmd| app.ask(cmd));
    let (a, first) = press(&mut app, '+').unwrap();
    let (b, second) = press(&mut app, '+').unwrap();
    assert_eq!(first, Command::SetSpeed(Speed::Factor(2.0)));
    assert_eq!(
        second,
        Command::SetSpeed(Speed::Factor(4.0)),
        "steps from the speed asked"
    );
    let speed = |f| {
        Ok(wallwatch::engine::Outcome::Speed {
            speed: Speed::Factor(f),
        })
    };
    app.apply(ViewerMsg::Reply {
        id: a,
        reply: speed(2.0),
    });
    let (c, third) = press(&mut app, '-').unwrap();
    assert_eq!(
        third,
        Command::SetSpeed(Speed::Factor(2.0)),
        "×4 is still asked"
    );
    for (id, done) in [(b, 4.0), (c, 2.0)] {
        app.apply(ViewerMsg::Reply {
            id,
            reply: speed(done),
        });
    }
    // Every answer is in: the site's own speed is the base again.
    app.update(Event::SpeedChanged(Speed::Factor(8.0)));
    assert_eq!(
        press(&mut app, '+').map(|(_, c)| c),
        Some(Command::SetSpeed(Speed::Factor(16.0)))
    );
}

#[test]
fn tab_and_shift_tab_cycle_the_focus() {
    let mut app = started(Crews::Limited(3));
    assert_eq!(app.focus, Pane::Wall);
    let order = [Pane::Sensors, Pane::Network, Pane::Log, Pane::Wall];
    for p in order {
        assert_eq!(app.on_key(key(KeyCode::Tab)), None);
        assert_eq!(app.focus, p);
    }
    app.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.focus, Pane::Log);
}

#[test]
fn scroll_keys_move_the_focused_pane_within_bounds() {
    let mut app = started(Crews::Limited(3));
    app.set_viewport(Viewport {
        wall_rows: 1,
        sensor_rows: 2,
    });
    // Wall: 3 profiles, 1 visible: offsets 0..=2.
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.wall_scroll, 1);
    app.on_key(key(KeyCode::End));
    assert_eq!(app.wall_scroll, 2);
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.wall_scroll, 2, "no scrolling past the end");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.wall_scroll, 1);
    app.on_key(key(KeyCode::Home));
    assert_eq!(app.wall_scroll, 0);
    app.on_key(key(KeyCode::PageDown));
    assert_eq!(app.wall_scroll, 1);
    app.on_key(key(KeyCode::PageUp));
    assert_eq!(app.wall_scroll, 0);
    assert_eq!(app.sensor_scroll, 0, "the other pane does not move");
    // Sensors: 5 sensors, 2 visible: offsets 0..=3.
    app.on_key(key(KeyCode::Tab));
    app.on_key(ch('j'));
    assert_eq!(app.sensor_scroll, 1);
    app.on_key(key(KeyCode::PageDown));
    assert_eq!(app.sensor_scroll, 2);
    app.on_key(key(KeyCode::End));
    assert_eq!(app.sensor_scroll, 3);
    app.on_key(ch('k'));
    assert_eq!(app.sensor_scroll, 2);
    assert_eq!(app.wall_scroll, 0);
    // A bigger viewport clamps the offset.
    app.set_viewport(Viewport {
        wall_rows: 10,
        sensor_rows: 10,
    });
    assert_eq!(app.sensor_scroll, 0);
}

#[test]
fn log_keys_go_to_the_log_and_send_nothing() {
    let mut app = started(Crews::Limited(3));
    app.focus = Pane::Log;
    for code in [
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::PageUp,
        KeyCode::End,
    ] {
        assert_eq!(app.on_key(key(code)), None);
    }
    assert!(!app.log_targets);
    app.on_key(ch('h'));
    assert!(app.log_targets);
    app.on_key(ch('h'));
    assert!(!app.log_targets);
    assert_eq!(app.on_key(ch('f')), None);
    // Global keys still work in the log pane.
    assert_eq!(app.on_key(ch('c')), Some(Command::AddCrews(1)));
    // Outside the log pane, h is nothing.
    app.focus = Pane::Wall;
    app.on_key(ch('h'));
    assert!(!app.log_targets);
}

#[test]
fn help_opens_and_closes_and_is_modal() {
    let mut app = started(Crews::Limited(3));
    app.on_key(ch('?'));
    assert!(app.help);
    assert_eq!(app.on_key(ch('c')), None, "keys do nothing under help");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.focus, Pane::Wall);
    app.on_key(key(KeyCode::Esc));
    assert!(!app.help && !app.quit, "Esc closes help first");
    app.on_key(ch('?'));
    app.on_key(ch('?'));
    assert!(!app.help);
    app.on_key(ch('?'));
    app.on_key(ch('q'));
    assert!(app.quit, "q quits even from help");
}

#[test]
fn q_esc_and_ctrl_c_quit() {
    for k in [
        ch('q'),
        key(KeyCode::Esc),
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    ] {
        let mut app = started(Crews::Limited(3));
        assert_eq!(
            app.on_key(k),
            None,
            "quitting is the loop's business, not the engine's"
        );
        assert!(app.quit, "{k:?}");
    }
}

#[test]
fn crew_reports_build_the_wall_with_exact_ice_and_cost() {
    let wall = fixed_run::example_wall();
    let mut app = started(Crews::Limited(3));
    let mut site = Works::new(wall.clone(), Crews::Limited(3));
    for ev in fixed_run::run_events(&wall, Crews::Limited(3), 40) {
        app.update(ev);
    }
    while !site.is_done() {
        site.step();
    }
    let view = &self::site(&app).wall;
    assert_eq!(view.heights, site.heights());
    assert!(view.heights.iter().all(|&h| h == 30));
    assert_eq!(
        app.ice_and_cost(),
        (wall.feet_to_raise() * ICE_PER_FOOT, 32_233_500)
    );
    assert_eq!(app.ice_and_cost().1, wall.feet_to_raise() * COST_PER_FOOT);
    assert!((0..3).all(|p| view.percent_done(p) == 100));
    assert!(view.crews.iter().all(Option::is_none), "everyone relieved");
    assert!(self::site(&app).complete);
    assert_eq!(self::site(&app).day, 32);
}

#[test]
fn crews_are_tracked_to_their_sections() {
    let wall = fixed_run::example_wall();
    let mut app = started(Crews::Limited(3));
    for ev in fixed_run::run_events(&wall, Crews::Limited(3), 3) {
        app.update(ev);
    }
    let view = &site(&app).wall;
    // Day 3: crew 1 on P1S1, crew 2 on P1S2, crew 3 moved to P2S1 (flat index 3).
    assert_eq!(view.crews, vec![Some(0), Some(1), Some(3)]);
    assert_eq!(view.heights[..4], [24, 28, 30, 18]);
    assert_eq!(view.percent_done(0), (3 + 3 + 2) * 100 / (9 + 5 + 2));
    assert_eq!(view.profile_ice(0), 8 * ICE_PER_FOOT);
    app.update(Event::CrewsChanged(Crews::Limited(2)));
    assert_eq!(site(&app).wall.crews.len(), 2);
    assert_eq!(app.crew_count(), Some(2));
}

#[test]
fn sensors_keep_bounded_history_and_exact_figures() {
    let mut app = started(Crews::Limited(3));
    let name = fixed_run::sensor_infos()[1].name.clone();
    let values: Vec<i32> = (0..HISTORY as i32 * 3)
        .map(|i| (i * 7) % 201 - 100)
        .collect();
    let readings = values
        .iter()
        .enumerate()
        .map(|(i, &v)| Reading {
            id: i as u64 + 1,
            timestamp: fixed_run::ts(0),
            sensor: name.clone(),
            value: v,
            stored_at: None,
        })
        .collect();
    assert!(app.update(Event::Readings(readings)));
    let s = &site(&app).sensors[1];
    assert_eq!(s.history.len(), HISTORY);
    assert_eq!(s.history.back(), values.last());
    assert_eq!(s.min, *values.iter().min().unwrap());
    assert_eq!(s.max, *values.iter().max().unwrap());
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
    assert_eq!(s.avg(), Some(mean.round() as i32));
    // A reading of an unknown sensor changes nothing.
    let stray = Reading {
        id: 9999,
        timestamp: fixed_run::ts(0),
        sensor: "ghost".into(),
        value: 1,
        stored_at: None,
    };
    assert!(!app.update(Event::Readings(vec![stray])));
}

#[test]
fn sensors_come_and_go() {
    let mut app = started(Crews::Limited(3));
    let info = SensorInfo {
        name: "new-1".into(),
        kind: "strain".into(),
        interval_ms: 2000,
    };
    app.update(Event::SensorAdded(info));
    assert_eq!(site(&app).sensors.len(), 6);
    assert!(app.update(Event::SensorRemoved("thermo-1".into())));
    assert!(!app.update(Event::SensorRemoved("thermo-1".into())));
    let names: Vec<&str> = site(&app)
        .sensors
        .iter()
        .map(|s| s.info.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["gate-north", "strain-1", "seismo-1", "gate-south", "new-1"]
    );
    // The index still finds the sensors that moved.
    let r = Reading {
        id: 1,
        timestamp: fixed_run::ts(0),
        sensor: "new-1".into(),
        value: 42,
        stored_at: None,
    };
    app.update(Event::Readings(vec![r]));
    assert_eq!(site(&app).sensors[4].last, Some(42));
}

#[test]
fn refusals_store_and_network_reach_the_state() {
    let mut app = started(Crews::Limited(3));
    // A refusal is answered only to the viewer that asked, as a notice naming what was asked.
    let (id, cmd) = app.ask(Command::RemoveCrews(1));
    assert_eq!(cmd, Command::RemoveCrews(1));
    assert!(app.apply(ViewerMsg::Reply {
        id,
        reply: Err(wallwatch::engine::Refusal::LastCrew { crews: 1 }),
    }));
    assert_eq!(
        app.notice.as_deref(),
        Some("remove crew refused: the last crew stays (a wall with no crew is never finished)")
    );
    assert!(app.update(Event::Store {
        rows: 10,
        failing: Some("disk full".into())
    }));
    assert!(
        !app.update(Event::Store {
            rows: 10,
            failing: Some("disk full".into())
        }),
        "no change, no redraw"
    );
    assert!(app.update(Event::Paused(true)));
    assert!(site(&app).paused);
    assert!(!app.update(Event::Paused(true)));
    let t0 = Instant::now();
    let stats = |delivered| NetworkStats {
        limit: 5,
        in_flight: 2,
        delivered,
        ..NetworkStats::default()
    };
    fixed_run::update_at(&mut app, Event::Network(stats(100)), t0);
    fixed_run::update_at(
        &mut app,
        Event::Network(stats(130)),
        t0 + Duration::from_secs(3),
    );
    assert_eq!(site(&app).delivered_per_s, 10);
    // Nothing delivered for a long while: the rate falls to 0.
    fixed_run::update_at(
        &mut app,
        Event::Network(stats(130)),
        t0 + Duration::from_secs(20),
    );
    assert_eq!(site(&app).delivered_per_s, 0);
    // A steady 16/s, published four times a second, over more than the window.
    let mut delivered = 130;
    for i in 1..=40 {
        delivered += 4;
        fixed_run::update_at(
            &mut app,
            Event::Network(stats(delivered)),
            t0 + Duration::from_millis(20_000 + i * 250),
        );
    }
    assert_eq!(site(&app).delivered_per_s, 16);
    assert_eq!(site(&app).network.in_flight, 2);
}

#[test]
fn updates_before_started_are_harmless() {
    let mut app = App::new(Palette::None);
    let wall = Wall::from_profiles(&[vec![29u8]]);
    for ev in fixed_run::run_events(&wall, Crews::Limited(1), 2) {
        app.update(ev);
    }
    assert!(app.site.is_none());
    assert_eq!(app.crew_count(), None);
    // Crew keys before the engine started still go to the engine.
    assert_eq!(app.on_key(ch('c')), Some(Command::AddCrews(1)));
}

//! Prints the dashboard for the fixed test run at a few sizes:
//! `cargo run --example preview [WxH ...]`.

#[path = "../tests/support/fixed_run.rs"]
mod fixed_run;
#[path = "../tests/support/test_backend.rs"]
mod test_backend;

use wallwatch::app::theme::Palette;

fn main() {
    let sizes: Vec<String> = std::env::args().skip(1).collect();
    let sizes = if sizes.is_empty() {
        vec!["80x24".to_string(), "200x50".to_string()]
    } else {
        sizes
    };
    for size in sizes {
        let help = size.ends_with('?');
        let (w, h) = size.trim_end_matches('?').split_once('x').expect("WxH");
        let mut app = fixed_run::demo_app(Palette::Ansi16);
        if let Ok(path) = std::env::var("PREVIEW_WALL") {
            // Another wall, worked 20 days by 50 crews.
            let wall =
                wallwatch::wall::Wall::parse(&std::fs::read(path).unwrap(), 100_000).unwrap();
            let crews = wallwatch::wall::Crews::Limited(50);
            app.update(wallwatch::engine::Event::Started {
                wall: std::sync::Arc::new(wall.clone()),
                heights: wall.heights().to_vec(),
                progress: wallwatch::engine::WallProgress::default(),
                crews,
                sensors: fixed_run::sensor_infos(),
                network_limit: 5,
                store: "memory:".into(),
                speed: wallwatch::units::Speed::Factor(1.0),
            });
            for ev in fixed_run::run_events(&wall, crews, 20) {
                app.update(ev);
            }
        }
        app.help = help;
        let buf = test_backend::render(&mut app, w.parse().unwrap(), h.parse().unwrap());
        println!("{size}:\n{}", test_backend::text(&buf));
    }
}

//! An App drawn on ratatui's test backend, and the drawn buffer read back as text.
#![allow(dead_code)] // each test file uses its own part of this

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use wallwatch::app::App;
use wallwatch::ui;

/// Draws `app` on a `w`×`h` test terminal.
pub fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| {
            let areas = ui::layout(f.area(), app);
            let _ = areas;
        })
        .unwrap();
    let areas = ui::layout(ratatui::layout::Rect::new(0, 0, w, h), app);
    app.set_viewport(areas.viewport());
    terminal
        .draw(|f| {
            ui::draw(f, app);
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing spaces kept.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

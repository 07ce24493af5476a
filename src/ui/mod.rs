//! Drawing: `draw(frame, &App)`. Reads the app, never changes it. Every text drawn from data
//! goes through [`crate::text::sanitize`], so control characters never reach the terminal.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::{App, Pane, Viewport};

pub mod help;
pub mod log;
pub mod network;
pub mod sensors;
pub mod status;

pub mod wall;

/// Below this the screen shows only a "terminal too small" notice.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// Below this the network pane folds into the status bar.
const NETWORK_SIDE_WIDTH: u16 = 72;
const NETWORK_WIDTH: u16 = 34;
const NETWORK_HEIGHT: u16 = 6;

/// Where each pane goes for a given terminal area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub wall: Rect,
    pub network: Option<Rect>,
    pub sensors: Rect,
    pub log: Option<Rect>,
    pub status: Rect,
    pub hints: Option<Rect>,
    pub too_small: bool,
}

impl Areas {
    /// Rows of content the scrollable panes show (below the title bar and the column headings).
    pub fn viewport(&self) -> Viewport {
        Viewport {
            wall_rows: self.wall.height.saturating_sub(2) as usize,
            sensor_rows: self.sensors.height.saturating_sub(2) as usize,
        }
    }
}

/// The layout of the screen for `area`.
pub fn layout(area: Rect, app: &App) -> Areas {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Areas {
            too_small: true,
            ..Areas::default()
        };
    }
    let with_hints = area.height >= 16;
    let [body, status, hints] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(u16::from(with_hints)),
    ])
    .areas(area);
    let side_network = area.width >= NETWORK_SIDE_WIDTH;
    let site = app.site.as_ref();
    let profiles = site.map_or(3, |s| s.wall.wall.profiles()) as u16;
    let sensors = site.map_or(0, |s| s.sensors.len()).max(1) as u16;
    let b = body.height;
    // Title bar, column headings, a row per profile, the legend.
    let top_want = profiles
        .saturating_add(3)
        .max(if side_network { NETWORK_HEIGHT } else { 4 });
    // Title bar, column headings, a row per sensor.
    let mid_want = sensors.saturating_add(2);
    let mut top = top_want.min((b * 2 / 5).max(4));
    let mut mid = mid_want.min((b * 2 / 5).max(3));
    let mut rest = b.saturating_sub(top + mid);
    if rest < 5 {
        // No room for a useful log: the wall, then the sensors, take the rows.
        let more = top_want.saturating_sub(top).min(rest);
        top += more;
        mid += rest - more;
        rest = 0;
    }
    if top + mid > b {
        top = b.saturating_sub(mid).max(3).min(b);
        mid = b - top;
    }
    let [top_area, sensors_area, log_area] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(mid),
        Constraint::Length(rest),
    ])
    .areas(body);
    let (wall_area, network) = if side_network {
        // A blank column between them keeps the two title bars apart.
        let [w, n] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(NETWORK_WIDTH)])
            .spacing(1)
            .areas(top_area);
        (w, Some(n))
    } else {
        (top_area, None)
    };
    Areas {
        wall: wall_area,
        network,
        sensors: sensors_area,
        log: (rest > 0).then_some(log_area),
        status,
        hints: with_hints.then_some(hints),
        too_small: false,
    }
}

/// Draws the whole screen. Never panics, at any size.
pub fn draw(frame: &mut Frame, app: &App) -> Areas {
    let area = frame.area();
    let areas = layout(area, app);
    if areas.too_small {
        draw_too_small(frame, area, app);
        return areas;
    }
    wall::draw(frame, areas.wall, app);
    if let Some(n) = areas.network {
        network::draw(frame, n, app);
    }
    sensors::draw(frame, areas.sensors, app);
    if let Some(l) = areas.log {
        log::draw(frame, l, app);
    }
    status::draw(
        frame,
        areas.status,
        areas.hints,
        areas.network.is_none(),
        app,
    );
    if app.help {
        help::draw(frame, area, app);
    }
    areas
}

fn draw_too_small(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let text = vec![
        Line::styled("Terminal too small", t.warning),
        Line::raw(format!(
            "{}×{}, need {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::styled("q quits", t.muted),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let inner = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
    );
}

/// Draws `lines` top-down in `area`, one per row, each cut at the area's width: what a
/// non-wrapping `Paragraph` draws, without its line composer (a frame at the defaults is drawn
/// cold, 1.5 s after the last, so every pass over the cells shows in its time).
pub fn draw_lines(frame: &mut Frame, area: Rect, lines: &[Line]) {
    for (line, y) in lines.iter().zip(area.top()..area.bottom()) {
        frame.render_widget(
            line,
            Rect {
                y,
                height: 1,
                ..area
            },
        );
    }
}

/// A pane's title bar on its top row: the title in bold on a bar as wide as the pane (the
/// accent bar when the pane has the focus), `note` (a scroll position) at its right end.
/// Returns the pane's content area: the rows below, one column in. Bars rather than box
/// borders: a box-drawing cell costs three bytes on the wire, and borders were 40 % of the
/// opening paint.
pub fn pane_bar(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    pane: Pane,
    title: &str,
    note: Option<&str>,
) -> Rect {
    if area.is_empty() {
        return area;
    }
    let t = &app.theme;
    let focused = pane == app.focus && !app.help;
    let style = if focused { t.bar_focused } else { t.bar };
    let buf = frame.buffer_mut();
    buf.set_style(Rect { height: 1, ..area }, style);
    let room = area.width.saturating_sub(2) as usize;
    let title = fit(title, room);
    let (x, _) = buf.set_stringn(
        area.x + 1,
        area.y,
        &title,
        room,
        style.add_modifier(Modifier::BOLD),
    );
    if let Some(note) = note {
        let w = Span::raw(note).width() as u16;
        let at = area.right().saturating_sub(w + 1);
        if at > x + 1 {
            buf.set_string(at, area.y, note, style);
        }
    }
    Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width - 1,
        height: area.height - 1,
    }
}

/// `4–9 of 12` for a bar's note, when `total` rows do not fit in the `shown` from `first`.
pub fn scroll_position(first: usize, shown: usize, total: usize) -> Option<String> {
    (total > shown && shown > 0)
        .then(|| format!("{}–{} of {total}", first + 1, (first + shown).min(total)))
}

pub use crate::text::thousands;

/// Cuts `s` to at most `width` columns (a wide character counts two), ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> Cow<'_, str> {
    if Span::raw(s).width() <= width {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = Span::raw(c.encode_utf8(&mut [0; 4]) as &str).width();
        if used + w >= width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("thermometer", 20), "thermometer");
        assert_eq!(fit("thermometer", 5), "ther…");
        assert_eq!(fit("thermometer", 0), "");
        // Wide characters take two columns: the cut keeps the result within the width.
        assert_eq!(fit("北京北京", 5), "北京…");
        assert_eq!(fit("北京", 4), "北京");
    }
}

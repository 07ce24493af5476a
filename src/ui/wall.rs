//! The Wall pane: a row per profile, a glyph per section shaded by height, crews marked,
//! finished sections green, and per-profile % done, ice and cost. When sections outnumber the
//! columns, each glyph is a bucket of sections showing its lowest height.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{pane_bar, thousands};
use crate::app::{App, Pane, WallView};
use crate::wall::{COST_PER_FOOT, ICE_PER_FOOT, MAX_HEIGHT};

/// Glyphs of heights 0..30 (exclusive); 30 ft is [`FINISHED`].
const LEVELS: [char; 7] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇'];
const FINISHED: char = '█';

/// The glyph of one height.
pub fn glyph(height: u8) -> char {
    if height >= MAX_HEIGHT {
        FINISHED
    } else {
        LEVELS[usize::from(height) * LEVELS.len() / usize::from(MAX_HEIGHT)]
    }
}

/// Widths of the label and figure columns (0: the column is left out).
struct Columns {
    label: usize,
    done: usize,
    ice: usize,
    cost: usize,
}

/// How a row of the pane is laid out.
struct Layout {
    cols: Columns,
    /// Columns of glyphs.
    bars: usize,
    /// Columns per section (up to 4, "███ "); 0 when a glyph is a bucket of sections.
    cell: usize,
    /// Sections of the longest profile.
    most: usize,
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let Some(view) = app.site.as_ref().map(|s| &s.wall) else {
        let inner = pane_bar(frame, area, app, Pane::Wall, "Wall", None);
        frame.render_widget(
            Paragraph::new(Line::styled("waiting for the site…", t.muted)),
            inner,
        );
        return;
    };
    let profiles = view.wall.profiles();
    // Below the bar: the column headings, a row per profile, the legend if there is room.
    let mut rows = (area.height as usize).saturating_sub(2);
    let legend = rows > profiles;
    if legend {
        rows -= 1;
    }
    let first = app.wall_scroll.min(profiles.saturating_sub(rows.max(1)));
    let position = super::scroll_position(first, rows, profiles);
    let inner = pane_bar(frame, area, app, Pane::Wall, "Wall", position.as_deref());
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let layout = layout(view, inner.width as usize);
    let mut lines = Vec::with_capacity(inner.height as usize);
    lines.push(header_line(&layout, app));
    let mut crews: Vec<usize> = view.crews.iter().flatten().copied().collect();
    crews.sort_unstable();
    for p in first..(first + rows).min(profiles) {
        lines.push(profile_line(view, p, &layout, &crews, app));
    }
    if legend {
        while lines.len() < inner.height as usize - 1 {
            lines.push(Line::raw(""));
        }
        lines.push(legend_line(&layout, app));
    }
    super::draw_lines(frame, inner, &lines);
}

/// The columns for a pane `width` wide: figures dropped, cost first, until the sections keep
/// at least a third of the row; the sections' glyphs in what is left.
fn layout(view: &WallView, width: usize) -> Layout {
    // Column widths from the largest figure each column can ever show, so nothing shifts.
    let max_feet = view.to_raise.iter().copied().max().unwrap_or(0);
    let mut cols = Columns {
        label: 1 + view.wall.profiles().to_string().len(),
        done: 4,
        ice: thousands(max_feet * ICE_PER_FOOT).len().max(7),
        cost: thousands(max_feet * COST_PER_FOOT).len().max(7),
    };
    let figures = |c: &Columns| {
        c.done + 1 + if c.ice > 0 { c.ice + 2 } else { 0 } + if c.cost > 0 { c.cost + 2 } else { 0 }
    };
    if width < cols.label + 1 + figures(&cols) + width / 3 {
        cols.cost = 0;
    }
    if width < cols.label + 1 + figures(&cols) + width / 3 {
        cols.ice = 0;
    }
    let room = width.saturating_sub(cols.label + 1 + figures(&cols) + 1);
    let most = max_sections(view);
    // Columns per section: up to 4 ("███ ") for small walls, 1, or buckets when n > room.
    let cell = room.checked_div(most).map_or(1, |c| c.min(4));
    let bars = if cell == 0 {
        room
    } else {
        (most * cell).max(8).min(room)
    };
    Layout {
        cols,
        bars,
        cell,
        most,
    }
}

/// The column headings.
fn header_line<'a>(layout: &Layout, app: &App) -> Line<'a> {
    let t = &app.theme;
    let Layout {
        cols,
        bars,
        cell,
        most,
    } = layout;
    let bars = *bars;
    let mut header = vec![Span::styled(
        format!("{:<w$}", "", w = cols.label + 1),
        t.header,
    )];
    let bar_title = if *cell == 0 {
        format!(
            "sections, lowest of ~{} per glyph",
            most.div_ceil(bars.max(1))
        )
    } else {
        "sections".to_string()
    };
    header.push(Span::styled(
        format!("{:<bars$} ", super::fit(&bar_title, bars)),
        t.header,
    ));
    header.push(Span::styled(
        format!("{:>w$}", "done", w = cols.done + 1),
        t.header,
    ));
    if cols.ice > 0 {
        header.push(Span::styled(
            format!("{:>w$}", "ice yd³", w = cols.ice + 2),
            t.header,
        ));
    }
    if cols.cost > 0 {
        header.push(Span::styled(
            format!("{:>w$}", "Dragons", w = cols.cost + 2),
            t.header,
        ));
    }
    Line::from(header)
}

/// Profile `p`'s row: its label, sections and figures.
fn profile_line<'a>(
    view: &WallView,
    p: usize,
    layout: &Layout,
    crews: &[usize],
    app: &App,
) -> Line<'a> {
    let t = &app.theme;
    let cols = &layout.cols;
    let mut spans = Vec::with_capacity(layout.bars.min(256) + 6);
    spans.push(Span::styled(
        format!("{:<w$} ", format!("P{}", p + 1), w = cols.label),
        t.muted,
    ));
    section_spans(view, p, layout.bars, layout.cell, crews, app, &mut spans);
    let done_style = if view.percent_done(p) >= 100 {
        t.finished
    } else {
        t.text
    };
    spans.push(Span::styled(
        format!("{:>w$}%", view.percent_done(p), w = cols.done),
        done_style,
    ));
    if cols.ice > 0 {
        spans.push(Span::raw(format!(
            "{:>w$}",
            thousands(view.profile_ice(p)),
            w = cols.ice + 2
        )));
    }
    if cols.cost > 0 {
        spans.push(Span::raw(format!(
            "{:>w$}",
            thousands(view.profile_cost(p)),
            w = cols.cost + 2
        )));
    }
    Line::from(spans)
}

/// What the glyphs and colours mean.
fn legend_line<'a>(layout: &Layout, app: &App) -> Line<'a> {
    let t = &app.theme;
    Line::from(vec![
        Span::styled(format!("{:<w$} ", "", w = layout.cols.label), t.muted),
        Span::styled("▁▃▅▇", t.section),
        Span::styled(" 0–29 ft  ", t.muted),
        Span::styled("█", t.finished),
        Span::styled(" done  ", t.muted),
        Span::styled("▅", t.crew),
        Span::styled(" crew at work", t.muted),
    ])
}

fn max_sections(view: &WallView) -> usize {
    (0..view.wall.profiles())
        .map(|p| view.wall.profile(p).len())
        .max()
        .unwrap_or(0)
}

/// Spans for profile `p`'s sections in `bars` columns, then padding to `bars + 1`.
fn section_spans<'a>(
    view: &WallView,
    p: usize,
    bars: usize,
    cell: usize,
    crews: &[usize],
    app: &App,
    spans: &mut Vec<Span<'a>>,
) {
    let t = &app.theme;
    let start = view.wall.profile_start(p);
    let heights = &view.heights[start..start + view.wall.profile(p).len()];
    let n = heights.len();
    let mut used = 0;
    if n > 0 && bars > 0 {
        let buckets = if cell == 0 { bars } else { n };
        let mut run = String::new();
        let mut run_style = Style::new();
        for b in 0..buckets {
            let (lo, hi) = if cell == 0 {
                (b * n / bars, ((b + 1) * n / bars).max(b * n / bars + 1))
            } else {
                (b, b + 1)
            };
            let lowest = heights[lo..hi].iter().copied().min().unwrap_or(0);
            let has_crew = {
                let from = crews.partition_point(|&c| c < start + lo);
                from < crews.len() && crews[from] < start + hi
            };
            let style = if has_crew {
                t.crew
            } else if lowest >= MAX_HEIGHT {
                t.finished
            } else {
                t.section
            };
            if style != run_style && !run.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut run), run_style));
            }
            run_style = style;
            let g = glyph(lowest);
            for _ in 0..cell.saturating_sub(1).max(1) {
                run.push(g);
            }
            if cell >= 2 {
                // The gap between sections is never highlighted.
                spans.push(Span::styled(std::mem::take(&mut run), run_style));
                run.push(' ');
                spans.push(Span::raw(std::mem::take(&mut run)));
            }
            used += cell.max(1);
        }
        if !run.is_empty() {
            spans.push(Span::styled(run, run_style));
        }
    }
    spans.push(Span::raw(" ".repeat(bars.saturating_sub(used) + 1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_rise_with_height_and_thirty_is_full() {
        assert_eq!(glyph(0), '▁');
        assert_eq!(glyph(29), '▇');
        assert_eq!(glyph(30), '█');
        let mut last = glyph(0);
        for h in 1..=30 {
            assert!(glyph(h) >= last);
            last = glyph(h);
        }
    }
}

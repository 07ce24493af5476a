//! The Sensors pane: a table of name, kind, last value, min/avg/max, a gauge of the last value
//! on the -100..=100 scale and a sparkline of recent readings. Scrolls.
//!
//! The figures that change with every reading are drawn in the default style and the gauge
//! and sparkline share one: style switches cost bytes on every update.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_bar;
use crate::app::theme::Theme;
use crate::app::{App, Pane, SensorView};
use crate::sensors::{MAX_VALUE, MIN_VALUE};
use crate::text::sanitize;

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const GAUGE_WIDTH: usize = 10;
const SPARK_MAX: usize = 30;

/// Readings per sparkline glyph: a glyph is the mean of a group of readings, groups aligned
/// to the sensor's reading count, so a new reading changes one glyph and the line shifts only
/// every `GROUP` readings (a shifting line repaints every glyph).
pub const GROUP: usize = 4;

/// A sparkline of the last `width` groups of readings (the newest group may be partial).
pub fn sparkline(sensor: &SensorView, width: usize) -> String {
    let n = sensor.history.len();
    if n == 0 || width == 0 {
        return String::new();
    }
    // Absolute index of the oldest reading kept, and the first group boundary at or after it.
    let oldest = sensor.count as usize - n;
    let first_group = oldest.div_ceil(GROUP);
    let last_group = (sensor.count as usize - 1) / GROUP;
    let from = first_group.max((last_group + 1).saturating_sub(width));
    let span = (MAX_VALUE - MIN_VALUE) as i64;
    (from..=last_group)
        .map(|g| {
            let lo = g * GROUP - oldest;
            let hi = ((g + 1) * GROUP - oldest).min(n);
            let sum: i64 = sensor.history.range(lo..hi).map(|&v| i64::from(v)).sum();
            let mean = (sum / (hi - lo) as i64).clamp(i64::from(MIN_VALUE), i64::from(MAX_VALUE));
            SPARKS[((mean - i64::from(MIN_VALUE)) * (SPARKS.len() as i64 - 1) / span) as usize]
        })
        .collect()
}

/// A horizontal bar of `value` on the -100..=100 scale, `width` columns, in eighths.
pub fn gauge(value: Option<i32>, width: usize) -> String {
    let Some(v) = value else {
        return " ".repeat(width);
    };
    let span = (MAX_VALUE - MIN_VALUE) as usize;
    let eighths = (v.clamp(MIN_VALUE, MAX_VALUE) - MIN_VALUE) as usize * width * 8 / span;
    let mut s = String::with_capacity(width * 3);
    for i in 0..width {
        let here = eighths.saturating_sub(i * 8).min(8);
        s.push(if here == 8 { '█' } else { EIGHTHS[here] });
    }
    s
}

/// One row of cells (each of one or more spans), each cut or padded to its column's width, one
/// space apart.
fn row<'a>(cells: Vec<Vec<Span<'a>>>, widths: &[usize]) -> Line<'a> {
    let mut spans = Vec::with_capacity(cells.len() * 3);
    for (i, (mut cell, &w)) in cells.into_iter().zip(widths).enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let mut cell_width: usize = cell.iter().map(Span::width).sum();
        if cell_width > w
            && let [only] = cell.as_mut_slice()
        {
            only.content = super::fit(&only.content, w).into_owned().into();
            cell_width = only.width();
        }
        spans.extend(cell);
        spans.push(Span::raw(" ".repeat(w.saturating_sub(cell_width))));
    }
    Line::from(spans)
}

fn num(v: Option<i32>) -> String {
    v.map_or_else(|| "–".to_string(), |v| v.to_string())
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let sensors: &[crate::app::SensorView] = app.site.as_ref().map_or(&[], |s| &s.sensors);
    let title = format!("Sensors · {}", sensors.len());
    // Below the bar: the column headings, then a row per sensor.
    let rows_visible = (area.height as usize).saturating_sub(2);
    let count = sensors.len();
    let first = app
        .sensor_scroll
        .min(count.saturating_sub(rows_visible.max(1)));
    let position = super::scroll_position(first, rows_visible, count);
    let inner = pane_bar(frame, area, app, Pane::Sensors, &title, position.as_deref());
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if sensors.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no sensors (s adds one)", t.muted)),
            inner,
        );
        return;
    }
    let columns = Columns::fit(sensors, inner.width as usize);
    let widths = columns.widths();
    let mut lines = vec![columns.header(&widths, t)];
    for s in sensors.iter().skip(first).take(rows_visible) {
        lines.push(columns.sensor_row(s, &widths, t));
    }
    super::draw_lines(frame, inner, &lines);
}

/// The table's column widths; the gauge and the sparkline are 0 wide when there is no room.
struct Columns {
    name: usize,
    kind: usize,
    gauge: usize,
    spark: usize,
}

impl Columns {
    /// Widths for these sensors in `width` columns.
    fn fit(sensors: &[SensorView], width: usize) -> Columns {
        let name = widest(sensors, |s| s.info.name.as_str(), 20);
        let kind = widest(sensors, |s| s.info.kind.as_str(), 12);
        // name kind last min avg max: fixed part; then the gauge and the sparkline if room.
        let fixed = name + 1 + kind + 1 + 4 * 5;
        let gauge = if width >= fixed + 1 + GAUGE_WIDTH + 2 {
            GAUGE_WIDTH
        } else {
            0
        };
        let spark = width
            .saturating_sub(fixed + if gauge > 0 { gauge + 3 } else { 0 } + 1)
            .min(SPARK_MAX);
        let spark = if spark >= 6 { spark } else { 0 };
        Columns {
            name,
            kind,
            gauge,
            spark,
        }
    }

    // Columns: name, kind, last, min, avg, max, [level gauge], [recent], one space apart. Laid
    // out here in plain lines (a Table would run its constraint solver every frame).
    fn widths(&self) -> Vec<usize> {
        let mut widths = vec![self.name, self.kind, 4, 4, 4, 4];
        if self.gauge > 0 {
            widths.push(self.gauge + 2);
        }
        if self.spark > 0 {
            widths.push(self.spark);
        }
        widths
    }

    /// The column headings. Their style goes on their words only: styled blanks look the same
    /// and would cost bytes on every full paint.
    fn header<'a>(&self, widths: &[usize], t: &Theme) -> Line<'a> {
        let mut titles = vec!["name", "kind", "last", " min", " avg", " max"];
        if self.gauge > 0 {
            titles.push("  level");
        }
        if self.spark > 0 {
            titles.push("recent");
        }
        row(
            titles
                .into_iter()
                .map(|h| vec![Span::styled(h, t.header)])
                .collect(),
            widths,
        )
    }

    /// One sensor's row: its figures, then its gauge and sparkline if they have room.
    fn sensor_row<'a>(&self, s: &SensorView, widths: &[usize], t: &Theme) -> Line<'a> {
        let mut cells = vec![
            vec![Span::raw(sanitize(&s.info.name).into_owned())],
            vec![Span::styled(sanitize(&s.info.kind).into_owned(), t.muted)],
            vec![Span::raw(format!("{:>4}", num(s.last)))],
            vec![Span::raw(format!(
                "{:>4}",
                num((s.count > 0).then_some(s.min))
            ))],
            vec![Span::raw(format!("{:>4}", num(s.avg())))],
            vec![Span::raw(format!(
                "{:>4}",
                num((s.count > 0).then_some(s.max))
            ))],
        ];
        if self.gauge > 0 {
            cells.push(vec![
                Span::styled("▕", t.muted),
                Span::styled(gauge(s.last, self.gauge), t.gauge),
                Span::styled("▏", t.muted),
            ]);
        }
        if self.spark > 0 {
            cells.push(vec![Span::styled(sparkline(s, self.spark), t.gauge)]);
        }
        row(cells, widths)
    }
}

/// The widest of a column's texts as shown (an escaped control character takes several
/// columns), at least 4 and at most `most`.
fn widest(sensors: &[SensorView], field: impl Fn(&SensorView) -> &str, most: usize) -> usize {
    sensors
        .iter()
        .map(|s| sanitize(field(s)).chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, most)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensor(values: impl IntoIterator<Item = i32>) -> SensorView {
        let mut s = SensorView::new(crate::engine::SensorInfo {
            name: "t".into(),
            kind: "k".into(),
            interval_ms: 1,
        });
        for v in values {
            s.push(v);
        }
        s
    }

    #[test]
    fn sparkline_glyphs_are_group_means_and_shift_only_per_group() {
        assert_eq!(sparkline(&sensor([]), 10), "");
        let s = sensor([-100, -100, 100, 100, 100]);
        // Groups: [-100,-100,100,100] mean 0, then [100] (partial).
        assert_eq!(sparkline(&s, 10), "▄█");
        assert_eq!(sparkline(&s, 1), "█");
        // One more reading changes only the last glyph.
        let t = sensor([-100, -100, 100, 100, 100, -100]);
        assert_eq!(sparkline(&t, 10), "▄▄");
        // Long runs keep at most `width` glyphs, aligned to the reading count.
        let long = sensor((0..1000).map(|i| {
            if (i / GROUP).is_multiple_of(2) {
                -100
            } else {
                100
            }
        }));
        let line = sparkline(&long, 8);
        assert_eq!(line.chars().count(), 8);
        assert_eq!(line, "▁█▁█▁█▁█");
    }

    #[test]
    fn gauge_fills_from_the_left_in_eighths() {
        assert_eq!(gauge(Some(-100), 4), "    ");
        assert_eq!(gauge(Some(100), 4), "████");
        assert_eq!(gauge(Some(0), 4), "██  ");
        assert_eq!(gauge(Some(-50), 4).chars().next(), Some('█'));
        assert_eq!(gauge(None, 3), "   ");
        assert_eq!(
            gauge(Some(1000), 2),
            "██",
            "out of range values are clamped"
        );
    }
}

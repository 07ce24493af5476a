//! The Network pane: messages in flight against the limit (a gauge), waiting for a permit,
//! the peak, delivered per second, mean wait and latency.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{pane_bar, thousands};
use crate::app::{App, Pane};

/// A bar of `used` out of `limit`: one cell per permit when the limit fits in `width`, else
/// proportional. Whole cells only, so it changes only when the count does.
pub fn bar(used: usize, limit: usize, width: usize) -> String {
    let (cells, filled) = if limit <= width {
        (limit, used.min(limit))
    } else {
        (width, (used.min(limit) * width).div_ceil(limit))
    };
    let mut s = "■".repeat(filled);
    s.push_str(&"□".repeat(cells - filled));
    s
}

fn ms(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("{} ms", thousands(v.round() as u64))
    } else {
        "–".into()
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let inner = pane_bar(frame, area, app, Pane::Network, "Network", None);
    if inner.height == 0 || inner.width < 12 {
        return;
    }
    let t = &app.theme;
    let n = app.site.as_ref().map(|s| s.network).unwrap_or_default();
    let label = |s: &'static str| Span::styled(format!("{s:<11}"), t.muted);
    let count = format!(" {}/{}", n.in_flight, n.limit);
    let bar_w = (inner.width as usize)
        .saturating_sub(11 + count.len())
        .min(20);
    let full = n.limit > 0 && n.in_flight >= n.limit;
    let mut lines = vec![
        Line::from(vec![
            label("in flight"),
            Span::styled(
                bar(n.in_flight, n.limit, bar_w),
                if full { t.gauge_full } else { t.gauge },
            ),
            Span::styled(count, t.accent),
        ]),
        Line::from(vec![
            label("waiting"),
            Span::raw(format!("{:<6}", thousands(n.waiting as u64))),
            Span::styled(" peak ", t.muted),
            Span::raw(format!("{}/{}", n.max_in_flight, n.limit)),
        ]),
        Line::from(vec![
            label("delivered"),
            Span::raw(format!(
                "{}/s",
                thousands(app.site.as_ref().map_or(0, |s| s.delivered_per_s))
            )),
        ]),
        Line::from(vec![label("mean wait"), Span::raw(ms(n.mean_wait_ms))]),
        Line::from(vec![label("latency"), Span::raw(ms(n.mean_latency_ms))]),
    ];
    if n.remote_delivered > 0 || n.remote_in_flight > 0 {
        // Agents' readings through the broker: a part of the figures above.
        lines.insert(
            3,
            Line::from(vec![
                label("remote"),
                Span::raw(format!(
                    "{} in flight · {} in",
                    thousands(n.remote_in_flight as u64),
                    thousands(n.remote_delivered)
                )),
            ]),
        );
    }
    super::draw_lines(frame, inner, &lines);
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bar_fills_by_whole_cells() {
        assert_eq!(bar(0, 5, 10), "□□□□□");
        assert_eq!(bar(3, 5, 10), "■■■□□");
        assert_eq!(bar(9, 5, 10), "■■■■■");
        assert_eq!(bar(1, 50, 10), "■□□□□□□□□□");
        assert_eq!(bar(50, 50, 10), "■■■■■■■■■■");
        assert_eq!(bar(1, 0, 3), "");
    }
}

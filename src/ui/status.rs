//! The status bar (day, speed, paused, crews, sensors, ice, Dragons, rows stored, store health)
//! and the footer of key hints built from the keymap, where notices also appear.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::thousands;
use crate::app::App;
use crate::app::keymap;
use crate::text::sanitize;
use crate::units::Speed;

/// `1×`, `16×`, `1/4×`, `max`.
pub fn speed_label(speed: Speed) -> String {
    match speed {
        Speed::Max => "max".into(),
        Speed::Factor(f) if f >= 1.0 || f <= 0.0 => {
            if f.fract() == 0.0 {
                format!("{f:.0}×")
            } else {
                format!("{f:.2}×")
            }
        }
        Speed::Factor(f) => {
            let inv = 1.0 / f;
            if (inv - inv.round()).abs() < 1e-9 {
                format!("1/{inv:.0}×")
            } else {
                format!("{f:.2}×")
            }
        }
    }
}

pub fn draw(frame: &mut Frame, status: Rect, hints: Option<Rect>, with_network: bool, app: &App) {
    // The widest form that fits: labelled with bars, then dots, then bare figures.
    let line = [Form::Full, Form::Compact, Form::Bare]
        .into_iter()
        .map(|form| status_line(app, with_network, form))
        .find(|l| l.width() <= status.width as usize)
        .unwrap_or_else(|| status_line(app, with_network, Form::Bare));
    super::draw_lines(frame, status, &[line]);

    if let Some(area) = hints {
        let t = &app.theme;
        let mut spans = Vec::new();
        if let Some(notice) = &app.notice {
            spans.push(Span::styled(format!(" {} ", sanitize(notice)), t.notice));
            spans.push(Span::styled("│", t.muted));
        }
        for (key, word) in keymap::hints() {
            let word = if word == "quit" && app.attached {
                "detach"
            } else {
                word
            };
            spans.push(Span::styled(format!(" {key}"), t.key));
            spans.push(Span::styled(format!(" {word} "), t.muted));
        }
        super::draw_lines(frame, area, &[Line::from(spans)]);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Full,
    Compact,
    Bare,
}

fn status_line(app: &App, with_network: bool, form: Form) -> Line<'static> {
    let t = &app.theme;
    let Some(site) = app.site.as_ref() else {
        return Line::styled(" connecting to the site…", t.muted);
    };
    let sep = match form {
        Form::Full => " │ ",
        Form::Compact => " · ",
        Form::Bare => " ",
    };
    let label = |full: &'static str, short: &'static str| match form {
        Form::Bare => short,
        _ => full,
    };
    let dragons = |cost: String| match form {
        Form::Full => vec![Span::raw(cost), Span::styled(" Dragons", t.muted)],
        Form::Compact => vec![Span::styled("₲ ", t.muted), Span::raw(cost)],
        Form::Bare => vec![Span::styled("₲", t.muted), Span::raw(cost)],
    };
    let (ice, cost) = app.ice_and_cost();
    let mut spans = vec![Span::styled(
        format!(" {}{}", label("Day ", "D"), site.day),
        t.accent,
    )];
    if site.complete {
        spans.push(Span::styled(" ✓", t.good));
        if form != Form::Bare {
            spans.push(Span::styled(" complete", t.good));
        }
    }
    spans.push(Span::styled(sep, t.muted));
    if site.paused {
        spans.push(Span::styled(label(" PAUSED ", "PAUSED"), t.paused));
    } else {
        spans.push(Span::raw(format!("▶ {}", speed_label(site.speed))));
    }
    let crews = match site.crews {
        crate::wall::Crews::Unlimited => label("unlimited", "∞").to_string(),
        crate::wall::Crews::Limited(n) => n.to_string(),
    };
    let item =
        |spans: &mut Vec<Span<'static>>, name: &'static str, short: &'static str, value: String| {
            spans.push(Span::styled(sep, t.muted));
            spans.push(Span::styled(label(name, short), t.muted));
            spans.push(Span::raw(value));
        };
    item(&mut spans, "crews ", "c", crews);
    item(&mut spans, "sensors ", "s", site.sensors.len().to_string());
    if with_network {
        item(
            &mut spans,
            "net ",
            "n",
            format!("{}/{}", site.network.in_flight, site.network.limit),
        );
    }
    let yd = if form == Form::Bare { "" } else { " yd³" };
    item(&mut spans, "ice ", "", format!("{}{yd}", thousands(ice)));
    spans.push(Span::styled(sep, t.muted));
    spans.extend(dragons(thousands(cost)));
    item(&mut spans, "rows ", "r", thousands(site.rows));
    if let Some(err) = &site.store_failing {
        spans.push(Span::styled(sep, t.muted));
        spans.push(Span::styled(
            format!("⚠ store failing: {}", sanitize(err)),
            t.warning,
        ));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_read_well() {
        assert_eq!(speed_label(Speed::Factor(1.0)), "1×");
        assert_eq!(speed_label(Speed::Factor(64.0)), "64×");
        assert_eq!(speed_label(Speed::Factor(0.25)), "1/4×");
        assert_eq!(speed_label(Speed::Factor(1.5)), "1.50×");
        assert_eq!(speed_label(Speed::Max), "max");
    }
}

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
    let line = status_line(app, with_network, status.width as usize);
    super::draw_lines(frame, status, &[line]);
    if let Some(area) = hints {
        super::draw_lines(frame, area, &[footer(app, area.width as usize)]);
    }
}

/// The separator between the status bar's items; one form at every width.
const SEP: &str = " · ";

/// One item of the status bar: what it shows, and the width it is laid out at (its widest
/// value this run, for the figures that can only grow up to a known total), so that which
/// items fit does not change from one day to the next.
struct Item {
    spans: Vec<Span<'static>>,
    width: usize,
    /// Items go in this order when the bar is too narrow (lowest first); `None` always stays.
    drop: Option<u8>,
}

impl Item {
    fn new(spans: Vec<Span<'static>>, at_most: Option<usize>, drop: Option<u8>) -> Item {
        let now = Line::from(spans.clone()).width();
        Item {
            width: at_most.map_or(now, |w| w.max(now)),
            spans,
            drop,
        }
    }
}

/// The status bar in `width` columns: day, speed or pause, crews, sensors, network, ice,
/// Dragons, rows, store health, in that order and always in the same words. When they do not
/// fit, whole items go, in a fixed order: rows first, then the network, sensors, ice, crews,
/// Dragons; the day, the speed and a failing store always stay (the failure's message is cut
/// between words).
pub fn status_line(app: &App, with_network: bool, width: usize) -> Line<'static> {
    let t = &app.theme;
    let Some(site) = app.site.as_ref() else {
        return Line::styled(" connecting to the site…", t.muted);
    };
    let (ice, cost) = app.ice_and_cost();
    let total_feet: u64 = site.wall.to_raise.iter().sum();
    let widest = |n: u64| Some(thousands(n).chars().count());
    let labelled = |label: &'static str, value: String, unit: &'static str| {
        let mut spans = vec![Span::styled(label, t.muted), Span::raw(value)];
        if !unit.is_empty() {
            spans.push(Span::styled(unit, t.muted));
        }
        spans
    };
    let day = match (site.complete, site.done_on) {
        (true, Some(d)) => Span::styled(format!("Done day {d}"), t.good),
        (true, None) => Span::styled(format!("Day {} done", site.day), t.good),
        (false, _) => Span::styled(format!("Day {}", site.day), t.accent),
    };
    let speed = if site.paused {
        Span::styled(" PAUSED ", t.paused)
    } else {
        Span::raw(format!("▶ {}", speed_label(site.speed)))
    };
    let crews = match site.crews {
        crate::wall::Crews::Unlimited => "unlimited".to_string(),
        crate::wall::Crews::Limited(n) => thousands(u64::from(n)),
    };
    let mut items = vec![
        Item::new(vec![day], None, None),
        Item::new(vec![speed], None, None),
        Item::new(labelled("crews ", crews, ""), None, Some(4)),
        Item::new(
            labelled("sensors ", thousands(site.sensors.len() as u64), ""),
            None,
            Some(2),
        ),
    ];
    if with_network {
        let net = format!("{}/{}", site.network.in_flight, site.network.limit);
        items.push(Item::new(labelled("net ", net, ""), None, Some(1)));
    }
    let ice_width = widest(total_feet * crate::wall::ICE_PER_FOOT).map(|w| w + 8);
    items.push(Item::new(
        labelled("ice ", thousands(ice), " yd³"),
        ice_width,
        Some(3),
    ));
    let cost_width = widest(total_feet * crate::wall::COST_PER_FOOT).map(|w| w + 8);
    items.push(Item::new(
        labelled("", thousands(cost), " Dragons"),
        cost_width,
        Some(5),
    ));
    items.push(Item::new(
        labelled("rows ", thousands(site.rows), ""),
        None,
        Some(0),
    ));
    let lead = 1; // the bar starts one column in
    let fixed = |items: &[Item]| {
        lead + items.iter().map(|i| i.width).sum::<usize>()
            + SEP.chars().count() * items.len().saturating_sub(1)
    };
    let failing = site
        .store_failing
        .as_ref()
        .map(|err| format!("⚠ store failing: {}", sanitize(err)));
    // The failure keeps at least its first words; the figures make room for it.
    let failing_min = failing.as_deref().map_or(0, |f| {
        SEP.chars().count() + words_within(f, 24).chars().count()
    });
    while fixed(&items) + failing_min > width {
        let Some(at) = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| item.drop.map(|d| (d, i)))
            .min()
            .map(|(_, i)| i)
        else {
            break;
        };
        items.remove(at);
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEP, t.muted));
        }
        spans.extend(item.spans);
    }
    if let Some(failing) = failing {
        let used = Line::from(spans.clone()).width() + SEP.chars().count();
        let room = width.saturating_sub(used);
        spans.push(Span::styled(SEP, t.muted));
        spans.push(Span::styled(words_within(&failing, room), t.warning));
    }
    Line::from(spans)
}

/// The footer: the last notice (key feedback), then as many key hints as fit whole; a notice
/// too long for the row is cut between words, and a hint is shown whole or not at all.
pub fn footer(app: &App, width: usize) -> Line<'static> {
    let t = &app.theme;
    let mut spans = Vec::new();
    let mut used = 0;
    if let Some(notice) = &app.notice {
        let text = words_within(&format!(" {} ", sanitize(notice)), width.saturating_sub(1));
        used += text.chars().count() + 1;
        spans.push(Span::styled(text, t.notice));
        spans.push(Span::styled("│", t.muted));
    }
    for (key, word) in keymap::hints() {
        let word = if word == "quit" && app.attached {
            "detach"
        } else {
            word
        };
        let hint = [format!(" {key}"), format!(" {word} ")];
        let w: usize = hint.iter().map(|h| h.chars().count()).sum();
        if used + w > width {
            break;
        }
        used += w;
        let [k, h] = hint;
        spans.push(Span::styled(k, t.key));
        spans.push(Span::styled(h, t.muted));
    }
    Line::from(spans)
}

/// `text` if it fits in `width` columns, else its first whole words that fit with `…`.
pub fn words_within(text: &str, width: usize) -> String {
    let w = |s: &str| Span::raw(s).width();
    if w(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        if w(&out) + w(word.trim_end()) + 1 > width {
            break;
        }
        out.push_str(word);
    }
    let mut out = out.trim_end().to_string();
    out.push('…');
    if w(&out) > width {
        return String::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_between_words() {
        assert_eq!(
            words_within("crew 4 joins tomorrow", 30),
            "crew 4 joins tomorrow"
        );
        assert_eq!(words_within("crew 4 joins tomorrow", 14), "crew 4 joins…");
        assert_eq!(words_within("crew 4 joins tomorrow", 12), "crew 4…");
        assert_eq!(words_within("refused", 3), "…");
    }

    #[test]
    fn speeds_read_well() {
        assert_eq!(speed_label(Speed::Factor(1.0)), "1×");
        assert_eq!(speed_label(Speed::Factor(64.0)), "64×");
        assert_eq!(speed_label(Speed::Factor(0.25)), "1/4×");
        assert_eq!(speed_label(Speed::Factor(1.5)), "1.50×");
        assert_eq!(speed_label(Speed::Max), "max");
    }
}

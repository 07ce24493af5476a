//! The Log pane: tui-logger's log widget and (with `h` in the log pane) its target selector,
//! sharing the app's one `TuiWidgetState`. Lines go through our own formatter so that every
//! message is sanitized and kept to one row (a log that wraps costs more to scroll).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use tui_logger::{ExtLogRecord, LogFormatter, TuiLoggerTargetWidget, TuiLoggerWidget};

use super::{fit, pane_bar};
use crate::app::theme::Theme;
use crate::app::{App, Pane};
use crate::text::sanitize;

struct Formatter {
    theme: Theme,
}

/// One log row: `HH:MM:SS LEVEL target  message`, cut to `width`, control characters removed.
pub fn log_line(
    time: &str,
    level: &str,
    target: &str,
    msg: &str,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let level_style = match level {
        "ERROR" => theme.error,
        "WARN" => theme.warning,
        "INFO" => theme.text,
        _ => theme.muted,
    };
    let msg = sanitize(msg.trim());
    let time = sanitize(time);
    let head = format!(
        "{} {:<5} {:<7} ",
        time,
        sanitize(level),
        fit(&sanitize(target), 7)
    );
    if head.chars().count() >= width {
        return Line::styled(fit(&head, width).into_owned(), theme.muted);
    }
    let rest = width - head.chars().count();
    let time_len = time.len() + 1; // a byte index into `head`
    let spans = vec![
        Span::styled(head[..time_len.min(head.len())].to_string(), theme.muted),
        Span::styled(head.get(time_len..).unwrap_or("").to_string(), level_style),
        Span::styled(
            fit(&msg, rest).into_owned(),
            if level_style == theme.text {
                Style::new()
            } else {
                level_style
            },
        ),
    ];
    Line::from(spans)
}

impl LogFormatter for Formatter {
    fn min_width(&self) -> u16 {
        16
    }

    fn format(&self, width: usize, evt: &ExtLogRecord) -> Vec<Line<'_>> {
        // Not `strftime`: it parses its pattern on every call, for every visible line of
        // every frame. The site's own time of the line, when `tui::record_log` put it in.
        let time = match evt.line {
            Some(s) if s < 86_400 => format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
            _ => {
                let t = evt.timestamp.time();
                format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
            }
        };
        vec![log_line(
            &time,
            evt.level.as_str(),
            evt.target(),
            evt.msg(),
            width,
            &self.theme,
        )]
    }
}

/// The rows the log lines occupy in the pane at `area`: the rows below its title bar, whole
/// terminal rows when the pane spans the width, which the renderer can then scroll.
pub fn inner(area: Rect) -> Rect {
    Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let focused = app.focus == Pane::Log;
    let title = if focused {
        "Log · ←/→ level · h targets · PgUp/End"
    } else {
        "Log"
    };
    let log_area = if app.log_targets && area.width >= 50 {
        let [targets, log] = Layout::horizontal([Constraint::Length(20), Constraint::Fill(1)])
            .spacing(1)
            .areas(area);
        let inner = pane_bar(frame, targets, app, Pane::Log, "Targets", None);
        let lines: Vec<Line> = read_targets(inner, app)
            .iter()
            .map(|row| target_line(row, inner.width as usize, &t))
            .collect();
        super::draw_lines(frame, inner, &lines);
        log
    } else {
        area
    };
    let inner = pane_bar(frame, log_area, app, Pane::Log, title, None);
    let widget = TuiLoggerWidget::default()
        .formatter(Box::new(Formatter { theme: t }))
        .state(&app.log);
    frame.render_widget(widget, inner);
}

/// One row of the target selector: a target, whether it is the one selected, and the most
/// detailed level of its lines shown (none: `off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub target: String,
    pub selected: bool,
    pub shown: Option<&'static str>,
}

/// The five level letters tui-logger's selector draws before each target, most severe first.
const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
/// Styles no theme uses, so that the scratch rendering's cells say what they are.
const SHOWN: Style = Style::new().fg(ratatui::style::Color::Indexed(201));
const SELECTED: Style = Style::new().fg(ratatui::style::Color::Indexed(202));

/// The selector's rows as tui-logger has them. Its own widget keeps the list, the selection and
/// each target's level (its keys move them), but draws a target as `EWIDT:crew`, five level
/// letters told apart only by colour. So it draws into a scratch buffer, in styles that say
/// which letters are shown and which row is selected, and the rows are read back from it.
pub fn read_targets(area: Rect, app: &App) -> Vec<TargetRow> {
    use ratatui::widgets::Widget;
    let mut scratch = ratatui::buffer::Buffer::empty(area);
    TuiLoggerTargetWidget::default()
        .style(Style::new())
        .style_show(SHOWN)
        .style_hide(Style::new())
        .style_off(Style::new())
        .highlight_style(SELECTED)
        .state(&app.log)
        .render(area, &mut scratch);
    let cell = |x: u16, y: u16| scratch.cell((area.x + x, y));
    (area.top()..area.bottom())
        .filter_map(|y| {
            let target: String = (6..area.width)
                .filter_map(|x| cell(x, y).map(|c| c.symbol().to_string()))
                .collect::<String>()
                .trim_end()
                .to_string();
            if target.is_empty() {
                return None;
            }
            let shown = (0..LEVELS.len() as u16)
                .filter(|&x| cell(x, y).is_some_and(|c| c.fg == SHOWN.fg.unwrap_or_default()))
                .map(|x| LEVELS[x as usize])
                .next_back();
            let selected = cell(6, y).is_some_and(|c| c.fg == SELECTED.fg.unwrap_or_default());
            Some(TargetRow {
                target,
                selected,
                shown,
            })
        })
        .collect()
}

/// `› crew      info`: the target's name, and in words the most detailed level shown.
pub fn target_line(row: &TargetRow, width: usize, theme: &Theme) -> Line<'static> {
    let level = row.shown.unwrap_or("off");
    let name_width = width.saturating_sub(level.len() + 3);
    let name = fit(&sanitize(&row.target), name_width).into_owned();
    let pad = name_width.saturating_sub(name.chars().count());
    let (mark, name_style) = if row.selected {
        ("›", theme.accent)
    } else {
        (" ", theme.text)
    };
    let level_style = if row.shown.is_some() {
        theme.text
    } else {
        theme.muted
    };
    Line::from(vec![
        Span::styled(format!("{mark} "), theme.accent),
        Span::styled(name, name_style),
        Span::raw(" ".repeat(pad + 1)),
        Span::styled(level.to_string(), level_style),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::theme::{Palette, Theme};

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_target_row_names_the_target_and_its_level_in_words() {
        let theme = Theme::new(Palette::Ansi16);
        let row = |target: &str, selected, shown| TargetRow {
            target: target.into(),
            selected,
            shown,
        };
        assert_eq!(
            text(&target_line(&row("crew", true, Some("info")), 18, &theme)),
            "› crew        info"
        );
        assert_eq!(
            text(&target_line(&row("network", false, None), 18, &theme)),
            "  network      off"
        );
        let long = text(&target_line(
            &row("a-very-long-target", false, Some("debug")),
            14,
            &theme,
        ));
        assert!(
            long.ends_with(" debug") && long.chars().count() <= 14,
            "{long}"
        );
    }

    #[test]
    fn a_log_line_is_one_clean_row() {
        let theme = Theme::new(Palette::Ansi16);
        let line = log_line(
            "12:00:01",
            "INFO",
            "crew",
            "day 3 · crew 3 · profile 2 section 1 · 18 → 19 ft",
            80,
            &theme,
        );
        assert_eq!(
            text(&line),
            "12:00:01 INFO  crew    day 3 · crew 3 · profile 2 section 1 · 18 → 19 ft"
        );
        let evil = log_line(
            "12:00:01",
            "WARN",
            "sen\x1bsor",
            "bad\x1b[2J\x07name\nnext",
            40,
            &theme,
        );
        let s = text(&evil);
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(s.chars().count() <= 40);
        assert!(
            s.contains("bad\\u{1b}[2J\\u{7}name\\nnext") || s.contains('…'),
            "{s}"
        );
        assert!(
            text(&log_line("12:00:01", "INFO", "crew", "x", 3, &theme))
                .chars()
                .count()
                <= 9
        );
    }
}

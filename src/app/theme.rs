//! Palettes: no colour (NO_COLOR or `--palette none`), 16 colours, 256 colours and truecolor.
//! Every style the screen uses comes from here, so a palette is one table.

use std::fmt;

use ratatui::style::{Color, Modifier, Style};

/// How many colours the terminal is trusted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Palette {
    /// No colour at all: emphasis by bold, reverse and underline only.
    None,
    /// The 16 ANSI colours (the safe default).
    #[default]
    Ansi16,
    /// The xterm 256-colour table.
    Ansi256,
    /// 24-bit colour.
    TrueColor,
}

impl fmt::Display for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Palette::None => "none",
            Palette::Ansi16 => "16",
            Palette::Ansi256 => "256",
            Palette::TrueColor => "truecolor",
        })
    }
}

impl Palette {
    /// Parses a `--palette` value.
    pub fn parse(s: &str) -> Result<Palette, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "no" | "off" | "mono" => Ok(Palette::None),
            "16" | "8" | "ansi" => Ok(Palette::Ansi16),
            "256" => Ok(Palette::Ansi256),
            "truecolor" | "24bit" | "rgb" => Ok(Palette::TrueColor),
            _ => Err(format!(
                "--palette: '{s}' is not a palette (none, 16, 256 or truecolor)"
            )),
        }
    }

    /// Chooses a palette: an explicit `--palette` wins; otherwise a non-empty `NO_COLOR` means
    /// none; otherwise `COLORTERM`/`TERM` tell truecolor, 256 or 16.
    pub fn choose(
        flag: Option<&str>,
        no_color: Option<&str>,
        colorterm: Option<&str>,
        term: Option<&str>,
    ) -> Result<Palette, String> {
        if let Some(flag) = flag {
            return Palette::parse(flag);
        }
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Ok(Palette::None);
        }
        if colorterm
            .is_some_and(|c| c.eq_ignore_ascii_case("truecolor") || c.eq_ignore_ascii_case("24bit"))
        {
            return Ok(Palette::TrueColor);
        }
        if term.is_some_and(|t| t.contains("256")) {
            return Ok(Palette::Ansi256);
        }
        Ok(Palette::Ansi16)
    }

    /// [`Palette::choose`] with the process environment.
    pub fn from_env(flag: Option<&str>) -> Result<Palette, String> {
        let var = |k: &str| std::env::var(k).ok();
        Palette::choose(
            flag,
            var("NO_COLOR").as_deref(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }
}

/// The styles of one palette.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    /// A pane's title bar, and the bar of the pane that has the focus.
    pub bar: Style,
    pub bar_focused: Style,
    pub header: Style,
    pub muted: Style,
    pub text: Style,
    pub accent: Style,
    /// A finished section (at 30 ft).
    pub finished: Style,
    /// A section with a crew on it.
    pub crew: Style,
    /// An unfinished section.
    pub section: Style,
    pub warning: Style,
    pub error: Style,
    pub good: Style,
    pub gauge: Style,
    pub gauge_full: Style,
    pub key: Style,
    pub paused: Style,
    pub notice: Style,
}

impl Theme {
    pub fn new(palette: Palette) -> Theme {
        let b = Modifier::BOLD;
        match palette {
            Palette::None => {
                let plain = Style::new();
                Theme {
                    // Without colour a title bar is an underline, the focused one reversed.
                    bar: plain.add_modifier(Modifier::UNDERLINED),
                    bar_focused: plain.add_modifier(b | Modifier::REVERSED),
                    header: plain.add_modifier(b),
                    muted: plain,
                    text: plain,
                    accent: plain.add_modifier(b),
                    finished: plain.add_modifier(b),
                    crew: plain.add_modifier(Modifier::REVERSED),
                    section: plain,
                    warning: plain.add_modifier(b | Modifier::REVERSED),
                    error: plain.add_modifier(b | Modifier::REVERSED),
                    good: plain,
                    gauge: plain,
                    gauge_full: plain.add_modifier(b),
                    key: plain.add_modifier(b),
                    paused: plain.add_modifier(b | Modifier::REVERSED),
                    notice: plain.add_modifier(b),
                }
            }
            _ => {
                let c = |c16: Color, c256: u8, rgb: (u8, u8, u8)| match palette {
                    Palette::Ansi16 | Palette::None => c16,
                    Palette::Ansi256 => Color::Indexed(c256),
                    Palette::TrueColor => Color::Rgb(rgb.0, rgb.1, rgb.2),
                };
                let green = c(Color::Green, 71, (98, 181, 98));
                let yellow = c(Color::Yellow, 178, (229, 181, 57));
                let red = c(Color::Red, 167, (224, 96, 96));
                let cyan = c(Color::Cyan, 74, (102, 170, 221));
                let grey = c(Color::DarkGray, 244, (128, 128, 128));
                let ice = c(Color::Blue, 110, (140, 180, 220));
                let black = Color::Black;
                // The title bars: light on dark grey.
                let light = c(Color::White, 253, (218, 218, 218));
                let dark = c(Color::DarkGray, 238, (68, 68, 68));
                Theme {
                    bar: Style::new().fg(light).bg(dark),
                    bar_focused: Style::new().fg(black).bg(cyan),
                    header: Style::new().fg(grey).add_modifier(b),
                    muted: Style::new().fg(grey),
                    text: Style::new(),
                    accent: Style::new().fg(cyan).add_modifier(b),
                    finished: Style::new().fg(green),
                    crew: Style::new().fg(black).bg(yellow).add_modifier(b),
                    section: Style::new().fg(ice),
                    warning: Style::new().fg(yellow).add_modifier(b),
                    error: Style::new().fg(red).add_modifier(b),
                    good: Style::new().fg(green),
                    gauge: Style::new().fg(cyan),
                    gauge_full: Style::new().fg(red),
                    key: Style::new().fg(cyan).add_modifier(b),
                    paused: Style::new().fg(black).bg(yellow).add_modifier(b),
                    notice: Style::new().fg(yellow),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_no_color_and_no_color_beats_detection() {
        let choose = Palette::choose;
        assert_eq!(
            choose(Some("256"), Some("1"), None, None),
            Ok(Palette::Ansi256)
        );
        assert_eq!(
            choose(None, Some("1"), Some("truecolor"), None),
            Ok(Palette::None)
        );
        assert_eq!(
            choose(None, Some(""), Some("truecolor"), None),
            Ok(Palette::TrueColor)
        );
        assert_eq!(
            choose(None, None, None, Some("xterm-256color")),
            Ok(Palette::Ansi256)
        );
        assert_eq!(choose(None, None, None, Some("xterm")), Ok(Palette::Ansi16));
        assert_eq!(choose(Some("none"), None, None, None), Ok(Palette::None));
        let err = choose(Some("pink"), None, None, None).unwrap_err();
        assert!(err.starts_with("--palette: 'pink'"), "{err}");
    }

    #[test]
    fn no_colour_palette_has_no_colours() {
        let t = Theme::new(Palette::None);
        for s in [
            t.bar, t.finished, t.crew, t.warning, t.error, t.gauge, t.section, t.paused,
        ] {
            assert_eq!((s.fg, s.bg), (None, None));
        }
        // Emphasis survives without colour.
        assert_ne!(t.crew, t.section);
        assert_ne!(t.bar_focused, t.bar);
    }
}

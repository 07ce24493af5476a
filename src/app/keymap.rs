//! The one table of key bindings. The footer hints and the `?` help overlay are built from it,
//! and [`lookup`] is how the app turns a key press into an [`Action`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AddCrew,
    RemoveCrew,
    AddSensor,
    RemoveSensor,
    TogglePause,
    SpeedUp,
    SlowDown,
    FocusNext,
    FocusPrev,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Home,
    End,
    /// Log pane: move the level of the selected target down / up.
    LogLevelLess,
    LogLevelMore,
    /// Log pane: show or hide the target selector.
    LogToggleTargets,
    /// Log pane: show only the selected target.
    LogFocusTarget,
    Help,
    Quit,
}

impl Action {
    /// Whether the action asks the site for a change (a read-only viewer may not).
    pub fn changes_site(self) -> bool {
        matches!(
            self,
            A::AddCrew
                | A::RemoveCrew
                | A::AddSensor
                | A::RemoveSensor
                | A::TogglePause
                | A::SpeedUp
                | A::SlowDown
        )
    }
}

/// How the keys of `action` are written in hints and help.
pub fn label(action: Action) -> &'static str {
    BINDINGS
        .iter()
        .find(|b| b.action == action)
        .map_or("?", |b| b.label)
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// Only while the log pane has the focus (checked before the global bindings).
    Log,
}

/// One key (a character ignores Shift, since terminals differ in reporting it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    /// Short word for the footer; empty = not in the footer.
    pub hint: &'static str,
    pub description: &'static str,
    pub action: Action,
    pub scope: Scope,
}

use Action as A;
use Key::{Char, Code, Ctrl};
use Scope::{Global, Log};

const fn bind(
    keys: &'static [Key],
    label: &'static str,
    hint: &'static str,
    description: &'static str,
    action: Action,
    scope: Scope,
) -> Binding {
    Binding {
        keys,
        label,
        hint,
        description,
        action,
        scope,
    }
}

/// Every binding, in the order help lists them. A binding with an empty description is
/// listed with the one before it (its label already names both keys).
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(&[Char('c')],                                   "c",          "crew+",    "add a crew (starts work the next day)",           A::AddCrew, Global),
    bind(&[Char('C')],                                   "C",          "crew-",    "remove the highest-numbered crew",                A::RemoveCrew, Global),
    bind(&[Char('s')],                                   "s",          "sensor+",  "add a sensor (kinds cycle)",                      A::AddSensor, Global),
    bind(&[Char('S')],                                   "S",          "sensor-",  "remove the newest sensor",                        A::RemoveSensor, Global),
    bind(&[Char(' ')],                                   "space",      "pause",    "pause or resume the simulation",                  A::TogglePause, Global),
    bind(&[Char('+'), Char('=')],                        "+/-",        "faster",   "double / halve the speed",                        A::SpeedUp, Global),
    bind(&[Char('-'), Char('_')],                        "-",          "slower",   "",                                                A::SlowDown, Global),
    bind(&[Code(KeyCode::Tab)],                          "Tab/S-Tab",  "focus",    "focus the next / previous pane",                  A::FocusNext, Global),
    bind(&[Code(KeyCode::BackTab)],                      "S-Tab",      "",         "",                                                A::FocusPrev, Global),
    bind(&[Code(KeyCode::Up), Char('k')],                "↑↓ jk",      "",         "scroll the focused pane",                         A::ScrollUp, Global),
    bind(&[Code(KeyCode::Down), Char('j')],              "↓/j",        "",         "",                                                A::ScrollDown, Global),
    bind(&[Code(KeyCode::PageUp)],                       "PgUp/PgDn",  "",         "scroll a page",                                   A::PageUp, Global),
    bind(&[Code(KeyCode::PageDown)],                     "PgDn",       "",         "",                                                A::PageDown, Global),
    bind(&[Code(KeyCode::Home)],                         "Home/End",   "",         "top / bottom",                                    A::Home, Global),
    bind(&[Code(KeyCode::End)],                          "End",        "",         "",                                                A::End, Global),
    bind(&[Char('?')],                                   "?",          "help",     "show or hide this help",                          A::Help, Global),
    bind(&[Char('q'), Code(KeyCode::Esc), Ctrl('c')],    "q Esc ^C",   "quit",     "quit; attached: detach (Esc closes help first)",  A::Quit, Global),
    bind(&[Code(KeyCode::Up), Char('k')],                "↑↓ jk",      "",         "select a target",                                 A::ScrollUp, Log),
    bind(&[Code(KeyCode::Down), Char('j')],              "↓/j",        "",         "",                                                A::ScrollDown, Log),
    bind(&[Code(KeyCode::Left)],                         "← →",        "",         "show fewer / more levels of the target",          A::LogLevelLess, Log),
    bind(&[Code(KeyCode::Right)],                        "→",          "",         "",                                                A::LogLevelMore, Log),
    bind(&[Code(KeyCode::PageUp), Code(KeyCode::Home)],  "PgUp/PgDn",  "",         "page back / forward",                             A::PageUp, Log),
    bind(&[Code(KeyCode::PageDown)],                     "PgDn",       "",         "",                                                A::PageDown, Log),
    bind(&[Code(KeyCode::End)],                          "End",        "",         "follow the newest lines",                         A::End, Log),
    bind(&[Char('h')],                                   "h",          "",         "show or hide the target list",                    A::LogToggleTargets, Log),
    bind(&[Char('f')],                                   "f",          "",         "only the selected target",                        A::LogFocusTarget, Log),
];

impl Key {
    fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl_alt = ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match (self, ev.code) {
            (Char(k), KeyCode::Char(c)) => !ctrl_alt && k == c,
            (Ctrl(k), KeyCode::Char(c)) => {
                ev.modifiers.contains(KeyModifiers::CONTROL) && c.eq_ignore_ascii_case(&k)
            }
            (Code(k), code) => k == code && !ctrl_alt,
            _ => false,
        }
    }
}

/// The action of a key press; bindings of `Scope::Log` first when `log_focused`.
pub fn lookup(ev: &KeyEvent, log_focused: bool) -> Option<Action> {
    let in_scope = |scope: Scope| if log_focused { scope == Log } else { false };
    BINDINGS
        .iter()
        .filter(|b| in_scope(b.scope))
        .chain(BINDINGS.iter().filter(|b| b.scope == Global))
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
}

/// The footer's hints: (label, hint word), in table order.
pub fn hints() -> impl Iterator<Item = (&'static str, &'static str)> {
    // Help and quit first: they are what a cut-off footer must still show.
    let first = |b: &&Binding| matches!(b.action, A::Help | A::Quit);
    let ordered = BINDINGS
        .iter()
        .filter(first)
        .chain(BINDINGS.iter().filter(move |b| !first(b)));
    ordered
        .filter(|b| !b.hint.is_empty())
        .map(|b| {
            // The footer shows the short form of multi-key labels.
            let label = match b.action {
                A::Quit => "q",
                A::AddCrew => "c/C",
                A::AddSensor => "s/S",
                A::SpeedUp => "+/-",
                A::FocusNext => "Tab",
                _ => b.label,
            };
            (label, b.hint)
        })
        .filter(|(_, hint)| !matches!(*hint, "crew-" | "sensor-" | "slower"))
        .map(|(label, hint)| {
            let hint = match hint {
                "crew+" => "crews",
                "sensor+" => "sensors",
                "faster" => "speed",
                h => h,
            };
            (label, hint)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_action_has_a_key_and_no_global_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in BINDINGS.iter().filter(|b| b.scope == Global) {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
        let all = [
            A::AddCrew,
            A::RemoveCrew,
            A::AddSensor,
            A::RemoveSensor,
            A::TogglePause,
            A::SpeedUp,
            A::SlowDown,
            A::FocusNext,
            A::FocusPrev,
            A::ScrollUp,
            A::ScrollDown,
            A::PageUp,
            A::PageDown,
            A::Home,
            A::End,
            A::LogLevelLess,
            A::LogLevelMore,
            A::LogToggleTargets,
            A::LogFocusTarget,
            A::Help,
            A::Quit,
        ];
        for a in all {
            assert!(BINDINGS.iter().any(|b| b.action == a), "{a:?} has no key");
        }
        // The first binding of every help row has a description.
        assert!(!BINDINGS[0].description.is_empty());
    }

    #[test]
    fn shift_is_ignored_for_characters_but_ctrl_is_not() {
        let shifted = KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT);
        assert_eq!(lookup(&shifted, false), Some(A::RemoveCrew));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&ctrl_c, false), Some(A::Quit));
        assert_eq!(lookup(&key(KeyCode::Char('c')), false), Some(A::AddCrew));
        let alt_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::ALT);
        assert_eq!(lookup(&alt_c, false), None);
    }

    #[test]
    fn log_scope_wins_only_when_the_log_is_focused() {
        assert_eq!(lookup(&key(KeyCode::Left), false), None);
        assert_eq!(lookup(&key(KeyCode::Left), true), Some(A::LogLevelLess));
        assert_eq!(
            lookup(&key(KeyCode::Char('h')), true),
            Some(A::LogToggleTargets)
        );
        assert_eq!(lookup(&key(KeyCode::Char('c')), true), Some(A::AddCrew));
    }

    #[test]
    fn hints_come_from_the_table() {
        let hints: Vec<_> = hints().collect();
        assert!(hints.contains(&("c/C", "crews")));
        assert!(hints.contains(&("?", "help")));
        assert!(hints.contains(&("q", "quit")));
        for (_, word) in &hints {
            assert!(!word.is_empty());
        }
    }
}

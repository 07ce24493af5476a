//! The frame diff: the cells of the next frame that differ from what the terminal shows.
//!
//! Ratatui's `Buffer::diff` decides, cell by cell, with the width of every symbol looked up.
//! A frame at the defaults changes a few rows of 40 and that diff had been a quarter of its
//! time, so rows equal to the shown ones are passed over with one slice comparison each, and
//! ratatui's diff runs on copies of the bands of changed rows only (on the whole frame when
//! more than a quarter of the rows changed): the same updates, less work.

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;

/// `(x, y, cell)` for every cell of `next` to write over `shown`, in order: ratatui's diff.
pub fn diff<'a>(shown: &Buffer, next: &'a Buffer) -> Vec<(u16, u16, &'a Cell)> {
    let (w, h) = (next.area.width as usize, next.area.height as usize);
    if shown.area != next.area {
        // Not what the terminal shows (ratatui's diff would panic): write everything.
        return Buffer::empty(next.area).diff(next);
    }
    if w == 0 {
        return Vec::new();
    }
    fn rows(buf: &Buffer, w: usize, y: std::ops::Range<usize>) -> &[Cell] {
        &buf.content[y.start * w..y.end * w]
    }
    let same: Vec<bool> = (0..h)
        .map(|y| rows(shown, w, y..y + 1) == rows(next, w, y..y + 1))
        .collect();
    if same.iter().filter(|&&s| !s).count() * 4 > h {
        // Many rows changed (an opening paint): one pass, without copying bands.
        return shown.diff(next);
    }
    let same = |y: usize| same[y];
    // A wide symbol in a row's last column reaches into the next row: a band takes in the row
    // before it and the row after it when they are joined that way.
    let ends_wide = |y: usize| {
        [shown, next]
            .iter()
            .any(|b| b.content[(y + 1) * w - 1].symbol().len() > 1)
    };
    let mut updates = Vec::new();
    let mut y = 0;
    while y < h {
        if same(y) {
            y += 1;
            continue;
        }
        let mut start = y;
        while start > 0 && ends_wide(start - 1) {
            start -= 1;
        }
        y += 1;
        while y < h && (!same(y) || ends_wide(y - 1)) {
            y += 1;
        }
        let area = Rect {
            y: next.area.y + start as u16,
            height: (y - start) as u16,
            ..next.area
        };
        let band = |buf: &Buffer| Buffer {
            area,
            content: rows(buf, w, start..y).to_vec(),
        };
        for (x, row, _) in band(shown).diff(&band(next)) {
            updates.push((x, row, &next[(x, row)]));
        }
    }
    updates
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
    use ratatui::buffer::CellDiffOption;
    use ratatui::style::{Color, Modifier, Style};

    /// A well-formed buffer (what widgets draw: a wide symbol's covered cells left blank), each
    /// row written token by token: symbols (wide ones, an emoji with VS16) in styles (a
    /// background and an underline show on blanks); some blanks are marked to skip.
    fn buffer(area: Rect, tokens: &[(u8, u8)]) -> Buffer {
        let mut buf = Buffer::empty(area);
        let mut tokens = tokens.iter();
        for y in area.top()..area.bottom() {
            let mut x = area.x;
            while x < area.right() {
                let Some(&(symbol, style)) = tokens.next() else {
                    return buf;
                };
                let symbol = ["a", "b", " ", "─", "北", "é", "█", "❤\u{fe0f}"][symbol as usize % 8];
                let style = match style % 6 {
                    1 => Style::new().fg(Color::Cyan),
                    2 => Style::new().bg(Color::Red),
                    3 => Style::new().add_modifier(Modifier::UNDERLINED),
                    _ => Style::new(),
                };
                let room = (area.right() - x) as usize;
                let (end, _) = buf.set_stringn(x, y, symbol, room, style);
                if end == x {
                    break; // too wide for what is left of the row
                }
                if symbol == " " && room % 7 == 3 {
                    buf[(x, y)].set_diff_option(CellDiffOption::Skip);
                }
                x = end;
            }
        }
        buf
    }

    fn owned(updates: Vec<(u16, u16, &Cell)>) -> Vec<(u16, u16, Cell)> {
        updates
            .into_iter()
            .map(|(x, y, c)| (x, y, c.clone()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { rng_seed: RngSeed::Fixed(118), ..ProptestConfig::default() })]

        /// Exactly ratatui's diff, whatever the two frames hold: equal rows, wide symbols,
        /// skipped cells, offset areas.
        #[test]
        fn same_updates_as_ratatui(
            w in 1u16..12,
            h in 1u16..6,
            old in proptest::collection::vec((0u8..8, 0u8..6), 72),
            new in proptest::collection::vec((0u8..8, 0u8..6), 72),
            keep in proptest::collection::vec(any::<bool>(), 6),
        ) {
            let area = Rect::new(3, 2, w, h);
            let shown = buffer(area, &old);
            // Rows kept from `shown` make the equal rows the shortcut passes over.
            let mut next = buffer(area, &new);
            for (y, &k) in keep.iter().enumerate().take(h as usize) {
                let r = y * w as usize..(y + 1) * w as usize;
                if k {
                    next.content[r.clone()].clone_from_slice(&shown.content[r]);
                }
            }
            prop_assert_eq!(owned(diff(&shown, &next)), owned(shown.diff(&next)));
        }
    }

    #[test]
    fn an_equal_frame_has_no_updates_and_a_blank_one_writes_only_text() {
        let area = Rect::new(0, 0, 20, 4);
        let mut next = Buffer::empty(area);
        next.set_string(2, 1, "wall 北", Style::new());
        assert!(diff(&next, &next).is_empty());
        let updates = diff(&Buffer::empty(area), &next);
        let xs: Vec<u16> = updates.iter().map(|u| u.0).collect();
        // "wall" then the wide symbol: the blank between and the cell it covers are not written.
        assert_eq!(xs, [2, 3, 4, 5, 7]);
    }

    #[test]
    fn a_frame_of_another_size_is_written_whole_without_a_panic() {
        let mut next = Buffer::empty(Rect::new(0, 0, 6, 2));
        next.set_string(0, 1, "ab", Style::new());
        let shown = Buffer::empty(Rect::new(0, 0, 9, 3));
        let cells: Vec<(u16, u16)> = diff(&shown, &next).iter().map(|u| (u.0, u.1)).collect();
        assert_eq!(cells, [(0, 1), (1, 1)]);
    }
}

//! The log pane's shift as a terminal scroll: when the log's rows moved up as a block, a
//! scroll region and a scroll-up (DECSTBM + SU) cost fewer bytes than repainting the rows.

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::Modifier;

/// For the log's rows `top..bottom`: when they moved up as a block, shifts `shown` as the
/// terminal will and returns the scroll to send (DECSTBM region + SU); and marks blank rows
/// that get text for a one-run rewrite (see [`mark_for_rewrite`]).
pub fn log_scroll(shown: &mut Buffer, next: &Buffer, top: u16, bottom: u16) -> Option<String> {
    let scroll = scroll_amount(shown, next, top, bottom).map(|k| {
        shift_up(shown, top, bottom, k);
        format!("\x1b[0m\x1b[{};{}r\x1b[{}S\x1b[r", top + 1, bottom, k)
    });
    mark_for_rewrite(shown, next, top, bottom);
    scroll
}

fn row(buf: &Buffer, y: u16) -> &[Cell] {
    let w = buf.area.width as usize;
    let start = (y - buf.area.y) as usize * w;
    &buf.content[start..start + w]
}

/// How many rows `new`'s region `top..bottom` moved up from `old`'s, when scrolling the
/// terminal by that much and painting the new rows costs fewer bytes than the plain diff.
pub fn scroll_amount(old: &Buffer, new: &Buffer, top: u16, bottom: u16) -> Option<u16> {
    let h = bottom.saturating_sub(top);
    if old.area != new.area || bottom > new.area.bottom() || h < 3 {
        return None;
    }
    let k = (1..h - 1).find(|&k| (top..bottom - k).all(|y| row(old, y + k) == row(new, y)))?;
    let plain: usize = (top..bottom)
        .map(|y| row_cost(row(old, y), row(new, y)))
        .sum();
    let scrolled: usize = 16
        + (bottom - k..bottom)
            .map(|y| text_cost(row(new, y)))
            .sum::<usize>();
    (scrolled < plain).then_some(k)
}

/// Roughly the bytes ratatui's diff sends for one row: a cursor move (~8 bytes) for every run
/// of changed cells, plus the cells. A blank row is written in one run (see
/// [`mark_for_rewrite`]).
fn row_cost(old: &[Cell], new: &[Cell]) -> usize {
    if text_len(old) == 0 {
        return text_cost(new);
    }
    let mut cost = 0;
    let mut in_run = false;
    for (a, b) in old.iter().zip(new) {
        if a != b {
            cost += if in_run { 1 } else { 9 };
        }
        in_run = a != b;
    }
    cost
}

fn text_cost(cells: &[Cell]) -> usize {
    match text_len(cells) {
        0 => 0,
        n => 8 + n,
    }
}

/// Cells up to the last one that is not a plain blank.
fn text_len(cells: &[Cell]) -> usize {
    cells.len()
        - cells
            .iter()
            .rev()
            .take_while(|c| **c == Cell::EMPTY)
            .count()
}

/// Rows of `top..bottom` that are blank on the terminal (`prev`) and get text in `new` are
/// marked to differ up to the text's end, so ratatui writes each in one run instead of moving
/// the cursor from word to word over the blanks.
fn mark_for_rewrite(prev: &mut Buffer, new: &Buffer, top: u16, bottom: u16) {
    let w = prev.area.width as usize;
    for y in top..bottom {
        let len = text_len(row(new, y));
        if len == 0 || text_len(row(prev, y)) != 0 {
            continue;
        }
        let start = (y - prev.area.y) as usize * w;
        for cell in &mut prev.content[start..start + len] {
            // A style the screen never uses: differs from every new cell.
            cell.modifier |= Modifier::HIDDEN | Modifier::CROSSED_OUT;
        }
    }
}

/// Moves rows `top+k..bottom` of `buf` up by `k` and blanks the last `k` (what the terminal
/// does on a scroll up inside a region).
pub fn shift_up(buf: &mut Buffer, top: u16, bottom: u16, k: u16) {
    let w = buf.area.width as usize;
    let base = |y: u16| (y - buf.area.y) as usize * w;
    let (to, end) = (base(top), base(bottom));
    buf.content[to..end].rotate_left(k as usize * w);
    for cell in &mut buf.content[end - k as usize * w..end] {
        cell.reset();
    }
}

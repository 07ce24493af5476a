// The Wall pane: a canvas with a row per profile and a cell per section shaded by height, crews
// marked, finished sections green; below it each profile's % done, ice and cost. When sections
// outnumber the canvas's pixel columns, each column is a bucket of sections showing its lowest
// height, as the terminal's glyphs are (ui::wall); when profiles outnumber its rows, a row is
// the lowest of a few profiles.

import { MAX_HEIGHT } from "./site.js";
import { el, setText, thousands } from "./format.js";

/** Most CSS pixels a section's cell, and a profile's row, take. */
const MAX_CELL = 28;
const MAX_ROW = 22;
/** The height the rows share, in CSS pixels (a wall of many profiles scrolls past it). */
const ROWS_HEIGHT = 360;
/** Most pixel rows drawn; more profiles than that share rows. */
const MOST_ROWS = 2000;
/** Profiles listed with their figures below the canvas. */
const LISTED = 100;

/** Codes of what a column shows: 0..29 a height, then these. */
const FINISHED = MAX_HEIGHT;
const CREW = MAX_HEIGHT + 1;
const EMPTY = 255;

/** The colours of the cells, from the page's style (light or dark). */
export function palette(canvas) {
  const css = getComputedStyle(canvas);
  const rgb = (name) => {
    const v = css.getPropertyValue(name).trim();
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(v);
    return m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : [128, 128, 128];
  };
  const low = rgb("--cell-low");
  const high = rgb("--cell-high");
  // One 32-bit RGBA word per code, as ImageData holds pixels (little-endian: ABGR).
  const word = ([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  const codes = new Uint32Array(256);
  for (let h = 0; h < MAX_HEIGHT; h++) {
    const t = h / (MAX_HEIGHT - 1);
    codes[h] = word(low.map((l, i) => Math.round(l + (high[i] - l) * t)));
  }
  codes[FINISHED] = word(rgb("--cell-done"));
  codes[CREW] = word(rgb("--cell-crew"));
  codes[EMPTY] = 0;
  const color = (name) => css.getPropertyValue(name).trim() || "#888";
  return { codes, label: color("--muted"), spark: color("--spark") };
}

/**
 * How the wall fits `width` CSS pixels at `dpr` device pixels each: the cell of a section in
 * device pixels (0: bucketed), the columns, a row's height, and profiles per row.
 */
export function layout(wall, width, dpr, label) {
  const profiles = wall.profiles;
  const rowCss = Math.max(1, Math.min(MAX_ROW, Math.floor(ROWS_HEIGHT / profiles)));
  const rows = Math.min(profiles, MOST_ROWS);
  const group = Math.ceil(profiles / rows);
  const room = Math.max(1, Math.floor((width - label) * dpr));
  const most = Math.max(1, wall.most);
  const cell = Math.min(Math.floor(room / most), Math.round(MAX_CELL * dpr));
  const cols = cell === 0 ? room : cell * most;
  return { cell, cols, rowPx: Math.max(1, Math.round(rowCss * dpr)), rows, group, perColumn: cell === 0 ? most / cols : 1 };
}

/** The codes of profile `p`'s columns into `out` (lowest height, crews, empty past its end). */
function profileColumns(wall, p, lay, crews, out) {
  const start = wall.starts[p];
  const n = wall.lengths[p];
  const h = wall.heights;
  const { cell, cols } = lay;
  // The first crew at or after the profile's start; the buckets only move right.
  let c = 0;
  while (c < crews.length && crews[c] < start) {
    c++;
  }
  const gap = cell >= 4 ? 1 : 0;
  for (let x = 0; x < cols; ) {
    let lo, hi, width;
    if (cell === 0) {
      lo = Math.floor((x * n) / cols);
      hi = Math.max(Math.floor(((x + 1) * n) / cols), lo + 1);
      width = 1;
    } else {
      lo = x / cell;
      hi = lo + 1;
      width = cell;
      if (lo >= n) {
        out.fill(EMPTY, x);
        return;
      }
    }
    let lowest = MAX_HEIGHT;
    for (let i = start + lo; i < start + hi; i++) {
      if (h[i] < lowest) {
        lowest = h[i];
      }
    }
    while (c < crews.length && crews[c] < start + lo) {
      c++;
    }
    const code = c < crews.length && crews[c] < start + hi ? CREW : lowest >= MAX_HEIGHT ? FINISHED : lowest;
    out.fill(code, x, x + width - gap);
    if (gap) {
      out[x + width - 1] = EMPTY;
    }
    x += width;
  }
}

/** Combines row codes: the lowest height, a crew anywhere. */
function combine(into, row) {
  for (let x = 0; x < into.length; x++) {
    const a = into[x];
    const b = row[x];
    if (a === EMPTY || b === CREW || (a !== CREW && b !== EMPTY && b < a)) {
      into[x] = b;
    }
  }
}

/** The first index of sorted `crews` at or after `at`. */
function firstCrew(crews, at) {
  let lo = 0;
  let hi = crews.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (crews[mid] < at) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** The code of profile `p`'s column `x` alone (as profileColumns has it). */
function columnCode(wall, p, x, lay, crews) {
  const start = wall.starts[p];
  const n = wall.lengths[p];
  const { cell, cols } = lay;
  let lo, hi;
  if (cell === 0) {
    lo = Math.floor((x * n) / cols);
    hi = Math.max(Math.floor(((x + 1) * n) / cols), lo + 1);
  } else {
    lo = Math.floor(x / cell);
    hi = lo + 1;
    if (lo >= n || (cell >= 4 && x % cell === cell - 1)) {
      return EMPTY;
    }
  }
  const c = firstCrew(crews, start + lo);
  if (c < crews.length && crews[c] < start + hi) {
    return CREW;
  }
  let lowest = MAX_HEIGHT;
  for (let i = start + lo; i < start + hi; i++) {
    if (wall.heights[i] < lowest) {
      lowest = wall.heights[i];
    }
  }
  return lowest >= MAX_HEIGHT ? FINISHED : lowest;
}

/**
 * Draws the wall on a canvas, and again after updates: the whole wall when its size, its
 * layout or its colours change, else only the columns of the sections that changed.
 */
export class WallPainter {
  constructor(canvas) {
    this.canvas = canvas;
    this.key = "";
    this.lay = null;
    this.image = null;
    this.gutter = 0;
  }

  /**
   * Draws `wall` `width` CSS pixels wide in `colors`; `changed` lists the flat sections that
   * changed since the last draw (null: draw it all). What it drew (for the caption).
   */
  draw(wall, colors, width, changed) {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const ctx = canvas.getContext("2d");
    // Labels (P1, P2, …) when rows are tall enough to read them.
    const rowCss = Math.floor(ROWS_HEIGHT / wall.profiles);
    const labelled = rowCss >= 12 && wall.profiles <= MOST_ROWS;
    const fontPx = Math.min(13, rowCss - 3);
    let label = 0;
    if (labelled) {
      ctx.font = `${fontPx * dpr}px ui-monospace, monospace`;
      label = Math.ceil(ctx.measureText(`P${wall.profiles}`).width / dpr) + 8;
    }
    const lay = layout(wall, width, dpr, label);
    const key = [wall.lengths.length, wall.sections, lay.cols, lay.rowPx, lay.rows, label, dpr, colors.codes[0]].join();
    const crews = wall.crews.filter((c) => c !== null).sort((a, b) => a - b);
    if (key !== this.key || changed === null || this.wall !== wall) {
      this.key = key;
      this.wall = wall;
      this.lay = lay;
      this.full(wall, colors, lay, crews, Math.round(label * dpr));
      if (labelled) {
        ctx.font = `${fontPx * dpr}px ui-monospace, monospace`;
        ctx.fillStyle = colors.label;
        ctx.textBaseline = "middle";
        const gapRow = lay.rowPx >= 4 ? 1 : 0;
        for (let p = 0; p < wall.profiles; p++) {
          ctx.fillText(`P${p + 1}`, 0, (p + 0.5) * lay.rowPx - gapRow / 2);
        }
      }
    } else if (changed.length > 0) {
      this.some(wall, colors, lay, crews, changed);
    }
    return lay;
  }

  /** The whole wall. */
  full(wall, colors, lay, crews, gutter) {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = gutter + lay.cols;
    const h = lay.rows * lay.rowPx;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      canvas.style.width = `${w / dpr}px`;
      canvas.style.height = `${h / dpr}px`;
    }
    const ctx = canvas.getContext("2d");
    this.gutter = gutter;
    this.image = ctx.createImageData(lay.cols, h);
    this.pixels = new Uint32Array(this.image.data.buffer);
    const row = new Uint8Array(lay.cols);
    const other = new Uint8Array(lay.cols);
    for (let r = 0; r < lay.rows; r++) {
      const first = r * lay.group;
      const last = Math.min(first + lay.group, wall.profiles);
      profileColumns(wall, first, lay, crews, row);
      for (let p = first + 1; p < last; p++) {
        profileColumns(wall, p, lay, crews, other);
        combine(row, other);
      }
      const top = r * lay.rowPx;
      for (let x = 0; x < lay.cols; x++) {
        this.pixels[top * lay.cols + x] = colors.codes[row[x]];
      }
      for (let y = 1; y < lay.rowPx - (lay.rowPx >= 4 ? 1 : 0); y++) {
        this.pixels.copyWithin((top + y) * lay.cols, top * lay.cols, (top + 1) * lay.cols);
      }
    }
    ctx.clearRect(0, 0, w, h);
    ctx.putImageData(this.image, gutter, 0);
  }

  /** Only the columns of the sections in `changed`. */
  some(wall, colors, lay, crews, changed) {
    const cols = lay.cols;
    const rowsDrawn = lay.rowPx - (lay.rowPx >= 4 ? 1 : 0);
    // The columns to draw again, per row.
    const todo = new Map();
    for (const i of changed) {
      const p = wall.profileOf(i);
      const n = wall.lengths[p];
      const s = i - wall.starts[p];
      let from, to;
      if (lay.cell === 0) {
        from = Math.max(0, Math.floor((s * cols) / n) - 1);
        to = Math.min(cols - 1, Math.ceil(((s + 1) * cols) / n) + 1);
      } else {
        from = s * lay.cell;
        to = from + lay.cell - 1;
      }
      const r = Math.floor(p / lay.group);
      let set = todo.get(r);
      if (!set) {
        set = new Set();
        todo.set(r, set);
      }
      for (let x = from; x <= to; x++) {
        set.add(x);
      }
    }
    let minX = cols;
    let maxX = -1;
    let minY = Infinity;
    let maxY = -1;
    for (const [r, xs] of todo) {
      const first = r * lay.group;
      const last = Math.min(first + lay.group, wall.profiles);
      const top = r * lay.rowPx;
      for (const x of xs) {
        let code = columnCode(wall, first, x, lay, crews);
        for (let p = first + 1; p < last; p++) {
          const b = columnCode(wall, p, x, lay, crews);
          if (code === EMPTY || b === CREW || (code !== CREW && b !== EMPTY && b < code)) {
            code = b;
          }
        }
        const color = colors.codes[code];
        for (let y = 0; y < rowsDrawn; y++) {
          this.pixels[(top + y) * cols + x] = color;
        }
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
      minY = Math.min(minY, top);
      maxY = Math.max(maxY, top + lay.rowPx - 1);
    }
    if (maxX >= 0) {
      const ctx = this.canvas.getContext("2d");
      ctx.putImageData(this.image, this.gutter, 0, minX, minY, maxX - minX + 1, maxY - minY + 1);
    }
  }
}

/** The pane's caption: what the canvas shows. */
export function caption(wall, lay, crewsAtWork) {
  const parts = [
    `${thousands(wall.profiles)} profile${wall.profiles === 1 ? "" : "s"}`,
    `${thousands(wall.sections)} sections`,
    `${thousands(crewsAtWork)} crew${crewsAtWork === 1 ? "" : "s"} at work`,
  ];
  if (lay.cell === 0) {
    parts.push(`lowest of ~${thousands(Math.ceil(lay.perColumn))} sections per column`);
  }
  if (lay.group > 1) {
    parts.push(`${lay.group} profiles per row`);
  }
  return parts.join(" · ");
}

/** The table of profiles' figures: % done, ice, Dragons (the first LISTED). */
export function drawProfiles(tbody, more, wall) {
  const shown = Math.min(wall.profiles, LISTED);
  while (tbody.rows.length > shown) {
    tbody.deleteRow(-1);
  }
  while (tbody.rows.length < shown) {
    const p = tbody.rows.length;
    tbody.append(
      el("tr", {}, el("th", { scope: "row" }, `P${p + 1}`), el("td", { className: "num" }), el("td", { className: "num" }), el("td", { className: "num" })),
    );
  }
  for (let p = 0; p < shown; p++) {
    const cells = tbody.rows[p].cells;
    const done = wall.percentDone(p);
    setText(cells[1], `${done}%`);
    cells[1].classList.toggle("done", done >= 100);
    setText(cells[2], thousands(wall.ice(p)));
    setText(cells[3], thousands(wall.cost(p)));
  }
  setText(more, wall.profiles > shown ? `… and ${thousands(wall.profiles - shown)} more profiles` : "");
}

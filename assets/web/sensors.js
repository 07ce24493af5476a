// The Sensors pane: a row per sensor with its name, kind, last value, min/avg/max, a level bar
// of the last value on the -100..=100 scale and a sparkline of recent readings (group means,
// as the terminal's, ui::sensors).

import { GROUP, MAX_VALUE, MIN_VALUE } from "./site.js";
import { clean, el, figure, setText } from "./format.js";

/** Sparkline bars at most. */
const SPARK_BARS = 30;
/** A sparkline's size in CSS pixels (canvas.spark in style.css): known without a layout. */
const SPARK_WIDTH = 90;
const SPARK_HEIGHT = 18;

/**
 * Mean of the sensor's readings, rounded half away from zero as the site rounds it (Rust's
 * `f64::round`; `Math.round` rounds -44.5 up to -44); null before the first.
 */
export function average(s) {
  if (s.count === 0) return null;
  const mean = s.sum / s.count;
  return Math.sign(mean) * Math.round(Math.abs(mean)) || 0;
}

/** Group means of the last readings, aligned to the sensor's count (ui::sensors::sparkline). */
export function sparkline(s, width = SPARK_BARS) {
  const n = s.history.length;
  if (n === 0) {
    return [];
  }
  const oldest = s.count - n;
  const firstGroup = Math.ceil(oldest / GROUP);
  const lastGroup = Math.floor((s.count - 1) / GROUP);
  const from = Math.max(firstGroup, lastGroup + 1 - width);
  const out = [];
  for (let g = from; g <= lastGroup; g++) {
    const lo = g * GROUP - oldest;
    const hi = Math.min((g + 1) * GROUP - oldest, n);
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      sum += s.history[i];
    }
    out.push(Math.max(MIN_VALUE, Math.min(MAX_VALUE, Math.trunc(sum / (hi - lo)))));
  }
  return out;
}

function drawSpark(canvas, values, color) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(SPARK_WIDTH * dpr);
  const h = Math.round(SPARK_HEIGHT * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = color;
  const bar = w / SPARK_BARS;
  values.forEach((v, i) => {
    const top = Math.round(((MAX_VALUE - v) / (MAX_VALUE - MIN_VALUE)) * (h - 2));
    ctx.fillRect(Math.floor(i * bar), top, Math.max(1, Math.floor(bar) - 1), h - top);
  });
}

/** A row's cells, made once per sensor. */
function newRow(name, onRemove) {
  const level = el("span", { className: "level" }, el("span", { className: "fill" }));
  const spark = el("canvas", { className: "spark", width: SPARK_WIDTH, height: SPARK_HEIGHT });
  const remove = el("button", { type: "button", className: "remove", title: `remove ${clean(name)}` }, "✕");
  remove.addEventListener("click", () => onRemove(name));
  const tr = el(
    "tr",
    {},
    el("th", { scope: "row", className: "name" }),
    el("td", { className: "kind" }),
    el("td", { className: "num last" }),
    el("td", { className: "num min" }),
    el("td", { className: "num avg" }),
    el("td", { className: "num max" }),
    el("td", { className: "level-cell" }, level),
    el("td", { className: "spark-cell" }, spark),
    el("td", { className: "control-cell" }, remove),
  );
  tr.dataset.name = name;
  return tr;
}

/**
 * Draws the sensors into `tbody`: a row per sensor, in the site's order, kept by name so that
 * only figures change. `onRemove(name)` asks the site to remove one.
 */
export function drawSensors(tbody, sensors, color, onRemove) {
  const byName = new Map();
  for (const tr of tbody.rows) {
    byName.set(tr.dataset.name, tr);
  }
  const rows = sensors.map((s) => byName.get(s.name) ?? newRow(s.name, onRemove));
  // Rows in the site's order; those of removed sensors go.
  rows.forEach((tr, i) => {
    if (tbody.rows[i] !== tr) {
      tbody.insertBefore(tr, tbody.rows[i] ?? null);
    }
  });
  while (tbody.rows.length > rows.length) {
    tbody.deleteRow(-1);
  }
  sensors.forEach((s, i) => {
    const c = rows[i].cells;
    const seen = s.count > 0;
    setText(c[0], clean(s.name));
    setText(c[1], clean(s.kind));
    setText(c[2], figure(s.last));
    setText(c[3], figure(seen ? s.min : null));
    setText(c[4], figure(average(s)));
    setText(c[5], figure(seen ? s.max : null));
    const fill = c[6].firstChild.firstChild;
    const share = s.last === null ? 0 : (s.last - MIN_VALUE) / (MAX_VALUE - MIN_VALUE);
    fill.style.width = `${(Math.max(0, Math.min(1, share)) * 100).toFixed(1)}%`;
    c[6].firstChild.title = s.last === null ? "no reading yet" : `${s.last} on -100..100`;
    drawSpark(c[7].firstChild, sparkline(s), color);
  });
}

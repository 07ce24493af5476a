// Text and numbers as the terminal shows them, and a small helper to build elements. Text from
// the site only ever goes into the page as text (textContent), never as HTML.

/**
 * `s` with every control character written as an escape (`\u{1b}`, `\n`), as the terminal's
 * `text::sanitize` shows them: a name or a log line shows what it holds, on one line.
 */
export function clean(s) {
  const text = String(s ?? "");
  // C0, DEL and C1.
  if (!/[\u0000-\u001f\u007f-\u009f]/.test(text)) {
    return text;
  }
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    switch (c) {
      case "\t": return "\\t";
      case "\n": return "\\n";
      case "\r": return "\\r";
      default: return `\\u{${c.charCodeAt(0).toString(16)}}`;
    }
  });
}

/** 32,233,500 */
export function thousands(n) {
  return Math.round(Number(n) || 0).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A speed as the site sends it (`{"Factor": 10}` or `"Max"`) as its factor, or "max". */
export function speedValue(speed) {
  if (speed === "Max" || speed === "max") {
    return "max";
  }
  if (speed && typeof speed === "object" && "Factor" in speed) {
    return Number(speed.Factor);
  }
  return Number(speed);
}

/** `1×`, `16×`, `1/4×`, `1.50×`, `max` (ui::status::speed_label). */
export function speedLabel(speed) {
  const f = speedValue(speed);
  if (f === "max") {
    return "max";
  }
  if (f >= 1 || f <= 0) {
    return Number.isInteger(f) ? `${f}×` : `${f.toFixed(2)}×`;
  }
  const inv = 1 / f;
  return Math.abs(inv - Math.round(inv)) < 1e-9 ? `1/${Math.round(inv)}×` : `${f.toFixed(2)}×`;
}

/** A duration in ms, or – when unknown. */
export function ms(v) {
  return Number.isFinite(v) && v >= 0 ? `${thousands(v)} ms` : "–";
}

/** A figure, or – when there is none yet. */
export function figure(v) {
  return v === null || v === undefined ? "–" : String(v);
}

/**
 * A new element: `el("td", {className: "num"}, "12")`. Children that are strings become text
 * nodes; properties are set as properties (never as HTML).
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") {
      Object.assign(e.dataset, v);
    } else {
      e[k] = v;
    }
  }
  for (const c of children) {
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

/** Sets `e`'s text if it changed (a write to the DOM costs a layout even when equal). */
export function setText(e, text) {
  if (e.textContent !== text) {
    e.textContent = text;
  }
}

/** HH:MM:SS of a log line's time, in the browser's time zone. */
export function clock(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) {
    return "--:--:--";
  }
  const two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// The Log pane: the site's log lines, newest last, filtered as the terminal's log pane is (a
// level, from which up lines show, and which targets show). Lines are text, never HTML.

import { LEVELS, TARGETS } from "./site.js";
import { clean, clock, el } from "./format.js";

/** Rows at most, scrolled back (older lines leave the pane; the page keeps more, see
    replica.js). */
const SHOWN = 500;
/** Rows while the pane follows its end: a few panes' height (16rem shows ~14 lines), so a burst
    of hundreds of lines builds and lays out only these; older ones are built on scrolling back. */
const FOLLOWING = 40;
/** Rows built at once when the reader nears the top of those built. */
const BACK = 100;

/** A row's elements, copied for each line. */
const ROW = el(
  "li",
  {},
  el("time"),
  el("span", { className: "lvl" }),
  el("span", { className: "tgt" }),
  el("span", { className: "msg" }),
);

export class LogPane {
  /** `list` holds the lines; `levelSelect` and `targetsBox` are the filters' places. */
  constructor(list, levelSelect, targetsBox) {
    this.list = list;
    this.lines = [];
    this.level = "INFO";
    this.hidden = new Set();
    this.targetsBox = targetsBox;
    // Whether the pane follows its end is learnt from the reader's scrolling (the layout is
    // fresh then), so that adding lines asks the layout nothing.
    this.follow = true;
    list.addEventListener("scroll", () => this.scrolled(), { passive: true });
    this.known = new Set();
    for (const level of LEVELS) {
      levelSelect.append(el("option", { value: level, selected: level === this.level }, level));
    }
    levelSelect.addEventListener("change", () => {
      this.level = levelSelect.value;
      this.redraw();
    });
    for (const t of TARGETS) {
      this.addTarget(t);
    }
  }

  /** A checkbox for target `t` (those of the site, then any other a line comes with). */
  addTarget(t) {
    if (this.known.has(t)) {
      return;
    }
    this.known.add(t);
    const box = el("input", { type: "checkbox", checked: !this.hidden.has(t), value: t });
    box.addEventListener("change", () => {
      if (box.checked) {
        this.hidden.delete(t);
      } else {
        this.hidden.add(t);
      }
      this.redraw();
    });
    this.targetsBox.append(el("label", { className: "target" }, box, clean(t)));
  }

  shows(line) {
    const rank = LEVELS.indexOf(line.level);
    return !this.hidden.has(line.target) && rank >= 0 && rank <= LEVELS.indexOf(this.level);
  }

  /** A line's row: a copy of one made once (a burst of hundreds is a frame's work). */
  row(line) {
    const li = ROW.cloneNode(true);
    li.className = `lvl-${LEVELS.includes(line.level) ? line.level.toLowerCase() : "other"}`;
    const [at, level, target, message] = li.children;
    at.dateTime = String(line.at);
    at.textContent = clock(line.at);
    level.textContent = clean(line.level);
    target.textContent = clean(line.target);
    message.textContent = clean(String(line.message ?? "").trim());
    return li;
  }

  /** Adds lines from the site (kept lines bounded by the replica's LOG_KEPT). */
  add(lines, kept) {
    if (lines.length === 0) {
      return;
    }
    for (const line of lines) {
      this.addTarget(line.target);
    }
    this.lines.push(...lines);
    this.lines.splice(0, Math.max(0, this.lines.length - kept));
    const most = this.follow ? FOLLOWING : SHOWN;
    const rows = lines.filter((l) => this.shows(l)).slice(-most).map((l) => this.row(l));
    this.dropFirst(this.list.childElementCount + rows.length - most);
    this.list.append(...rows);
    if (this.follow) {
      this.list.scrollTop = this.list.scrollHeight;
    }
  }

  /** Removes the pane's first `n` rows, at once. */
  dropFirst(n) {
    const list = this.list;
    const last = Math.min(n, list.childElementCount) - 1;
    if (last < 0) {
      return;
    }
    const range = document.createRange();
    range.setStartBefore(list.firstElementChild);
    range.setEndAfter(list.children[last]);
    range.deleteContents();
  }

  /** The filters changed: the last kept lines that pass them, followed. */
  redraw() {
    const shown = this.lines.filter((l) => this.shows(l)).slice(-FOLLOWING);
    this.list.replaceChildren(...shown.map((l) => this.row(l)));
    this.follow = true;
    this.list.scrollTop = this.list.scrollHeight;
  }

  /** The reader scrolled: whether the pane follows its end, and, near the top of the rows
      built, older ones before them (the rows are always the last of the lines that pass). */
  scrolled() {
    const l = this.list;
    this.follow = this.atBottom();
    const built = l.childElementCount;
    if (this.follow || l.scrollTop >= l.clientHeight || built >= SHOWN) {
      return;
    }
    const shown = this.lines.filter((line) => this.shows(line));
    const more = Math.min(BACK, SHOWN - built);
    const older = shown.slice(Math.max(0, shown.length - built - more), shown.length - built);
    if (older.length === 0) {
      return;
    }
    // What the reader sees stays where it is.
    const height = l.scrollHeight;
    l.prepend(...older.map((line) => this.row(line)));
    l.scrollTop += l.scrollHeight - height;
  }

  /** The pane shows its last line (so new ones keep it there). */
  atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 24;
  }
}

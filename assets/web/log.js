// The Log pane: the site's log lines, newest last, filtered as the terminal's log pane is (a
// level, from which up lines show, and which targets show). Lines are text, never HTML.

import { LEVELS, TARGETS } from "./site.js";
import { clean, clock, el } from "./format.js";

/** Lines shown at most (older ones leave the pane; the page keeps more, see replica.js). */
const SHOWN = 500;

export class LogPane {
  /** `list` holds the lines; `levelSelect` and `targetsBox` are the filters' places. */
  constructor(list, levelSelect, targetsBox) {
    this.list = list;
    this.lines = [];
    this.level = "INFO";
    this.hidden = new Set();
    this.targetsBox = targetsBox;
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

  row(line) {
    return el(
      "li",
      { className: `lvl-${LEVELS.includes(line.level) ? line.level.toLowerCase() : "other"}` },
      el("time", { dateTime: String(line.at) }, clock(line.at)),
      el("span", { className: "lvl" }, clean(line.level)),
      el("span", { className: "tgt" }, clean(line.target)),
      el("span", { className: "msg" }, clean(String(line.message ?? "").trim())),
    );
  }

  /** Adds lines from the site (kept lines bounded by the replica's LOG_KEPT). */
  add(lines, kept) {
    if (lines.length === 0) {
      return;
    }
    // An empty pane follows (and asks for no layout to know it).
    const follow = this.list.childElementCount === 0 || this.atBottom();
    for (const line of lines) {
      this.addTarget(line.target);
    }
    this.lines.push(...lines);
    this.lines.splice(0, Math.max(0, this.lines.length - kept));
    const shown = lines.filter((l) => this.shows(l)).slice(-SHOWN);
    this.list.append(...shown.map((l) => this.row(l)));
    while (this.list.children.length > SHOWN) {
      this.list.firstChild.remove();
    }
    if (follow) {
      this.list.scrollTop = this.list.scrollHeight;
    }
  }

  /** The filters changed: every kept line that passes them. */
  redraw() {
    const shown = this.lines.filter((l) => this.shows(l)).slice(-SHOWN);
    this.list.replaceChildren(...shown.map((l) => this.row(l)));
    this.list.scrollTop = this.list.scrollHeight;
  }

  /** The pane shows its last line (so new ones keep it there). */
  atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 24;
  }
}

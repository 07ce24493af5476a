// The page's copy of the site model: a snapshot, then every numbered update applied in order,
// as a terminal viewer's replica does (site::model::Model::apply_change). It notes which panes
// changed, so that only those are drawn again.

import { COST_PER_FOOT, HISTORY, ICE_PER_FOOT, MAX_HEIGHT } from "./site.js";

/** Log lines the page keeps (more than the site's recent ones: the page has a scrollback). */
export const LOG_KEPT = 1000;

/** Heights sent as one character each, '0' + height. */
function decodeHeights(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    out[i] = Math.min(s.charCodeAt(i) - 48, MAX_HEIGHT);
  }
  return out;
}

/** The wall as the site sends it (WallView): its profiles, heights and crews' places. */
export class Wall {
  constructor(view) {
    this.lengths = view.wall.profiles.slice();
    this.starts = new Array(this.lengths.length + 1);
    this.starts[0] = 0;
    for (let p = 0; p < this.lengths.length; p++) {
      this.starts[p + 1] = this.starts[p] + this.lengths[p];
    }
    this.initial = decodeHeights(view.wall.heights);
    this.heights = this.initial.slice();
    this.raised = new Array(this.lengths.length).fill(0);
    this.toRaise = new Array(this.lengths.length).fill(0);
    this.finished = new Array(this.lengths.length).fill(0);
    for (let p = 0; p < this.lengths.length; p++) {
      for (let i = this.starts[p]; i < this.starts[p + 1]; i++) {
        this.toRaise[p] += MAX_HEIGHT - this.initial[i];
        if (this.initial[i] >= MAX_HEIGHT) {
          this.finished[p] += 1;
        }
      }
    }
    this.most = Math.max(0, ...this.lengths);
    this.crews = (view.crews || []).slice();
    this.setHeights(decodeHeights(view.heights));
  }

  get profiles() {
    return this.lengths.length;
  }

  get sections() {
    return this.heights.length;
  }

  /** The profile (0-based) flat section `i` is in. */
  profileOf(i) {
    let lo = 0;
    let hi = this.lengths.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** Section `i` to height `h` (never lower: heights only grow). */
  raise(i, h, p = this.profileOf(i)) {
    const old = this.heights[i];
    if (h > old && h <= MAX_HEIGHT) {
      this.heights[i] = h;
      this.raised[p] += h - old;
      if (h === MAX_HEIGHT) {
        this.finished[p] += 1;
      }
    }
  }

  setHeights(heights) {
    const n = Math.min(heights.length, this.heights.length);
    for (let p = 0; p < this.lengths.length; p++) {
      const end = Math.min(this.starts[p + 1], n);
      for (let i = this.starts[p]; i < end; i++) {
        if (heights[i] > this.heights[i]) {
          this.raise(i, heights[i], p);
        }
      }
    }
  }

  feetRaised() {
    return this.raised.reduce((a, b) => a + b, 0);
  }

  /** Whole percent done, rounded down; 100 only when finished (WallView::percent_done). */
  percentDone(p) {
    return this.toRaise[p] === 0 ? 100 : Math.floor((this.raised[p] * 100) / this.toRaise[p]);
  }

  ice(p) {
    return this.raised[p] * ICE_PER_FOOT;
  }

  cost(p) {
    return this.raised[p] * COST_PER_FOOT;
  }
}

function sensorOf(s) {
  return {
    name: s.info.name,
    kind: s.info.kind,
    last: s.last ?? null,
    min: s.min,
    max: s.max,
    sum: s.sum,
    count: s.count,
    history: s.history.slice(-HISTORY),
  };
}

/** The model, and which panes changed since they were last drawn. */
export class Replica {
  constructor() {
    this.model = null;
    this.seq = -1;
    this.dirty = new Set();
    /**
     * Flat indices of the sections whose cells changed since the wall was last drawn, or null
     * when all of it must be drawn again.
     */
    this.wallChanges = null;
    /** Log lines not yet handed to the log pane. */
    this.newLog = [];
    /** When the last line handed on was logged (ms since the epoch). */
    this.lastLogAt = 0;
  }

  /** A snapshot: the whole model (the first, or a fresh one after a gap). */
  snapshot(s) {
    const m = s.model;
    const first = this.model === null;
    this.model = {
      wall: new Wall(m.wall),
      crews: m.crews,
      day: m.day,
      complete: m.complete,
      sensors: m.sensors.map(sensorOf),
      network: m.network,
      deliveredPerS: m.delivered_per_s,
      store: m.store,
      rows: m.rows,
      storeFailing: m.store_failing,
      paused: m.paused,
      speed: m.speed,
    };
    // The lines logged before this page came, or since the last one it saw.
    const lines = first ? m.log : m.log.filter((l) => Date.parse(l.at) > this.lastLogAt);
    this.log(lines);
    this.seq = s.seq;
    this.wallChanges = null;
    for (const pane of ["wall", "sensors", "network", "status", "log"]) {
      this.dirty.add(pane);
    }
  }

  /** An update; false when it does not follow the last one (a fresh snapshot is needed). */
  update(u) {
    if (this.model === null || u.seq !== this.seq + 1) {
      return false;
    }
    for (const change of u.changes) {
      this.apply(change);
    }
    this.seq = u.seq;
    return true;
  }

  /** Section `i`'s cell is to be drawn again (unless the whole wall is). */
  sectionChanged(i) {
    if (this.dirty.has("wall") && this.wallChanges === null) {
      return;
    }
    (this.wallChanges ??= []).push(i);
    this.dirty.add("wall");
  }

  wholeWallChanged() {
    this.wallChanges = null;
    this.dirty.add("wall");
  }

  /** The wall's changes since it was drawn (null: all of it), and none from now on. */
  takeWallChanges() {
    const changes = this.wallChanges;
    this.wallChanges = [];
    return changes;
  }

  log(lines) {
    if (lines.length === 0) {
      return;
    }
    this.newLog.push(...lines.slice(-LOG_KEPT));
    this.newLog.splice(0, Math.max(0, this.newLog.length - LOG_KEPT));
    this.lastLogAt = Date.parse(lines[lines.length - 1].at) || this.lastLogAt;
    this.dirty.add("log");
  }

  sensorIndex(name) {
    return this.model.sensors.findIndex((s) => s.name === name);
  }

  apply(change) {
    const m = this.model;
    const [kind] = Object.keys(change);
    const v = change[kind];
    switch (kind) {
      case "SensorAdded": {
        const i = this.sensorIndex(v.name);
        if (i >= 0) {
          m.sensors[i].kind = v.kind;
        } else {
          m.sensors.push(sensorOf({ info: v, last: null, min: 0, max: 0, sum: 0, count: 0, history: [] }));
        }
        this.dirty.add("sensors").add("status");
        break;
      }
      case "SensorRemoved": {
        const i = this.sensorIndex(v);
        if (i >= 0) {
          m.sensors.splice(i, 1);
        }
        this.dirty.add("sensors").add("status");
        break;
      }
      case "Sensor": {
        const s = m.sensors[this.sensorIndex(v.name)];
        if (s) {
          Object.assign(s, { last: v.last ?? null, min: v.min, max: v.max, sum: v.sum, count: v.count });
          s.history.push(...v.recent.slice(-HISTORY));
          s.history.splice(0, Math.max(0, s.history.length - HISTORY));
          this.dirty.add("sensors");
        }
        break;
      }
      case "Sections":
        for (const [i, h] of v) {
          if (i < m.wall.sections) {
            m.wall.raise(i, h);
            this.sectionChanged(i);
          }
        }
        this.dirty.add("wall").add("status");
        break;
      case "Heights":
        m.wall.setHeights(decodeHeights(v));
        this.wholeWallChanged();
        this.dirty.add("status");
        break;
      case "CrewPlaces": {
        const places = v.map((i) => (i !== null && i < m.wall.sections ? i : null));
        for (const i of m.wall.crews.concat(places)) {
          if (i !== null) {
            this.sectionChanged(i);
          }
        }
        m.wall.crews = places;
        this.dirty.add("wall");
        break;
      }
      case "Crews":
        m.crews = v;
        if (typeof v === "number") {
          m.wall.crews.length = v;
          m.wall.crews = Array.from(m.wall.crews, (c) => c ?? null);
        }
        this.wholeWallChanged();
        this.dirty.add("status");
        break;
      case "Wall":
        m.wall = new Wall(v);
        this.wholeWallChanged();
        this.dirty.add("status");
        break;
      case "Day":
        m.day = v.day;
        m.complete = v.complete;
        this.dirty.add("status");
        break;
      case "Network":
        m.network = v.stats;
        m.deliveredPerS = v.delivered_per_s;
        this.dirty.add("network").add("status");
        break;
      case "Store":
        m.rows = v.rows;
        m.storeFailing = v.failing;
        this.dirty.add("status");
        break;
      case "Paused":
        m.paused = v;
        this.dirty.add("status").add("controls");
        break;
      case "Speed":
        m.speed = v;
        this.dirty.add("status").add("controls");
        break;
      case "Log":
        this.log(v);
        break;
      default:
        // A change this page does not know (a newer site): the next snapshot has it.
        break;
    }
  }

  /** Crews on the wall now (unlimited: one per section). */
  crewCount() {
    const m = this.model;
    return typeof m.crews === "number" ? m.crews : m.wall.sections;
  }

  /** Ice (cubic yards) and cost (Gold Dragons) to date. */
  iceAndCost() {
    const feet = this.model.wall.feetRaised();
    return [feet * ICE_PER_FOOT, feet * COST_PER_FOOT];
  }
}

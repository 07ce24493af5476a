// The page: the site's model from /events drawn in the terminal's panes (Wall, Sensors,
// Network, Log, the status line), and commands to it. Drawing happens at most once per
// animation frame and only for the panes an update changed.
//
// Performance marks (read by `wallwatch bench web` and the browser tests):
//   wallwatch:first-render  the four panes and the status line drawn from the first snapshot
//   wallwatch:update        a measure per frame that drew the wall after updates: the time
//                           spent reading (JSON) and applying them and drawing every changed
//                           pane

import { Control } from "./control.js";
import { Feed } from "./feed.js";
import { clock, setText } from "./format.js";
import { LogPane } from "./log.js";
import { drawNetwork } from "./network.js";
import { LOG_KEPT, Replica } from "./replica.js";
import { drawSensors } from "./sensors.js";
import { drawStatus } from "./status.js";
import { WallPainter, caption, drawProfiles, palette } from "./wall.js";

const $ = (id) => document.getElementById(id);

/** Update measures kept (older ones are cleared). */
const MEASURES_KEPT = 200;

const replica = new Replica();
const wallCanvas = $("wall");
const painter = new WallPainter(wallCanvas);
let colors = palette(wallCanvas);
let firstDrawn = false;
/** The wall pane's width the wall was last laid out for, in CSS pixels. */
let wallWidth = null;
let frame = 0;
/** Time spent applying the updates not yet drawn, in ms (for the update measure). */
let applied = null;

const logPane = new LogPane($("log"), $("log-level"), $("log-targets"));

function notice(text, kind) {
  const n = $("notice");
  n.textContent = text;
  n.className = kind;
  n.hidden = false;
}

const control = new Control(
  {
    tokenForm: $("token-form"),
    tokenInput: $("token"),
    forget: $("forget"),
    mode: $("mode"),
    addCrew: $("add-crew"),
    removeCrew: $("remove-crew"),
    addSensor: $("add-sensor"),
    kind: $("sensor-kind"),
    pause: $("pause"),
    slower: $("slower"),
    faster: $("faster"),
  },
  notice,
);

const networkParts = {
  bar: $("net-bar"),
  inFlight: $("net-in-flight"),
  waiting: $("net-waiting"),
  peak: $("net-peak"),
  delivered: $("net-delivered"),
  wait: $("net-wait"),
  latency: $("net-latency"),
  remote: $("net-remote"),
  remoteRow: $("net-remote-row"),
};

function crewsAtWork(m) {
  return typeof m.crews === "number" ? m.wall.crews.filter((c) => c !== null).length : m.wall.sections;
}

function drawWallPane(m) {
  wallWidth = wallCanvas.parentElement.clientWidth;
  const lay = painter.draw(m.wall, colors, wallWidth, replica.takeWallChanges());
  setText($("wall-caption"), caption(m.wall, lay, crewsAtWork(m)));
  wallCanvas.dataset.columns = String(lay.cols);
  wallCanvas.dataset.perColumn = String(Math.ceil(lay.perColumn));
  wallCanvas.dataset.rows = String(lay.rows);
  drawProfiles($("profiles-body"), $("profiles-more"), m.wall);
}

/** Draws what changed. */
function draw() {
  frame = 0;
  const drawStart = performance.now();
  const m = replica.model;
  if (!m) {
    return;
  }
  const dirty = replica.dirty;
  if (dirty.has("wall")) {
    drawWallPane(m);
  }
  if (dirty.has("sensors")) {
    setText($("sensor-count"), String(m.sensors.length));
    drawSensors($("sensors-body"), m.sensors, colors.spark, (name) => control.removeSensor(name));
    control.refresh(m);
  }
  if (dirty.has("network")) {
    drawNetwork(networkParts, m.network, m.deliveredPerS);
  }
  if (dirty.has("log")) {
    logPane.add(replica.newLog.splice(0), LOG_KEPT);
  }
  if (dirty.has("status")) {
    drawStatus($("status"), replica);
  }
  if (dirty.has("controls") || dirty.has("status")) {
    control.refresh(m);
  }
  const wall = dirty.has("wall");
  dirty.clear();
  document.body.dataset.seq = String(replica.seq);
  if (!firstDrawn) {
    firstDrawn = true;
    performance.mark("wallwatch:first-render");
    document.body.dataset.drawn = "true";
  } else if (wall && applied !== null) {
    // The work of an update: applying it and drawing it (not the wait for the frame).
    const end = performance.now();
    performance.measure("wallwatch:update", { start: drawStart - applied, duration: applied + end - drawStart });
    if (performance.getEntriesByName("wallwatch:update").length > MEASURES_KEPT) {
      performance.clearMeasures("wallwatch:update");
    }
  }
  applied = null;
}

function schedule() {
  if (!frame) {
    frame = requestAnimationFrame(draw);
  }
}

function connection(state, since) {
  const c = $("connection");
  document.body.dataset.connection = state;
  const at = clock(since);
  const words = {
    connecting: "Connecting to the site…",
    live: "Live",
    unreachable: `The site is unreachable (since ${at}); retrying. What you see is as it was then.`,
    back: `The site is back: live again since ${at}.`,
  };
  c.textContent = words[state];
  c.className = state;
}

const feed = new Feed({
  onSnapshot(data) {
    replica.snapshot(JSON.parse(data));
    if (firstDrawn) {
      schedule();
    } else {
      // The first snapshot is drawn at once: a page that shows nothing yet has no frame to keep.
      draw();
    }
  },
  onUpdate(data) {
    const start = performance.now();
    if (!replica.update(JSON.parse(data))) {
      return false;
    }
    applied = (applied ?? 0) + performance.now() - start;
    schedule();
    return true;
  },
  onState: connection,
});

// Colours follow the system's light or dark scheme; the wall is drawn again in the new ones.
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  colors = palette(wallCanvas);
  replica.wholeWallChanged();
  replica.dirty.add("sensors");
  schedule();
});
// Only a new width lays the wall out again: the pane's height follows the canvas, and a
// whole 1,000,000-section wall is a frame's work.
new ResizeObserver(() => {
  if (replica.model && wallCanvas.parentElement.clientWidth !== wallWidth) {
    replica.wholeWallChanged();
    schedule();
  }
}).observe(wallCanvas.parentElement);

feed.open();

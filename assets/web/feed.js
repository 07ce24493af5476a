// The page's feed: `/events` (server-sent events) through an EventSource, the same model a
// terminal viewer is sent: a snapshot, then numbered updates. The browser reconnects by itself
// (after the `retry` the site sends) and resumes with Last-Event-ID; an update that does not
// follow the last one, or a stream the browser gave up on, is opened again from a fresh
// snapshot.

/** How long after a stream the browser gave up on it is opened again. */
const REOPEN_MS = 2000;

const TYPES = ["open", "snapshot", "update", "error"];

/**
 * The first stream, opened as soon as this module runs: the page loads this module on its own
 * first (`async`), so the first snapshot is on its way while the other modules load. What it
 * hears before a Feed takes it over is kept, in order.
 */
let early = { source: new EventSource("/events"), held: [] };
for (const type of TYPES) {
  early.source.addEventListener(type, (e) => early?.held.push(e));
}

/** The first stream and what it heard so far, once; then null. */
function takeEarly() {
  const taken = early;
  early = null;
  return taken;
}

export class Feed {
  /**
   * `onSnapshot(data)` and `onUpdate(data)` take the events' JSON (onUpdate returns false for
   * one that does not follow); `onState(state, since)` hears "connecting", "live", "unreachable" and "back".
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.source = null;
    this.current = "connecting";
    this.reopen = null;
  }

  state(s) {
    if (s !== this.current) {
      this.current = s;
      this.handlers.onState(s, new Date());
    }
  }

  /**
   * Opens the stream (a new EventSource sends no Last-Event-ID: it starts from a snapshot); the
   * first time, takes over the one opened early and hears what it already heard.
   */
  open() {
    clearTimeout(this.reopen);
    if (this.source) {
      this.source.close();
    }
    const taken = takeEarly();
    const es = taken ? taken.source : new EventSource("/events");
    this.source = es;
    for (const type of TYPES) {
      es.addEventListener(type, (e) => this.hear(es, e));
    }
    for (const e of taken ? taken.held : []) {
      this.hear(es, e);
    }
  }

  /** One event of stream `es`. */
  hear(es, e) {
    if (this.source !== es) {
      return;
    }
    switch (e.type) {
      case "open":
        this.state(this.current === "unreachable" ? "back" : "live");
        break;
      case "snapshot":
        this.handlers.onSnapshot(e.data);
        break;
      case "update":
        if (!this.handlers.onUpdate(e.data)) {
          this.open();
        }
        break;
      case "error":
        this.state("unreachable");
        if (es.readyState === EventSource.CLOSED) {
          // Refused (not an event stream, or an error status): the browser will not retry.
          this.reopen = setTimeout(() => this.open(), REOPEN_MS);
        }
        break;
    }
  }
}

// The page's feed: `/events` (server-sent events) through an EventSource, the same model a
// terminal viewer is sent: a snapshot, then numbered updates. The browser reconnects by itself
// (after the `retry` the site sends) and resumes with Last-Event-ID; an update that does not
// follow the last one, or a stream the browser gave up on, is opened again from a fresh
// snapshot.

/** How long after a stream the browser gave up on it is opened again. */
const REOPEN_MS = 2000;

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

  /** Opens the stream (a new EventSource sends no Last-Event-ID: it starts from a snapshot). */
  open() {
    clearTimeout(this.reopen);
    if (this.source) {
      this.source.close();
    }
    const es = new EventSource("/events");
    this.source = es;
    es.addEventListener("open", () => {
      this.state(this.current === "unreachable" ? "back" : "live");
    });
    es.addEventListener("snapshot", (e) => {
      this.handlers.onSnapshot(e.data);
    });
    es.addEventListener("update", (e) => {
      if (!this.handlers.onUpdate(e.data)) {
        this.open();
      }
    });
    es.addEventListener("error", () => {
      if (this.source !== es) {
        return;
      }
      this.state("unreachable");
      if (es.readyState === EventSource.CLOSED) {
        // Refused (not an event stream, or an error status): the browser will not retry.
        this.reopen = setTimeout(() => this.open(), REOPEN_MS);
      }
    });
  }
}

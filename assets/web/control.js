// Commands from the page: crews, sensors, pause and resume, speed, each a write of the site's
// HTTP API with its bearer token. The page asks for the token once and keeps it for the tab
// (sessionStorage); without one it is read-only. What the site answers, a refusal too, is shown
// in its own words.

import { KINDS, MAX_SPEED, MIN_SPEED } from "./site.js";
import { clean, speedValue } from "./format.js";

const TOKEN_KEY = "wallwatch.token";

/** The next speed up or down, or null at the end of the range (app::step_speed). */
export function stepSpeed(speed, up) {
  const f = speedValue(speed);
  if (f === "max") {
    return up ? null : MAX_SPEED;
  }
  if (up) {
    return f * 2 > MAX_SPEED ? "max" : f * 2;
  }
  return f / 2 < MIN_SPEED ? null : f / 2;
}

export class Control {
  /** `ui` holds the controls' elements; `notice(text, kind)` shows an answer. */
  constructor(ui, notice) {
    this.ui = ui;
    this.notice = notice;
    this.model = null;
    this.busy = 0;
    for (const kind of KINDS) {
      ui.kind.append(new Option(kind, kind));
    }
    ui.tokenForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const t = ui.tokenInput.value.trim();
      if (t) {
        sessionStorage.setItem(TOKEN_KEY, t);
        ui.tokenInput.value = "";
        this.notice("token kept for this tab; the commands are on", "ok");
      }
      this.refresh();
    });
    ui.forget.addEventListener("click", () => this.forget("token forgotten: read-only"));
    ui.addCrew.addEventListener("click", () => this.send("POST", "/crews", { count: 1 }));
    ui.removeCrew.addEventListener("click", () => this.send("DELETE", "/crews?count=1"));
    ui.addSensor.addEventListener("click", () => this.send("POST", "/sensors", { kind: ui.kind.value, count: 1 }));
    ui.pause.addEventListener("click", () => {
      if (this.model) {
        this.send("POST", this.model.paused ? "/resume" : "/pause");
      }
    });
    ui.slower.addEventListener("click", () => this.speed(false));
    ui.faster.addEventListener("click", () => this.speed(true));
    this.refresh();
  }

  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  forget(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    this.notice(why, "refused");
    this.refresh();
  }

  /** The controls as the model and the token stand. */
  refresh(model = this.model) {
    this.model = model;
    const ui = this.ui;
    const token = this.token();
    const usable = Boolean(token) && model !== null;
    document.body.classList.toggle("read-only", !token);
    ui.tokenForm.hidden = Boolean(token);
    ui.forget.hidden = !token;
    ui.mode.textContent = token ? "commands on" : "read-only";
    for (const b of document.querySelectorAll("button.command, button.remove")) {
      b.disabled = !usable || this.busy > 0;
    }
    if (model) {
      ui.pause.textContent = model.paused ? "Resume" : "Pause";
      ui.faster.disabled ||= stepSpeed(model.speed, true) === null;
      ui.slower.disabled ||= stepSpeed(model.speed, false) === null;
      ui.removeCrew.disabled ||= typeof model.crews !== "number" || model.crews <= 1;
    }
  }

  speed(up) {
    const next = this.model && stepSpeed(this.model.speed, up);
    if (next !== null && next !== undefined) {
      this.send("PUT", "/speed", { speed: next });
    }
  }

  removeSensor(name) {
    this.send("DELETE", `/sensors/${encodeURIComponent(name)}`);
  }

  /** One write; its answer (or refusal) shown in the site's words. */
  async send(method, path, body) {
    const token = this.token();
    if (!token) {
      this.notice("read-only: give the site's token to send commands", "refused");
      return;
    }
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    this.busy += 1;
    this.refresh();
    try {
      const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const answer = await r.json().catch(() => ({}));
      const words = clean(answer.message ?? answer.error ?? r.statusText);
      if (r.ok) {
        this.notice(words, "ok");
      } else if (r.status === 401 || r.status === 403) {
        this.forget(`refused (${r.status}): ${words}; give the site's token again`);
      } else {
        this.notice(`refused (${r.status}): ${words}`, "refused");
      }
    } catch (e) {
      this.notice(`not sent: the site is unreachable (${clean(e.message)})`, "refused");
    } finally {
      this.busy -= 1;
      this.refresh();
    }
  }
}

// The status line: day, speed or paused, crews, sensors, the network's use, ice, Dragons, rows
// stored and the store's health (ui::status).

import { clean, el, speedLabel, thousands } from "./format.js";

function item(label, value, className = "") {
  return el("span", { className: `item ${className}`.trim() }, el("span", { className: "label" }, label), el("span", { className: "value" }, value));
}

/** Fills `footer` with the status of `replica`'s model. */
export function drawStatus(footer, replica) {
  const m = replica.model;
  const [ice, cost] = replica.iceAndCost();
  const parts = [el("span", { className: "item day" }, `Day ${m.day}`)];
  if (m.complete) {
    parts.push(el("span", { className: "item good" }, "✓ complete"));
  }
  parts.push(m.paused ? el("span", { className: "item paused" }, "PAUSED") : el("span", { className: "item speed" }, `▶ ${speedLabel(m.speed)}`));
  parts.push(item("crews ", typeof m.crews === "number" ? String(m.crews) : "unlimited", "crews"));
  parts.push(item("sensors ", String(m.sensors.length), "sensors"));
  parts.push(item("net ", `${m.network.in_flight}/${m.network.limit}`, "net"));
  parts.push(item("ice ", `${thousands(ice)} yd³`, "ice"));
  parts.push(el("span", { className: "item dragons" }, el("span", { className: "value" }, thousands(cost)), el("span", { className: "label" }, " Dragons")));
  parts.push(item("rows ", thousands(m.rows), "rows"));
  if (m.storeFailing) {
    parts.push(el("span", { className: "item warning" }, `⚠ store failing: ${clean(m.storeFailing)}`));
  }
  footer.replaceChildren(...parts);
}

// The Network pane: messages in flight against the limit, waiting for a permit, the peak,
// delivered per second, mean wait and latency (ui::network).

import { ms, setText, thousands } from "./format.js";

/** In flight out of the limit as cells (ui::network::bar): one per permit, or proportional. */
export function bar(used, limit, width = 20) {
  let cells, filled;
  if (limit <= width) {
    cells = limit;
    filled = Math.min(used, limit);
  } else {
    cells = width;
    filled = Math.ceil((Math.min(used, limit) * width) / limit);
  }
  return "■".repeat(filled) + "□".repeat(cells - filled);
}

/** Fills the pane's figures (`parts` maps a figure's name to its element). */
export function drawNetwork(parts, n, deliveredPerS) {
  setText(parts.bar, bar(n.in_flight, n.limit));
  parts.bar.classList.toggle("full", n.limit > 0 && n.in_flight >= n.limit);
  setText(parts.inFlight, `${n.in_flight}/${n.limit}`);
  setText(parts.waiting, thousands(n.waiting));
  setText(parts.peak, `${n.max_in_flight}/${n.limit}`);
  setText(parts.delivered, `${thousands(deliveredPerS)}/s`);
  setText(parts.wait, ms(n.mean_wait_ms));
  setText(parts.latency, ms(n.mean_latency_ms));
  const remote = n.remote_delivered > 0 || n.remote_in_flight > 0;
  parts.remoteRow.hidden = !remote;
  parts.remote.hidden = !remote;
  setText(parts.remote, `${thousands(n.remote_in_flight)} in flight · ${thousands(n.remote_delivered)} in`);
}

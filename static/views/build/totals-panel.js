// The whole network's totals: parameters (trainable and frozen), multiply-adds and
// memory per example, and its output shape; dimmed while the spec has an error.

import { el, fmt } from "../../ui.js";

export class TotalsPanel {
  constructor() {
    this.params = el("span", { class: "build-total-params", "data-total-params": true }, "–");
    this.split = el("span", { class: "muted", "data-total-split": true });
    this.macs = el("dd", { "data-total-macs": true }, "–");
    this.activations = el("dd", { "data-total-activations": true }, "–");
    this.weights = el("dd", { "data-total-weights": true }, "–");
    this.output = el("dd", { "data-total-output": true }, "–");
    this.status = el("p", { class: "muted build-status", "data-validate-status": true,
      "aria-live": "polite" });
    this.element = el("section", { class: "panel build-totals", "aria-label": "Totals",
      "data-totals": true },
    el("h2", {}, "Totals"),
    el("dl", {},
      el("dt", {}, "Parameters"), el("dd", {}, this.params),
      el("dd", { class: "build-total-split" }, this.split),
      el("dt", {}, "Multiply-adds per example"), this.macs,
      el("dt", {}, "Activation memory per example"), this.activations,
      el("dt", {}, "Weight memory (float32)"), this.weights,
      el("dt", {}, "Output shape"), this.output),
    this.status);
  }

  show(summary) {
    const t = summary.totals;
    this.params.textContent = fmt.int(t.params);
    this.split.textContent =
      `trainable ${fmt.int(t.params_trainable)} · frozen ${fmt.int(t.params_frozen)}`;
    this.macs.textContent = fmt.int(t.macs);
    this.activations.textContent = fmt.bytes(t.activation_bytes);
    this.weights.textContent = fmt.bytes(t.param_bytes);
    this.output.textContent = fmt.shape(summary.output);
  }

  say(text) {
    this.status.textContent = text;
  }
}

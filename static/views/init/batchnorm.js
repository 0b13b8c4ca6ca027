// The plain stack against the same stack with batch norm after each weight layer, at step 0:
// both stacks' std of activations and of gradients per layer on the same two charts, a verdict
// for each that says what the numbers do, and below them the two stacks trained
// (pair-training.js). The view measures both stacks with its analysis; this draws them.

import { el } from "../../ui.js";
import { compareBatchNorm, short, verdictActs, verdictGrads } from "../init-verdict.js";
import { selectControl } from "./controls.js";
import { chart, logRange } from "./log-chart.js";
import { ACTIVATIONS, INITS, LABELS, stackTitle } from "./names.js";
import { PairTraining } from "./pair-training.js";

const STACKS = [
  { key: "plain", style: "plain", name: "without batch norm", title: "Without batch norm" },
  { key: "normed", style: "batchnorm", name: "with batch norm",
    title: "With batch norm after each layer" },
];

const stds = (result, key) => result.layers.map((l) => (l[key] ? l[key].std : null));

// "std 1 at every layer" or "std 1.1 at layer 1 → 0.52 at layer 15": what enters each activation.
function preActivations(result, activation) {
  const v = stds(result, "pre_activation");
  const finite = v.filter((x) => x !== null);
  const same = finite.length === v.length && finite.every((x) => short(x) === short(v[0]));
  const where = same ? `std ${short(v[0])} at every layer`
    : `std ${short(v[0])} at layer 1 → ${short(v[v.length - 1])} at layer ${v.length}`;
  return `What enters each ${activation}: ${where}.`;
}

export class BatchNormPanel {
  // settings(): the lab's depth, width, layer type and seed, for the training comparison
  constructor({ api, settings }) {
    this.charts = [];
    this.results = el("div", { "data-init-bn-results": "" },
      el("p", { class: "muted", text: "Computing both stacks…" }));
    const both = () => ({ ...settings(), ...this.settings() });
    this.training = new PairTraining({ api, settings: both });
    this.activation = selectControl("init-bn-act", "bn-activation", "sigmoid",
      "activation for this comparison", ACTIVATIONS);
    this.init = selectControl("init-bn-init", "bn-init", "xavier_uniform",
      "initializer for this comparison", INITS.map((i) => [i, LABELS[i]]));
    this.element = el("section", { class: "panel", "data-init-batchnorm": "" },
      el("h2", { text: "Plain stack against batch norm" }),
      el("p", {},
        "The same layers, with the same weights, and batch norm after each weight layer: ",
        el("span", { class: "mono", text: "y = γ · (x − μ_B) / √(σ²_B + ε) + β" }),
        ", with γ = 1 and β = 0 at step 0. However large or small the weights, what enters ",
        "each activation has mean 0 and std 1 over the batch, so the signal cannot grow or die ",
        "out with depth. Backward, the gradient is divided by the same σ_B, so it keeps its ",
        "size too."),
      el("p", { class: "muted small", text: "Measured in training mode: each batch-norm layer "
        + "normalizes with the batch's own mean and std. At test time it uses its running averages "
        + "instead, which at step 0 are 0 and 1: it would do nothing yet." }),
      el("div", { class: "row init-controls" }, this.activation, this.init,
        el("span", { class: "muted hint", text: "depth, width and layer type as above; computed "
          + "with the analysis above" })),
      this.results,
      this.training.element);
  }

  settings() {
    const value = (control) => control.querySelector("select").value;
    return { activation: value(this.activation), init: value(this.init) };
  }

  redraw() {
    for (const draw of this.charts) draw();
  }

  // s: the lab's settings; bn: {activation, init}; pair: {plain, normed}, each an answer of
  // POST /api/init/stack
  draw(s, bn, pair) {
    const series = (key) => STACKS.map(({ key: k, style, name }) =>
      ({ name, style, values: stds(pair[k], key) }));
    const acts = series("activation"), grads = series("gradient");
    const reg = [];
    const blocks = STACKS.map(({ key, title }, i) => {
      const a = verdictActs(acts[i].values, bn.activation, pair[key].layers);
      const g = verdictGrads(grads[i].values);
      return el("article", { class: "init-block", "data-init-bn-stack": key, "data-acts": a.kind,
        "data-grads": g.kind },
        el("h3", { text: title }),
        el("p", { class: `verdict v-${a.kind}`, "data-init-verdict": "activations", text: a.text }),
        el("p", { class: `verdict v-${g.kind}`, "data-init-verdict": "gradients", text: g.text }),
        el("p", { class: "small", "data-init-pre": "",
          text: preActivations(pair[key], bn.activation) }));
    });
    this.results.replaceChildren(
      el("p", { text: `${stackTitle(s, bn.activation)}, ${LABELS[bn.init]}` }),
      el("div", { class: "init-compare" },
        el("p", { "data-init-bn-verdict": "activations",
          text: compareBatchNorm("activations", acts[0].values, acts[1].values) }),
        el("p", { "data-init-bn-verdict": "gradients",
          text: compareBatchNorm("gradients", grads[0].values, grads[1].values) })),
      el("div", { class: "init-overview" },
        chart(reg, "std of activations per layer", acts, logRange(acts), 240),
        chart(reg, "std of gradients per layer", grads, logRange(grads), 240)),
      el("div", { class: "init-blocks" }, blocks));
    this.charts = reg;
    this.redraw();
  }
}

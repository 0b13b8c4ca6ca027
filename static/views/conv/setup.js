// What the student sets up: the input X (its channels), the filter W and its bias, stride,
// padding, dilation, the activation f, and how many filters the layer has (for its parameter
// count). Starts from the lecture's 5x5 X and 3x3 W; shows the server's output size, parameter
// count and warnings for them.

import { el } from "../../ui.js";
import { readWholeNumbers, wholeNumberControl } from "./controls.js";
import { matrixEditor, parseMatrix, resize, toStrings } from "./editor.js";

const LECTURE_X = [[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0],
  [0, 4, 3, 2, 0]];
const LECTURE_W = [[0, 1, 0], [1, 0, 1], [2, 1, 0]];
// Channels beyond the lecture's one start from these numbers (small, so sums stay readable),
// cut or padded with zeros to the size set.
const MORE_X = [
  [[1, 0, 0, 2, 1], [0, 3, 1, 0, 0], [2, 1, 0, 1, 3], [0, 0, 2, 1, 0], [1, 2, 0, 0, 1]],
  [[2, 2, 1, 0, 0], [1, 0, 0, 1, 2], [0, 1, 3, 1, 0], [2, 0, 1, 0, 1], [0, 1, 0, 2, 2]],
  [[0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0]],
];
const MORE_W = [
  [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
  [[0, 1, 0], [1, -2, 1], [0, 1, 0]],
  [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
];
const ACTIVATIONS = [["none", "none: O = I (the lecture's example)"], ["relu", "ReLU"],
  ["leaky_relu", "leaky ReLU"], ["sigmoid", "sigmoid"], ["tanh", "tanh"]];

// The controls, in order, with what they allow (the server takes up to 32x32 and 4 channels;
// larger grids stop being readable) and the lecture's values.
const SIZES = {
  h: { id: "conv-h", label: "X height H", limits: [1, 16], value: 5 },
  w: { id: "conv-w", label: "X width W", limits: [1, 16], value: 5 },
  c: { id: "conv-c", label: "channels C", limits: [1, 4], value: 1 },
  k: { id: "conv-k", label: "kernel size K", limits: [1, 9], value: 3 },
  s: { id: "conv-s", label: "stride S", limits: [1, 8], value: 1 },
  p: { id: "conv-p", label: "padding P", limits: [0, 8], value: 0 },
  d: { id: "conv-d", label: "dilation d", limits: [1, 8], value: 1 },
  f: { id: "conv-filters", label: "filters F", limits: [1, 1024], value: 1 },
};
const LECTURE = Object.fromEntries(Object.entries(SIZES).map(([key, spec]) => [key, spec.value]));

// the output size, to shape dL/dO before the server answers (a kernel of k taps dilated by d
// spans d(k - 1) + 1 inputs)
const outSize = (n, k, s, p, d) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

// The first channel is the lecture's, the others start from the numbers above.
const startingNumbers = (lecture, more, i) => toStrings(i === 0 ? lecture : more[i - 1]);

export class SetupPanel {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.sizes = { ...LECTURE };
    this.x = [toStrings(LECTURE_X)];
    this.w = [toStrings(LECTURE_W)];
    const control = (key) => wholeNumberControl({ key, ...SIZES[key] }, () => this.readSizes());
    this.biasOn = el("input", { type: "checkbox", id: "conv-bias-on" });
    this.bias = el("input", { type: "number", id: "conv-bias", step: "any", value: "0",
      disabled: true, "aria-label": "the bias b" });
    this.biasOn.addEventListener("change", () => {
      this.bias.disabled = !this.biasOn.checked;
      this.onChange();
    });
    this.bias.addEventListener("input", () => this.onChange());
    this.activation = el("select", { id: "conv-activation" },
      ACTIVATIONS.map(([value, text]) => el("option", { value }, text)));
    this.activation.addEventListener("change", () => this.onChange());
    this.sizeError = el("p", { class: "error", "data-conv-size-error": "", hidden: true });
    this.xEditors = el("div", { class: "row conv-channel-editors" });
    this.wEditors = el("div", { class: "row conv-channel-editors" });
    this.formulaEl = el("div", { class: "conv-formula", "data-conv-formula": "",
      "aria-live": "polite" });
    this.paramsEl = el("p", { class: "conv-params", "data-conv-params": "" });
    this.controls = el("div", { class: "row conv-controls" },
      ...["h", "w", "c", "k", "s", "p", "d"].map(control),
      el("span", { class: "ctl" },
        el("label", { for: "conv-bias-on" }, this.biasOn, " bias b"), this.bias),
      el("span", { class: "ctl" },
        el("label", { for: "conv-activation", text: "activation f" }), this.activation),
      control("f"),
      el("button", { type: "button", "data-action": "conv-reset", onclick: () => this.reset() },
        "Lecture example"));
    this.element = el("section", { class: "panel conv-setup", "aria-labelledby": "conv-h-input" },
      el("h2", { id: "conv-h-input", text: "Input X, filter W" }),
      el("p", { class: "muted" },
        "The lecture's single-channel 5×5 input and 3×3 filter, no stride, no padding, no bias. ",
        "Edit any number or size; add channels (an RGB image has 3), a bias b and an activation ",
        "f; everything below follows."),
      this.controls,
      this.sizeError,
      el("details", { class: "conv-editors", open: true },
        el("summary", { text: "The numbers of X and W" }),
        el("div", { class: "row" },
          el("div", {}, el("h3", { text: "X (input)" }), this.xEditors),
          el("div", {}, el("h3", { text: "W (filter: one kernel per channel)" }), this.wEditors),
          el("div", { class: "conv-formula-box" }, el("h3", { text: "Output size and parameters" }),
            this.formulaEl, this.paramsEl))));
    this.rebuildEditors();
  }

  rebuildEditors() {
    const several = this.sizes.c > 1;
    // one channel needs no name of its own: the heading says X or W
    const editor = (matrix, name, label) => el("div", {},
      several ? el("p", { class: "conv-channel-h", text: label }) : null,
      matrixEditor(matrix, { name, label, onChange: this.onChange }));
    const suffix = (i) => (several ? `, channel ${i}` : "");
    this.xEditors.replaceChildren(...this.x.map((m, i) => editor(m, `X${i}`, `X${suffix(i)}`)));
    this.wEditors.replaceChildren(...this.w.map((m, i) => editor(m, `W${i}`, `W${suffix(i)}`)));
  }

  readSizes() {
    const sizes = readWholeNumbers(this.controls, SIZES, this.sizeError);
    if (!sizes) return;
    const reshaped = ["h", "w", "c", "k"].some((k) => sizes[k] !== this.sizes[k]);
    this.sizes = sizes;
    if (reshaped) {
      const { c, h, w, k } = sizes;
      this.x = Array.from({ length: c },
        (_, i) => resize(this.x[i] || startingNumbers(LECTURE_X, MORE_X, i), h, w, "0"));
      this.w = Array.from({ length: c },
        (_, i) => resize(this.w[i] || startingNumbers(LECTURE_W, MORE_W, i), k, k, "0"));
      this.rebuildEditors();
    }
    this.onChange();
  }

  reset() {
    this.sizes = { ...LECTURE };
    for (const [key, { value }] of Object.entries(SIZES)) {
      this.controls.querySelector(`[data-conv-size="${key}"]`).value = value;
    }
    readWholeNumbers(this.controls, SIZES, this.sizeError); // clears any complaint
    this.x = [toStrings(LECTURE_X)];
    this.w = [toStrings(LECTURE_W)];
    this.biasOn.checked = false;
    this.bias.disabled = true;
    this.bias.value = "0";
    this.activation.value = "none";
    this.rebuildEditors();
    this.onChange({ reset: true });
  }

  // The output's size for these settings, or null when no window fits.
  outputShape() {
    const { h, w, k, s, p, d } = this.sizes;
    const shape = [outSize(h, k, s, p, d), outSize(w, k, s, p, d)];
    return shape[0] >= 1 && shape[1] >= 1 ? shape : null;
  }

  // The request's part for this panel; throws an Error naming a cell that is not a number.
  request() {
    const bias = this.biasOn.checked ? Number(this.bias.value) : null;
    if (this.biasOn.checked && (this.bias.value === "" || !Number.isFinite(bias))) {
      throw new Error("b: enter a number");
    }
    const { c, s, p, d, f } = this.sizes;
    const name = (what, i) => `${what}${c > 1 ? ` channel ${i}` : ""}`;
    return {
      x: this.x.map((m, i) => parseMatrix(m, name("X", i))),
      w: this.w.map((m, i) => parseMatrix(m, name("W", i))),
      stride: s, padding: p, dilation: d, bias, activation: this.activation.value, filters: f,
    };
  }

  render(r) {
    const general = r.dilation > 1 ? "N_out = (N_in + 2P − d(K − 1) − 1)/S + 1"
      : "N_out = (N_in + 2P − K)/S + 1";
    const warnings = r.warnings.length
      ? [el("ul", { class: "warning" }, r.warnings.map((w) => el("li", { text: w })))] : [];
    this.formulaEl.replaceChildren(
      el("p", { class: "mono", text: general }),
      el("p", { class: "mono" }, "height: ",
        el("span", { "data-conv-formula-h": "", text: r.formula.height })),
      el("p", { class: "mono" }, "width:  ",
        el("span", { "data-conv-formula-w": "", text: r.formula.width })),
      el("p", {}, `output: ${r.output_shape[0]}×${r.output_shape[1]}`),
      ...warnings);
    const p = r.parameters;
    this.paramsEl.replaceChildren(
      el("span", { text: `parameters of ${p.filters} filter${p.filters > 1 ? "s" : ""}: ` }),
      el("span", { class: "mono", text: p.formula }),
      el("span", { class: "muted", text: p.bias
        ? " = F × (K×K×C + 1): each filter has K×K×C weights and 1 bias"
        : " = F × (K×K×C): no bias, so no +1" }));
  }
}

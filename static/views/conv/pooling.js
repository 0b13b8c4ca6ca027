// Max and average pooling of X with a window and stride of their own (2×2, stride 2 by default,
// as after most convolutions), and where each sends its gradient: max to the one input that won,
// average evenly to all. Hovering a pooled cell frames its window on X.

import { el } from "../../ui.js";
import { ChannelPicker, readWholeNumbers, wholeNumberControl } from "./controls.js";
import { matrixEditor, parseMatrix, resize } from "./editor.js";
import { channelName, figure, markCells, num, numberGrid, onCells } from "./grids.js";

const SIZES = {
  k: { id: "conv-pool-k", label: "pooling window K", limits: [1, 16], value: 2 },
  s: { id: "conv-pool-s", label: "pooling stride S", limits: [1, 16], value: 2 },
  p: { id: "conv-pool-p", label: "pooling padding P", limits: [0, 8], value: 0 },
};
const pooledSize = (n, k, s, p) => Math.floor((n + 2 * p - k) / s) + 1;
const GRADIENT = "pooling's upstream gradient";

export class PoolingPanel {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.result = null;
    this.sizes = { k: 2, s: 2, p: 0 };
    this.delta = null; // strings shaped like the pooled output
    this.shape = null;
    this.controls = el("div", { class: "row conv-controls" }, ...Object.entries(SIZES).map(
      ([key, spec]) => wholeNumberControl({ key, ...spec }, () => this.readSizes())));
    this.sizeError = el("p", { class: "error", hidden: true });
    this.deltaHolder = el("div", { class: "editor" });
    this.channel = new ChannelPicker("conv-pool-channel", () => this.draw());
    this.controls.append(this.channel.element);
    this.body = el("div", { class: "conv-pooling-body" });
    this.element = el("section",
      { class: "panel", "data-conv-pooling": "", "aria-labelledby": "conv-h-pool" },
      el("h2", { id: "conv-h-pool", text: "Pooling and its derivative" }),
      el("p", { class: "muted" }, "Max and average pooling of X, each channel on its own, with a ",
        "window and stride of their own (not the filter's). Backward, each window's upstream ",
        "gradient goes to X."),
      this.controls, this.sizeError, this.body);
  }

  readSizes() {
    const sizes = readWholeNumbers(this.controls, SIZES, this.sizeError);
    if (!sizes) return;
    this.sizes = sizes;
    this.onChange();
  }

  // The upstream gradient's editor for an input of this size; keeps what fits of the old one.
  reshape([h, w]) {
    const { k, s, p } = this.sizes;
    const shape = [pooledSize(h, k, s, p), pooledSize(w, k, s, p)];
    const fits = shape[0] >= 1 && shape[1] >= 1;
    if (fits && this.shape && shape.join("x") === this.shape.join("x") && this.delta) return;
    this.shape = fits ? shape : null;
    if (!fits) { this.deltaHolder.replaceChildren(); return; }
    this.delta = resize(this.delta || [], shape[0], shape[1], "1");
    this.deltaHolder.replaceChildren(matrixEditor(this.delta,
      { name: "pool_delta", label: GRADIENT, onChange: this.onChange }));
  }

  request() {
    const { k, s, p } = this.sizes;
    const gradient = this.shape ? { pool_delta: parseMatrix(this.delta, GRADIENT) } : {};
    return { pool_kernel: k, pool_stride: s, pool_padding: p, ...gradient };
  }

  allOnes() {
    this.delta = null;
    this.reshape(this.result.input_shape);
    this.onChange();
  }

  render(r) {
    this.result = r;
    this.draw();
  }

  draw() {
    const r = this.result, pool = r.pooling;
    const c = this.channel.pick(r.channels), ch = channelName(c, r.channels);
    const formulas = el("p", { class: "mono" },
      `height: ${pool.formula.height}`, el("br"), `width:  ${pool.formula.width}`);
    if (pool.error) {
      this.body.replaceChildren(formulas,
        el("p", { class: "error", "data-conv-pool-error": "", text: pool.error }));
      return;
    }
    const P = r.padding, [H, W] = r.input_shape;
    const x = r.padded_x[c].slice(P, P + H).map((row) => row.slice(P, P + W));
    const winners = new Set(pool.max.argmax[c].flat().map(([i, j]) => `${i},${j}`));
    this.xTable = numberGrid(x, { label: `X${ch}, the inputs that win a max framed`,
      cellClass: (i, j) => (winners.has(`${i},${j}`) ? "argmax" : null),
      attrs: { "data-conv-pool-x": "" } });
    const grid = (m, label, hook, cellClass) =>
      numberGrid(m, { label, attrs: { [hook]: "" }, cellClass });
    const routed = (i, j, v) => (v === 0 ? "zero" : "nz");
    this.maxOut = grid(pool.max.output[c], "max pooling output", "data-conv-pool-max-out");
    this.avgOut = grid(pool.avg.output[c], "average pooling output", "data-conv-pool-avg-out");
    this.line = el("p", { class: "conv-pool-line", "data-conv-pool-line": "", "aria-live": "polite",
      text: "Hover over (or tap) a pooled cell to frame its window on X." });
    const ones = el("button", { type: "button", "data-action": "conv-pool-ones",
      onclick: () => this.allOnes() }, "All ones");
    const side = (kind, title, output, dx, hook) => el("div", { "data-conv-pool": kind },
      el("h3", { text: title }),
      el("div", { class: "conv-scroll" }, el("div", { class: "row" },
        figure(kind === "max" ? "max" : "average", output),
        figure("dL/dX", grid(dx[c], `gradient of ${title.toLowerCase()}`, hook, routed)))),
      el("p", { class: "muted", text: `Derivative: ${pool[kind].description}.` }));
    this.body.replaceChildren(formulas,
      ...pool.warnings.map((text) =>
        el("p", { class: "warning", "data-conv-pool-warning": "", text })),
      el("div", { class: "conv-scroll" }, el("div", { class: "row conv-eq" },
        figure(`X${ch} (thick frame: the max of some window)`, this.xTable),
        figure("upstream gradient dL/d(pooled), for every channel", this.deltaHolder, ones))),
      this.line,
      el("div", { class: "grid2 pool-grid" },
        side("max", "Max pooling", this.maxOut, pool.max.dx, "data-conv-pool-max-dx"),
        side("avg", "Average pooling", this.avgOut, pool.avg.dx, "data-conv-pool-avg-dx")));
    for (const [table, kind] of [[this.maxOut, "max"], [this.avgOut, "avg"]]) {
      onCells(table, { over: (row, col) => this.showWindow(kind, c, row, col),
        leave: () => markCells(this.xTable, "pwin", () => false) });
    }
  }

  // Frame pooled cell (row, col)'s window on X, and say where its gradient goes.
  showWindow(kind, c, row, col) {
    const pool = this.result.pooling, { top, left, size } = pool.windows[row][col];
    markCells(this.xTable, "pwin",
      (i, j) => i >= top && i < top + size && j >= left && j < left + size);
    const at = `[${row},${col}]`, [i, j] = pool.max.argmax[c][row][col];
    const gradient = `its gradient ${num(pool.delta[row][col])}`;
    this.line.textContent = kind === "max"
      ? `max${at} comes from X[${i},${j}]: backward, ${gradient} goes to X[${i},${j}] alone.`
      : `average${at}: backward, ${gradient} is shared evenly by every input of the window.`;
  }
}

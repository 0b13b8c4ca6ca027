// A dropout layer at work on the input on show: what arrives at it, the mask a training step
// would draw (each value dropped with probability p), the training output (zeros where
// dropped, the rest times 1/(1 - p)) and the evaluation output (the input, untouched), side by
// side on one colour scale, so the survivors' scaling shows. The values of all four under the
// pointer (or the arrow keys); "Draw another mask" draws with the next seed.

import { el, fmt, showError } from "../../ui.js";
import { COLOURS, colourBar, extent, rangeFor, short } from "./colours.js";
import { layerLongName } from "./layers.js";

const SIDE = 210;  // px: each picture, at most (less on a phone: two abreast)
const CROSS = 8;   // px: cells at least this big mark a dropped unit with a cross

const PICTURES = [
  ["input", "What arrives"],
  ["mask", "The mask (training)"],
  ["train", "Training output (✕: dropped)"],
  ["eval", "Evaluation output"],
];

function decodeFloat32(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

const decodeBytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

export class DropoutPanel {
  // onChange(): the layer or the seed changed: fetch the answer for wanted().
  constructor({ onChange }) {
    this.onChange = onChange;
    this.layers = [];      // the network's dropout layers, from the overview
    this.layersKey = null;
    this.seed = 0;
    this.answer = null;    // the last answer, decoded
    this.cell = null;      // {row, col} under the pointer
    this.layerSelect = el("select", { id: "dropout-layer", "data-dropout-layer": "",
      onchange: () => this.changed() });
    this.mapSelect = el("select", { id: "dropout-map", "data-dropout-map": "",
      onchange: () => this.draw() });
    this.mapLabel = el("label", { for: "dropout-map" }, "Map");
    this.facts = el("ul", { class: "dropout-facts", "data-dropout-facts": "" });
    this.readout = el("p", { class: "hover-value", "data-dropout-hover": "", "aria-live": "polite" });
    this.errorBox = el("p", { class: "error", hidden: true });
    this.bars = el("div", { class: "read-bars" });
    this.pictures = Object.fromEntries(PICTURES.map(([kind]) => [kind, picture(kind)]));
    this.figs = el("div", { class: "dropout-figs", tabindex: "0", role: "group",
      "aria-label": "The dropout layer's input, mask and outputs: point at them or use the "
        + "arrow keys to read their values" },
    ...PICTURES.map(([kind, title]) => el("figure", { class: "dropout-fig" },
      el("figcaption", { text: title }), this.pictures[kind].wrap)));
    this.node = el("section", { class: "panel inspect-dropout", "data-inspect-dropout": "",
      hidden: true, "aria-labelledby": "inspect-dropout-h" },
    el("h2", { id: "inspect-dropout-h" }, "Dropout: training against evaluation"),
    el("p", { class: "muted dropout-intro" },
      "When the network is used, a dropout layer passes its input on unchanged. In training it ",
      "draws a mask at every step: each value is dropped (set to 0) with probability p, and the ",
      "values kept are multiplied by 1/(1 − p), so that on average nothing changes."),
    el("div", { class: "row dropout-controls" },
      el("label", { for: "dropout-layer" }, "Layer"), this.layerSelect,
      this.mapLabel, this.mapSelect,
      el("button", { type: "button", "data-action": "new-mask", onclick: () => this.another() },
        "Draw another mask")),
    this.errorBox, this.figs, this.readout, this.bars, this.facts);
    for (const { canvas } of Object.values(this.pictures)) {
      canvas.addEventListener("pointermove", (e) => this.point(e));
      canvas.addEventListener("pointerdown", (e) => this.point(e));
    }
    this.figs.addEventListener("pointerleave", () => this.mark(null));
    this.figs.addEventListener("keydown", (e) => this.key(e));
  }

  // The overview's layers: show the panel when the network has dropout, and offer its layers.
  setLayers(snapshot) {
    this.layers = snapshot.layers.filter((l) => l.type === "dropout");
    this.node.hidden = !this.layers.length;
    const key = this.layers.map((l) => `${l.path}:${l.shape.join("x")}`).join("|");
    if (key === this.layersKey) return;
    this.layersKey = key;
    const chosen = this.layerSelect.value;
    this.layerSelect.replaceChildren(...this.layers.map((l) => el("option", { value: l.path },
      `${layerLongName(l)}, ${fmt.shape(l.shape)}`)));
    if (this.layers.some((l) => l.path === chosen)) this.layerSelect.value = chosen;
    this.answer = null;
  }

  // Another network: nothing shown until its overview says whether it has dropout.
  clear() {
    this.layers = [];
    this.layersKey = null;
    this.answer = null;
    this.node.hidden = true;
  }

  // {layer, seed} to ask the server for, or null when the network has no dropout.
  wanted() {
    return this.layers.length ? { layer: this.layerSelect.value, seed: this.seed } : null;
  }

  changed() {
    this.answer = null;
    this.onChange();
  }

  another() {
    this.seed += 1;
    this.onChange();
  }

  showError(e) {
    showError(this.errorBox, e);
  }

  // ---- an answer ------------------------------------------------------------------------------
  render(answer) {
    const want = this.wanted();
    if (!want || answer.layer !== want.layer || answer.seed !== want.seed) return;
    showError(this.errorBox, null);
    this.answer = {
      ...answer,
      values: {
        input: decodeFloat32(answer.input.data),
        train: decodeFloat32(answer.train_output.data),
        eval: decodeFloat32(answer.eval_output.data),
      },
      kept: decodeBytes(answer.mask.data),
    };
    const spatial = answer.shape.length === 3;
    this.mapLabel.hidden = this.mapSelect.hidden = !spatial;
    if (spatial && this.mapSelect.options.length !== answer.shape[0]) {
      this.mapSelect.replaceChildren(...Array.from({ length: answer.shape[0] },
        (_, i) => el("option", { value: i }, `map ${i + 1} of ${answer.shape[0]}`)));
    }
    this.node.dataset.seed = String(answer.seed);
    this.renderFacts();
    this.draw();
  }

  renderFacts() {
    const a = this.answer;
    const scale = Number(a.scale.toPrecision(4));
    const equal = a.values.eval.reduce((n, v, i) => n + (v === a.values.input[i] ? 1 : 0), 0);
    const fact = (attrs, text) => el("li", { ...attrs, text });
    this.facts.replaceChildren(
      fact({ "data-dropout-p": a.p }, `p = ${a.p}: in training each value is dropped with `
        + `probability ${a.p}; the values kept are multiplied by 1/(1 − ${a.p}) = ${scale}.`),
      fact({ "data-dropped-fraction": a.dropped_fraction },
        `This mask (seed ${a.seed}) dropped ${fmt.int(a.dropped)} of ${fmt.int(a.units)} values: `
        + `${fmt.pct(a.dropped_fraction)}, where p says ${fmt.pct(a.p)}.`),
      fact({}, `The mean of what arrives is ${short(a.input.mean)}; of the training output `
        + `${short(a.train_output.mean)}: about the same, which is what the scaling is for.`),
      fact({ "data-eval-equal": equal }, `In evaluation the output is the input: ${fmt.int(equal)} `
        + `of ${fmt.int(a.units)} values equal, nothing dropped, nothing scaled.`));
  }

  // ---- pictures ---------------------------------------------------------------------------------
  // The grid the pictures show: a map of the layer, or the vector wrapped into a square.
  grid() {
    const shape = this.answer.shape;
    if (shape.length === 3) {
      const [, h, w] = shape;
      const m = Number(this.mapSelect.value || 0);
      return { h, w, from: m * h * w, n: h * w, map: m };
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const w = Math.ceil(Math.sqrt(n));
    return { h: Math.ceil(n / w), w, from: 0, n, map: null };
  }

  draw() {
    const a = this.answer;
    if (!a) return;
    const grid = this.grid();
    const shown = (values) => values.subarray(grid.from, grid.from + grid.n);
    // one scale for what arrives and both outputs, so the survivors' scaling shows; the map's
    // own range, so a faint map is not drawn black
    const ends = [extent(shown(a.values.input)), extent(shown(a.values.train))];
    const lo = Math.min(...ends.map((e) => e.min)), hi = Math.max(...ends.map((e) => e.max));
    const scale = lo < 0 ? "diverging" : "sequential";
    const range = rangeFor(scale, lo, hi);
    const side = Math.min(SIDE, Math.floor((window.innerWidth - 90) / 2));
    const cell = Math.max(1, Math.floor(side / Math.max(grid.h, grid.w)));
    const dropped = shown(a.kept).map((k) => 1 - k);
    for (const [kind, values, sc, r, marks] of [
      ["input", a.values.input, scale, range, null],
      ["train", a.values.train, scale, range, dropped],
      ["eval", a.values.eval, scale, range, null],
      ["mask", Float32Array.from(a.kept), "grey", { min: 0, max: 1 }, null]]) {
      drawCells(this.pictures[kind].canvas, shown(values), grid, cell, COLOURS[sc], r, marks);
    }
    this.bars.replaceChildren(
      colourBar(scale, range.min, range.max, "what arrives and both outputs", { width: 200 }),
      colourBar("grey", 0, 1, "mask: black dropped, white kept", { width: 120 }));
    this.mark(this.cell);
  }

  // ---- reading values ---------------------------------------------------------------------------
  point(e) {
    if (!this.answer) return;
    const r = e.target.getBoundingClientRect();
    const { h, w } = this.grid();
    const col = Math.floor(((e.clientX - r.left) / r.width) * w);
    const row = Math.floor(((e.clientY - r.top) / r.height) * h);
    if (row >= 0 && col >= 0 && row < h && col < w) this.mark({ row, col });
  }

  key(e) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (!moves[e.key] || !this.answer) return;
    e.preventDefault();
    const { h, w } = this.grid();
    const [dr, dc] = this.cell ? moves[e.key] : [0, 0];
    const { row = 0, col = 0 } = this.cell || {};
    const clamp = (v, m) => Math.min(m - 1, Math.max(0, v));
    this.mark({ row: clamp(row + dr, h), col: clamp(col + dc, w) });
  }

  mark(cell) {
    const grid = this.answer ? this.grid() : null;
    const k = cell && grid ? cell.row * grid.w + cell.col : -1;
    const inside = grid && k >= 0 && k < grid.n;
    this.cell = inside ? cell : null;
    for (const { box } of Object.values(this.pictures)) {
      box.hidden = !inside;
      if (!inside) continue;
      Object.assign(box.style, {
        left: `${(100 * cell.col) / grid.w}%`, top: `${(100 * cell.row) / grid.h}%`,
        width: `${100 / grid.w}%`, height: `${100 / grid.h}%`,
      });
    }
    if (!inside) {
      this.readout.textContent = this.answer
        ? "Point at a picture (or use the arrow keys) to read the four values of one unit." : "";
      return;
    }
    const a = this.answer;
    const i = grid.from + k;
    const where = grid.map === null ? `unit ${i}`
      : `map ${grid.map + 1}, row ${cell.row}, column ${cell.col}`;
    const kept = a.kept[i] === 1;
    const v = (kind) => short(a.values[kind][i]);
    this.readout.textContent = `${where}: arrives ${v("input")}; `
      + (kept ? `kept, × ${Number(a.scale.toPrecision(4))} → training ${v("train")}`
        : `dropped → training ${v("train")}`)
      + `; evaluation ${v("eval")}`;
  }
}

function picture(kind) {
  const canvas = el("canvas", { class: "dropout-canvas", "data-dropout-picture": kind,
    role: "img", "aria-label": kind === "mask" ? "the mask: black dropped, white kept"
      : `the ${kind === "input" ? "values arriving at the layer" : `${kind} output`}` });
  const box = el("div", { class: "hover-box", hidden: true });
  return { canvas, box, wrap: el("div", { class: "big-map-wrap" }, canvas, box) };
}

// The values as cells of `cell` CSS pixels, sharp on any screen; a vector's spare cells light
// grey; where `marks` is 1 (a dropped unit) a cross, so the zeros dropout made stand apart from
// the zeros that arrived.
function drawCells(canvas, values, { h, w, n }, cell, colour, { min, max }, marks) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * cell * ratio);
  canvas.height = Math.round(h * cell * ratio);
  canvas.style.width = `${w * cell}px`;
  canvas.style.height = `${h * cell}px`;
  canvas.dataset.cell = String(cell * ratio); // device pixels per cell, for tests
  const ctx = canvas.getContext("2d");
  ctx.scale(cell * ratio, cell * ratio); // from here on, one unit is one cell
  const span = max > min ? max - min : 1;
  for (let k = 0; k < h * w; k++) {
    const [r, g, b] = k < n ? colour((values[k] - min) / span) : [228, 228, 222];
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(k % w, Math.floor(k / w), 1, 1);
  }
  if (!marks || cell < CROSS) return;
  ctx.strokeStyle = "#f4f4f0";
  ctx.lineWidth = Math.max(1.5 / cell, 0.1);
  ctx.beginPath();
  for (let k = 0; k < n; k++) {
    if (!marks[k]) continue;
    const x = k % w, y = Math.floor(k / w);
    ctx.moveTo(x + 0.3, y + 0.3);
    ctx.lineTo(x + 0.7, y + 0.7);
    ctx.moveTo(x + 0.7, y + 0.3);
    ctx.lineTo(x + 0.3, y + 0.7);
  }
  ctx.stroke();
}

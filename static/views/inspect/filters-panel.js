// Every conv layer's filters beside their last gradients: a row per filter, a tile per
// input channel it reads, all on diverging scales centred on zero with their colour bars.
// The tiles are built once per layer shape and repainted with each refresh.

import { decodeUint8, el, fmt, showError } from "../../ui.js";
import { colourBar, paint } from "./colours.js";
import { layerLongName } from "./layers.js";

const MAX_FILTERS = 16;        // filters shown per conv layer
const MAX_FILTER_CHANNELS = 8; // input channels shown per filter

export class FiltersPanel {
  constructor() {
    this.errorBox = el("p", { class: "error", "data-filters-error": "", hidden: true });
    this.box = el("div", { class: "filters", "data-filters": "" });
    this.key = null;
    this.blocks = new Map(); // layer path -> {node, weights, gradient}
    this.node = el("section", { class: "panel inspect-filters", "data-inspect-filters": "",
      "aria-labelledby": "inspect-filters-h" },
      el("h2", { id: "inspect-filters-h" }, "Conv filters and their gradients"),
      el("p", { class: "muted" },
        "A row per filter (its number, then one kernel per input channel it reads); blue below ",
        "zero, red above. The gradient is ∂loss/∂weight from the last training batch: the ",
        "optimizer steps against it."),
      this.errorBox, this.box);
  }

  showError(e) {
    showError(this.errorBox, e);
  }

  clear() {
    this.key = null;
    this.blocks.clear();
    this.box.replaceChildren();
  }

  // layers: the weights answers of every conv layer, in order.
  render(layers) {
    showError(this.errorBox, null);
    if (!layers.length) {
      this.clear();
      this.box.append(el("p", { class: "muted", text: "This network has no conv layers." }));
      return;
    }
    const key = layers.map((l) => `${l.path}:${l.filters.shape.join("x")}:${Boolean(l.grad)}`)
      .join("|");
    if (key !== this.key) {
      this.key = key;
      this.blocks = new Map(layers.map((l) => [l.path, makeBlock(l)]));
      this.box.replaceChildren(...[...this.blocks.values()].map((b) => b.node));
    }
    for (const l of layers) {
      const block = this.blocks.get(l.path);
      paintGrid(block.weights, l.filters, "w");
      if (l.grad) paintGrid(block.gradient, l.grad, "∂loss/∂w");
    }
  }
}

function makeBlock(l) {
  const weights = makeGrid(l.filters.shape, "weights");
  const gradient = l.grad ? makeGrid(l.grad.shape, "gradient") : null;
  const title = `${layerLongName(l)}: ${fmt.shape(l.filters.shape)} weights, kernel `
    + `${l.kernel_size.join("×")}, stride ${l.stride.join("×")}, `
    + `padding ${l.padding.join("×")}`;
  const noGradient = el("div", { class: "filter-grid", "data-no-gradient": "" },
    el("h4", { text: "gradient" }),
    el("p", { class: "muted", text: "No gradient yet: train first." }));
  const node = el("div", { class: "filters-layer", "data-filters-layer": l.path, title: l.path },
    el("h3", { text: title }),
    el("div", { class: "filters-pair" }, weights.node, gradient ? gradient.node : noGradient));
  return { node, weights, gradient };
}

function makeGrid([out, inC, kh, kw], title) {
  const px = Math.max(3, Math.round(40 / Math.max(kh, kw)));
  const shownIn = Math.min(inC, MAX_FILTER_CHANNELS);
  const tiles = [];
  const rows = [];
  for (let o = 0; o < Math.min(out, MAX_FILTERS); o++) {
    const row = [];
    for (let i = 0; i < shownIn; i++) {
      const canvas = el("canvas", { class: "filter", width: kw, height: kh, role: "img",
        "aria-label": `${title} of filter ${o + 1}, input channel ${i + 1}` });
      canvas.style.width = `${kw * px}px`;
      canvas.style.height = `${kh * px}px`;
      row.push(canvas);
      tiles.push({ canvas, start: (o * inC + i) * kh * kw });
    }
    rows.push(el("div", { class: "filter-row" },
      el("span", { class: "filter-label", text: `${o + 1}` }), ...row,
      inC > shownIn ? el("span", { class: "muted", text: `+${inC - shownIn}` }) : null));
  }
  const heading = el("h4");
  const bar = el("div", { class: "filter-bar" });
  const more = out > MAX_FILTERS
    ? el("p", { class: "muted", text: `+${out - MAX_FILTERS} more filters not shown` }) : null;
  const node = el("div", { class: "filter-grid", [`data-filter-${title}`]: "" }, heading, bar,
    el("div", { class: "filter-rows" }, ...rows), more);
  return { node, heading, bar, tiles, title, kh, kw };
}

// Repaint a grid from a weights tensor (uint8 over [min, max]), on a scale symmetric about 0.
function paintGrid(grid, tensor, label) {
  const [lo, hi] = tensor.scale || [tensor.min, tensor.max];
  const values = decodeUint8(tensor.data, lo ?? 0, hi ?? 0);
  const m = Math.max(Math.abs(lo ?? 0), Math.abs(hi ?? 0)) || 1;
  const range = { min: -m, max: m };
  const size = grid.kh * grid.kw;
  for (const { canvas, start } of grid.tiles) {
    paint(canvas, values.subarray(start, start + size), grid.kh, grid.kw, "diverging", range);
  }
  grid.heading.textContent = `${grid.title} (norm ${fmt.num(tensor.norm, 3)})`;
  grid.bar.replaceChildren(colourBar("diverging", -m, m, label));
}

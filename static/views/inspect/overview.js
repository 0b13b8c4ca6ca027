// The overview, in CNN Explainer's manner: a column per layer from the input to the class
// scores, every feature map a thumbnail, a vector a strip, lines from each map to the maps
// that read it, and a colour bar under every column. Clicking a picture selects it (the
// detail below opens it large); hovering one lights up the lines into it. From the
// keyboard the overview is one stop: the arrow keys move between pictures, Enter opens one.

import { el, fmt } from "../../ui.js";
import { colourBar, extent, paint, rangeFor, scaleOf, short } from "./colours.js";
import { columnsOf, isSpatial, layerName, layerTooltip, mapValues } from "./layers.js";
import { Links } from "./links.js";

const MAX_MAPS = 128;  // thumbnails per column; a bigger layer says how many more it has
const MAX_THUMB = 72;  // px
const MIN_FIT = 24;    // px: thumbnails shrink to fit the width down to this, then it scrolls
const MIN_SCALE = 0.5; // a screen that would shrink them more (a phone's) scrolls instead
const GAP = 4;         // px between thumbnails
const COLUMN_GAP = 20; // px between columns (inspect.css)
const STRIP_WIDTH = 52;   // px: a strip's column, about (inspect.css)
const SCORES_WIDTH = 190; // px: the class scores' column, about
// px: below this a column wraps into more sub-columns; many maps make do with less
const minThumb = (maps) => (maps > 32 ? 24 : 40);

// The height the columns share: a projector's screen less the header and the controls.
function bodyHeight() {
  return window.innerWidth < 700 ? 300 : Math.max(320, Math.min(460, window.innerHeight - 320));
}

// Enter or space on a picture opens it, as a click does.
function clickable(node) {
  node.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    node.click();
  });
  return node;
}

export class Overview {
  constructor({ onSelect }) {
    this.onSelect = onSelect;
    this.columns = [];
    this.key = null;
    this.selected = null;  // {path, index}
    this.refreshes = 0;
    this.links = new Links();
    this.scaleMode = el("select", { id: "overview-scale", "data-scale-mode": "",
      onchange: () => this.repaint() },
      el("option", { value: "layer" }, "one range per layer (compare maps)"),
      el("option", { value: "map" }, "each map its own range (see faint maps)"));
    this.columnsBox = el("div", { class: "overview-columns" });
    this.width = 0; // of the scrolling box the columns are fitted into
    this.stage = el("div", { class: "overview-stage" }, this.links.svg, this.columnsBox);
    this.node = el("section", { class: "panel inspect-overview", "data-overview": "",
      "data-refreshes": "0", "aria-labelledby": "overview-h" },
      el("div", { class: "overview-head" },
        el("h2", { id: "overview-h" }, "The network, layer by layer"),
        el("label", { for: "overview-scale" }, "Colours"), this.scaleMode),
      el("p", { class: "muted overview-intro" },
        "Each column is a layer's output, from the input to the class scores; each square one ",
        "feature map. Lines join a map to the maps it reads. Click a map to open it large with ",
        "its filter."),
      this.scroller = el("div", { class: "overview-scroll", tabindex: "0",
        "aria-label": "The network's layers, scroll sideways" }, this.stage));
    new ResizeObserver(() => this.drawLinks()).observe(this.columnsBox);
    this.columnsBox.addEventListener("keydown", (e) => this.move(e));
    new ResizeObserver(() => this.refit()).observe(this.scroller);
  }

  // A new answer: rebuild the columns when the layers changed, then paint every picture.
  render(snapshot) {
    this.snapshot = snapshot;
    const layers = columnsOf(snapshot.layers);
    const key = `${layers.map((l) => `${l.path}:${l.shape.join("x")}`).join("|")}|${bodyHeight()}`
      + `|${Boolean(snapshot.prediction)}|${this.width}`;
    if (key !== this.key) {
      this.key = key;
      const sides = fitSides(layers, this.width, Boolean(snapshot.prediction));
      this.columns = layers.map((layer, k) => this.makeColumn(layer, k === layers.length - 1,
        sides[k]));
      this.columnsBox.replaceChildren(...this.columns.map((c) => c.node));
      this.mark(this.selected); // the same picture, in the new columns
      this.rove(this.columns[0].targets()[0]);
      requestAnimationFrame(() => this.drawLinks());
    }
    this.repaint();
    this.node.dataset.refreshes = String(++this.refreshes);
  }

  clear() {
    this.key = null;
    this.columns = [];
    this.selected = null;
    this.columnsBox.replaceChildren();
    this.links.svg.replaceChildren();
  }

  // The box's width changed (a window resized, the view shown): fit the columns again.
  refit() {
    const width = this.scroller.clientWidth;
    if (!width || width === this.width) return;
    this.width = width;
    if (this.snapshot && this.key !== null) this.render(this.snapshot);
  }

  drawLinks() {
    if (!this.columns.length || !this.columnsBox.offsetWidth) return;
    this.links.draw(this.stage, this.columns);
    this.lightUp(this.selected);
  }

  lightUp(target) {
    this.links.highlight(target && target.path, target && target.index);
  }

  select(path, index) {
    this.mark({ path, index });
    this.onSelect(this.selected);
  }

  // Outline the picture in focus (null: none) and light up the lines into it.
  mark(target) {
    this.selected = target;
    for (const c of this.columns) {
      c.targets().forEach((t, i) => t.classList.toggle("selected",
        Boolean(target) && c.layer.path === target.path && i === target.index));
    }
    this.lightUp(target);
  }

  // ---- the keyboard: one tab stop, the arrow keys between pictures -----------------------------
  rove(target) {
    for (const c of this.columns) for (const t of c.targets()) t.tabIndex = t === target ? 0 : -1;
  }

  move(e) {
    const steps = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
    const step = steps[e.key];
    const k = this.columns.findIndex((c) => c.targets().includes(e.target));
    if (!step || k < 0) return;
    e.preventDefault();
    const i = this.columns[k].targets().indexOf(e.target);
    const next = this.columns[Math.min(this.columns.length - 1, Math.max(0, k + step[0]))];
    const targets = next.targets();
    const target = targets[Math.min(targets.length - 1, Math.max(0, i + step[1]))];
    this.rove(target);
    target.focus();
    this.lightUp({ path: next.layer.path, index: targets.indexOf(target) });
  }

  // ---- columns ------------------------------------------------------------------------------
  makeColumn(layer, last, plan) {
    const scores = last && !isSpatial(layer) && this.snapshot.prediction;
    const body = scores ? scoresBody(layer) : isSpatial(layer) ? mapsBody(layer, plan)
      : stripBody(layer);
    const bars = el("div", { class: "column-bars" });
    const node = el("div", { class: `overview-column kind-${body.kind}`,
      "data-overview-layer": layer.path, "data-layer-type": layer.type },
      el("div", { class: "column-head" },
        el("h3", { class: "column-title", "data-layer-title": "", title: layerTooltip(layer),
          text: layerName(layer) }),
        el("span", { class: "column-shape", text: fmt.shape(layer.shape) })),
      body.node, body.more || null, bars);
    for (const [i, target] of body.targets().entries()) {
      target.addEventListener("click", () => {
        this.rove(target);
        this.select(layer.path, i);
      });
      target.addEventListener("pointerenter", () => this.lightUp({ path: layer.path, index: i }));
      target.addEventListener("pointerleave", () => this.lightUp(this.selected));
    }
    return { ...body, layer, node, bars };
  }

  // ---- painting -------------------------------------------------------------------------------
  repaint() {
    const snapshot = this.snapshot;
    if (!snapshot) return;
    const perMap = this.scaleMode.value === "map";
    for (const column of this.columns) {
      const layer = snapshot.layer(column.layer.path);
      if (!layer) continue;
      column.layer = layer;
      const values = snapshot.values(layer.path);
      if (column.kind === "maps") paintMaps(column, layer, values, perMap);
      else if (column.kind === "strip") paintStrip(column, layer, values);
      else paintScores(column, layer, values, snapshot.prediction);
    }
  }
}

// ---- a column's pictures ----------------------------------------------------------------------
// How a column of n maps is laid out: in as many sub-columns as keep its thumbnails big
// enough to see, in the height the columns share.
function gridPlan(n) {
  const height = bodyHeight();
  const maxRows = Math.max(1, Math.floor(height / (minThumb(n) + GAP)));
  const cols = Math.ceil(n / maxRows);
  const rows = Math.ceil(n / cols);
  return { cols, rows, side: Math.max(16, Math.min(MAX_THUMB, Math.floor(height / rows) - GAP)) };
}

// Each column's plan, the thumbnails shrunk (not below MIN_FIT) so that the whole network
// fits the width of a projector's screen; a network too wide even then scrolls.
function fitSides(layers, width, scores) {
  const plans = layers.map((l) => (isSpatial(l) ? gridPlan(Math.min(l.shape[0], MAX_MAPS)) : null));
  const wide = (p) => p.cols * p.side + (p.cols - 1) * GAP;
  const fixed = layers.reduce((sum, l, k) => sum + (plans[k] ? 0
    : scores && k === layers.length - 1 ? SCORES_WIDTH : STRIP_WIDTH), 0)
    + COLUMN_GAP * (layers.length - 1);
  const maps = plans.reduce((sum, p) => sum + (p ? wide(p) : 0), 0);
  if (!width || !maps || fixed + maps <= width) return plans;
  const scale = Math.max(0, (width - fixed) / maps);
  if (scale < MIN_SCALE) return plans;
  return plans.map((p) => p && { ...p, side: Math.max(MIN_FIT, Math.floor(p.side * scale)) });
}

// Maps as thumbnails.
function mapsBody(layer, { rows, side }) {
  const [n, h, w] = layer.shape;
  const shown = Math.min(n, MAX_MAPS);
  const name = layerName(layer);
  const canvases = Array.from({ length: shown }, (_, i) => {
    const canvas = clickable(el("canvas", { class: "thumb", width: w, height: h, "data-map": i,
      tabindex: "0", role: "button",
      "aria-label": `${name}, map ${i + 1} of ${n}: open it large` }));
    canvas.style.width = `${Math.round((side * w) / Math.max(h, w))}px`;
    canvas.style.height = `${Math.round((side * h) / Math.max(h, w))}px`;
    return canvas;
  });
  const grid = el("div", { class: "column-maps" }, ...canvases);
  grid.style.gridTemplateRows = `repeat(${rows}, auto)`;
  grid.style.height = `${bodyHeight()}px`;
  const more = n > shown
    ? el("p", { class: "muted column-more", text: `+${n - shown} more` }) : null;
  return { kind: "maps", node: grid, canvases, targets: () => canvases, more };
}

// A vector as a strip of cells, one per value.
function stripBody(layer) {
  const n = layer.shape.reduce((a, b) => a * b, 1);
  const height = bodyHeight();
  const strip = clickable(el("canvas", { class: "strip", width: 1, height: n, "data-map": 0,
    tabindex: "0", role: "button",
    "aria-label": `${layerName(layer)}: a vector of ${fmt.int(n)} values; open it large` }));
  strip.style.height = `${Math.round(Math.min(height, Math.max(60, 3 * n)))}px`;
  const box = el("div", { class: "column-strip" }, strip);
  box.style.height = `${height}px`;
  return { kind: "strip", node: box, canvases: [strip], targets: () => [strip] };
}

// The class scores: a row per class with its name, its score's colour and its probability.
function scoresBody(layer) {
  const rows = Array.from({ length: layer.shape[0] }, (_, i) => {
    const cell = el("canvas", { class: "score-cell", width: 1, height: 1, "aria-hidden": "true" });
    const fill = el("span", { class: "score-fill" });
    const name = el("span", { class: "score-name" });
    const pct = el("span", { class: "score-pct" });
    const row = el("button", { type: "button", class: "score", "data-class": i },
      name, cell, el("span", { class: "score-bar", "aria-hidden": "true" }, fill), pct);
    return { row, cell, fill, name, pct };
  });
  const box = el("div", { class: "column-scores", "data-overview-scores": "" },
    ...rows.map((r) => r.row));
  box.style.height = `${bodyHeight()}px`;
  return { kind: "scores", node: box, rows, canvases: rows.map((r) => r.cell),
    targets: () => rows.map((r) => r.row) };
}

function paintMaps(column, layer, values, perMap) {
  const [, h, w] = layer.shape;
  const channels = layer.path === "input" ? column.canvases.length : 1; // an image: each its colour
  const bars = [];
  for (let c = 0; c < channels; c++) {
    const scale = scaleOf(layer, c);
    const whole = channels > 1 ? extent(mapValues(layer, values, c)) : layer;
    const range = rangeFor(scale, whole.min, whole.max);
    const maps = channels > 1 ? [c] : column.canvases.map((_, i) => i);
    for (const i of maps) {
      const map = mapValues(layer, values, i);
      const own = extent(map);
      const r = perMap ? rangeFor(scale, own.min, own.max) : range;
      paint(column.canvases[i], map, h, w, scale, r);
      column.canvases[i].title = `map ${i + 1}: ${short(own.min)} to ${short(own.max)}`;
    }
    const label = channels > 1 ? ["red", "green", "blue"][c] : perMap ? "each map stretched" : "";
    bars.push(colourBar(scale, range.min, range.max, label, { width: null }));
  }
  column.bars.replaceChildren(...bars);
}

function paintStrip(column, layer, values) {
  const scale = scaleOf(layer);
  const range = rangeFor(scale, layer.min, layer.max);
  paint(column.canvases[0], values, values.length, 1, scale, range);
  column.canvases[0].title = `${fmt.int(values.length)} values, ${short(layer.min)} to `
    + `${short(layer.max)}`;
  column.bars.replaceChildren(colourBar(scale, range.min, range.max, "", { width: null }));
}

function paintScores(column, layer, values, prediction) {
  const scale = scaleOf(layer);
  const range = rangeFor(scale, layer.min, layer.max);
  const p = prediction.probabilities, names = prediction.class_names;
  const longest = Math.max(...names.map((n) => n.length));
  column.node.style.setProperty("--score-name", `${Math.min(14, longest) + 1}ch`);
  column.rows.forEach((r, i) => {
    paint(r.cell, values.subarray(i, i + 1), 1, 1, scale, range);
    r.name.textContent = names[i] ?? String(i);
    r.pct.textContent = fmt.pct(p[i]);
    r.fill.style.width = `${(100 * (p[i] || 0)).toFixed(1)}%`;
    r.row.classList.toggle("predicted", i === prediction.predicted); // not "top": the header's
    r.row.title = `${names[i]}: score ${short(values[i])}, probability ${fmt.pct(p[i])}`;
  });
  column.bars.replaceChildren(colourBar(scale, range.min, range.max, "score", { width: null }));
}

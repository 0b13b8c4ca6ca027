// A map of the overview, opened large: its values on hover, its colour bar, what its layer
// computes, and beside it what it reads (detail-reads.js). Under the pointer, the window
// a value reads is outlined on the maps beside it. A unit picked (a click, Enter) shows its
// receptive field on the input (receptive-field.js).

import { el, fmt } from "../../ui.js";
import { BigMap } from "./big-map.js";
import { extent, rangeFor, scaleOf } from "./colours.js";
import { filterParts, mapsParts, readsMaps, rowParts } from "./detail-reads.js";
import { whatItComputes } from "./layer-words.js";
import { ReceptiveField } from "./receptive-field.js";
import {
  columnsOf, isSpatial, layerLongName, layerName, linkKind, mapCount, mapValues,
} from "./layers.js";

export class MapDetail {
  // onClose(): the student closed it; onUnit(): another unit was picked, fetch its weights;
  // onField(): the unit whose receptive field is wanted changed, fetch it (wantedField()).
  constructor({ onClose, onUnit, onField }) {
    this.onUnit = onUnit;
    this.onField = onField;
    this.target = null;     // {path, index}
    this.unit = null;       // the last weights answer for the unit in focus
    this.picked = null;     // the unit picked in a vector
    this.cell = null;       // the unit picked in a map, {row, col}, for its receptive field
    this.hover = null;      // the cell under the pointer, {row, col}
    this.title = el("h2", { id: "map-detail-h", "data-detail-title": "" });
    this.what = el("p", { class: "detail-what", "data-detail-what": "" });
    this.big = new BigMap({ onHover: (cell) => this.markWindows(cell),
      onPick: (unit) => this.pick(unit) });
    this.reads = el("div", { class: "detail-reads", "data-detail-reads": "" });
    this.field = new ReceptiveField();
    this.node = el("section", { class: "panel map-detail", "data-map-detail": "", hidden: true,
      "aria-labelledby": "map-detail-h" },
      el("div", { class: "detail-head" }, this.title,
        el("button", { type: "button", "data-action": "close-detail", onclick: onClose }, "Close")),
      this.what,
      el("div", { class: "detail-body" }, this.big.node, this.field.node, this.reads));
  }

  get open() {
    return Boolean(this.target);
  }

  show(target, snapshot) {
    if (!this.target || this.target.path !== target.path) {
      this.picked = null;
      this.cell = null; // in another map of the same layer, the same unit: compare them
    }
    this.target = target;
    this.unit = null;
    this.node.hidden = false;
    this.render(snapshot);
    this.askField();
  }

  hide() {
    this.target = null;
    this.node.hidden = true;
  }

  // The unit whose weights the view fetches with each refresh: {path, unit}, or null.
  wantedUnit() {
    const layer = this.snapshot && this.target && this.snapshot.layer(this.target.path);
    if (!layer) return null;
    if (layer.type === "conv2d" || (layer.type === "linear" && this.isScores(layer))) {
      return { path: layer.path, unit: this.target.index };
    }
    if (layer.type !== "linear") return null;
    return { path: layer.path, unit: this.picked ?? argmax(this.snapshot.values(layer.path)) };
  }

  // The unit whose receptive field the view fetches: {layer, channel, row, col}, or null.
  wantedField() {
    const layer = this.snapshot && this.target && this.snapshot.layer(this.target.path);
    if (!layer || layer.path === "input") return null;
    if (isSpatial(layer)) {
      return this.cell && { layer: layer.path, channel: this.target.index, ...this.cell };
    }
    return this.picked === null ? null : { layer: layer.path, channel: this.picked, row: 0, col: 0 };
  }

  pick(cell) {
    const layer = this.snapshot.layer(this.target.path);
    if (isSpatial(layer)) {
      this.cell = { row: cell.row, col: cell.col };
      this.big.markPicked(cell.index);
      this.askField();
      return;
    }
    this.picked = cell.index;
    this.unit = null;
    this.render(this.snapshot);
    this.onUnit();
    this.askField();
  }

  askField() {
    if (!this.target) return;
    const want = this.wantedField();
    if (!want) {
      const layer = this.snapshot.layer(this.target.path);
      this.field.node.hidden = layer.path === "input";
      this.field.prompt();
      return;
    }
    this.field.node.hidden = false;
    this.field.busy();
    this.onField();
  }

  // The view's answer for wantedField(); dropped when another unit was picked meanwhile.
  renderField(answer) {
    const want = this.wantedField();
    if (!want || answer.layer !== want.layer || answer.channel !== want.channel
      || answer.row !== want.row || answer.col !== want.col) return;
    const input = this.snapshot.layer("input");
    this.field.render(answer, { shape: input.shape, values: this.snapshot.values("input") });
  }

  renderUnit(answer) {
    this.unit = answer;
    if (this.target) this.renderReads();
  }

  // The last column of a network that ends in class scores.
  isScores(layer) {
    const columns = columnsOf(this.snapshot.layers);
    return Boolean(this.snapshot.prediction) && !isSpatial(layer)
      && columns[columns.length - 1].path === layer.path;
  }

  // ---- drawing ------------------------------------------------------------------------------
  render(snapshot) {
    this.snapshot = snapshot;
    const layer = this.target && snapshot.layer(this.target.path);
    if (!layer) {
      this.hide();
      return;
    }
    const j = this.target.index;
    const spatial = isSpatial(layer);
    const values = snapshot.values(layer.path);
    const own = spatial ? mapValues(layer, values, j) : values;
    const scale = scaleOf(layer, j);
    const ends = extent(own); // large, a map shows its own contrast (the overview compares)
    const range = rangeFor(scale, ends.min, ends.max);
    const scores = this.isScores(layer);
    const name = layerName(layer);
    this.title.textContent = spatial ? `${name}, map ${j + 1} of ${mapCount(layer)}`
      : scores ? `${name}: the class scores` : `${name}: ${fmt.int(values.length)} values`;
    this.title.title = layerLongName(layer);
    this.what.textContent = whatItComputes(layer, snapshot.before(layer.path), j, snapshot);
    this.big.show(own, { h: layer.shape[1], w: layer.shape[2], vector: !spatial, scale, range,
      names: scores ? snapshot.prediction.class_names : null,
      label: spatial ? "this map's range" : "values",
      describe: `${this.title.textContent}, drawn large`,
      hint: layer.path === "input" ? undefined
        : "Point at the map to read its values; click a unit to see its receptive field." });
    const want = this.wantedUnit();
    const cell = this.cell && this.cell.row * layer.shape[2] + this.cell.col;
    this.big.markPicked(spatial ? cell : want ? want.unit : null);
    this.renderReads();
  }

  renderReads() {
    const snapshot = this.snapshot;
    const layer = snapshot.layer(this.target.path);
    const before = snapshot.before(layer.path);
    const j = this.target.index;
    const want = this.wantedUnit();
    const unit = this.unit && want && this.unit.path === want.path && this.unit.unit === want.unit
      ? this.unit : null;
    let parts = [];
    if (layer.type === "conv2d" && before) {
      parts = filterParts({ snapshot, layer, before, j, unit });
    } else if (layer.type === "linear") {
      const title = this.isScores(layer)
        ? `the score of ${snapshot.prediction.class_names[want.unit]}` : `unit ${want.unit}`;
      parts = rowParts({ snapshot, before, unit, title, maps: this.flattened(before) });
    } else if (readsMaps(layer, before)) {
      parts = mapsParts({ snapshot, layer, before, j });
    }
    this.reads.replaceChildren(...parts.filter(Boolean));
    this.markWindows(this.hover);
  }

  // The maps a flatten just before lined up, or null.
  flattened(before) {
    if (!before || before.type !== "flatten") return null;
    const maps = this.snapshot.before(before.path);
    return maps && isSpatial(maps) ? maps : null;
  }

  // Outline, on the maps read, the window the value under the pointer comes from.
  markWindows(cell) {
    this.hover = cell;
    const layer = this.target && this.snapshot && this.snapshot.layer(this.target.path);
    const before = layer && this.snapshot.before(layer.path);
    // a layer with a window reads that window; an elementwise one the same cell; a block more
    const one = before && isSpatial(before) && linkKind(layer, before) === "one";
    const cellOnly = { kernel: [1, 1], stride: [1, 1], padding: [0, 0] };
    const win = (layer && layer.window) || (one ? cellOnly : null);
    for (const read of this.reads.querySelectorAll("[data-input-map]")) {
      const box = read.querySelector(".window-box");
      box.hidden = !cell || !win || !before || !isSpatial(before);
      if (box.hidden) continue;
      const [, h, w] = before.shape;
      const top = cell.row * win.stride[0] - win.padding[0];
      const left = cell.col * win.stride[1] - win.padding[1];
      Object.assign(box.style, {
        top: `${(100 * top) / h}%`, left: `${(100 * left) / w}%`,
        height: `${(100 * win.kernel[0]) / h}%`, width: `${(100 * win.kernel[1]) / w}%`,
      });
    }
  }
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

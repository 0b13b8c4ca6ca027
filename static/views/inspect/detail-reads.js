// What a map opened large reads, drawn beside it: a conv map's filter (one kernel beside
// each map it reads) and its last gradient; a linear unit's weights laid over the maps
// they weigh; the one map a ReLU or a pooling map reads. Each part is built from the
// snapshot and, for a unit with weights, that unit's weights answer (null until it comes).

import { el, fmt } from "../../ui.js";
import { colourBar, extent, picture, rangeFor, scaleOf, short } from "./colours.js";
import { isSpatial, layerName, linkKind, mapValues, mapsRead } from "./layers.js";

const MAX_READ = 16;      // maps (and kernels) shown beside a conv map
const READ_SIDE = 84;     // px: a map it reads
const KERNEL_SIDE = 84;   // px: at most, a kernel
const TILE_SIDE = 56;     // px: a linear unit's weights on one map

const symmetric = (t) => Math.max(Math.abs(t.min ?? 0), Math.abs(t.max ?? 0)) || 1;

// Map i of the column before, with a box (hidden) for the window a pointed-at value reads.
export function readMap(snapshot, before, i, side = READ_SIDE) {
  const [, h, w] = before.shape;
  const { scale, range, values } = readScale(snapshot, before, i);
  const name = `map ${i + 1} of ${layerName(before)}`;
  const canvas = picture(values, h, w, scale, range, side / Math.max(h, w),
    { role: "img", "aria-label": name });
  return el("div", { class: "read-map", "data-input-map": i, title: name },
    canvas, el("div", { class: "window-box", hidden: true }));
}

// The colours of map i of the column before: its layer's range (an image channel: its own).
function readScale(snapshot, before, i) {
  const scale = scaleOf(before, i);
  const values = mapValues(before, snapshot.values(before.path), i);
  const ends = before.path === "input" ? extent(values) : before;
  return { scale, range: rangeFor(scale, ends.min, ends.max), values };
}

// The colour bars of the maps read: one for a layer, one per channel of a colour image.
function readBars(snapshot, before, reads) {
  const channels = before.path === "input" ? reads : reads.slice(0, 1);
  return el("div", { class: "read-bars" }, ...channels.map((i) => {
    const { scale, range } = readScale(snapshot, before, i);
    const what = before.path === "input" && before.shape[0] === 3
      ? `${["red", "green", "blue"][i]} of the input` : `maps of ${layerName(before)}`;
    return colourBar(scale, range.min, range.max, what, { width: 120 });
  }));
}

// A conv map: "map i ⊛ kernel i" for every map its filter reads, then the filter's gradient.
export function filterParts({ snapshot, layer, before, j, unit }) {
  const reads = mapsRead(layer, before, j);
  const shown = reads.slice(0, MAX_READ);
  const weights = unit && unit.weights;
  const m = weights ? symmetric(weights) : 1;
  const [kh, kw] = layer.window.kernel;
  const name = layerName(before);
  const px = Math.max(6, Math.min(18, Math.floor(KERNEL_SIDE / Math.max(kh, kw))));
  const kernel = (r, i) => (weights
    ? picture(weights.values[r].flat(), kh, kw, "diverging", { min: -m, max: m }, px,
      { "data-kernel": r, class: "kernel", role: "img",
        "aria-label": `kernel ${r + 1} of filter ${j + 1}, on map ${i + 1} of ${name}` })
    : el("span", { class: "muted", text: "…" }));
  const rows = shown.map((i, r) => el("div", { class: "read-row" },
    readMap(snapshot, before, i),
    el("span", { class: "read-op", "aria-hidden": "true", text: "⊛" }),
    kernel(r, i)));
  const bias = unit && unit.bias !== null ? ` + bias ${short(unit.bias)}` : "";
  const more = reads.length - shown.length;
  return [
    el("h3", { text: `Filter ${j + 1}: one ${kh}×${kw} kernel per map it reads${bias}` }),
    el("div", { class: "detail-filter", "data-detail-filter": "" },
      el("div", { class: "read-bars" }, readBars(snapshot, before, shown),
        weights ? colourBar("diverging", -m, m, "weight", { width: 160 }) : null),
      el("div", { class: "read-rows" }, ...rows),
      more > 0 ? el("p", { class: "muted", text: `+${more} more` }) : null),
    gradientPart(unit, kh, kw, Math.max(4, px - 4)),
  ];
}

function gradientPart(unit, kh, kw, px) {
  const box = el("div", { class: "detail-grad", "data-detail-grad": "" },
    el("h3", { text: "Its last gradient, ∂loss/∂w" }));
  if (!unit) return box;
  const g = unit.grad;
  if (!g) {
    box.append(el("p", { class: "muted",
      text: "No gradient yet: it appears once a run has trained." }));
    return box;
  }
  const m = symmetric(g);
  box.append(colourBar("diverging", -m, m, "∂loss/∂w", { width: 160 }),
    el("div", { class: "grad-tiles" }, ...g.values.slice(0, MAX_READ).map((k, r) =>
      picture(k.flat(), kh, kw, "diverging", { min: -m, max: m }, px,
        { role: "img", "aria-label": `gradient of kernel ${r + 1}` }))));
  return box;
}

// A linear unit: its weights, over the maps they weigh when a flatten came before.
export function rowParts({ snapshot, before, unit, title, maps }) {
  const head = el("h3", { text: `The weights of ${title}` });
  if (!unit) return [head, el("p", { class: "muted", text: "…" })];
  const m = symmetric(unit.weights);
  const range = { min: -m, max: m };
  const values = Float32Array.from(unit.weights.values);
  const tiles = maps ? mapTiles(values, maps, range)
    : [squareOf(values, range)];
  const bias = unit.bias !== null ? `, plus its bias ${short(unit.bias)}` : "";
  const over = maps
    ? ` Laid over the ${maps.shape[0]} maps of ${layerName(maps)} that flatten lined up:` : "";
  return [head,
    el("p", { class: "muted", text: `It multiplies each of the ${fmt.int(values.length)} values `
      + `of ${layerName(before)} by its weight and adds them up${bias}.${over}` }),
    el("div", { class: "detail-filter", "data-detail-filter": "" },
      colourBar("diverging", -m, m, "weight", { width: 160 }),
      el("div", { class: "row-tiles" }, ...tiles))];
}

function mapTiles(values, maps, range) {
  const [c, h, w] = maps.shape;
  const shown = Math.min(c, 2 * MAX_READ);
  const px = Math.max(3, Math.floor(TILE_SIDE / Math.max(h, w)));
  const tiles = Array.from({ length: shown }, (_, i) => picture(
    values.subarray(i * h * w, (i + 1) * h * w), h, w, "diverging", range, px,
    { "data-kernel": i, class: "kernel", role: "img",
      title: `weights on map ${i + 1} of ${layerName(maps)}` }));
  if (c > shown) tiles.push(el("span", { class: "muted", text: `+${c - shown} more` }));
  return tiles;
}

function squareOf(values, range) {
  const side = Math.ceil(Math.sqrt(values.length));
  const grid = new Float32Array(side * side);
  grid.set(values);
  return picture(grid, side, side, "diverging", range, Math.max(2, Math.floor(160 / side)),
    { "data-kernel": 0, class: "kernel", role: "img", title: `${values.length} weights` });
}

// A map of a layer without weights of its own: the one map it reads (an elementwise or
// pooling layer), larger, or the maps a block mixes.
export function mapsParts({ snapshot, layer, before, j }) {
  if (linkKind(layer, before) === "one") {
    return [el("h3", { text: `It reads map ${j + 1} of ${layerName(before)}` }),
      readBars(snapshot, before, [j]), readMap(snapshot, before, j, 2 * READ_SIDE)];
  }
  const reads = mapsRead(layer, before, j);
  const shown = reads.slice(0, MAX_READ);
  return [el("h3", { text: `It reads all ${reads.length} maps of ${layerName(before)}` }),
    readBars(snapshot, before, shown),
    el("div", { class: "read-rows" }, ...shown.map((i) => readMap(snapshot, before, i))),
    reads.length > shown.length
      ? el("p", { class: "muted", text: `+${reads.length - shown.length} more` }) : null];
}

// Whether a map of the layer reads maps of the column before it, and none of its own weights.
export const readsMaps = (layer, before) => Boolean(before) && isSpatial(layer)
  && isSpatial(before) && !["conv2d", "linear"].includes(layer.type);

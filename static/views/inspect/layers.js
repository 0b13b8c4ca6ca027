// What Inspect reads from a layer of the server's overview answer: a title for people
// (its name, else its type and position; the path is only for tooltips), the overview's
// columns, which maps of the column before a map reads (the overview's lines), and its
// values, sent as float16.

const ELEMENTWISE = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "dropout", "batchnorm2d",
  "batchnorm1d", "maxpool2d", "avgpool2d", "global_avgpool2d"];

// "layers[3].body[1]" -> "layer 4, body 2": positions counted from 1, as people count.
export function position(path) {
  return path.split(".").map((part) => {
    const m = /^(\w+)\[(\d+)\]$/.exec(part);
    if (!m) return part;
    const word = m[1] === "layers" ? "layer" : m[1].replace(/s$/, "");
    return `${word} ${Number(m[2]) + 1}`;
  }).join(", ");
}

export function layerName(layer) {
  if (layer.path === "input") return "input";
  return layer.name || layer.type;
}

// "layer 4: conv2d", the readable position, with the path for those who write code.
export function layerTooltip(layer) {
  if (layer.path === "input") return "the input, as the network sees it (normalized)";
  return `${position(layer.path)}: ${layer.type} (${layer.path})`;
}

// "conv2 (layer 4: conv2d)" or "layer 5: relu".
export function layerLongName(layer) {
  if (layer.path === "input") return "the input";
  const where = `${position(layer.path)}: ${layer.type}`;
  return layer.name ? `${layer.name} (${where})` : where;
}

export const isSpatial = (layer) => layer.shape.length === 3;
export const mapCount = (layer) => (isSpatial(layer) ? layer.shape[0] : 1);

// The overview's columns: the input and the top-level layers (a block is one column).
export function columnsOf(layers) {
  return layers.filter((l) => l.path === "input" || /^layers\[\d+\]$/.test(l.path));
}

// How a column's maps read the maps of the column before it:
//   "one" (map j reads map j), "groups" (a convolution: every map of its group),
//   "all" (a block mixes every map), "flatten" (map c becomes a stretch of the vector),
//   "dense" (every value of a vector reads every value before it).
export function linkKind(layer, before) {
  if (!isSpatial(layer)) {
    if (isSpatial(before)) return "flatten";
    return ELEMENTWISE.includes(layer.type) ? "one" : "dense";
  }
  if (ELEMENTWISE.includes(layer.type) && mapCount(layer) === mapCount(before)) return "one";
  if (["conv2d", "conv_transpose2d"].includes(layer.type)) return "groups";
  return "all";
}

// The maps of the column before that map `j` of a spatial layer reads.
export function mapsRead(layer, before, j) {
  const kind = linkKind(layer, before);
  const n = mapCount(before);
  if (kind === "one") return [j];
  if (kind === "groups") {
    const groups = layer.groups || 1;
    const per = n / groups;
    const group = Math.floor(j / (mapCount(layer) / groups));
    return Array.from({ length: per }, (_, i) => group * per + i);
  }
  return Array.from({ length: n }, (_, i) => i);
}

// ---- values -------------------------------------------------------------------------------
let HALF = null; // float16 bits -> value, built once

function halfTable() {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    if (e === 0) HALF[h] = sign * f * 2 ** -24;
    else if (e === 31) HALF[h] = f ? NaN : sign * Infinity;
    else HALF[h] = sign * (1 + f / 1024) * 2 ** (e - 15);
  }
  return HALF;
}

// base64 of little-endian float16 -> Float32Array
export function decodeFloat16(b64) {
  const bin = atob(b64);
  const table = halfTable();
  const out = new Float32Array(bin.length >> 1);
  for (let i = 0; i < out.length; i++) {
    out[i] = table[bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8)];
  }
  return out;
}

// The values of map j of a spatial layer (a view, not a copy), or the whole vector.
export function mapValues(layer, values, j) {
  if (!isSpatial(layer)) return values;
  const [, h, w] = layer.shape;
  return values.subarray(j * h * w, (j + 1) * h * w);
}

// One overview answer, its float16 values decoded when first asked for.
export class Snapshot {
  constructor(answer) {
    this.answer = answer;
    this.layers = answer.layers;
    this.prediction = answer.prediction;
    this.weights = answer.weights;
    this.normalization = answer.normalization;
    this.byPath = new Map(answer.layers.map((l) => [l.path, l]));
    this.decoded = new Map();
  }

  layer(path) {
    return this.byPath.get(path);
  }

  values(path) {
    if (!this.decoded.has(path)) this.decoded.set(path, decodeFloat16(this.byPath.get(path).data));
    return this.decoded.get(path);
  }

  // The overview column before `path` (what it reads), or null for the input.
  before(path) {
    const columns = columnsOf(this.layers);
    const k = columns.findIndex((l) => l.path === path);
    return k > 0 ? columns[k - 1] : null;
  }
}

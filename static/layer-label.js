// A layer as people name it, not as the API addresses it: "conv2" when it has a name,
// "layer 4: conv2d" when it has none, and inside a block its block and branch first
// ("inception3a, branch 2: 3x3"). The path ("layers[8].branches[1][2]") stays for tooltips.

// "layers[8].branches[1][2]" -> ["layers", 8, "branches", 1, 2]
export function parsePath(path) {
  return [...String(path).matchAll(/([A-Za-z_]+)|\[(\d+)\]/g)]
    .map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

// ["layers", 3, "body", 0] -> "layers[3].body[0]"
export function pathString(parts) {
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : (i ? "." : "") + p)).join("");
}

// The block a nested layer sits in, and the name of its list there:
// ["layers", 8, "branches", 1, 2] -> {parent: ["layers", 8], lane: "branch 2"}
function container(parts) {
  const n = parts.length;
  if (n >= 5 && typeof parts[n - 2] === "number" && typeof parts[n - 3] === "string") {
    return { parent: parts.slice(0, n - 3), lane: `branch ${parts[n - 2] + 1}` };
  }
  return { parent: parts.slice(0, n - 2), lane: String(parts[n - 2]) };
}

// find(path) -> {name, type} of the layer at that path (from the spec or the summary).
export function layerLabel(path, find) {
  const parts = Array.isArray(path) ? path : parsePath(path);
  const layer = find(pathString(parts)) || {};
  const position = `layer ${parts[parts.length - 1] + 1}`;
  const type = layer.type || "layer";
  if (parts.length <= 2) return layer.name ? String(layer.name) : `${position}: ${type}`;
  const { parent, lane } = container(parts);
  const where = `${layerLabel(parent, find)}, ${lane}`;
  return layer.name ? `${where}: ${layer.name}` : `${where}, ${position}: ${type}`;
}

// A finder over a spec: path -> the layer object there.
export function finderOf(spec) {
  return (path) => parsePath(path).reduce((o, k) => (o == null ? undefined : o[k]), spec);
}

const PATH_IN_TEXT = /\blayers\[\d+\](?:\.(?:[A-Za-z_]+)(?:\[\d+\])+)*(?:\.([A-Za-z_]+)\b)?/g;

// A server message with paths in it, with each path put as people name the layer:
// "layers[3].kernel_size: too large" -> "conv2 (kernel_size): too large".
export function withLabels(text, find) {
  return String(text).replace(PATH_IN_TEXT, (match, field) => {
    const path = field ? match.slice(0, -field.length - 1) : match;
    const label = layerLabel(path, find);
    return field ? `${label} (${field})` : label;
  });
}

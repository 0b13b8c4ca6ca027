// The network as a tree for drawing: each layer with its summary row (output shape,
// parameters, multiply-adds), and each residual or concat block with its lanes (body and
// shortcut, or one lane per branch) that join again. Built from the spec, which says the
// structure (an empty shortcut is the identity, and has no rows in the summary), and the
// summary computed for that very spec.

import { layerLabel, finderOf, pathString } from "../../layer-label.js";

// Layers that keep their input's shape and only change its values: drawn thin.
export const THIN = new Set(["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "dropout",
  "batchnorm2d", "batchnorm1d"]);

// The colour family of a layer type (the legend's names).
export function familyOf(type) {
  if (/conv/.test(type)) return "conv";
  if (/pool/.test(type)) return "pool";
  if (type === "linear") return "linear";
  if (/batchnorm/.test(type)) return "norm";
  if (type === "dropout") return "dropout";
  if (type === "flatten") return "flatten";
  if (type === "residual" || type === "concat") return "block";
  return "activation";
}

// fieldsOf(type) -> the catalogue's fields of that type ({name, kind}).
export function networkTree(spec, summary, fieldsOf) {
  const rows = new Map(summary.layers.map((r) => [r.path, r]));
  const find = finderOf(spec);
  const seq = (layers, listParts) => (Array.isArray(layers) ? layers : [])
    .map((layer, i) => node(layer, [...listParts, i]));
  function node(layer, parts) {
    const path = pathString(parts);
    const row = rows.get(path) || null;
    const type = (layer && layer.type) || (row && row.type) || "?";
    const out = {
      path, type, name: layer && layer.name ? String(layer.name) : null,
      label: layerLabel(path, find), row, family: familyOf(type), thin: THIN.has(type),
      lanes: null, join: null,
    };
    const lists = (fieldsOf(type) || [])
      .filter((f) => f.kind === "layers" || f.kind === "branches");
    if (lists.length) {
      out.join = type === "concat" ? "concat" : "add";
      out.lanes = [];
      for (const f of lists) {
        if (f.kind === "layers") {
          out.lanes.push({ key: f.name, title: f.name,
            items: seq(layer[f.name], [...parts, f.name]) });
        } else {
          (Array.isArray(layer[f.name]) ? layer[f.name] : []).forEach((b, bi) => out.lanes.push({
            key: `${f.name}[${bi}]`, title: `branch ${bi + 1}`,
            items: seq(b, [...parts, f.name, bi]) }));
        }
      }
    }
    return out;
  }
  return { input: summary.input, items: seq(spec.layers, ["layers"]) };
}

// Every node of the tree, depth first, in the order of the summary's rows.
export function* walk(items) {
  for (const n of items) {
    yield n;
    if (n.lanes) for (const lane of n.lanes) yield* walk(lane.items);
  }
}

// The structural edits of a spec (add, retype, remove, move layers; add and remove
// branches), as functions on a copy of it. Lists are addressed by their parts,
// ["layers", 3, "body"], as the engine's paths are.

// Values for required fields when a layer is added or its type changed.
const STARTERS = { out_channels: 8, kernel_size: 3, out_features: 10 };

export function getAt(obj, parts) {
  return parts.reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function kindOf(catalogue, type, name) {
  const f = catalogue[type] && catalogue[type].fields.find((x) => x.name === name);
  return f ? f.kind : null;
}

// A layer of this type, keeping what it can of `from` (the fields both types have).
export function newLayer(catalogue, type, from = {}) {
  const layer = { type };
  for (const f of catalogue[type].fields) {
    const old = from[f.name];
    if (old !== undefined && f.kind === kindOf(catalogue, from.type, f.name)) {
      layer[f.name] = structuredClone(old);
    } else if (f.required) {
      if (f.kind === "layers") layer[f.name] = [];
      else if (f.kind === "branches") layer[f.name] = [[], []];
      else if (f.name === "kernel_size" && type.includes("pool")) layer[f.name] = 2;
      else if (f.name in STARTERS) layer[f.name] = STARTERS[f.name];
      else if (f.kind === "int" || f.kind === "int2") layer[f.name] = Math.max(1, f.min ?? 1);
    }
  }
  return layer;
}

// Appends layer to the list (made if missing); returns its index.
export function appendLayer(spec, listParts, layer) {
  let list = getAt(spec, listParts);
  if (!Array.isArray(list)) {
    list = [];
    const parent = getAt(spec, listParts.slice(0, -1));
    if (parent) parent[listParts[listParts.length - 1]] = list;
  }
  list.push(layer);
  return list.length - 1;
}

// Removes the layer at parts; returns how many layers are left in its list.
export function removeLayer(spec, parts) {
  const list = getAt(spec, parts.slice(0, -1));
  list.splice(parts[parts.length - 1], 1);
  return list.length;
}

export function swapLayers(spec, listParts, i, j) {
  const list = getAt(spec, listParts);
  [list[i], list[j]] = [list[j], list[i]];
}

// Adds an empty branch to the concat block at parts; returns how many it has.
export function addBranch(spec, parts) {
  const layer = getAt(spec, parts);
  if (!Array.isArray(layer.branches)) layer.branches = [];
  layer.branches.push([]);
  return layer.branches.length;
}

export function removeBranch(spec, parts, b) {
  getAt(spec, parts).branches.splice(b, 1);
}

export function setField(spec, parts, field, value) {
  const layer = getAt(spec, parts);
  if (!layer) return;
  if (value === undefined) delete layer[field];
  else layer[field] = value;
}

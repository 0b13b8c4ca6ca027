// An exercise's numbers as its prompt names them: a scalar as "name = value", a vector
// or a matrix as a small table with its row and column indices (the lessons count cells
// from 0, so the indices are printed rather than left to be counted), a list of layers
// as a table with one row per layer.

import { el } from "../../ui.js";
import { mathText } from "./math-text.js";

// The prompt's words for the keys of `given`; an unknown key is shown with spaces for "_".
const NAMES = {
  n_in: "input size N_in", kernel_size: "kernel size K", padding: "padding P", stride: "stride S",
  filters: "filters F", channels: "channels C", in_channels: "input channels C_in", height: "height H",
  width: "width W", in_features: "inputs", out_features: "outputs", size: "input size",
  cell: "cell [row, column]", index: "position", delta: "δ", dy: "dL/dy", grad: "dL/dw",
  lr: "learning rate", strength: "λ", gamma: "γ", beta: "β", eps: "ε", p: "p (drop probability)",
};
// Inline as [a, b], not as a table: a position or a shape, not numbers to compute with.
const INLINE = new Set(["cell", "input", "kernel_size"]);

const isMatrix = (v) => Array.isArray(v) && v.length > 0 && v.every((row) => Array.isArray(row) && row.every((x) => typeof x === "number"));
const isVector = (v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");
const isRecords = (v) => Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === "object" && !Array.isArray(x));

// The name a prompt uses: the matrices x and w are X and W, as in the lecture.
export function givenName(key, value) {
  if (isMatrix(value) && key.length === 1) return key.toUpperCase();
  return NAMES[key] || key.replace(/_/g, " ");
}

// A number as a student writes it: 12, -0.5, 0.003478 (never 12.0 or 0.1 + 0.2's tail).
export function num(v) {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

function show(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  if (typeof value === "object") return JSON.stringify(value);
  return num(value);
}

// A matrix (a list of rows) with its indices; cell(r, c, v) may give each cell's content.
export function matrixTable(matrix, { name, cell, vector = false } = {}) {
  const cols = matrix[0].length;
  const shape = vector ? `${cols}` : `${matrix.length}×${cols}`;
  const corner = vector ? [] : [el("th", { class: "idx", "aria-label": "row" })];
  return el("table", { class: "matrix", "data-matrix": name },
    el("caption", {}, mathText(name), el("span", { class: "muted", text: ` (${shape})` })),
    el("thead", {}, el("tr", {}, ...corner,
      ...Array.from({ length: cols }, (_, c) => el("th", { scope: "col", class: "idx", text: c })))),
    el("tbody", {}, matrix.map((row, r) => el("tr", {},
      vector ? null : el("th", { scope: "row", class: "idx", text: r }),
      row.map((v, c) => {
        const content = cell ? cell(r, c, v) : num(v);
        return el("td", { "data-row": r, "data-col": c }, content);
      })))));
}

function recordsTable(name, records) {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return el("table", { class: "records", "data-records": name },
    el("caption", {}, mathText(name)),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "#" }),
      keys.map((k) => el("th", { scope: "col", text: k.replace(/_/g, " ") })))),
    el("tbody", {}, records.map((r, i) => el("tr", {}, el("th", { scope: "row", class: "idx", text: i }),
      keys.map((k) => el("td", { text: show(r[k]) }))))));
}

// The whole of `given` but the keys in skip: scalars in a list, then the tables.
export function givenView(given, skip = new Set()) {
  const scalars = el("ul", { class: "given-scalars" });
  const tables = el("div", { class: "given-tables" });
  for (const [key, value] of Object.entries(given)) {
    if (skip.has(key)) continue;
    const name = givenName(key, value);
    if (isMatrix(value)) tables.append(matrixTable(value, { name }));
    else if (isVector(value) && !INLINE.has(key)) tables.append(matrixTable([value], { name, vector: true }));
    else if (isRecords(value)) tables.append(recordsTable(name, value));
    else scalars.append(el("li", { "data-given": key }, mathText(name), " = ", el("strong", { text: show(value) })));
  }
  return el("div", { class: "given", "data-given-numbers": "" },
    scalars.children.length ? scalars : null, tables.children.length ? tables : null);
}

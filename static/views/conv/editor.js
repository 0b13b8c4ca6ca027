// Editable matrices of numbers, kept as the strings the student typed (so "-" or "1." mid-typing
// is not lost), and read as numbers only when sent to the server.

import { el } from "../../ui.js";

// A matrix of rows x cols strings, keeping what fits of the old one and filling the rest.
export function resize(matrix, rows, cols, fill) {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols },
    (_, c) => (matrix[r] && matrix[r][c] !== undefined ? matrix[r][c] : fill)));
}

export const toStrings = (m) => m.map((row) => row.map(String));

// A table of number inputs for matrix (strings, changed in place); onChange after every edit.
// Rebuild it only when its size changes, so the focus stays where the student types.
export function matrixEditor(matrix, { name, label, onChange }) {
  const rows = matrix.map((row, r) => el("tr", {}, row.map((v, c) => {
    const input = el("input", { type: "number", step: "any", value: v, inputmode: "decimal",
      "aria-label": `${label} row ${r} column ${c}`, "data-r": r, "data-c": c });
    input.addEventListener("input", () => { matrix[r][c] = input.value; onChange(); });
    return el("td", {}, input);
  })));
  return el("table", { class: "cgrid edit", "data-conv-grid": name }, el("tbody", {}, rows));
}

// The numbers of a matrix of strings; an Error naming the first cell that is not one.
export function parseMatrix(matrix, label) {
  return matrix.map((row, r) => row.map((v, c) => {
    const n = Number(v);
    if (v === "" || v === null || !Number.isFinite(n)) {
      throw new Error(`${label} row ${r}, column ${c}: enter a number`);
    }
    return n;
  }));
}

// Tables of numbers, as the Convolution view draws them: every number is the server's, shown
// as a student would write it, and every cell carries its row and column for the hooks.

import { el } from "../../ui.js";

// A number as a student would write it: 12, -0.5, 0.3333 (never "12.0" or "-0").
export function num(v) {
  if (v === null || v === undefined) return "–";
  if (!Number.isFinite(v)) return String(v);
  if (Object.is(v, -0) || Math.abs(v) < 1e-12) return "0";
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

// A factor of a product: a negative one in brackets, so 2·(-1) never reads as a subtraction.
export function factor(v) {
  const text = num(v);
  return text.startsWith("-") ? `(${text})` : text;
}

// A table of numbers; cellClass(r, c, v) gives extra classes, cellText(r, c, v) the text or a node.
export function numberGrid(matrix, { label, cellClass, cellText, attrs = {} } = {}) {
  const rows = matrix.map((row, r) => el("tr", {}, row.map((v, c) => {
    const td = el("td", { "data-row": r, "data-col": c,
      class: cellClass ? cellClass(r, c, v) : null });
    const content = cellText ? cellText(r, c, v) : num(v);
    if (content instanceof Node) td.append(content); else td.textContent = content;
    return td;
  })));
  return el("table", { class: "cgrid", "aria-label": label, ...attrs }, el("tbody", {}, rows));
}

export function figure(title, ...content) {
  return el("figure", { class: "cfig" }, el("figcaption", { text: title }), ...content);
}

// The td at (row, col) of a grid built by numberGrid.
export function cellAt(table, row, col) {
  const tr = table.tBodies[0].rows[row];
  return tr ? tr.cells[col] : null;
}

// Set a class on exactly the cells for which test(row, col) holds.
export function markCells(table, name, test) {
  for (const td of table.querySelectorAll("td")) {
    td.classList.toggle(name, Boolean(test(Number(td.dataset.row), Number(td.dataset.col))));
  }
}

// Channels are counted from 0, as rows and columns are: ", channel 1" for several, nothing for
// one (the lecture's example has no channels).
export function channelName(c, count) {
  return count > 1 ? `, channel ${c}` : "";
}

// An entry's name with its channel first when there are several: X[1,2], or X[0,1,2].
export function indexed(name, c, count, r, col) {
  return count > 1 ? `${name}[${c},${r},${col}]` : `${name}[${r},${col}]`;
}

// Hover and click on a grid's cells: over(row, col) on entering a cell, leave() on leaving the
// grid, click(row, col); a tap on a touch screen is a click and an "over". Cells that can be
// clicked can also be reached with Tab: focus is an "over", Enter a click.
export function onCells(table, { over, leave, click }) {
  const cell = (e) => {
    const td = e.target.closest("td[data-row]");
    return td ? [Number(td.dataset.row), Number(td.dataset.col)] : null;
  };
  const on = (type, handler) => table.addEventListener(type, (e) => {
    const at = cell(e);
    if (at) handler(...at);
  });
  if (over) on("mouseover", over);
  if (leave) table.addEventListener("mouseleave", leave);
  if (!click) return;
  on("click", click);
  for (const td of table.querySelectorAll("td")) td.tabIndex = 0;
  if (over) on("focusin", over);
  if (leave) table.addEventListener("focusout", leave);
  table.addEventListener("keydown", (e) => {
    const td = e.target.closest("td[data-row]");
    if (td && e.key === "Enter") click(Number(td.dataset.row), Number(td.dataset.col));
  });
}

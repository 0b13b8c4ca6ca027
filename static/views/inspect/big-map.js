// One map (or a vector, laid out as a square of cells) drawn large, with the value under
// the pointer read out beside it and its cell outlined. The arrow keys move the cell too.
// A cell can be picked (a click, or Enter): a vector's to see what that unit reads, any
// unit's to see its receptive field.

import { el } from "../../ui.js";
import { colourBar, paint } from "./colours.js";

const HINT = "Point at the map to read its values.";

function side() {
  return Math.min(300, Math.max(180, window.innerWidth - 90));
}

export class BigMap {
  constructor({ onHover = () => {}, onPick = () => {} } = {}) {
    this.onHover = onHover;
    this.onPick = onPick;
    this.cell = null;
    this.canvas = el("canvas", { class: "big-map", "data-detail-map": "", tabindex: "0",
      role: "img" });
    this.box = el("div", { class: "hover-box", hidden: true });
    this.pickedBox = el("div", { class: "picked-box", hidden: true });
    this.readout = el("p", { class: "hover-value", "data-hover-value": "", "aria-live": "polite",
      text: HINT });
    this.bar = el("div", { class: "big-map-bar" });
    this.node = el("figure", { class: "big-map-fig" },
      el("div", { class: "big-map-wrap" }, this.canvas, this.pickedBox, this.box),
      this.readout, this.bar);
    this.canvas.addEventListener("pointermove", (e) => this.point(e));
    this.canvas.addEventListener("pointerdown", (e) => this.point(e));
    this.canvas.addEventListener("pointerleave", () => this.leave());
    this.canvas.addEventListener("click", () => {
      if (this.cell) this.onPick(this.cell);
    });
    this.canvas.addEventListener("keydown", (e) => this.key(e));
  }

  // values: the map (h*w, row-major) or vector; names: a label per vector cell (class names);
  // hint: what the readout says while nothing is pointed at.
  show(values, { h, w, vector = false, names = null, scale, range, label, describe, hint = HINT }) {
    this.values = values;
    this.hint = hint;
    this.vector = vector;
    this.names = names;
    if (vector) {
      w = Math.ceil(Math.sqrt(values.length));
      h = Math.ceil(values.length / w);
    }
    this.h = h;
    this.w = w;
    const grid = vector ? padded(values, h * w) : values;
    paint(this.canvas, grid, h, w, scale, range);
    if (vector) blankFrom(this.canvas, values.length, w);
    const px = side() / Math.max(h, w);
    this.canvas.style.width = `${Math.round(w * px)}px`;
    this.canvas.style.height = `${Math.round(h * px)}px`;
    this.canvas.setAttribute("aria-label", describe);
    this.bar.replaceChildren(colourBar(scale, range.min, range.max, label, { width: 200 }));
    if (this.cell) this.mark(this.cell.row, this.cell.col); // the same cell, new values
    else if (!vector) this.readout.textContent = hint;
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor(((e.clientX - r.left) / r.width) * this.w);
    const row = Math.floor(((e.clientY - r.top) / r.height) * this.h);
    if (row < 0 || col < 0 || row >= this.h || col >= this.w) return;
    this.mark(row, col);
  }

  key(e) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if ((e.key === "Enter" || e.key === " ") && this.cell) {
      e.preventDefault();
      this.onPick(this.cell);
    }
    if (!moves[e.key]) return;
    e.preventDefault();
    const { row = 0, col = 0 } = this.cell || {};
    const [dr, dc] = this.cell ? moves[e.key] : [0, 0];
    const clamp = (v, n) => Math.min(n - 1, Math.max(0, v));
    this.mark(clamp(row + dr, this.h), clamp(col + dc, this.w));
  }

  mark(row, col) {
    const index = row * this.w + col;
    if (index >= this.values.length) return this.leave();
    this.cell = { row, col, index };
    const v = this.values[index];
    const value = Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
    if (this.vector) {
      const name = this.names ? ` (${this.names[index]})` : "";
      this.readout.textContent = `unit ${index}${name}: ${value}`;
    } else {
      this.readout.textContent = `row ${row}, column ${col}: ${value}`;
    }
    this.place(this.box, row, col);
    this.onHover(this.vector ? null : { row, col });
  }

  // Outline the picked cell, by its index (row-major; null: none).
  markPicked(index) {
    this.pickedBox.hidden = index === null || index === undefined || index >= this.values.length;
    if (this.pickedBox.hidden) return;
    this.place(this.pickedBox, Math.floor(index / this.w), index % this.w);
  }

  place(box, row, col) {
    Object.assign(box.style, {
      left: `${(100 * col) / this.w}%`, top: `${(100 * row) / this.h}%`,
      width: `${100 / this.w}%`, height: `${100 / this.h}%`,
    });
    box.hidden = false;
  }

  leave() {
    this.cell = null;
    this.box.hidden = true;
    this.readout.textContent = this.vector
      ? "Point at a cell to read its value; click it to see its weights." : this.hint;
    this.onHover(null);
  }
}

function padded(values, n) {
  if (values.length === n) return values;
  const out = new Float32Array(n);
  out.set(values);
  return out;
}

// A vector's square has more cells than values: the spare ones are left light grey.
function blankFrom(canvas, n, w) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#e4e4de";
  for (let k = n; k < canvas.width * canvas.height; k++) {
    ctx.fillRect(k % w, Math.floor(k / w), 1, 1);
  }
}

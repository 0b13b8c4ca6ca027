// The forward pass as an animation: a frame slides over each channel of X, the window's
// products appear beside W, their sums (per channel, then + b) fill the output I, and f turns
// I into O. Hovering an output cell shows its window and products; hovering an input cell
// marks every output it feeds. Every number is the server's.

import { el } from "../../ui.js";
import { cellAt, channelName, factor, figure, indexed, markCells, num, numberGrid, onCells }
  from "./grids.js";
import { ForwardNotes } from "./notes.js";
import { Player } from "./player.js";

// Whether cell (i, j) of the padded input is a tap of window {top, left, rows, cols, dilation}.
export function isTap(win, i, j) {
  const d = win.dilation || 1;
  const di = i - win.top, dj = j - win.left;
  return di >= 0 && dj >= 0 && di % d === 0 && dj % d === 0
    && di / d < win.rows && dj / d < win.cols;
}

const op = (text) => el("span", { class: "op", "aria-hidden": "true", text });

// "label value" as one piece of a sum, its value marked for the tests and the eye.
function chip(label, value, attrs) {
  return el("span", { class: "chip", ...attrs }, el("span", { class: "chip-label", text: label }),
    " ", el("span", { "data-value": "", text: num(value) }));
}

const HINT = "Hover over (or tap) a cell of I to see its window and products; over a cell of X "
  + "to see every output it feeds.";

export class ForwardFigure {
  constructor() {
    this.result = null;
    this.shown = 0; // the output cell on show: the player's, or the one hovered
    this.player = new Player({ name: "conv", part: "forward", what: "output cell",
      onStep: (i) => this.show(i) });
    this.notes = new ForwardNotes();
    this.stage = el("div", { class: "conv-stage conv-forward", "data-conv-stage": "" });
    this.sumExpr = el("span", { class: "sum-expr" });
    this.sumEl = el("span", { class: "sum", "data-conv-sum": "" });
    this.oLine = el("p", { class: "conv-o-line", "data-conv-o-line": "" });
    this.feeds = el("p", { class: "conv-feeds", "data-conv-feeds": "", "aria-live": "polite" });
    this.element = el("section",
      { class: "panel", "data-conv-forward": "", "aria-labelledby": "conv-h-fwd" },
      el("h2", { id: "conv-h-fwd", text: "Forward: the filter slides over X" }),
      el("p", { class: "muted conv-formula-text" },
        "I[i,j] = Σ_c Σ_a,b W[c,a,b] · X[c, i·S + a·d, j·S + b·d] + b, then O = f(I). W is laid ",
        "on as it is, not flipped: the lecture's * is cross-correlation, which deep-learning ",
        "libraries call convolution."),
      this.notes.indexNote,
      this.player.element,
      el("div", { class: "conv-scroll" }, this.stage),
      el("p", { class: "conv-sum-line" }, this.sumExpr, " = ", this.sumEl),
      this.oLine,
      this.feeds,
      this.notes.toggleLine,
      this.notes.trueHolder);
    // the frames sit over table cells: place them again whenever the layout moves
    new ResizeObserver(() => this.placeFrames()).observe(this.stage);
  }

  render(r) {
    this.result = r;
    this.notes.render(r);
    this.player.setCount(r.cells.length);
    const C = r.channels, P = r.padding, [H, W] = r.input_shape, [ho, wo] = r.output_shape;
    const isPad = (i, j) => i < P || j < P || i >= P + H || j >= P + W;
    this.xTables = r.padded_x.map((plane, c) => numberGrid(plane, {
      label: `X${channelName(c, C)}${P ? `, padded by ${P}` : ""}: the window is framed`,
      cellClass: (i, j) => (isPad(i, j) ? "pad" : null), attrs: { "data-conv-x": c } }));
    this.frames = this.xTables.map(() => el("div",
      { class: "conv-window", "data-conv-window": "", "aria-hidden": "true" }));
    const productCell = () => el("span", { class: "prod" },
      el("span", { class: "term" }), el("span", { class: "pv" }));
    this.products = r.kernel.map((k, c) => numberGrid(k, { cellText: productCell,
      label: `the window times W${channelName(c, C)}, cell by cell`,
      attrs: { "data-conv-products": c } }));
    this.channelSums = r.kernel.map(() => el("span", { class: "chsum" }));
    const framed = `window framed${r.dilation > 1 ? `, its taps ${r.dilation} apart` : ""}`;
    const rows = this.xTables.map((table, c) => el("div", { class: "conv-channel" },
      figure(`X${channelName(c, C)}${P ? ` padded by P = ${P}` : ""} (${framed})`,
        el("div", { class: "xwrap" }, table, this.frames[c])),
      op("·"),
      figure(`W${channelName(c, C)}`, numberGrid(r.kernel[c],
        { label: `the kernel W${channelName(c, C)}`, attrs: { "data-conv-w": c } })),
      op("→"),
      figure("window · W, cell by cell", this.products[c]),
      C > 1 ? this.channelSums[c] : null));
    this.outTable = numberGrid(r.output,
      { label: "the output I, filled cell by cell", attrs: { "data-conv-output": "" } });
    this.actTable = numberGrid(r.activation.output,
      { label: "O = f(I)", attrs: { "data-conv-activated": "" } });
    const activated = r.activation.name !== "none";
    this.stage.dataset.channels = String(C); // several channels are drawn smaller, to fit a screen
    this.stage.replaceChildren(el("div", { class: "conv-channels" }, rows),
      el("div", { class: "conv-outputs" },
        figure(`I${r.bias !== null ? " (with + b)" : ""}, ${ho}×${wo}`, this.outTable),
        activated ? figure(`O = f(I), f = ${r.activation.name}`, this.actTable) : null));
    this.oLine.hidden = !activated;
    this.listen();
    this.feeds.textContent = HINT;
    this.show(this.player.index);
  }

  listen() {
    const index = (row, col) => row * this.result.output_shape[1] + col;
    for (const table of [this.outTable, this.actTable]) {
      onCells(table, { over: (row, col) => this.show(index(row, col)),
        leave: () => this.show(this.player.index),
        click: (row, col) => this.player.go(index(row, col)) });
    }
    this.xTables.forEach((table, c) => onCells(table,
      { over: (i, j) => this.showFeeds(c, i, j), leave: () => this.showFeeds(null) }));
  }

  // Output cell i: its window framed on X, its products, its sum; the outputs up to the
  // player's cell filled in.
  show(i) {
    const r = this.result;
    if (!r) return;
    this.shown = i;
    const cell = r.cells[i];
    const win = cell.window, d = win.dilation || 1;
    for (const table of this.xTables) markCells(table, "win", (a, b) => isTap(win, a, b));
    this.placeFrames();
    this.products.forEach((table, c) => {
      for (const td of table.querySelectorAll("td")) {
        const a = Number(td.dataset.row), b = Number(td.dataset.col);
        const x = r.padded_x[c][win.top + a * d][win.left + b * d];
        td.querySelector(".term").textContent = `${factor(x)}·${factor(r.kernel[c][a][b])}`;
        td.querySelector(".pv").textContent = num(cell.products[c][a][b]);
      }
      this.channelSums[c].textContent = `Σ = ${num(cell.channel_sums[c])}`;
    });
    this.drawSum(cell);
    this.fillOutputs(i);
    const place = `${this.player.index + 1} of ${r.cells.length}`;
    this.player.label.textContent = i === this.player.index
      ? `cell (${cell.row}, ${cell.col}): ${place}` : `showing cell (${cell.row}, ${cell.col})`;
  }

  // I and O known up to the player's cell (and the cell shown); the cell shown framed.
  fillOutputs(shown) {
    const r = this.result, wo = r.output_shape[1], upTo = this.player.index;
    const grids = [[this.outTable, r.output], [this.actTable, r.activation.output]];
    for (const [table, values] of grids) {
      for (const td of table.querySelectorAll("td")) {
        const row = Number(td.dataset.row), col = Number(td.dataset.col), k = row * wo + col;
        const known = k <= upTo || k === shown;
        td.classList.toggle("cur", k === shown);
        td.classList.toggle("done", k !== shown && k <= upTo);
        td.classList.toggle("todo", !known);
        td.textContent = known ? num(values[row][col]) : "";
      }
    }
  }

  drawSum(cell) {
    const r = this.result;
    const parts = r.channels === 1
      ? [cell.products[0].flat().map(num).join(" + ").replace(/\+ -/g, "− ")]
      : cell.channel_sums.map((v, c) => chip(`Σ channel ${c}`, v, { "data-conv-channel-sum": c }));
    if (cell.bias !== null) parts.push(chip("b", cell.bias, { "data-conv-bias-term": "" }));
    const joined = parts.flatMap((part, k) => (k ? [" + ", part] : [part]));
    this.sumExpr.replaceChildren(`I[${cell.row},${cell.col}] = `, ...joined);
    this.sumEl.textContent = num(cell.sum);
    const at = `[${cell.row},${cell.col}]`;
    this.oLine.textContent = `O${at} = f(I${at}) = f(${num(cell.sum)}) = ${num(cell.activated)}, `
      + `where ${r.activation.f}`;
  }

  // Frame the shown cell's window on every channel, sliding there (CSS transition) from the last.
  placeFrames() {
    const r = this.result;
    if (!r || !this.frames) return;
    const win = r.cells[this.shown].window, d = win.dilation || 1;
    this.xTables.forEach((table, c) => {
      const frame = this.frames[c];
      const first = cellAt(table, win.top, win.left).getBoundingClientRect();
      const last = cellAt(table, win.top + d * (win.rows - 1), win.left + d * (win.cols - 1))
        .getBoundingClientRect();
      const origin = table.getBoundingClientRect();
      frame.style.transitionDuration = `${this.player.moveMs}ms`;
      const [x, y] = [first.left - origin.left, first.top - origin.top];
      frame.style.transform = `translate(${x}px, ${y}px)`;
      frame.style.width = `${last.right - first.left}px`;
      frame.style.height = `${last.bottom - first.top}px`;
      frame.classList.toggle("dilated", d > 1);
    });
  }

  // Every output that reads cell (i, j) of channel c of the padded input; null clears.
  showFeeds(c, i, j) {
    const r = this.result;
    const fed = c === null ? [] : r.cells.filter((cell) => isTap(cell.window, i, j));
    const isFed = (row, col) => fed.some((cell) => cell.row === row && cell.col === col);
    for (const table of [this.outTable, this.actTable]) markCells(table, "fed", isFed);
    this.xTables.forEach((table, k) =>
      markCells(table, "probe", (a, b) => k === c && a === i && b === j));
    if (c === null) { this.feeds.textContent = HINT; return; }
    const P = r.padding, [H, W] = r.input_shape;
    const inside = i >= P && j >= P && i < P + H && j < P + W;
    const name = inside ? indexed("X", c, r.channels, i - P, j - P)
      : `The padding at row ${i}, column ${j} (a zero)`;
    const n = fed.length, outputs = fed.map((cell) => `I[${cell.row},${cell.col}]`).join(", ");
    this.feeds.textContent = n ? `${name} feeds ${n} output${n > 1 ? "s" : ""}: ${outputs}`
      : `${name} feeds no output: no window reads it.`;
  }
}

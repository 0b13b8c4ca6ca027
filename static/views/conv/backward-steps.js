// The backward pass stepped as the forward is: each cell of dL/dW, then dL/db, then each cell
// of dL/dX, with the terms that make it (the server's, from the lecture's sums):
//   dL/dW[a,b] = Σ_i,j δ[i,j] · X[i·S + a·d, j·S + b·d]     (the inputs that W[a,b] met)
//   dL/dX[i,j] = Σ δ[i',j'] · W[a,b] over the windows that read X[i,j]
// Hovering a cell of dL/dW or dL/dX shows its terms too.

import { el } from "../../ui.js";
import { channelName, factor, figure, indexed, markCells, num, numberGrid, onCells }
  from "./grids.js";
import { Player } from "./player.js";

const op = (text) => el("span", { class: "op", "aria-hidden": "true", text });
const none = () => false;

// The steps, in order: {kind: "dW" | "db" | "dX", cell}; key names a step by its cell.
function stepsOf(b, hasBias) {
  return [...b.dW_cells.map((cell) => ({ kind: "dW", cell })), ...(hasBias ? [{ kind: "db" }] : []),
    ...b.dX_cells.map((cell) => ({ kind: "dX", cell }))];
}
const key = (kind, channel, row, col) =>
  (kind === "db" ? "db" : `${kind},${channel},${row},${col}`);

export class BackwardSteps {
  constructor() {
    this.result = null;
    this.steps = [];
    this.stepOf = new Map(); // key -> index in steps
    this.channel = null; // the channel whose grids are built
    this.player = new Player({ name: "conv-back", part: "backward", what: "gradient cell",
      onStep: (i) => this.show(i) });
    this.player.label.setAttribute("data-conv-back-progress", "");
    this.stage = el("div", { class: "conv-stage conv-back-stage", "data-conv-back-stage": "" });
    this.terms = el("p", { class: "conv-terms", "data-conv-terms": "", "aria-live": "polite" });
    this.note = el("p", { class: "muted", hidden: true });
    this.element = el("div", { class: "conv-back-steps" },
      el("h3", { text: "2. Every cell of dL/dW and dL/dX, term by term" }),
      el("p", { class: "muted conv-formula-text" },
        "dL/dW[a,b] = Σ_i,j δ[i,j] · X[i+a, j+b]: W[a,b] met those inputs. dL/dX[i,j] = ",
        "Σ_a,b δ[i−a, j−b] · W[a,b]: every window that read X[i,j] sends δ back through the tap ",
        "that read it."),
      this.note, this.player.element, el("div", { class: "conv-scroll" }, this.stage), this.terms);
  }

  render(r) {
    this.result = r;
    const b = r.backward, listed = b.dW_cells !== null;
    this.note.hidden = listed;
    this.note.textContent = b.terms_note || "";
    this.player.element.hidden = !listed;
    this.steps = listed ? stepsOf(b, r.bias !== null) : [];
    this.stepOf = new Map(this.steps.map((s, k) =>
      [s.kind === "db" ? "db" : key(s.kind, s.cell.channel, s.cell.row, s.cell.col), k]));
    this.player.setCount(this.steps.length);
    this.channel = null;
    if (!listed) {
      this.stage.replaceChildren();
      this.terms.replaceChildren();
      return;
    }
    this.show(this.player.index);
  }

  // The grids of one channel: X (padded) · δ → dL/dW, and δ · W → dL/dX.
  build(c) {
    const r = this.result, b = r.backward, ch = channelName(c, r.channels), P = r.padding;
    this.channel = c;
    const grid = (m, label, hook) => numberGrid(m, { label, attrs: { [hook]: "" } });
    this.x = grid(r.padded_x[c], `X${ch}${P ? " padded" : ""}`, "data-conv-back-x");
    this.deltaW = grid(b.delta, "δ", "data-conv-back-delta");
    this.dW = grid(b.dW[c], `dL/dW${ch}`, "data-conv-dw");
    this.deltaX = grid(b.delta, "δ", "data-conv-back-delta");
    this.w = grid(r.kernel[c], `W${ch}`, "data-conv-back-w");
    this.dX = grid(b.dX[c], `dL/dX${ch}`, "data-conv-dx");
    this.db = r.bias !== null ? grid([[b.db]], "dL/db", "data-conv-db") : null;
    this.dWGroup = el("div", { class: "conv-group" },
      figure(`X${ch}${P ? ` padded by ${P}` : ""}`, this.x), op("·"), figure("δ", this.deltaW),
      op("→"), figure(`dL/dW${ch}`, this.dW), this.db ? figure("dL/db = Σ δ", this.db) : null);
    this.dXGroup = el("div", { class: "conv-group" },
      figure("δ", this.deltaX), op("·"), figure(`W${ch}`, this.w), op("→"),
      figure(`dL/dX${ch}`, this.dX));
    this.stage.replaceChildren(this.dWGroup, this.dXGroup);
    for (const [table, kind] of [[this.dW, "dW"], [this.dX, "dX"]]) {
      const index = (row, col) => this.stepOf.get(key(kind, c, row, col));
      onCells(table, { over: (row, col) => this.show(index(row, col)),
        leave: () => this.show(this.player.index),
        click: (row, col) => this.player.go(index(row, col)) });
    }
  }

  // Step i: its cell marked, the cells its terms read marked, its terms written out; the cells
  // of dL/dW and dL/dX up to the player's step filled in.
  show(i) {
    const step = this.steps[i];
    if (!step) return;
    const channel = step.kind === "db" ? (this.channel ?? 0) : step.cell.channel;
    if (channel !== this.channel) this.build(channel);
    const terms = step.kind === "db" ? [] : step.cell.terms;
    const reads = (what) => (r, c) => terms.some((t) => t[what][0] === r && t[what][1] === c);
    markCells(this.x, "term", step.kind === "dW" ? reads("at") : none);
    markCells(this.deltaW, "term", step.kind === "dW" ? reads("out") : () => step.kind === "db");
    markCells(this.deltaX, "term", step.kind === "dX" ? reads("out") : none);
    markCells(this.w, "term", step.kind === "dX" ? reads("tap") : none);
    this.dWGroup.classList.toggle("idle", step.kind === "dX");
    this.dXGroup.classList.toggle("idle", step.kind !== "dX");
    this.fill(i);
    this.writeTerms(step);
    const name = this.stepName(step);
    this.player.label.textContent = i === this.player.index
      ? `${name}: step ${i + 1} of ${this.steps.length}` : `showing ${name}`;
  }

  // dL/dW, dL/db and dL/dX of this channel known up to the player's step; the step shown framed.
  fill(shown) {
    const upTo = this.player.index, b = this.result.backward;
    const paint = (table, kind, values) => {
      if (!table) return;
      for (const td of table.querySelectorAll("td")) {
        const row = Number(td.dataset.row), col = Number(td.dataset.col);
        const k = this.stepOf.get(key(kind, this.channel, row, col));
        const known = k <= upTo || k === shown;
        td.classList.toggle("cur", k === shown);
        td.classList.toggle("todo", !known);
        td.textContent = known ? num(values[row][col]) : "";
      }
    };
    paint(this.dW, "dW", b.dW[this.channel]);
    paint(this.db, "db", [[b.db]]);
    paint(this.dX, "dX", b.dX[this.channel]);
  }

  stepName(step) {
    if (step.kind === "db") return "dL/db";
    const { channel, row, col } = step.cell;
    const of = step.kind === "dW" ? "W" : "X";
    return indexed(`dL/d${of}`, channel, this.result.channels, row, col);
  }

  // "dL/dW[0,0] = δ[0,0]·X[0,0] + ... = 1·0 + ... = 11"
  writeTerms(step) {
    const r = this.result, C = r.channels, b = r.backward;
    const sum = el("strong", { class: "sum", "data-conv-terms-sum": "" });
    let names, values;
    if (step.kind === "db") {
      names = b.delta.flatMap((row, i) => row.map((_, j) => `δ[${i},${j}]`));
      values = b.delta.flat().map(factor);
      sum.textContent = num(b.db);
    } else {
      const { channel: c, terms } = step.cell;
      const input = r.padding ? "Xpad" : "X";
      const other = step.kind === "dW" ? (t) => indexed(input, c, C, t.at[0], t.at[1])
        : (t) => indexed("W", c, C, t.tap[0], t.tap[1]);
      names = terms.map((t) => `δ[${t.out[0]},${t.out[1]}]·${other(t)}`);
      values = terms.map((t) => `${factor(t.delta)}·${factor(step.kind === "dW" ? t.x : t.w)}`);
      sum.textContent = num(step.cell.sum);
    }
    const head = `${this.stepName(step)} = `;
    if (!names.length) { // a stride or dilation skipped this input
      const input = indexed("X", step.cell.channel, C, step.cell.row, step.cell.col);
      this.terms.replaceChildren(head, sum,
        `: no window reads ${input}, so no gradient comes back to it`);
      return;
    }
    const joined = names.flatMap((n, k) =>
      [k ? " + " : "", el("span", { class: "term-name", "data-term": "", text: n })]);
    this.terms.replaceChildren(head, ...joined, el("br"), "= ", values.join(" + "), " = ", sum);
  }
}

// An exercise's answer control, by its answer format: a text field for integer and
// number, the named matrix as a grid of cells to click for cell, radio buttons for
// choice. Each has `element`, value() -> {answer} or {problem} (nothing to send yet),
// focus(), lock(locked) and mark(expected), which points at the right answer.
// gradedHow(format) says how to answer and how it is graded, above the control.

import { el } from "../../ui.js";
import { givenName, matrixTable, num } from "./given.js";

const NUMBER = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?`;

// What a student types, as the number the server expects: "1,520", "−6", "2/575" and
// "1e-3" are numbers. Anything else is sent as typed, so that the server's 422 says
// what it expects rather than the page guessing.
export function readNumber(text) {
  const s = text.trim().replace(/[−–]/g, "-").replace(/\s+/g, "");
  if (/^[+-]?\d{1,3}(,\d{3})+$/.test(s)) return Number(s.replace(/,/g, ""));
  if (new RegExp(`^${NUMBER}$`, "i").test(s)) return Number(s);
  const fraction = new RegExp(`^(${NUMBER})/(${NUMBER})$`, "i").exec(s);
  if (fraction && Number(fraction[2]) !== 0) return Number(fraction[1]) / Number(fraction[2]);
  return text.trim();
}

// How the answer is graded, in the words of the exercise's tolerance.
export function gradedHow(format) {
  const tolerance = format.tolerance.text;
  if (format.type === "integer") return `A whole number, graded ${tolerance}.`;
  if (format.type === "number") return `A number (a fraction such as 3/4 is read too); correct when ${tolerance}.`;
  if (format.type === "cell") return `Click the cell of ${format.of}: rows and columns are counted from 0.`;
  return "Pick one.";
}

class NumberAnswer {
  constructor(format, id) {
    this.input = el("input", { id, type: "text", autocomplete: "off", spellcheck: "false", enterkeyhint: "done",
      class: "answer-field", "data-answer-input": "", "aria-describedby": `${id}-how` });
    this.element = el("div", { class: "answer-number" }, el("label", { for: id, text: "Your answer" }), this.input);
  }

  value() {
    if (!this.input.value.trim()) return { problem: "Type your answer first." };
    return { answer: readNumber(this.input.value) };
  }

  focus() { this.input.focus(); }
  lock(locked) { this.input.readOnly = locked; }
  mark() { /* the feedback says the number */ }
}

// A grid of buttons over the matrix; one tab stop, arrow keys move, Enter or Space picks.
class CellAnswer {
  constructor(format, given, id) {
    this.format = format;
    this.picked = null;
    const [rows, cols] = format.shape;
    const key = Object.keys(given).find((k) => givenName(k, given[k]) === format.of);
    const values = key ? given[key] : Array.from({ length: rows }, () => Array(cols).fill(""));
    this.buttons = [];
    const table = matrixTable(values, {
      name: format.of,
      cell: (r, c, v) => {
        const button = el("button", { type: "button", class: "cell-pick", "data-cell": `${r},${c}`, "aria-pressed": "false",
          tabindex: r === 0 && c === 0 ? 0 : -1, "aria-label": `${format.of}[${r}, ${c}]${v === "" ? "" : ` = ${num(v)}`}`,
          text: v === "" ? "·" : num(v), onclick: () => this.pick(r, c) });
        this.buttons.push(button);
        return button;
      },
    });
    table.addEventListener("keydown", (e) => this.move(e));
    this.chosen = el("p", { class: "answer-chosen", "data-answer-chosen": "", "aria-live": "polite", text: "No cell picked yet." });
    this.element = el("div", { class: "answer-cell", role: "group", "aria-label": `Your answer: a cell of ${format.of}` }, table, this.chosen);
    this.cols = cols;
  }

  button(r, c) { return this.buttons[r * this.cols + c]; }

  pick(r, c) {
    if (this.locked) return;
    this.picked = [r, c];
    for (const b of this.buttons) b.setAttribute("aria-pressed", String(b.dataset.cell === `${r},${c}`));
    this.chosen.textContent = `Your answer: ${this.format.of}[${r}, ${c}], row ${r}, column ${c}.`;
  }

  move(e) {
    const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const at = e.target.dataset && e.target.dataset.cell;
    if (!steps[e.key] || !at) return;
    e.preventDefault();
    const [r, c] = at.split(",").map(Number);
    const [rows, cols] = this.format.shape;
    const next = this.button(Math.min(rows - 1, Math.max(0, r + steps[e.key][0])), Math.min(cols - 1, Math.max(0, c + steps[e.key][1])));
    for (const b of this.buttons) b.tabIndex = b === next ? 0 : -1;
    next.focus();
  }

  value() {
    return this.picked ? { answer: this.picked } : { problem: `Click a cell of ${this.format.of} first.` };
  }

  focus() { (this.buttons.find((b) => b.tabIndex === 0) || this.buttons[0]).focus(); }
  lock(locked) { this.locked = locked; }
  mark(expected) {
    const [r, c] = expected;
    const right = this.button(r, c);
    if (right) right.classList.add("expected");
  }
}

class ChoiceAnswer {
  constructor(format, id) {
    this.radios = format.options.map((o, i) => el("input", { type: "radio", name: id, id: `${id}-${i}`, value: o.id, "data-choice": o.id }));
    this.labels = format.options.map((o, i) => el("label", { for: `${id}-${i}`, class: "choice" }, this.radios[i], " ", o.label));
    this.element = el("fieldset", { class: "answer-choice" }, el("legend", { text: "Your answer" }), ...this.labels);
  }

  value() {
    const checked = this.radios.find((r) => r.checked);
    return checked ? { answer: checked.value } : { problem: "Pick one of the options first." };
  }

  focus() { (this.radios.find((r) => r.checked) || this.radios[0]).focus(); }
  lock(locked) { for (const r of this.radios) r.disabled = locked && !r.checked; }
  mark(expected) {
    const i = this.radios.findIndex((r) => r.value === expected);
    if (i >= 0) this.labels[i].classList.add("expected");
  }
}

export function answerControl(format, given, id) {
  if (format.type === "integer" || format.type === "number") return new NumberAnswer(format, id);
  if (format.type === "cell") return new CellAnswer(format, given, id);
  if (format.type === "choice") return new ChoiceAnswer(format, id);
  throw new Error(`an answer format this page does not know: ${format.type}`);
}

// The right answer as the student would say it.
export function expectedText(format, expected) {
  if (format.type === "cell") return `${format.of}[${expected[0]}, ${expected[1]}] (row ${expected[0]}, column ${expected[1]})`;
  if (format.type === "choice") {
    const option = (format.options || []).find((o) => o.id === expected);
    return option ? option.label : String(expected);
  }
  if (format.type === "integer" && Number.isInteger(expected)) return expected.toLocaleString("en-US");
  return num(expected);
}

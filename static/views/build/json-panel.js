// The spec as JSON, to read, edit or paste and apply: compact but readable, small
// objects and arrays of numbers on one line, and a parse error said with its line.

import { el, showError } from "../../ui.js";
import { uid } from "./ids.js";

const flatValue = (v) => v === null || typeof v !== "object";
const flatList = (v) => Array.isArray(v) && v.every(flatValue);
const flat = (v) => flatValue(v) || flatList(v)
  || (!Array.isArray(v) && Object.values(v).every((x) => flatValue(x) || flatList(x)));

export function pretty(value, indent = "") {
  if (flat(value)) {
    return JSON.stringify(value)
      .replace(/,(?=["[{\d-]|true|false|null)/g, ", ").replace(/":/g, "\": ");
  }
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return "[\n" + value.map((v) => inner + pretty(v, inner)).join(",\n") + "\n" + indent + "]";
  }
  const lines = Object.keys(value)
    .map((k) => `${inner}${JSON.stringify(k)}: ${pretty(value[k], inner)}`);
  return "{\n" + lines.join(",\n") + "\n" + indent + "}";
}

// JSON.parse's complaint, with the line and column when it gives only a position.
function parseError(text, error) {
  const m = /position (\d+)/.exec(error.message);
  let where = "";
  if (m && !/line/.test(error.message)) {
    const before = text.slice(0, Number(m[1]));
    const line = before.split("\n").length;
    where = ` (line ${line}, column ${Number(m[1]) - before.lastIndexOf("\n")})`;
  }
  return `This is not valid JSON${where}: ${error.message}`;
}

export class JsonPanel {
  constructor({ onApply }) {
    this.onApply = onApply;
    const id = uid("json");
    this.area = el("textarea", { id, "data-spec-json": true, rows: 14, spellcheck: "false",
      autocomplete: "off", class: "mono" });
    this.error = el("p", { class: "error", "data-json-error": true, hidden: true });
    this.element = el("section", { class: "panel build-json", "aria-label": "The spec as JSON" },
      el("h2", {}, el("label", { for: id }, "The spec as JSON")),
      el("p", { class: "muted" }, "Edit it or paste one in, then apply."),
      this.area,
      el("div", { class: "row" },
        el("button", { type: "button", class: "primary", "data-action": "apply-json",
          onclick: () => this.apply() }, "Apply JSON")),
      this.error);
  }

  // The spec into the box, unless the student is typing there (force: replace anyway).
  show(spec, force) {
    if (document.activeElement === this.area && !force) return;
    this.area.value = spec ? pretty(spec) : "";
  }

  clearError() {
    showError(this.error, null);
  }

  apply() {
    this.clearError();
    let spec;
    try {
      spec = JSON.parse(this.area.value);
    } catch (e) {
      showError(this.error, { message: parseError(this.area.value, e) });
      return;
    }
    if (!spec || typeof spec !== "object" || Array.isArray(spec)) {
      showError(this.error,
        { message: 'A spec is a JSON object: {"input": [C, H, W], "layers": [...]}' });
      return;
    }
    if (!Array.isArray(spec.layers)) {
      showError(this.error, {
        message: 'The spec needs a "layers" list, e.g. {"input": [1, 28, 28], "layers": []}' });
      return;
    }
    this.onApply(spec);
  }
}

// The server's numbers on the cards: each layer's input and output shape, the output-size
// formula with its numbers, the parameter count with its formula, receptive field,
// multiply-adds and warnings; or, when the spec cannot work, the error on the layer it
// concerns. A layer in error shows no numbers at all: the last ones that worked belong to
// another layer (the one before the edit), and beside the error they would mislead.

import { el, fmt, showError } from "../../ui.js";

function blank(node) {
  node.inShape.textContent = "–";
  node.shape.textContent = "–";
  node.formula.replaceChildren();
  node.formula.hidden = true;
  node.params.replaceChildren();
  node.extra.textContent = "";
  node.warning.textContent = "";
  node.warning.hidden = true;
}

export function clearMarks(nodes) {
  for (const node of nodes.values()) {
    showError(node.error, null);
    node.error.removeAttribute("role");
    node.card.classList.remove("has-error");
    for (const input of Object.values(node.fields)) input.removeAttribute("aria-invalid");
  }
}

function paramsLine(r) {
  let frozen = "";
  if (r.params_frozen) frozen = r.trainable ? ` (${fmt.int(r.params_frozen)} frozen)` : " (frozen)";
  if (!r.params && !r.block) return [el("span", { class: "muted" }, "no parameters")];
  if (r.param_formula) {
    return [el("strong", {}, fmt.int(r.params)), ` parameters${frozen}: `,
      el("code", {}, r.param_formula)];
  }
  return [el("strong", {}, fmt.int(r.params)),
    ` parameters${frozen}${r.block ? " in this block" : ""}`];
}

function showRow(node, r, path) {
  node.inShape.textContent = fmt.shape(r.input_shape);
  node.shape.textContent = fmt.shape(r.output_shape);
  node.formula.replaceChildren(...r.formulas.map((f) => el("div", {},
    "N", el("sub", {}, "out"), ` = ${f}`)));
  node.formula.hidden = !r.formulas.length;
  node.params.replaceChildren(...paramsLine(r));
  const rf = r.receptive_field ? `receptive field ${r.receptive_field.join("×")}`
    + (r.receptive_field_note ? ` (${r.receptive_field_note})` : "") : "";
  const macs = r.macs ? `${fmt.int(r.macs)} multiply-adds` : "";
  node.extra.textContent = [rf, macs].filter(Boolean).join(" · ");
  const prefix = `${path}: `;
  const warnings = (r.warnings || [])
    .map((w) => (w.startsWith(prefix) ? w.slice(prefix.length) : w));
  node.warning.textContent = warnings.join(" ");
  node.warning.hidden = !warnings.length;
}

// Every card's numbers from a summary; a card the summary does not know is marked stale.
export function showNumbers(nodes, summary) {
  clearMarks(nodes);
  const rows = new Map(summary.layers.map((r) => [r.path, r]));
  for (const [path, node] of nodes) {
    const r = rows.get(path);
    node.card.classList.toggle("stale", !r);
    if (r) showRow(node, r, path);
    else blank(node);
  }
}

// The nearest card to a path: "layers[3].body" belongs to layers[3].
function nearest(nodes, path) {
  let p = path;
  while (p && !nodes.has(p)) {
    const up = p.replace(/(\.[A-Za-z_]+|\[\d+\])$/, "");
    p = up === p ? "" : up;
  }
  return p ? nodes.get(p) : null;
}

// The spec's errors ({path, field, message}) on their cards, the others' numbers dimmed.
// Returns the layers in error (path -> what is wrong) and the errors no card could take.
export function showErrors(nodes, details) {
  clearMarks(nodes);
  for (const node of nodes.values()) node.card.classList.add("stale");
  const byNode = new Map();
  const unplaced = [];
  for (const d of details) {
    const node = nearest(nodes, d.path || "");
    if (!node) { unplaced.push(d); continue; }
    if (!byNode.has(node)) byNode.set(node, []);
    byNode.get(node).push(d.message || d.msg);
    const input = d.field && node.fields[d.field];
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (node.details && node.details.contains(input)) node.details.open = true;
    }
  }
  const failed = new Map();
  for (const [node, messages] of byNode) {
    node.card.classList.add("has-error");
    node.card.classList.remove("stale");
    blank(node);
    showError(node.error, { message: messages.join(" ") });
    failed.set(node.card.dataset.layerPath, messages.join(" "));
  }
  return { failed, unplaced };
}

// The network as a compact table, as torchinfo and Keras print it: one row per layer
// (indented inside its block), its type, output shape, parameters and multiply-adds, and
// the totals. A block's own row repeats the sum of its layers, in brackets, so the column
// adds up to the total without it.

import { el, fmt } from "../../ui.js";

// The layers in order, each with what the table calls it: its name or "layer 2: relu" at
// the top, and inside a block its lane first ("branch 2: 3x3"), the indent saying which block.
function* named(items, lane) {
  for (const [i, node] of items.entries()) {
    const own = node.name || `layer ${i + 1}: ${node.type}`;
    yield { node, name: lane ? `${lane}: ${own}` : own };
    for (const l of node.lanes || []) yield* named(l.items, l.title);
  }
}

export class SummaryTable {
  constructor({ onPick }) {
    this.onPick = onPick;
    this.rows = new Map(); // path -> <tr>
    this.body = el("tbody");
    this.totalParams = el("td", { class: "num", "data-table-total": "params" });
    this.totalMacs = el("td", { class: "num", "data-table-total": "macs" });
    this.element = el("div", { class: "summary-table-wrap", "data-summary-table": true },
      el("table", { class: "summary-table" },
        el("caption", { class: "visually-hidden" }, "Every layer of the network"),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col" }, "Layer"), el("th", { scope: "col" }, "Type"),
          el("th", { scope: "col" }, "Output shape"),
          el("th", { scope: "col", class: "num" }, "Parameters"),
          el("th", { scope: "col", class: "num" }, "Multiply-adds"))),
        this.body,
        el("tfoot", {}, el("tr", {},
          el("th", { scope: "row", colspan: 3 }, "Total"), this.totalParams, this.totalMacs))));
  }

  // Filled now if the table is on show, else when it is (140 rows cost time on every edit).
  show(tree, summary) {
    this.data = { tree, summary };
    if (!this.element.hidden) this.fill();
  }

  reveal() {
    this.element.hidden = false;
    if (this.data && this.filled !== this.data) this.fill();
  }

  fill() {
    this.filled = this.data;
    const { tree, summary } = this.data;
    this.rows.clear();
    const trs = [];
    for (const { node, name } of named(tree.items, "")) {
      const r = node.row;
      if (!r) continue;
      const block = r.block;
      const go = el("button", { type: "button", class: "link-button", "data-action": "go-to-layer",
        title: `${node.label} · ${node.path}`, onclick: () => this.onPick(node.path) },
      name);
      const tr = el("tr", { "data-row-path": node.path, class: block ? "is-block" : "" },
        el("td", { style: `padding-left: ${0.45 + 1.2 * r.depth}rem` }, go),
        el("td", {}, node.type),
        el("td", { "data-cell": "shape" }, fmt.shape(r.output_shape)),
        el("td", { class: "num", "data-cell": "params" },
          block ? `(${fmt.int(r.params)})` : fmt.int(r.params)),
        el("td", { class: "num", "data-cell": "macs" },
          block ? `(${fmt.int(r.macs)})` : fmt.int(r.macs)));
      this.rows.set(node.path, tr);
      trs.push(tr);
    }
    this.body.replaceChildren(...trs);
    this.totalParams.textContent = fmt.int(summary.totals.params);
    this.totalMacs.textContent = fmt.int(summary.totals.macs);
    this.select(this.selected);
  }

  select(path) {
    this.selected = path;
    for (const [p, tr] of this.rows) tr.toggleAttribute("data-selected", p === path);
  }
}

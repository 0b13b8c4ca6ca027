// The whole network at a glance, beside its cards: a diagram (diagram-layout.js, drawn by
// diagram-svg.js) or a compact table, one toggle apart. Clicking a block, or Enter on it,
// goes to its layer's card; a collapsed block opens first, an open block's frame closes it.
// The layer selected in the cards is marked here. One Tab stop for the whole diagram and
// the arrow keys between blocks, so 140 layers are not 140 Tab presses. On a wide screen
// a diagram short enough stays in sight while the cards scroll under it.

import { el, fmt } from "../../ui.js";
import { layoutNetwork } from "./diagram-layout.js";
import { drawDiagram } from "./diagram-svg.js";
import { networkTree, walk } from "./diagram-tree.js";
import { SummaryTable } from "./summary-table.js";

const FAMILIES = [["conv", "convolution"], ["pool", "pooling"], ["linear", "linear"],
  ["activation", "activation"], ["norm", "normalization"], ["dropout", "dropout"],
  ["flatten", "flatten"], ["block", "block (click + to open it)"]];

// Pinned only on a wide screen, and only when it leaves the cards most of the height.
const PIN_MIN_WIDTH = 1000;
const PIN_MAX_SHARE = 0.45;
// An open block may make the diagram this tall before blocks are collapsed to fit.
const MAX_SHARE = 0.62;

// How wide a label is in the page's font: measured once per text and size.
function textMeasurer() {
  const context = document.createElement("canvas").getContext("2d");
  const family = getComputedStyle(document.body).fontFamily;
  const known = new Map();
  return (text, px) => {
    const key = `${px}|${text}`;
    if (!known.has(key)) {
      context.font = `${px}px ${family}`;
      known.set(key, Math.ceil(context.measureText(text).width));
    }
    return known.get(key);
  };
}

// The page's sticky header, whose height a pinned diagram sits under.
function headerHeight() {
  const header = document.querySelector("body > header");
  if (!header) return 0;
  const { position } = getComputedStyle(header);
  return position === "sticky" || position === "fixed" ? header.getBoundingClientRect().height : 0;
}

export class NetworkDiagram {
  // onPick(path): go to that layer's card ("input": the input's fields); onSelect(path):
  // mark it, the card staying where it is; fieldsOf(type): the catalogue's fields of a type.
  constructor({ onPick, onSelect, fieldsOf }) {
    this.onPick = onPick;
    this.onSelect = onSelect;
    this.fieldsOf = fieldsOf;
    this.mode = "diagram";
    this.chosen = new Map(); // block path -> opened (true) or closed (false) by the student
    this.selected = null;
    this.current = "input"; // the block that holds the diagram's one Tab stop
    this.drawn = null; // {spec, summary, tree}
    this.errors = new Map(); // path -> message, of the layers in error
    this.table = new SummaryTable({ onPick });
    this.modeButtons = ["diagram", "table"].map((mode) => el("button", { type: "button",
      "data-diagram-mode": mode, "aria-pressed": String(mode === this.mode),
      onclick: () => this.setMode(mode) }, mode === "diagram" ? "Diagram" : "Table"));
    this.detail = el("p", { class: "diagram-detail", "data-diagram-detail": true });
    this.status = el("p", { class: "diagram-status warning", "data-diagram-status": true,
      hidden: true });
    this.scroller = el("div", { class: "diagram-scroll" });
    this.legend = el("div", { class: "diagram-legend" },
      el("span", { class: "muted" },
        "Height: the image's size; width: its channels. Above a block: parameters; below: "
        + "channels, then height × width."),
      el("ul", { class: "diagram-key", "aria-label": "colours" }, FAMILIES.map(([f, name]) =>
        el("li", {}, el("span", { class: `diagram-swatch family-${f}`, "aria-hidden": "true" }),
          name))));
    this.element = el("section", { class: "panel build-diagram", "data-build-diagram": true,
      "aria-label": "The whole network" },
    el("div", { class: "diagram-head" },
      el("h2", {}, "The network"),
      el("div", { class: "diagram-modes", role: "group", "aria-label": "show as" },
        this.modeButtons),
      this.detail),
    this.legend, this.status, this.scroller, this.table.element);
    this.table.element.hidden = true;
    this.scroller.addEventListener("click", (e) => this.clicked(e));
    this.scroller.addEventListener("keydown", (e) => this.key(e));
    this.scroller.addEventListener("focusin", (e) => {
      const block = e.target.closest && e.target.closest("[role=button]");
      if (block) { this.rove(block); this.tell(block); }
    });
    // the block under the pointer is named in big type, for the back of the room
    this.scroller.addEventListener("mouseover", (e) => {
      const block = e.target.closest && e.target.closest("[role=button]");
      if (block) this.tell(block);
    });
    this.scroller.addEventListener("mouseleave", () => this.markSelected());
    this.scroller.addEventListener("focusout", () => this.markSelected());
    let width = 0;
    new ResizeObserver(() => {
      if (this.scroller.clientWidth !== width) {
        width = this.scroller.clientWidth;
        this.redraw();
      }
      this.pin();
    }).observe(this.element);
    window.addEventListener("resize", () => this.pin());
  }

  // A new summary of this spec: drawn, and the table filled.
  show(spec, summary) {
    const tree = networkTree(spec, summary, this.fieldsOf);
    this.drawn = { spec, summary, tree };
    this.nodes = new Map([...walk(tree.items)].map((n) => [n.path, n]));
    this.errors = new Map();
    this.element.dataset.params = fmt.int(summary.totals.params);
    this.status.hidden = true;
    this.table.show(this.drawn.tree, summary);
    this.redraw();
  }

  // The spec has errors: the last drawing that worked stays, dimmed, with the layers in
  // error marked and none of their numbers.
  showErrors(errors, names) {
    this.errors = errors;
    delete this.element.dataset.params;
    const where = names.length ? ` Fix ${names.join(", ")} to update it.` : "";
    this.status.textContent = `This shows the last network that worked.${where}`;
    this.status.hidden = false;
    this.redraw();
  }

  select(path) {
    this.selected = path;
    this.table.select(path);
    this.markSelected();
  }

  setMode(mode) {
    this.mode = mode;
    for (const b of this.modeButtons) {
      b.setAttribute("aria-pressed", String(b.dataset.diagramMode === mode));
    }
    this.scroller.hidden = mode !== "diagram";
    this.legend.hidden = mode !== "diagram";
    if (mode === "table") this.table.reveal();
    else this.table.element.hidden = true;
    this.markSelected();
    this.pin();
  }

  redraw() {
    if (!this.drawn || !this.scroller.clientWidth) return;
    const t0 = performance.now();
    const { tree, summary } = this.drawn;
    const hadFocus = this.scroller.contains(document.activeElement);
    const room = window.innerHeight * MAX_SHARE - this.element.offsetHeight
      + this.scroller.offsetHeight;
    this.measure = this.measure || textMeasurer();
    this.layout = layoutNetwork(tree, { measure: this.measure, maxWidth: this.scroller.clientWidth,
      maxHeight: Math.max(200, room), chosen: this.chosen, failed: new Set(this.errors.keys()) });
    const layers = summary.layers.length;
    const title = `Diagram of the network, ${layers} layer${layers === 1 ? "" : "s"}: `
      + "arrow keys move between blocks, Enter goes to a layer's card";
    this.svg = drawDiagram(this.layout, tree, { errors: this.errors, title });
    this.svg.classList.toggle("is-stale", this.errors.size > 0);
    this.scroller.replaceChildren(this.svg);
    this.blocks = [...this.svg.querySelectorAll("[role=button]")];
    const keep = this.blocks.find((b) => this.pathOf(b) === this.current) || this.blocks[0];
    this.rove(keep, hadFocus);
    this.markSelected();
    performance.measure("build-diagram-draw", { start: t0 });
  }

  // What holds the Tab stop is named by its path ("toggle:" for an open block's close button).
  pathOf(block) {
    if (block.dataset.blockToggle) return `toggle:${block.dataset.blockToggle}`;
    return block.dataset.blockPath || "input";
  }

  // The drawn block that stands for path: itself, or the collapsed block it is in.
  drawnBlock(path) {
    let p = path;
    while (p) {
      const b = this.blocks.find((x) => x.dataset.blockPath === p);
      if (b) return b;
      const up = p.replace(/(\.[A-Za-z_]+|\[\d+\])$/, "");
      p = up === p ? "" : up;
    }
    return null;
  }

  markSelected() {
    if (!this.blocks) return;
    const mark = this.selected ? this.drawnBlock(this.selected) : null;
    for (const b of this.blocks) b.toggleAttribute("data-selected", b === mark);
    const node = this.selected && this.nodes ? this.nodes.get(this.selected) : null;
    const hint = this.mode === "table" ? "Click a layer's name to edit it."
      : "Click a block to edit its layer.";
    this.detail.textContent = node ? this.describe(node) : hint;
  }

  tell(block) {
    const path = block.dataset.blockToggle || this.pathOf(block);
    const node = this.nodes && this.nodes.get(path);
    if (node) this.detail.textContent = this.describe(node);
    else if (path === "input" && this.drawn) {
      this.detail.textContent = `input · ${fmt.shape(this.drawn.summary.input)}`;
    }
  }

  describe(node) {
    if (this.errors.has(node.path)) return `${node.label}: error`;
    const r = node.row;
    if (!r) return node.label;
    const who = node.name ? `${node.label} (${node.type})` : node.label;
    return `${who} · ${fmt.shape(r.output_shape)} · ${fmt.int(r.params)} parameters`
      + ` · ${fmt.int(r.macs)} multiply-adds`;
  }

  rove(block, focus) {
    if (!block) return;
    for (const b of this.blocks) b.tabIndex = b === block ? 0 : -1;
    this.current = this.pathOf(block);
    if (focus) block.focus();
  }

  clicked(e) {
    const block = e.target.closest && e.target.closest("[role=button]");
    if (block) this.activate(block);
  }

  // A collapsed block opens where it is (the student wants to look inside, the diagram
  // stays), and its close button takes the Tab stop; that button shuts it again; any
  // other block goes to its card.
  activate(block) {
    const closing = block.dataset.blockToggle;
    if (closing) {
      this.chosen.set(closing, false);
      this.current = closing;
      this.redraw();
    } else if (block.getAttribute("aria-expanded") === "false") {
      const path = block.dataset.blockPath;
      this.chosen.set(path, true);
      this.current = `toggle:${path}`;
      this.redraw();
      this.onSelect(path);
    } else this.onPick(this.pathOf(block));
  }

  key(e) {
    const i = this.blocks ? this.blocks.indexOf(e.target) : -1;
    if (i < 0) return;
    const last = this.blocks.length - 1;
    const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1,
      Home: 0, End: last }[e.key];
    if (to !== undefined) {
      e.preventDefault();
      this.rove(this.blocks[Math.max(0, Math.min(last, to))], true);
      this.blocks[Math.max(0, Math.min(last, to))].scrollIntoView({ block: "nearest",
        inline: "nearest" });
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.activate(e.target);
    }
  }

  // Kept in sight while the cards scroll, if it is short enough to leave them room.
  pin() {
    const top = headerHeight();
    const height = this.element.offsetHeight;
    const pinned = window.innerWidth >= PIN_MIN_WIDTH && height > 0
      && height <= window.innerHeight * PIN_MAX_SHARE;
    this.element.classList.toggle("is-pinned", pinned);
    this.element.style.top = pinned ? `${top}px` : "";
    const below = Math.round(top + (pinned ? height : 0) + 8);
    this.element.parentElement?.style.setProperty("--build-below-pinned", `${below}px`);
  }
}

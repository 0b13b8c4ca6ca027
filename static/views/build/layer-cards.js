// The network as a list of cards, one per layer, made from the layer catalogue: a
// type select, the layer's fields (rare ones under "more options"), buttons to move and
// remove it, and, for a residual or concat block, its own lists of layers. Each card has
// places for its numbers (card-numbers.js fills them). The cards only report what the
// student asks for (actions); the view changes the spec.

import { layerLabel, finderOf, pathString } from "../../layer-label.js";
import { el } from "../../ui.js";
import { fieldEditor } from "./field-editor.js";
import { uid } from "./ids.js";

// Fields tucked under "more options" (the ones a first model rarely touches).
const ADVANCED = new Set(["init", "std", "momentum", "eps"]);

// The name of a nested list as people say it: "body", "shortcut", "branch 2".
function laneName(listParts) {
  const last = listParts[listParts.length - 1];
  return typeof last === "number" ? `branch ${last + 1}` : String(last);
}

export class LayerCards {
  // actions: setField(parts, field, value), addLayer(listParts, type), changeType(parts, type),
  // removeLayer(parts), moveLayer(parts, delta), addBranch(parts), removeBranch(parts, b);
  // onSelect(path): the card being edited or focused.
  constructor({ actions, onSelect }) {
    this.actions = actions;
    this.onSelect = onSelect;
    this.catalogue = null;
    this.nodes = new Map(); // layer path -> its card's elements
    this.label = () => "";
    this.list = el("div", { class: "build-layers", "data-layers": true });
    this.globalError = el("p", { class: "error", "data-validate-error": true, hidden: true });
    this.globalWarning = el("p", { class: "warning", "data-global-warnings": true, hidden: true });
    this.addTop = el("div", { class: "build-add-top" });
    this.element = el("section", { class: "panel build-layers-panel", "aria-label": "Layers" },
      el("div", { class: "build-layers-head" },
        el("h2", {}, "Layers"),
        el("p", { class: "muted build-hint" },
          "Each layer shows its output shape, N", el("sub", {}, "out"), " = (N",
          el("sub", {}, "in"), " + 2P − K)/S + 1 with the numbers filled in, and its parameter",
          " count."),
        this.addTop),
      this.globalError, this.globalWarning, this.list);
    const select = (e) => {
      const card = e.target.closest && e.target.closest("[data-layer-path]");
      if (card && this.list.contains(card)) this.onSelect(card.dataset.layerPath);
    };
    this.list.addEventListener("focusin", select);
    this.list.addEventListener("click", select);
  }

  setCatalogue(catalogue) {
    this.catalogue = catalogue;
    this.addControl(this.addTop, ["layers"], true);
  }

  render(spec) {
    this.nodes.clear();
    const find = finderOf(spec);
    this.label = (path) => layerLabel(path, find);
    const layers = spec && Array.isArray(spec.layers) ? spec.layers : [];
    this.list.replaceChildren(this.renderList(["layers"], layers));
  }

  // The card's own focus: a click on its diagram block or table row lands here, and Tab
  // goes on into its fields.
  focusCard(path) {
    const node = this.nodes.get(path);
    if (!node) return false;
    node.card.focus({ preventScroll: true });
    node.card.scrollIntoView({ block: "start", behavior: "instant" });
    return true;
  }

  // Focus a control of a card (after a structural edit rebuilt the cards).
  focus({ path, selector }) {
    const card = this.nodes.get(path)?.card;
    if (!card) return;
    const target = card.querySelector(`:scope > .layer-head ${selector}`)
      || card.querySelector(selector);
    if (target && !target.disabled) target.focus();
    else {
      const other = card.querySelector(":scope > .layer-head .layer-actions button:not(:disabled)");
      if (other) other.focus();
    }
  }

  // After a layer was added: its first field, scrolled to.
  focusAdded(path) {
    const card = this.nodes.get(path)?.card;
    if (!card) return;
    card.scrollIntoView({ block: "nearest" });
    const target = card.querySelector(".layer-fields input, .layer-fields select")
      || card.querySelector("[data-layer-type]");
    if (target) target.focus();
  }

  // After the last layer of a list was removed: that list's add button.
  focusAdd(listParts) {
    const where = CSS.escape(pathString(listParts));
    const add = this.list.querySelector(`[data-action="add-layer"][data-list-path="${where}"]`)
      || this.addTop.querySelector('[data-action="add-layer"]');
    if (add) add.focus();
  }

  markSelected(path) {
    for (const [p, node] of this.nodes) node.card.toggleAttribute("data-selected", p === path);
  }

  renderList(listParts, layers) {
    const list = el("ol", { class: "layer-list", "data-list-path": pathString(listParts) });
    layers.forEach((layer, i) => list.append(
      this.renderCard(layer, [...listParts, i], i, layers.length)));
    const wrap = el("div", { class: "layer-list-wrap" }, list);
    if (listParts.length > 1) {
      if (!layers.length) list.append(el("li", { class: "muted layer-empty" }, "empty"));
      const add = el("div", { class: "layer-add" });
      this.addControl(add, listParts, false);
      wrap.append(add);
    } else if (!layers.length) {
      list.append(el("li", { class: "muted layer-empty" },
        "No layers yet: choose a type above and add one."));
    }
    return wrap;
  }

  addControl(container, listParts, top) {
    const id = uid("addtype");
    const where = pathString(listParts);
    const select = el("select", { id, "data-add-type": true },
      Object.values(this.catalogue)
        .map((l) => el("option", { value: l.type, title: l.doc }, l.type)));
    const lane = laneName(listParts);
    const ownerParts = listParts.slice(0, typeof listParts.at(-1) === "number" ? -2 : -1);
    const owner = top ? "" : `${this.label(pathString(ownerParts))}, `;
    container.replaceChildren(
      el("label", { for: id }, top ? "Add a" : `Add to ${lane}:`),
      select,
      el("button", { type: "button", "data-action": "add-layer", "data-list-path": where,
        "aria-label": top ? null : `add a layer to ${owner}${lane}`,
        onclick: () => this.actions.addLayer(listParts, select.value) },
      top ? "Add layer at the end" : "Add layer"));
  }

  renderCard(layer, parts, index, count) {
    const path = pathString(parts);
    const info = layer && this.catalogue[layer.type];
    const label = this.label(path);
    const typeSelect = this.typeSelect(layer, parts, label);
    const node = {
      shape: el("span", { class: "layer-shape", "data-layer-shape": true }, "–"),
      inShape: el("span", { class: "muted" }, "–"),
      formula: el("div", { class: "layer-formula mono", "data-layer-formula": true }),
      params: el("div", { class: "layer-params", "data-layer-params": true }),
      extra: el("div", { class: "layer-extra muted", "data-layer-rf": true }),
      error: el("p", { class: "error layer-error", "data-layer-error": true, hidden: true }),
      warning: el("p", { class: "warning layer-warning", "data-layer-warning": true,
        hidden: true }),
      fields: {},
    };
    const head = el("div", { class: "layer-head" },
      el("span", { class: "layer-index", "data-layer-index": true, "aria-hidden": "true",
        title: `${path}: where this layer is in the spec and the API` },
      `${parts.length > 2 ? "" : "#"}${index + 1}`),
      typeSelect.label, typeSelect.select);
    const main = el("div", { class: "layer-fields" });
    const more = el("div", { class: "layer-fields" });
    const children = [];
    const isBlock = Boolean(info
      && info.fields.some((f) => f.kind === "layers" || f.kind === "branches"));
    for (const f of info ? info.fields : []) {
      if (f.kind === "layers") {
        children.push(this.subList(parts, f, layer));
      } else if (f.kind === "branches") {
        children.push(...this.branches(parts, f, layer, label));
      } else if (f.name === "trainable" && !info.has_params && !isBlock
        && !("trainable" in layer)) {
        continue; // nothing to freeze in relu, pooling, flatten...
      } else {
        const editor = fieldEditor(f, layer,
          (value) => this.actions.setField(parts, f.name, value),
          f.name === "name" ? "layer-name" : "");
        node.fields[f.name] = editor.input;
        if (f.name === "name") head.append(editor.element);
        else {
          const advanced = ADVANCED.has(f.name) || (f.name === "trainable" && isBlock);
          (advanced ? more : main).append(editor.element);
        }
      }
    }
    head.append(this.cardActions(parts, index, count, label));
    if (more.childNodes.length) {
      node.details = el("details", { class: "layer-more" },
        el("summary", {}, "more options"), more);
      main.append(node.details);
    }
    node.card = el("li", { class: `layer${isBlock ? " layer-block" : ""}`, tabindex: "-1",
      "aria-label": label, "data-layer-path": path, "data-layer-type-name": layer && layer.type },
    head,
    info ? el("p", { class: "layer-doc muted" }, info.doc) : null,
    el("div", { class: "layer-body" },
      main,
      el("div", { class: "layer-info" },
        el("div", { class: "layer-shapes" }, node.inShape, " → ", node.shape),
        node.formula, node.params, node.extra, node.error, node.warning)),
    children.length ? el("div", { class: "layer-children" }, children) : null);
    this.nodes.set(path, node);
    return node.card;
  }

  typeSelect(layer, parts, label) {
    const id = uid("type");
    const select = el("select", { id, "data-layer-type": true, "aria-label": `type of ${label}`,
      onchange: (e) => this.actions.changeType(parts, e.target.value) },
    Object.values(this.catalogue).map((l) => el("option", { value: l.type }, l.type)));
    const type = layer && layer.type;
    if (this.catalogue[type]) select.value = type;
    else select.prepend(el("option", { value: type, selected: true }, String(type)));
    const hidden = el("label", { for: id, class: "visually-hidden" }, `type of ${label}`);
    return { select, label: hidden };
  }

  cardActions(parts, index, count, label) {
    const button = (action, text, title, disabled, onclick) => el("button", { type: "button",
      "data-action": action, "aria-label": `${title} ${label}`, title, disabled, onclick }, text);
    return el("span", { class: "layer-actions" },
      button("move-up", "↑", "move up", index === 0, () => this.actions.moveLayer(parts, -1)),
      button("move-down", "↓", "move down", index === count - 1,
        () => this.actions.moveLayer(parts, +1)),
      button("remove-layer", "✕", "remove", false, () => this.actions.removeLayer(parts)));
  }

  subList(parts, f, layer) {
    return el("div", { class: "layer-sub", "data-sub": f.name },
      el("h3", { class: "layer-sub-title" }, f.name,
        el("span", { class: "muted" }, ` — ${f.help || ""}`)),
      this.renderList([...parts, f.name], Array.isArray(layer[f.name]) ? layer[f.name] : []));
  }

  branches(parts, f, layer, label) {
    const branches = Array.isArray(layer[f.name]) ? layer[f.name] : [];
    const out = branches.map((b, bi) => el("div",
      { class: "layer-sub", "data-sub": `branches[${bi}]` },
      el("h3", { class: "layer-sub-title" }, `branch ${bi + 1}`,
        el("button", { type: "button", class: "layer-sub-remove", "data-action": "remove-branch",
          "aria-label": `remove branch ${bi + 1} of ${label}`,
          onclick: () => this.actions.removeBranch(parts, bi) }, "Remove branch")),
      this.renderList([...parts, "branches", bi], Array.isArray(b) ? b : [])));
    out.push(el("div", { class: "layer-add" },
      el("button", { type: "button", "data-action": "add-branch",
        onclick: () => this.actions.addBranch(parts) }, "Add branch")));
    return out;
  }
}

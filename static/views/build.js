// Build: start from a preset or from nothing, edit the layers with forms built
// from the layer catalogue, and see beside every layer (live, as you type) its
// output shape with N_out = (N_in + 2P - K)/S + 1 filled in, its parameter
// count with its formula, its receptive field, and any error or warning on it.

import { ApiError } from "../api.js";
import { debounce, el, fmt, showError } from "../ui.js";

// Fields tucked under "more options" (the ones a first model rarely touches).
const ADVANCED = new Set(["init", "std", "momentum", "eps"]);
// Values for required fields when a layer is added or its type changed.
const STARTERS = { out_channels: 8, kernel_size: 3, out_features: 10 };

// ["layers", 3, "body", 0] -> "layers[3].body[0]" (the engine's path format)
export function pathString(parts) {
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : (i ? "." : "") + p)).join("");
}

function getAt(obj, parts) {
  return parts.reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

// Compact but readable JSON: small objects and arrays of numbers stay on one line.
function pretty(value, indent = "") {
  const flat = (v) => v === null || typeof v !== "object"
    || (Array.isArray(v) ? v.every((x) => x === null || typeof x !== "object")
      : Object.values(v).every((x) => x === null || typeof x !== "object"
        || (Array.isArray(x) && x.every((y) => y === null || typeof y !== "object"))));
  if (flat(value)) return JSON.stringify(value).replace(/,(?=["[{\d-]|true|false|null)/g, ", ").replace(/":/g, "\": ");
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return "[\n" + value.map((v) => inner + pretty(v, inner)).join(",\n") + "\n" + indent + "]";
  }
  const keys = Object.keys(value);
  return "{\n" + keys.map((k) => `${inner}${JSON.stringify(k)}: ${pretty(value[k], inner)}`).join(",\n") + "\n" + indent + "}";
}

// "5" -> 5, "3, 5" / "3x5" / "[3,5]" -> [3, 5], "same" -> "same"; anything else is
// passed on as typed so that the server names the problem on that very layer.
function parsePair(raw, allowWords) {
  const s = raw.trim();
  if (s === "") return undefined;
  if (/^-?\d+$/.test(s)) return Number(s);
  const m = /^\[?\s*(-?\d+)\s*(?:,|x|×|\s)\s*(-?\d+)\s*\]?$/i.exec(s);
  if (m) return [Number(m[1]), Number(m[2])];
  if (allowWords && /^(same|valid)$/i.test(s)) return s.toLowerCase();
  return s;
}

function showPair(v) {
  if (v === undefined || v === null) return "";
  return Array.isArray(v) ? v.join(", ") : String(v);
}

function parseNumber(raw) {
  const s = raw.trim();
  if (s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

export class BuildView {
  constructor(root, { store, api, session }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.session = session;
    this.catalogue = null;      // type -> {type, doc, has_params, fields}
    this.presets = [];          // from GET /api/presets
    this.emitted = undefined;   // the last spec this view put in the store
    this.nodes = new Map();     // layer path -> its elements
    this.validateSeq = 0;
    this.lastSummary = null;
    this.ids = 0;
    this.validateSoon = debounce(() => this.validate(), 250);
    this.buildSkeleton();
    this.load();
  }

  uid(prefix) {
    this.ids += 1;
    return `build-${prefix}-${this.ids}`;
  }

  // ---------------------------------------------------------------- skeleton

  buildSkeleton() {
    const presetId = this.uid("preset");
    this.presetSelect = el("select", { id: presetId, "data-preset-select": true, onchange: () => this.choosePreset() },
      el("option", { value: "" }, "loading…"));
    this.presetError = el("p", { class: "error", "data-preset-error": true, hidden: true });
    this.presetDescription = el("p", { class: "muted build-description", "data-preset-description": true });
    // how a famous preset differs from its paper and the lecture's slides (from GET /api/presets)
    this.presetNote = el("p", { class: "muted build-description", "data-preset-note": true,
      hidden: true });
    this.buildableNote = el("p", { class: "build-note", "data-buildable-note": true, hidden: true });

    this.inputFields = el("div", { class: "build-input-fields" });
    this.inputError = el("p", { class: "error", "data-input-error": true, hidden: true });

    const start = el("section", { class: "panel build-start", "aria-labelledby": this.uid("h") },
      el("h2", { id: `build-h-${this.ids}` }, "Start from"),
      el("div", { class: "row build-start-row" },
        el("div", { class: "build-preset" },
          el("label", { for: presetId }, "Preset network"),
          this.presetSelect,
          el("button", { type: "button", "data-action": "new-network", onclick: () => this.newNetwork() }, "New empty network")),
        el("div", { class: "build-input" },
          el("span", { class: "build-input-label", id: "build-input-label" }, "Input shape [C, H, W]"),
          this.inputFields)),
      this.presetError, this.inputError, this.presetDescription, this.presetNote,
      this.buildableNote);

    // adding a layer at the end of the network: before the list in the page
    // (and so first in tab order), so the first [data-action=add-layer] is this one
    this.layersEl = el("div", { class: "build-layers", "data-layers": true });
    this.globalError = el("p", { class: "error", "data-validate-error": true, hidden: true });
    this.globalWarning = el("p", { class: "warning", "data-global-warnings": true, hidden: true });
    this.addTop = el("div", { class: "build-add-top" });
    const layersPanel = el("section", { class: "panel build-layers-panel", "aria-label": "Layers" },
      el("div", { class: "build-layers-head" },
        el("h2", {}, "Layers"),
        el("p", { class: "muted build-hint" },
          "Each layer shows its output shape, N", el("sub", {}, "out"), " = (N", el("sub", {}, "in"),
          " + 2P − K)/S + 1 with the numbers filled in, and its parameter count."),
        this.addTop),
      this.globalError, this.globalWarning, this.layersEl);

    // totals
    this.totalParams = el("span", { class: "build-total-params", "data-total-params": true }, "–");
    this.totalSplit = el("span", { class: "muted", "data-total-split": true });
    this.totalMacs = el("dd", { "data-total-macs": true }, "–");
    this.totalActivations = el("dd", { "data-total-activations": true }, "–");
    this.totalWeights = el("dd", { "data-total-weights": true }, "–");
    this.totalOutput = el("dd", { "data-total-output": true }, "–");
    this.status = el("p", { class: "muted build-status", "data-validate-status": true, "aria-live": "polite" });
    this.totals = el("section", { class: "panel build-totals", "aria-label": "Totals", "data-totals": true },
      el("h2", {}, "Totals"),
      el("dl", {},
        el("dt", {}, "Parameters"), el("dd", {}, this.totalParams),
        el("dd", { class: "build-total-split" }, this.totalSplit),
        el("dt", {}, "Multiply-adds per example"), this.totalMacs,
        el("dt", {}, "Activation memory per example"), this.totalActivations,
        el("dt", {}, "Weight memory (float32)"), this.totalWeights,
        el("dt", {}, "Output shape"), this.totalOutput),
      this.status);

    // export / import
    this.exportError = el("p", { class: "error", "data-export-error": true, hidden: true });
    this.importError = el("p", { class: "error", "data-import-error": true, hidden: true });
    const importId = this.uid("import");
    this.importInput = el("input", { id: importId, type: "file", accept: ".npz,.json,application/json", "data-import-file": true,
      onchange: () => this.importFile() });
    const exportButton = (format, label) => el("button", { type: "button", "data-export": format,
      onclick: (e) => this.exportAs(format, e.currentTarget) }, label);
    const files = el("section", { class: "panel build-files", "aria-label": "Save and load" },
      el("h2", {}, "Save and load"),
      el("div", { class: "row build-export" },
        el("span", { class: "muted" }, "Export:"),
        exportButton("npz", ".npz (spec + weights)"), exportButton("json", ".json (spec)"), exportButton("pytorch", "PyTorch (.zip)")),
      this.exportError,
      el("div", { class: "build-import" },
        el("label", { for: importId }, "Import a network (.npz or .json)"), this.importInput),
      this.importError);

    // the spec as JSON
    const jsonId = this.uid("json");
    this.jsonArea = el("textarea", { id: jsonId, "data-spec-json": true, rows: 14, spellcheck: "false",
      autocomplete: "off", class: "mono" });
    this.jsonError = el("p", { class: "error", "data-json-error": true, hidden: true });
    const json = el("section", { class: "panel build-json", "aria-label": "The spec as JSON" },
      el("h2", {}, el("label", { for: jsonId }, "The spec as JSON")),
      el("p", { class: "muted" }, "Edit it or paste one in, then apply."),
      this.jsonArea,
      el("div", { class: "row" },
        el("button", { type: "button", class: "primary", "data-action": "apply-json", onclick: () => this.applyJson() }, "Apply JSON")),
      this.jsonError);

    this.root.append(
      start,
      el("div", { class: "build-grid" },
        el("div", { class: "build-main" }, layersPanel),
        el("div", { class: "build-side" }, this.totals, files, json)));
  }

  async load() {
    try {
      const [layers, presets] = await Promise.all([this.api.layers(), this.api.presets()]);
      this.catalogue = Object.fromEntries(layers.map((l) => [l.type, l]));
      this.presets = presets.presets;
      this.fillPresets();
      this.renderAddControl(this.addTop, ["layers"], true);
      this.pendingRebuild = true; // build the editor now that the forms can be made
      this.render(this.store.state, !this.root.hidden);
    } catch (e) {
      showError(this.globalError, e);
    }
  }

  fillPresets() {
    const option = (p) => el("option", { value: p.name },
      `${p.title} — ${fmt.int(p.params)} parameters${p.trainable_on_cpu ? "" : " (to study)"}`);
    this.presetSelect.replaceChildren(
      el("option", { value: "" }, "— your own network —"),
      el("optgroup", { label: "Small: trainable here" }, this.presets.filter((p) => p.trainable_on_cpu).map(option)),
      el("optgroup", { label: "Full size: shapes and counts" }, this.presets.filter((p) => !p.trainable_on_cpu).map(option)));
    this.syncPreset(this.store.state);
  }

  syncPreset(state) {
    const name = state.preset || "";
    if (this.presetSelect.value !== name && [...this.presetSelect.options].some((o) => o.value === name)) {
      this.presetSelect.value = name;
    } else if (!name) this.presetSelect.value = "";
    const info = this.presets.find((p) => p.name === name);
    this.presetDescription.textContent = info ? info.description : "";
    this.presetDescription.hidden = !info;
    this.presetNote.textContent = info && info.note ? info.note : "";
    this.presetNote.hidden = !(info && info.note);
  }

  // ----------------------------------------------------------------- actions

  async choosePreset() {
    const name = this.presetSelect.value;
    showError(this.presetError, null);
    if (!name) { this.emit(this.store.state.spec); return; }
    try {
      const preset = await this.api.preset(name);
      this.store.set({ spec: preset.spec, preset: name });
    } catch (e) {
      showError(this.presetError, e);
    }
  }

  newNetwork() {
    const current = this.store.state.spec;
    const input = current && Array.isArray(current.input) ? [...current.input] : [1, 28, 28];
    this.replaceSpec({ input, layers: [] });
    const first = this.inputFields.querySelector("input");
    if (first) first.focus();
  }

  // An edit from this view: the store gets the new spec, the editor stays as it is.
  emit(spec) {
    this.emitted = spec;
    this.store.set({ spec, preset: null });
    this.validateSoon();
  }

  // A structural change (add, remove, move, new type, JSON): the editor is rebuilt.
  replaceSpec(spec, focus) {
    this.emitted = spec;
    this.store.set({ spec, preset: null });
    this.rebuild(spec);
    this.syncJson(spec, true);
    this.validate();
    if (focus) this.focus(focus);
  }

  edit(mutate, structural, focus) {
    const spec = structuredClone(this.store.state.spec || { input: [1, 28, 28], layers: [] });
    if (!Array.isArray(spec.layers)) spec.layers = [];
    mutate(spec);
    if (structural) this.replaceSpec(spec, focus);
    else { this.emit(spec); this.syncJson(spec); }
  }

  setField(parts, field, value) {
    this.edit((spec) => {
      const layer = getAt(spec, parts);
      if (!layer) return;
      if (value === undefined) delete layer[field];
      else layer[field] = value;
    });
  }

  setInput(index, raw) {
    this.edit((spec) => {
      if (!Array.isArray(spec.input)) spec.input = [];
      const n = parseNumber(raw);
      spec.input[index] = n === undefined ? null : n;
    });
  }

  addLayer(listParts, type, focusAdded = true) {
    const layer = this.newLayer(type);
    let index = 0;
    this.edit((spec) => {
      let list = getAt(spec, listParts);
      if (!Array.isArray(list)) {
        list = [];
        const parent = getAt(spec, listParts.slice(0, -1));
        if (parent) parent[listParts[listParts.length - 1]] = list;
      }
      list.push(layer);
      index = list.length - 1;
    }, true);
    if (focusAdded) {
      const path = pathString([...listParts, index]);
      const card = this.nodes.get(path)?.card;
      if (card) {
        card.scrollIntoView({ block: "nearest" });
        const target = card.querySelector(".layer-fields input, .layer-fields select") || card.querySelector("[data-layer-type]");
        if (target) target.focus();
      }
    }
  }

  newLayer(type, from = {}) {
    const info = this.catalogue[type];
    const layer = { type };
    for (const f of info.fields) {
      const old = from[f.name];
      if (old !== undefined && (f.kind === (this.kindOf(from.type, f.name)))) layer[f.name] = structuredClone(old);
      else if (f.required) {
        if (f.kind === "layers") layer[f.name] = [];
        else if (f.kind === "branches") layer[f.name] = [[], []];
        else if (f.name === "kernel_size" && type.includes("pool")) layer[f.name] = 2;
        else if (f.name in STARTERS) layer[f.name] = STARTERS[f.name];
        else if (f.kind === "int" || f.kind === "int2") layer[f.name] = Math.max(1, f.min ?? 1);
      }
    }
    return layer;
  }

  kindOf(type, name) {
    const info = this.catalogue[type];
    const f = info && info.fields.find((x) => x.name === name);
    return f ? f.kind : null;
  }

  changeType(parts, type) {
    this.edit((spec) => {
      const list = getAt(spec, parts.slice(0, -1));
      const i = parts[parts.length - 1];
      list[i] = this.newLayer(type, list[i] || {});
    }, true, { path: pathString(parts), selector: "[data-layer-type]" });
  }

  removeLayer(parts) {
    const listParts = parts.slice(0, -1);
    const i = parts[parts.length - 1];
    let remaining = 0;
    this.edit((spec) => {
      const list = getAt(spec, listParts);
      list.splice(i, 1);
      remaining = list.length;
    }, true);
    // focus what is now at that place, or the list's add button
    const next = remaining > i ? pathString([...listParts, i]) : remaining ? pathString([...listParts, remaining - 1]) : null;
    if (next) this.focus({ path: next, selector: '[data-action="remove-layer"]' });
    else {
      const add = this.layersEl.querySelector(`[data-action="add-layer"][data-list-path="${CSS.escape(pathString(listParts))}"]`)
        || this.addTop.querySelector('[data-action="add-layer"]');
      if (add) add.focus();
    }
  }

  moveLayer(parts, delta) {
    const listParts = parts.slice(0, -1);
    const i = parts[parts.length - 1];
    const j = i + delta;
    const list = getAt(this.store.state.spec, listParts);
    if (!list || j < 0 || j >= list.length) return;
    this.edit((spec) => {
      const l = getAt(spec, listParts);
      [l[i], l[j]] = [l[j], l[i]];
    }, true);
    // keep focus on the same button of the moved layer (or its other one at the ends)
    this.focus({ path: pathString([...listParts, j]), selector: `[data-action="${delta < 0 ? "move-up" : "move-down"}"]` });
  }

  addBranch(parts) {
    let n = 0;
    this.edit((spec) => {
      const layer = getAt(spec, parts);
      if (!Array.isArray(layer.branches)) layer.branches = [];
      layer.branches.push([]);
      n = layer.branches.length;
    }, true);
    const list = pathString([...parts, "branches", n - 1]);
    const add = this.layersEl.querySelector(`[data-action="add-layer"][data-list-path="${CSS.escape(list)}"]`);
    if (add) add.focus();
  }

  removeBranch(parts, b) {
    this.edit((spec) => { getAt(spec, parts).branches.splice(b, 1); }, true,
      { path: pathString(parts), selector: '[data-action="add-branch"]' });
  }

  focus({ path, selector }) {
    const card = this.nodes.get(path)?.card;
    if (!card) return;
    const target = card.querySelector(`:scope > .layer-head ${selector}`) || card.querySelector(selector);
    if (target && !target.disabled) target.focus();
    else {
      const other = card.querySelector(":scope > .layer-head .layer-actions button:not(:disabled)");
      if (other) other.focus();
    }
  }

  applyJson() {
    showError(this.jsonError, null);
    let spec;
    try {
      spec = JSON.parse(this.jsonArea.value);
    } catch (e) {
      const m = /position (\d+)/.exec(e.message);
      let where = "";
      if (m && !/line/.test(e.message)) {
        const before = this.jsonArea.value.slice(0, Number(m[1]));
        const line = before.split("\n").length;
        where = ` (line ${line}, column ${Number(m[1]) - before.lastIndexOf("\n")})`;
      }
      showError(this.jsonError, { message: `This is not valid JSON${where}: ${e.message}` });
      return;
    }
    if (!spec || typeof spec !== "object" || Array.isArray(spec)) {
      showError(this.jsonError, { message: 'A spec is a JSON object: {"input": [C, H, W], "layers": [...]}' });
      return;
    }
    if (!Array.isArray(spec.layers)) {
      showError(this.jsonError, { message: 'The spec needs a "layers" list, e.g. {"input": [1, 28, 28], "layers": []}' });
      return;
    }
    this.replaceSpec(spec);
  }

  async exportAs(format, button) {
    showError(this.exportError, null);
    button.disabled = true;
    try {
      const id = await this.session.network();
      const a = el("a", { href: this.api.exportUrl(id, format), download: "", hidden: true });
      this.root.append(a);
      a.click();
      a.remove();
    } catch (e) {
      showError(this.exportError, e);
    } finally {
      button.disabled = false;
    }
  }

  async importFile() {
    showError(this.importError, null);
    const file = this.importInput.files && this.importInput.files[0];
    if (!file) return;
    try {
      const net = await this.api.importNetwork(file);
      this.session.adopt(net);
      this.store.set({ preset: null });
    } catch (e) {
      showError(this.importError, e);
    } finally {
      this.importInput.value = "";
    }
  }

  // ------------------------------------------------------------------ render

  render(state, visible) {
    if (this.presets.length) this.syncPreset(state);
    if (!this.catalogue) return;
    if (state.spec !== this.emitted) {
      // changed from outside (a preset, a shared link, an import): the editor is
      // rebuilt (now, or when the view is shown); edits made here never come back
      // this way, so the input being typed in keeps its focus and caret
      this.emitted = state.spec;
      this.pendingRebuild = true;
      this.validate();
    }
    if (this.pendingRebuild && visible) {
      this.rebuild(state.spec);
      this.syncJson(state.spec, true);
    }
  }

  rebuild(spec) {
    this.pendingRebuild = false;
    this.nodes.clear();
    showError(this.jsonError, null);
    this.renderInput(spec);
    const layers = spec && Array.isArray(spec.layers) ? spec.layers : [];
    this.layersEl.replaceChildren(this.renderList(["layers"], layers));
    if (this.lastSummary) this.applySummary(this.lastSummary);
    if (this.lastError) this.applyErrors(this.lastError);
  }

  syncJson(spec, force) {
    if (document.activeElement === this.jsonArea && !force) return;
    this.jsonArea.value = spec ? pretty(spec) : "";
  }

  renderInput(spec) {
    const input = spec && Array.isArray(spec.input) ? spec.input : [1, 28, 28];
    const names = input.length === 1 ? ["features"] : input.length === 3 ? ["C", "H", "W"] : input.map((_, i) => `dim ${i + 1}`);
    const long = { C: "channels", H: "height", W: "width", features: "features" };
    this.inputFields.replaceChildren(...input.map((v, i) => {
      const id = this.uid("in");
      return el("span", { class: "build-input-dim" },
        el("label", { for: id, title: long[names[i]] || names[i] }, names[i]),
        el("input", { id, type: "number", min: 1, step: 1, value: v ?? "", "data-input-dim": i,
          "aria-label": `input ${long[names[i]] || names[i]}`,
          oninput: (e) => this.setInput(i, e.target.value) }));
    }));
  }

  renderList(listParts, layers) {
    const list = el("ol", { class: "layer-list", "data-list-path": pathString(listParts) });
    layers.forEach((layer, i) => list.append(this.renderLayer(layer, [...listParts, i], i, layers.length)));
    const wrap = el("div", { class: "layer-list-wrap" }, list);
    if (listParts.length > 1) {
      if (!layers.length) list.append(el("li", { class: "muted layer-empty" }, "empty"));
      const add = el("div", { class: "layer-add" });
      this.renderAddControl(add, listParts, false);
      wrap.append(add);
    } else if (!layers.length) {
      list.append(el("li", { class: "muted layer-empty" }, "No layers yet: choose a type above and add one."));
    }
    return wrap;
  }

  renderAddControl(container, listParts, top) {
    const id = this.uid("addtype");
    const where = pathString(listParts);
    const select = el("select", { id, "data-add-type": true },
      Object.values(this.catalogue).map((l) => el("option", { value: l.type, title: l.doc }, l.type)));
    container.replaceChildren(
      el("label", { for: id }, top ? "Add a" : `Add to ${where.replace(/^layers\[\d+\]\./, "")}:`),
      select,
      el("button", { type: "button", "data-action": "add-layer", "data-list-path": where,
        onclick: () => this.addLayer(listParts, select.value) }, top ? "Add layer at the end" : "Add layer"));
  }

  renderLayer(layer, parts, index, count) {
    const path = pathString(parts);
    const info = layer && this.catalogue[layer.type];
    const label = `${path} (${layer && layer.type})`;
    const typeId = this.uid("type");
    const typeSelect = el("select", { id: typeId, "data-layer-type": true, "aria-label": `type of layer ${path}`,
      onchange: (e) => this.changeType(parts, e.target.value) },
      Object.values(this.catalogue).map((l) => el("option", { value: l.type }, l.type)));
    if (info) typeSelect.value = layer.type;
    else typeSelect.prepend(el("option", { value: layer && layer.type, selected: true }, String(layer && layer.type)));

    const actions = el("span", { class: "layer-actions" },
      el("button", { type: "button", "data-action": "move-up", "aria-label": `move layer ${label} up`, title: "move up",
        disabled: index === 0, onclick: () => this.moveLayer(parts, -1) }, "↑"),
      el("button", { type: "button", "data-action": "move-down", "aria-label": `move layer ${label} down`, title: "move down",
        disabled: index === count - 1, onclick: () => this.moveLayer(parts, +1) }, "↓"),
      el("button", { type: "button", "data-action": "remove-layer", "aria-label": `remove layer ${label}`, title: "remove",
        onclick: () => this.removeLayer(parts) }, "✕"));

    const node = {
      shape: el("span", { class: "layer-shape", "data-layer-shape": true }, "–"),
      inShape: el("span", { class: "muted" }, "–"),
      formula: el("div", { class: "layer-formula mono", "data-layer-formula": true }),
      params: el("div", { class: "layer-params", "data-layer-params": true }),
      extra: el("div", { class: "layer-extra muted", "data-layer-rf": true }),
      error: el("p", { class: "error layer-error", "data-layer-error": true, hidden: true }),
      warning: el("p", { class: "warning layer-warning", "data-layer-warning": true, hidden: true }),
      fields: {},
    };
    const head = el("div", { class: "layer-head" },
      el("span", { class: "layer-index", "aria-hidden": "true" }, `${parts.length > 2 ? "" : "#"}${index + 1}`),
      el("label", { for: typeId, class: "visually-hidden" }, `type of layer ${path}`),
      typeSelect);
    const main = el("div", { class: "layer-fields" });
    const more = el("div", { class: "layer-fields" });
    const children = [];
    const isBlock = Boolean(info && info.fields.some((f) => f.kind === "layers" || f.kind === "branches"));
    if (info) {
      for (const f of info.fields) {
        if (f.kind === "layers") {
          children.push(el("div", { class: "layer-sub", "data-sub": f.name },
            el("h3", { class: "layer-sub-title" }, f.name, el("span", { class: "muted" }, ` — ${f.help || ""}`)),
            this.renderList([...parts, f.name], Array.isArray(layer[f.name]) ? layer[f.name] : [])));
        } else if (f.kind === "branches") {
          const branches = Array.isArray(layer[f.name]) ? layer[f.name] : [];
          branches.forEach((b, bi) => children.push(el("div", { class: "layer-sub", "data-sub": `branches[${bi}]` },
            el("h3", { class: "layer-sub-title" }, `branch ${bi + 1}`,
              el("button", { type: "button", class: "layer-sub-remove", "data-action": "remove-branch",
                "aria-label": `remove branch ${bi + 1} of ${path}`, onclick: () => this.removeBranch(parts, bi) }, "Remove branch")),
            this.renderList([...parts, "branches", bi], Array.isArray(b) ? b : []))));
          children.push(el("div", { class: "layer-add" },
            el("button", { type: "button", "data-action": "add-branch", onclick: () => this.addBranch(parts) }, "Add branch")));
        } else if (f.name === "name") {
          head.append(this.fieldEditor(f, layer, parts, node, "layer-name"));
        } else if (f.name === "trainable" && !info.has_params && !isBlock && !("trainable" in layer)) {
          continue; // nothing to freeze in relu, pooling, flatten...
        } else {
          const advanced = ADVANCED.has(f.name) || (f.name === "trainable" && isBlock);
          (advanced ? more : main).append(this.fieldEditor(f, layer, parts, node));
        }
      }
    }
    head.append(actions);
    if (more.childNodes.length) {
      node.details = el("details", { class: "layer-more" }, el("summary", {}, "more options"), more);
      main.append(node.details);
    }
    node.card = el("li", { class: `layer${isBlock ? " layer-block" : ""}`,
      "data-layer-path": path, "data-layer-type-name": layer && layer.type },
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

  fieldEditor(f, layer, parts, node, extraClass) {
    const id = this.uid("f");
    const helpId = `${id}-help`;
    const has = Object.prototype.hasOwnProperty.call(layer, f.name);
    const value = layer[f.name];
    const base = { id, "data-field": f.name, "aria-describedby": helpId, title: f.help || "" };
    const placeholder = f.default === undefined || f.default === null
      ? (f.name === "stride" ? "= K" : f.required ? "" : "optional") : String(f.default);
    let input;
    switch (f.kind) {
      case "bool":
        input = el("input", { ...base, type: "checkbox", checked: has ? Boolean(value) : Boolean(f.default),
          onchange: (e) => this.setField(parts, f.name, !f.required && e.target.checked === f.default ? undefined : e.target.checked) });
        break;
      case "choice": {
        input = el("select", { ...base, onchange: (e) => this.setField(parts, f.name,
          !f.required && e.target.value === f.default ? undefined : e.target.value) },
          f.choices.map((c) => el("option", { value: c }, c)));
        input.value = has ? value : (f.default ?? f.choices[0]);
        break;
      }
      case "int":
      case "float":
        input = el("input", { ...base, type: "number", inputmode: f.kind === "int" ? "numeric" : "decimal",
          step: f.kind === "int" ? 1 : "any", min: f.min, max: f.exclusive_max ? undefined : f.max,
          value: has && value !== null ? value : "", placeholder,
          oninput: (e) => this.setField(parts, f.name, parseNumber(e.target.value)) });
        break;
      case "int2":
      case "padding":
        input = el("input", { ...base, type: "text", class: "field-pair", value: has ? showPair(value) : "", placeholder,
          autocomplete: "off", spellcheck: "false",
          oninput: (e) => this.setField(parts, f.name, parsePair(e.target.value, f.kind === "padding")) });
        break;
      default:
        input = el("input", { ...base, type: "text", value: has && value !== null ? value : "", placeholder,
          autocomplete: "off", oninput: (e) => this.setField(parts, f.name, e.target.value === "" ? undefined : e.target.value) });
    }
    node.fields[f.name] = input;
    const range = f.min !== undefined && f.max !== undefined && (f.kind === "int" || f.kind === "float")
      ? ` (${f.min} to ${f.max}${f.exclusive_max ? ", exclusive" : ""})` : "";
    const help = el("span", { id: helpId, class: "visually-hidden" }, `${f.help || ""}${range}`);
    const lab = el("label", { for: id }, f.name + (f.required ? "" : ""));
    return el("span", { class: `field field-${f.kind}${extraClass ? " " + extraClass : ""}` },
      f.kind === "bool" ? [input, lab] : [lab, input], help);
  }

  // -------------------------------------------------------------- validation

  async validate() {
    const spec = this.store.state.spec;
    if (!spec) return;
    const seq = ++this.validateSeq;
    this.status.textContent = "checking…";
    try {
      const summary = await this.api.validate(spec);
      if (seq !== this.validateSeq) return;
      // errors may also come back inline (200 with {valid: false, errors}), which
      // keeps the browser console free of "Failed to load resource: 422"
      if (summary && summary.valid === false && Array.isArray(summary.errors)) throw new ApiError(422, summary.errors);
      this.lastSummary = summary;
      this.lastError = null;
      this.status.textContent = "";
      this.applySummary(summary);
      this.store.set({ summary });
    } catch (e) {
      if (seq !== this.validateSeq) return;
      this.status.textContent = "";
      this.lastError = e;
      this.applyErrors(e);
      this.store.set({ summary: null });
    }
  }

  clearMarks() {
    for (const node of this.nodes.values()) {
      showError(node.error, null);
      node.error.removeAttribute("role");
      node.card.classList.remove("has-error");
      for (const input of Object.values(node.fields)) input.removeAttribute("aria-invalid");
    }
    showError(this.inputError, null);
    showError(this.globalError, null);
    for (const input of this.inputFields.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  }

  applySummary(summary) {
    this.clearMarks();
    this.root.classList.remove("build-stale");
    const rows = new Map(summary.layers.map((r) => [r.path, r]));
    for (const [path, node] of this.nodes) {
      const r = rows.get(path);
      node.card.classList.toggle("stale", !r);
      if (!r) continue;
      node.inShape.textContent = fmt.shape(r.input_shape);
      node.shape.textContent = fmt.shape(r.output_shape);
      node.formula.replaceChildren(...r.formulas.map((f) => el("div", {}, "N", el("sub", {}, "out"), ` = ${f}`)));
      node.formula.hidden = !r.formulas.length;
      const frozen = r.params_frozen && !r.trainable ? " (frozen)" : r.params_frozen ? ` (${fmt.int(r.params_frozen)} frozen)` : "";
      if (!r.params && !r.block) node.params.replaceChildren(el("span", { class: "muted" }, "no parameters"));
      else if (r.param_formula) {
        node.params.replaceChildren(el("strong", {}, fmt.int(r.params)), ` parameters${frozen}: `,
          el("code", {}, r.param_formula));
      } else {
        node.params.replaceChildren(el("strong", {}, fmt.int(r.params)), ` parameters${frozen}${r.block ? " in this block" : ""}`);
      }
      const rf = r.receptive_field ? `receptive field ${r.receptive_field.join("×")}`
        + (r.receptive_field_note ? ` (${r.receptive_field_note})` : "") : "";
      node.extra.textContent = [rf, r.macs ? `${fmt.int(r.macs)} multiply-adds` : ""].filter(Boolean).join(" · ");
      const prefix = `${path}: `;
      const warnings = (r.warnings || []).map((w) => (w.startsWith(prefix) ? w.slice(prefix.length) : w));
      node.warning.textContent = warnings.join(" ");
      node.warning.hidden = !warnings.length;
    }
    const global = (summary.warnings || []).filter((w) => !summary.layers.some((r) => r.warnings && r.warnings.includes(w)));
    this.globalWarning.textContent = global.join(" ");
    this.globalWarning.hidden = !global.length;

    const t = summary.totals;
    this.totalParams.textContent = fmt.int(t.params);
    this.totalSplit.textContent = `trainable ${fmt.int(t.params_trainable)} · frozen ${fmt.int(t.params_frozen)}`;
    this.totalMacs.textContent = fmt.int(t.macs);
    this.totalActivations.textContent = fmt.bytes(t.activation_bytes);
    this.totalWeights.textContent = fmt.bytes(t.param_bytes);
    this.totalOutput.textContent = fmt.shape(summary.output);

    const info = this.presets.find((p) => p.name === this.store.state.preset);
    let note = "";
    if (summary.buildable === false) note = `${summary.why_not_buildable || "This network is too large to build here"}. Use it to study its shapes and parameter counts.`;
    else if (info && !info.trainable_on_cpu) note = "This full-size network can be built here, but training it on a CPU would take days: use it to study its shapes and parameter counts, or pick a small one to train.";
    this.buildableNote.textContent = note;
    this.buildableNote.hidden = !note;
    for (const button of this.root.querySelectorAll("[data-export]")) {
      button.disabled = summary.buildable === false;
      button.title = summary.buildable === false ? "too large to build on this server, so there are no weights to export; copy the spec from the JSON box" : "";
    }
  }

  applyErrors(error) {
    this.clearMarks();
    this.root.classList.add("build-stale");
    for (const node of this.nodes.values()) node.card.classList.add("stale");
    const details = error instanceof ApiError && Array.isArray(error.detail) ? error.detail : null;
    if (!details) { showError(this.globalError, error); return; }
    const unplaced = [];
    const byNode = new Map();
    for (const d of details) {
      const path = d.path || (d.loc ? d.loc.filter((x) => x !== "body").join(".") : "");
      if (path === "input" || path.startsWith("input")) {
        showError(this.inputError, { message: `input: ${d.message || d.msg}` });
        for (const input of this.inputFields.querySelectorAll("input")) input.setAttribute("aria-invalid", "true");
        continue;
      }
      // the nearest layer on the page: "layers[3].body" belongs to layers[3]
      let p = path;
      while (p && !this.nodes.has(p)) {
        const up = p.replace(/(\.[A-Za-z_]+|\[\d+\])$/, "");
        p = up === p ? "" : up;
      }
      const node = p ? this.nodes.get(p) : null;
      if (!node) { unplaced.push(d); continue; }
      if (!byNode.has(node)) byNode.set(node, []);
      byNode.get(node).push(d.message || d.msg);
      node.card.classList.add("has-error");
      node.card.classList.remove("stale");
      const input = d.field && node.fields[d.field];
      if (input) {
        input.setAttribute("aria-invalid", "true");
        if (node.details && node.details.contains(input)) node.details.open = true;
      }
    }
    for (const [node, messages] of byNode) showError(node.error, { message: messages.join(" ") });
    if (unplaced.length) showError(this.globalError, new ApiError(422, unplaced));
    this.status.textContent = "The numbers shown are from the last network that worked; fix the error to update them.";
  }
}

// Build: start from a preset or from nothing, edit the layers with forms built from the
// layer catalogue, and see beside every layer (live, as you type) its output shape with
// N_out = (N_in + 2P - K)/S + 1 filled in, its parameter count with its formula, its
// receptive field and any error or warning on it; and above the cards the whole network
// as a diagram or a table. This module wires the parts (views/build/) and owns the spec's
// edits and their validation by the server.

import { ApiError } from "../api.js";
import { finderOf, pathString, withLabels } from "../layer-label.js";
import { presetFor } from "../presets.js";
import { debounce, el, showError } from "../ui.js";
import { showErrors, showNumbers } from "./build/card-numbers.js";
import { FilesPanel } from "./build/files-panel.js";
import { parseNumber } from "./build/field-editor.js";
import { JsonPanel } from "./build/json-panel.js";
import { LayerCards } from "./build/layer-cards.js";
import { NetworkDiagram } from "./build/network-diagram.js";
import * as edits from "./build/spec-edits.js";
import { StartPanel } from "./build/start-panel.js";
import { TotalsPanel } from "./build/totals-panel.js";

const STALE = "The numbers shown are from the last network that worked; "
  + "fix the error to update them.";

// The same network, though perhaps another object (the same preset chosen again).
const sameSpec = (a, b) => a === b || JSON.stringify(a) === JSON.stringify(b);

export class BuildView {
  constructor(root, { store, api, session }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.catalogue = null; // type -> {type, doc, has_params, fields}
    this.emitted = undefined; // the last spec this view put in the store
    this.validateSeq = 0;
    this.lastSummary = null; // {spec, summary} of the last spec that worked
    this.lastError = null;
    this.selected = null; // the path of the layer being edited or looked at
    this.validateSoon = debounce(() => this.validate(), 250);

    this.start = new StartPanel({ onPreset: (name) => this.choosePreset(name),
      onNew: () => this.newNetwork(), onInput: (i, raw) => this.setInput(i, raw) });
    this.cards = new LayerCards({ onSelect: (path) => this.select(path), actions: {
      setField: (parts, field, value) => this.edit((s) => edits.setField(s, parts, field, value)),
      addLayer: (listParts, type) => this.addLayer(listParts, type),
      changeType: (parts, type) => this.changeType(parts, type),
      removeLayer: (parts) => this.removeLayer(parts),
      moveLayer: (parts, delta) => this.moveLayer(parts, delta),
      addBranch: (parts) => this.addBranch(parts),
      removeBranch: (parts, b) => this.edit((s) => edits.removeBranch(s, parts, b), true,
        { path: pathString(parts), selector: '[data-action="add-branch"]' }),
    } });
    this.diagram = new NetworkDiagram({ onPick: (path) => this.pick(path),
      onSelect: (path) => this.select(path),
      fieldsOf: (type) => (this.catalogue?.[type] ? this.catalogue[type].fields : []) });
    this.totals = new TotalsPanel();
    this.files = new FilesPanel({ api, network: () => session.network(),
      onImported: (net) => { session.adopt(net); store.set({ preset: null }); } });
    this.json = new JsonPanel({ onApply: (spec) => this.replaceSpec(spec) });
    root.append(this.start.element, this.diagram.element,
      el("div", { class: "build-grid" },
        el("div", { class: "build-main" }, this.cards.element),
        el("div", { class: "build-side" }, this.totals.element, this.files.element,
          this.json.element)));
    this.load();
  }

  async load() {
    try {
      const [layers, presets] = await Promise.all([this.api.layers(), this.api.presets()]);
      this.catalogue = Object.fromEntries(layers.map((l) => [l.type, l]));
      this.cards.setCatalogue(this.catalogue);
      this.start.setPresets(presets.presets, this.store.state.preset);
      this.pendingRebuild = true; // build the editor now that the forms can be made
      this.render(this.store.state, !this.root.hidden);
    } catch (e) {
      showError(this.cards.globalError, e);
    }
  }

  // ----------------------------------------------------------------- actions

  async choosePreset(name) {
    this.start.showPresetError(null);
    if (!name) { this.emit(this.store.state.spec); return; }
    try {
      const preset = await presetFor(this.api, name, this.store.state.dataset);
      this.store.set({ spec: preset.spec, preset: name });
    } catch (e) {
      this.start.showPresetError(e);
    }
  }

  newNetwork() {
    const current = this.store.state.spec;
    const input = current && Array.isArray(current.input) ? [...current.input] : [1, 28, 28];
    this.replaceSpec({ input, layers: [] });
    this.start.focusInput();
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
    this.json.show(spec, true);
    this.validate();
    if (focus) this.cards.focus(focus);
  }

  edit(mutate, structural, focus) {
    const spec = structuredClone(this.store.state.spec || { input: [1, 28, 28], layers: [] });
    if (!Array.isArray(spec.layers)) spec.layers = [];
    mutate(spec);
    if (structural) this.replaceSpec(spec, focus);
    else { this.emit(spec); this.json.show(spec); }
  }

  setInput(index, raw) {
    this.edit((spec) => {
      if (!Array.isArray(spec.input)) spec.input = [];
      const n = parseNumber(raw);
      spec.input[index] = n === undefined ? null : n;
    });
  }

  addLayer(listParts, type) {
    let index = 0;
    this.edit((spec) => {
      index = edits.appendLayer(spec, listParts, edits.newLayer(this.catalogue, type));
    }, true);
    this.cards.focusAdded(pathString([...listParts, index]));
  }

  changeType(parts, type) {
    this.edit((spec) => {
      const list = edits.getAt(spec, parts.slice(0, -1));
      const i = parts[parts.length - 1];
      list[i] = edits.newLayer(this.catalogue, type, list[i] || {});
    }, true, { path: pathString(parts), selector: "[data-layer-type]" });
  }

  removeLayer(parts) {
    const listParts = parts.slice(0, -1);
    const i = parts[parts.length - 1];
    let left = 0;
    this.edit((spec) => { left = edits.removeLayer(spec, parts); }, true);
    // focus what is now at that place, or the list's add button
    const next = left > i ? i : left - 1;
    if (next >= 0) {
      this.cards.focus({ path: pathString([...listParts, next]),
        selector: '[data-action="remove-layer"]' });
    } else this.cards.focusAdd(listParts);
  }

  moveLayer(parts, delta) {
    const listParts = parts.slice(0, -1);
    const i = parts[parts.length - 1];
    const j = i + delta;
    const list = edits.getAt(this.store.state.spec, listParts);
    if (!list || j < 0 || j >= list.length) return;
    this.edit((spec) => edits.swapLayers(spec, listParts, i, j), true);
    // keep focus on the same button of the moved layer (or its other one at the ends)
    const action = delta < 0 ? "move-up" : "move-down";
    this.cards.focus({ path: pathString([...listParts, j]),
      selector: `[data-action="${action}"]` });
  }

  addBranch(parts) {
    let n = 0;
    this.edit((spec) => { n = edits.addBranch(spec, parts); }, true);
    this.cards.focusAdd([...parts, "branches", n - 1]);
  }

  // A block of the diagram or a row of the table: its card, focused.
  pick(path) {
    if (path === "input") { this.start.focusInput(); return; }
    this.cards.focusCard(path);
    this.select(path);
  }

  select(path) {
    if (path === this.selected) return;
    this.selected = path;
    this.cards.markSelected(path);
    this.diagram.select(path);
  }

  // -------------------------------------------------------------- validation

  async validate() {
    const spec = this.store.state.spec;
    if (!spec) return;
    const seq = ++this.validateSeq;
    this.totals.say("checking…");
    try {
      const summary = await this.api.validate(spec);
      if (seq !== this.validateSeq) return;
      // errors come back inline (200 with {valid: false, errors}), which keeps the
      // browser console free of "Failed to load resource: 422"
      if (summary && summary.valid === false && Array.isArray(summary.errors)) {
        throw new ApiError(422, summary.errors, summary.errors);
      }
      this.lastSummary = { spec, summary };
      this.lastError = null;
      this.totals.say("");
      this.applySummary();
      this.store.set({ summary });
    } catch (e) {
      if (seq !== this.validateSeq) return;
      this.totals.say("");
      this.lastError = { spec, error: e };
      this.applyErrors(e);
      this.store.set({ summary: null });
    }
  }

  applySummary() {
    const { spec, summary } = this.lastSummary;
    showNumbers(this.cards.nodes, summary);
    this.start.markInput(null);
    showError(this.cards.globalError, null);
    this.root.classList.remove("build-stale");
    const onLayers = new Set(summary.layers.flatMap((r) => r.warnings || []));
    const find = finderOf(spec);
    const global = (summary.warnings || []).filter((w) => !onLayers.has(w))
      .map((w) => withLabels(w, find));
    this.cards.globalWarning.textContent = global.join(" ");
    this.cards.globalWarning.hidden = !global.length;
    this.totals.show(summary);
    this.start.showBuildable(summary, this.store.state.preset);
    this.files.setBuildable(summary.buildable !== false);
    this.diagram.show(spec, summary);
  }

  applyErrors(error) {
    this.root.classList.add("build-stale");
    this.start.markInput(null);
    showError(this.cards.globalError, null);
    const details = error instanceof ApiError && error.errors.length ? error.errors : null;
    if (!details) {
      showErrors(this.cards.nodes, []);
      showError(this.cards.globalError, error);
      this.diagram.showErrors(new Map(), []);
      return;
    }
    // a spec's problem names its layer path; a request field's, its loc
    const where = (d) => (d.loc ? d.loc.filter((x) => x !== "body").join(".") : d.path || "");
    const onInput = details.filter((d) => where(d).startsWith("input"));
    if (onInput.length) {
      const message = onInput.map((d) => `input: ${d.message || d.msg}`).join(" ");
      this.start.markInput({ message });
    }
    const onLayers = details.filter((d) => !where(d).startsWith("input"))
      .map((d) => ({ ...d, path: where(d) }));
    const { failed, unplaced } = showErrors(this.cards.nodes, onLayers);
    const find = finderOf(this.store.state.spec);
    if (unplaced.length) {
      const at = (d) => (d.path ? `${d.path}${d.field ? `.${d.field}` : ""}: ` : "");
      const message = unplaced.map((d) => `${at(d)}${d.message || d.msg}`).join("; ");
      showError(this.cards.globalError, { message: withLabels(message, find) });
    }
    const names = [...failed.keys()].map((p) => withLabels(p, find));
    this.diagram.showErrors(failed, names);
    this.totals.say(STALE);
  }

  // ------------------------------------------------------------------ render

  render(state, visible) {
    if (this.start.presets.length) this.start.showPreset(state.preset);
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
      this.json.show(state.spec, true);
    }
  }

  rebuild(spec) {
    this.pendingRebuild = false;
    this.json.clearError();
    this.start.renderInput(spec);
    this.cards.render(spec);
    this.cards.markSelected(this.selected);
    // the numbers of another spec (the preset before, the layer list before a move) would
    // sit on the wrong cards: the new cards wait for their own, a moment away
    if (this.lastSummary && sameSpec(this.lastSummary.spec, spec)) this.applySummary();
    if (this.lastError && sameSpec(this.lastError.spec, spec)) {
      this.applyErrors(this.lastError.error);
    }
  }
}

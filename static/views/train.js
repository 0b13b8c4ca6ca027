// The Train view: settings (built from the server's definitions, in train/settings.js), with
// a preview of what augmentation does to a few images (train/augment-preview.js); start,
// pause, resume and stop a run, with its facts (train/facts.js); live loss and accuracy
// curves of several runs overlaid (train/curves.js); every run of the session's networks
// compared in a table, which also chooses the runs on the charts (train/run-table.js); the
// weights of one run or two side by side, at the start and after each epoch
// (train/weights-panel.js); at the end the run's confusion matrix and wrong answers
// (train/results.js). Which runs to show and their events come from runs.js; this view
// wires its parts to them.

import { labelRuns } from "../runlabels.js";
import { ACTIVE, RESUMABLE } from "../runs.js";
import { Store } from "../store.js";
import { el, showError } from "../ui.js";
import { misfit } from "./data.js";
import { AugmentPreview } from "./train/augment-preview.js";
import { TrainingCurves } from "./train/curves.js";
import { RunFacts } from "./train/facts.js";
import { RunResults } from "./train/results.js";
import { RunTable } from "./train/run-table.js";
import { TrainSettings } from "./train/settings.js";
import { WeightsPanel } from "./train/weights-panel.js";

// Every dropout layer of a spec (into residual bodies, shortcuts and concat branches).
export function dropoutLayers(layers, out = []) {
  for (const layer of layers || []) {
    if (!layer) continue;
    if (layer.type === "dropout") out.push(layer);
    if (layer.type === "residual") { dropoutLayers(layer.body, out); dropoutLayers(layer.shortcut, out); }
    if (layer.type === "concat") for (const branch of layer.branches || []) dropoutLayers(branch, out);
  }
  return out;
}
const pOf = (layer) => (layer.p === undefined || layer.p === null ? 0.5 : layer.p);

export class TrainView {
  constructor(root, { store, api, session, runs }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.session = session;
    this.runs = runs;
    this.datasets = null;
    this.lastSpec = undefined;
    const linked = Store.parseHash(location.hash);
    this.dropoutFromLink = !!(linked.hyper && "dropout" in linked.hyper);
    this.starting = false;

    const settingsPanel = el("section", { class: "panel train-settings", "aria-labelledby": "train-settings-h" });
    this.settings = new TrainSettings(settingsPanel, store);
    this.settings.onValidity = () => this.renderButtons();
    this.settings.onEdit = (name) => { if (name.startsWith("augment.")) this.renderPreview(this.store.state); };
    this.facts = new RunFacts();
    this.curves = new TrainingCurves();
    this.results = new RunResults(api);
    this.preview = new AugmentPreview(api);
    this.table = new RunTable({ onToggle: (id, shown) => this.toggleRun(id, shown) });
    this.weights = new WeightsPanel(api);

    const button = (action, text, onclick, extra = {}) =>
      el("button", { type: "button", "data-action": action, disabled: true, onclick, ...extra }, text);
    this.startButton = button("start-run", "Start training", () => this.start(), { class: "primary" });
    this.pauseButton = button("pause-run", "Pause", () => this.control("pauseRun"));
    this.resumeButton = button("resume-run", "Resume", () => this.control("resumeRun"));
    this.stopButton = button("stop-run", "Stop", () => this.control("stopRun"));
    this.fresh = el("input", { type: "checkbox", id: "train-fresh", checked: true, "data-fresh-weights": true });
    this.startBlocked = el("p", { class: "error", "data-start-blocked": true, hidden: true });
    this.runError = el("p", { class: "error", "data-run-error": true, hidden: true });
    this.fitWarning = el("p", { class: "warning", "data-fit-warning": true, hidden: true });
    this.clearButton = el("button", { type: "button", "data-action": "clear-charts", onclick: () => this.clear() },
      "Clear the charts");

    root.append(el("div", { class: "train-layout" },
      settingsPanel,
      el("div", { class: "train-main" },
        el("section", { class: "panel run-panel", "aria-labelledby": "train-run-h", "data-run-panel": true },
          el("h2", { id: "train-run-h", text: "Run" }),
          el("div", { class: "row run-buttons" }, this.startButton, this.pauseButton, this.resumeButton,
            this.stopButton,
            el("span", { class: "check" }, this.fresh, el("label", { for: "train-fresh", text: "start from fresh weights" }))),
          this.startBlocked, this.runError, this.fitWarning, this.facts.root),
        el("section", { class: "panel", "aria-labelledby": "train-curves-h" },
          el("div", { class: "row curves-head" }, el("h2", { id: "train-curves-h", text: "Training curves" }),
            this.clearButton),
          el("p", { class: "muted", text: "Each run has its own colour; the key under each chart says which line is "
            + "which. If validation loss rises while training loss falls, the network is overfitting." }),
          this.curves.root),
        el("section", { class: "panel", "aria-labelledby": "train-compare-h", "data-train-compare": true },
          el("h2", { id: "train-compare-h", text: "Runs compared" }), this.table.root),
        el("section", { class: "panel", "aria-labelledby": "train-weights-h", "data-train-weights": true },
          el("h2", { id: "train-weights-h", text: "Weights: at the start and now" }),
          el("p", { class: "muted", text: "Each layer's weights, counted in small bins from negative to "
            + "positive. An L2 penalty shrinks every weight in proportion to its size: the hill narrows. An L1 "
            + "penalty pulls every weight toward 0 by the same amount: many end at 0 and a spike grows there. "
            + "(Each step overshoots 0 a little, so those weights hover within a hair of it: 'at 0' counts "
            + "the weights closer than 0.001.)" }),
          this.weights.root),
        el("section", { class: "panel", "aria-labelledby": "train-results-h" },
          el("h2", { id: "train-results-h", text: "Where it goes wrong" }), this.results.root))));

    runs.addEventListener("active", (e) => this.showActive(e.detail.run));
    runs.addEventListener("event", (e) => this.onEvent(e.detail.run, e.detail.event));
    runs.addEventListener("status", (e) => this.onStatus(e.detail.run));
    runs.addEventListener("end", (e) => this.finish(e.detail.run));
    runs.addEventListener("redraw", (e) => this.redraw(e.detail.run));
    runs.addEventListener("hidden", (e) => this.curves.removeRun(e.detail.run));
    runs.addEventListener("labels", (e) => { this.curves.label(e.detail.runs); this.renderRuns(); });
    runs.addEventListener("known", () => this.renderRuns());
    runs.addEventListener("problem", (e) => {
      if (e.detail.run === runs.active) showError(this.runError, e.detail.message ? { message: e.detail.message } : null);
    });
    this.ready = this.settings.load(api).then(() => {
      const group = this.settings.group("Augmentation");
      if (group) group.append(this.preview.root);
      this.render(this.store.state, !this.root.hidden);
    });
    this.loadDatasets();
  }

  async loadDatasets() {
    try {
      this.datasets = await this.api.datasets();
    } catch {
      this.datasets = this.datasets || [];
    }
    this.render(this.store.state, !this.root.hidden);
    const run = this.runs.active;
    if (run && run.finished) this.showResults(run); // with its class names, now known
  }

  datasetInfo(name) {
    return (this.datasets || []).find((d) => d.name === name) || null;
  }

  dataset(state) {
    const found = this.datasetInfo(state.dataset);
    if (!found && this.datasets && !this.refetching && this.missing !== state.dataset) {
      // maybe uploaded since we looked
      this.missing = state.dataset;
      this.refetching = true;
      this.api.datasets().then((d) => { this.datasets = d; }).catch(() => {}).finally(() => {
        this.refetching = false;
        if (this.datasetInfo(state.dataset)) this.render(this.store.state, !this.root.hidden);
      });
    }
    return found;
  }

  datasetTitle(name) {
    const ds = this.datasetInfo(name);
    return ds ? ds.title || ds.name : name;
  }

  digits(state) {
    const ds = this.dataset(state);
    return Boolean(ds && ds.kind === "digits");
  }

  // ---- rendering -------------------------------------------------------------------------
  render(state, visible) {
    this.mirrorDropout(state);
    if (!visible) return;
    const ds = this.dataset(state);
    this.settings.render(state, { digits: this.digits(state) });
    this.renderPreview(state);
    this.renderDropoutNote(state);
    const problems = misfit(state.spec, ds);
    this.fitWarning.hidden = !problems.length;
    this.fitWarning.textContent = problems.length
      ? `This network does not fit ${ds.title || ds.name}: ${problems.join("; ")}. Adapt it in the Data view.` : "";
    this.renderButtons();
  }

  // The augmentation settings as they stand (as typed, once valid), drawn on a few images.
  renderPreview(state) {
    if (!this.settings.options || this.root.hidden || !this.datasets) return;
    const digits = this.digits(state);
    const augment = {};
    for (const name of ["shift", "noise", "flip", "crop"]) {
      const v = this.settings.current(state, `augment.${name}`);
      if (v && !(name === "flip" && digits)) augment[name] = v;
    }
    this.preview.show({ dataset: state.dataset, augment });
  }

  // The comparison table and the weights panel, over every run the page knows.
  renderRuns() {
    const { runs } = this;
    const known = runs.known.map((r) => ({ ...r, ...runs.identity(r.id), networkId: r.network_id,
      config: r.config || {} }));
    const labels = labelRuns(known);
    known.forEach((r, i) => { r.label = labels[i]; });
    const onCharts = new Set(runs.records.map((r) => r.id));
    const fixed = runs.active && !runs.active.finished ? runs.active.id : null;
    this.table.render(known, { onCharts, fixed });
    this.weights.setRuns(known, runs.active ? runs.active.id : null);
  }

  async toggleRun(id, shown) {
    if (shown) await this.runs.show(id);
    else this.runs.hide(id);
    this.renderRuns();
  }

  // When another view changes the spec, the dropout setting shows the spec's own p.
  mirrorDropout(state) {
    if (state.spec === this.lastSpec) return;
    const first = this.lastSpec === undefined;
    this.lastSpec = state.spec;
    if (!state.spec || (first && this.dropoutFromLink)) return;
    const ps = [...new Set(dropoutLayers(state.spec.layers).map(pOf))];
    if (ps.length === 1 && ps[0] !== state.hyper.dropout) {
      queueMicrotask(() => this.store.set({ hyper: { ...this.store.state.hyper, dropout: ps[0] } }));
    }
  }

  renderDropoutNote(state) {
    const note = this.settings.noteOf("dropout");
    if (!note) return;
    const layers = state.spec ? dropoutLayers(state.spec.layers) : [];
    const p = state.hyper.dropout || 0;
    if (!layers.length) {
      note.textContent = "this network has no dropout layer, so this does nothing; add one in the Build view";
      return;
    }
    const now = [...new Set(layers.map(pOf))];
    const n = `${layers.length} dropout layer${layers.length > 1 ? "s" : ""}`;
    note.textContent = now.length === 1 && now[0] === p
      ? `used by the network's ${n}${p === 0 ? " (0: off)" : ""}`
      : `Start sets p = ${p} on the network's ${n} (now ${now.join(", ")})`;
  }

  // Start waits for the settings to load and for every field to hold a valid value.
  renderButtons() {
    const status = this.runs.active ? this.runs.active.status : null;
    const busy = ACTIVE.includes(status);
    const invalid = this.settings.invalidLabels();
    this.startButton.disabled = busy || this.starting || !this.settings.options || invalid.length > 0;
    this.startBlocked.hidden = !invalid.length;
    this.startBlocked.textContent = invalid.length
      ? `Start waits for valid settings: fix ${invalid.join(", ")} (marked in red).` : "";
    this.pauseButton.disabled = status !== "running";
    this.resumeButton.disabled = !RESUMABLE.includes(status);
    this.stopButton.disabled = !busy;
  }

  // ---- running -----------------------------------------------------------------------------
  // Start as a click on Start would, once the settings have loaded: the welcome's "Train it"
  // can come before the server's options do, when the button is still disabled.
  async startWhenReady() {
    await this.ready;
    this.renderButtons();
    if (!this.startButton.disabled) await this.start();
  }

  async start() {
    if (this.settings.invalidLabels().length || !this.settings.options) return; // refused, as the button says
    showError(this.runError, null);
    const before = this.facts.message.textContent;
    this.starting = true;
    this.renderButtons();
    try {
      let state = this.store.state;
      if (!state.spec) throw new Error("there is no network yet: build one in the Build view");
      // dropout is part of the network, not of the run: set p on its dropout layers first
      const p = state.hyper.dropout || 0;
      if (dropoutLayers(state.spec.layers).some((l) => pOf(l) !== p)) {
        const spec = structuredClone(state.spec);
        for (const l of dropoutLayers(spec.layers)) l.p = p;
        this.store.set({ spec });
        state = this.store.state;
      }
      this.facts.say("building the network…");
      const networkId = await this.session.network();
      if (this.fresh.checked && this.runs.trained.has(networkId)) {
        this.facts.say("drawing fresh weights…");
        await this.api.reinit(networkId, { seed: state.seed });
      }
      const run = await this.runs.start(networkId, this.settings.payload(state, { digits: this.digits(state) }));
      this.facts.say(`${run.name} (${run.label}) started on ${this.datasetTitle(run.dataset)}`);
    } catch (e) {
      this.facts.say(before);
      showError(this.runError, this.explain(e));
      if (e.status === 409) this.runs.look(); // training already, from another tab: show that run
    } finally {
      this.starting = false;
      this.renderButtons();
    }
  }

  explain(e) {
    if (e.status === 409) return { message: `cannot start: ${e.message}` };
    if (e.status === 422) {
      const adapt = /input|classes|out_features/.test(e.message) ? " (the Data view can adapt the network)" : "";
      return { message: `cannot start: ${e.message}${adapt}` };
    }
    if (e.status === 413) return { message: `too big for this server: ${e.message}` };
    return e;
  }

  async control(action) {
    const run = this.runs.active;
    if (!run) return;
    showError(this.runError, null);
    try {
      await this.runs.control(action);
      if (action === "stopRun" && !run.finished) this.facts.status.textContent = "stopping…";
    } catch (e) {
      showError(this.runError, e);
    }
  }

  // ---- what the runs module reports ----------------------------------------------------------
  // Another run is now the one the buttons control: its facts replace the last one's.
  showActive(run) {
    showError(this.runError, run.problem ? { message: run.problem } : null);
    this.facts.reset();
    this.results.waiting();
    this.facts.say(`${run.name} (${run.label}) on ${this.datasetTitle(run.dataset)}`);
    this.onStatus(run);
  }

  onStatus(run) {
    if (run !== this.runs.active) return;
    this.facts.showStatus(run);
    this.renderButtons();
  }

  redraw(run) {
    this.curves.removeRun(run);
    if (run === this.runs.active) this.showActive(run);
  }

  onEvent(run, ev) {
    if (ev.type === "weights") {
      this.weights.take(run, ev);
      return;
    }
    this.curves.take(run, ev);
    if (run !== this.runs.active) return;
    if (ev.type === "batch") this.facts.showBatch(run, ev);
    else if (ev.type === "epoch") this.facts.showEpoch(ev);
    else if (ev.type === "status" && ev.message) this.facts.say(`${run.name}: ${ev.message}.`); // e.g. resumed
  }

  finish(run) {
    if (run !== this.runs.active) return;
    this.facts.finish(run, (this.datasetInfo(run.dataset) || {}).test_size);
    if (run.status === "failed") showError(this.runError, { message: `the run failed: ${run.message || "no reason given"}` });
    else if (run.status === "diverged") showError(this.runError, { message: `the run diverged: ${run.message}` });
    this.showResults(run);
  }

  showResults(run) {
    const classNames = (this.datasetInfo(run.dataset) || {}).class_names;
    this.results.show(run, classNames, () => run === this.runs.active);
  }

  clear() {
    this.curves.clear();
    this.runs.clear();
  }
}

// The Train view: optimizer, learning rate, regularization (L1, L2, dropout) and
// augmentation settings; start, pause, resume and stop a run; live loss and
// accuracy curves of several runs overlaid; at the end a confusion matrix and the
// most-confused validation examples. Which runs to show and their events come from
// runs.js; this view draws them.

import { LineChart } from "../chart.js";
import { ACTIVE, RESUMABLE } from "../runs.js";
import { Store } from "../store.js";
import { el, fmt, showError } from "../ui.js";
import { confusionTable, mostConfusedList } from "./confusion.js";
import { misfit } from "./data.js";

// What RunCreate (app/schemas.py) accepts from the hyperparameters; nothing else is sent.
const RUN_FIELDS = ["epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "l1", "schedule", "validation", "max_train"];

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

// LineChart, plus a dot on every point of the per-epoch series (dashed ones): with
// one epoch they have a single point, which a line alone would not show.
class EpochChart extends LineChart {
  draw() {
    super.draw();
    const ctx = this.canvas.getContext("2d");
    const W = this.canvas.width, H = this.canvas.height, L = 48, R = 10, T = 10, B = 32; // as LineChart lays out
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of this.series.values()) for (const [x, y] of s.points) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    if (!Number.isFinite(x0)) return;
    if (this.opts.yMin !== null) y0 = this.opts.yMin;
    if (this.opts.yMax !== null) y1 = this.opts.yMax;
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) y1 = y0 + 1;
    const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const py = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
    ctx.setLineDash([]);
    for (const s of this.series.values()) {
      if (!s.dash.length) continue;
      const open = s.dash[0] > 3; // validation: hollow; epoch mean: filled
      for (const [x, y] of s.points) {
        ctx.beginPath();
        ctx.arc(px(x), py(y), 4, 0, 2 * Math.PI);
        ctx.fillStyle = open ? "#fff" : s.colour;
        ctx.fill();
        ctx.strokeStyle = s.colour; ctx.lineWidth = 2;
        ctx.stroke();
      }
    }
  }
}

function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 1) return "under a second";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// The settings, each with how to read, check and show it.
// path: where it lives in state.hyper ("augment.shift"), or "seed" for state.seed.
const FIELDS = [
  { group: "Optimizer", path: "optimizer", label: "Optimizer", kind: "select", options: [["sgd", "SGD (with momentum)"], ["adam", "Adam"], ["rmsprop", "RMSprop"], ["adagrad", "Adagrad"]] },
  { group: "Optimizer", path: "lr", label: "Learning rate", kind: "float", min: 0, max: 10, exclusiveMin: true, step: "any" },
  { group: "Optimizer", path: "momentum", label: "Momentum", kind: "float", min: 0, max: 1, exclusiveMax: true, step: 0.05,
    note: (s) => (["sgd", "rmsprop"].includes(s.hyper.optimizer) ? "" : `${s.hyper.optimizer} does not use momentum`) },
  { group: "Optimizer", path: "schedule", label: "Learning-rate schedule", kind: "select", options: [["constant", "constant"], ["step", "step (× gamma every few epochs)"], ["cosine", "cosine (down to 0)"]] },
  { group: "Optimizer", path: "step_size", label: "Step every (epochs)", kind: "int", min: 1, max: 10000, default: 1, when: (s) => s.hyper.schedule === "step" },
  { group: "Optimizer", path: "gamma", label: "Multiply by (gamma)", kind: "float", min: 0, max: 1, step: 0.05, default: 0.1, when: (s) => s.hyper.schedule === "step" },
  { group: "Data", path: "batch_size", label: "Batch size", kind: "int", min: 1, max: 1024 },
  { group: "Data", path: "epochs", label: "Epochs", kind: "int", min: 1, max: 500 },
  { group: "Data", path: "max_train", label: "Training examples to use", kind: "int", min: 2, optional: true, placeholder: "all",
    note: () => "blank: all; fewer is quicker" },
  { group: "Data", path: "validation", label: "Validation fraction", kind: "float", min: 0, max: 1, exclusiveMax: true, step: 0.05,
    note: () => "kept aside to measure generalization" },
  { group: "Data", path: "seed", label: "Seed", kind: "int", min: 0, max: 2 ** 32 - 1, note: () => "same seed, same weights and run" },
  { group: "Regularization", path: "l1", label: "L1 penalty", kind: "float", min: 0, max: 10, step: "any" },
  { group: "Regularization", path: "weight_decay", label: "L2 penalty (weight decay)", kind: "float", min: 0, max: 10, step: "any" },
  { group: "Regularization", path: "dropout", label: "Dropout p", kind: "float", min: 0, max: 1, exclusiveMax: true, step: 0.05, hook: "dropout-note" },
  { group: "Augmentation", path: "augment.shift", label: "Shift (pixels)", kind: "int", min: 0, max: 16 },
  { group: "Augmentation", path: "augment.noise", label: "Noise (std, 0..1)", kind: "float", min: 0, max: 1, step: 0.01 },
  { group: "Augmentation", path: "augment.flip", label: "Flip left-right", kind: "bool", hook: "flip-note" },
];

function read(state, path) {
  if (path === "seed") return state.seed;
  const [a, b] = path.split(".");
  const v = state.hyper ? state.hyper[a] : undefined;
  return b ? (v || {})[b] : v;
}

// A run's curves, by name: three on each chart (mini-batches, epoch means, validation).
const curve = (run, what) => `${run.label} ${what}`;

export class TrainView {
  constructor(root, { store, api, session, runs }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.session = session;
    this.runs = runs;
    this.datasets = null;
    this.epochAcc = { epoch: null, values: [] }; // the active run's accuracies in its current epoch
    this.lastSpec = undefined;
    const linked = Store.parseHash(location.hash);
    this.dropoutFromLink = !!(linked.hyper && "dropout" in linked.hyper);
    this.starting = false;

    // ---- settings
    this.inputs = new Map();
    const groups = new Map();
    for (const f of FIELDS) {
      const id = `train-${f.path.replace(".", "-")}`;
      let input;
      if (f.kind === "select") {
        input = el("select", { id }, ...f.options.map(([v, t]) => el("option", { value: v }, t)));
      } else if (f.kind === "bool") {
        input = el("input", { id, type: "checkbox" });
      } else {
        input = el("input", { id, type: "number", inputmode: f.kind === "int" ? "numeric" : "decimal", min: f.min, max: f.max,
          step: f.step ?? (f.kind === "int" ? 1 : "any"), placeholder: f.placeholder });
      }
      input.setAttribute("data-hyper", f.path);
      const error = el("span", { class: "error field-error", hidden: true });
      const note = el("span", { class: "muted field-note" });
      if (f.hook) note.setAttribute(`data-${f.hook}`, "");
      input.addEventListener("change", () => this.changed(f, input, error));
      const row = el("div", { class: `field field-${f.kind}` },
        f.kind === "bool" ? el("span", { class: "check" }, input, el("label", { for: id, text: f.label })) : el("label", { for: id, text: f.label }),
        f.kind === "bool" ? null : input, note, error);
      this.inputs.set(f.path, { field: f, input, error, note, row });
      // data-train-regularization and so on: a lesson's widget can open the view at its group
      if (!groups.has(f.group)) {
        groups.set(f.group, el("fieldset", { class: "train-group", [`data-train-${f.group.toLowerCase()}`]: "" }, el("legend", { text: f.group })));
      }
      groups.get(f.group).append(row);
    }

    // ---- run controls
    this.startButton = el("button", { type: "button", class: "primary", "data-action": "start-run", onclick: () => this.start() }, "Start training");
    this.pauseButton = el("button", { type: "button", "data-action": "pause-run", disabled: true, onclick: () => this.control("pauseRun") }, "Pause");
    this.resumeButton = el("button", { type: "button", "data-action": "resume-run", disabled: true, onclick: () => this.control("resumeRun") }, "Resume");
    this.stopButton = el("button", { type: "button", "data-action": "stop-run", disabled: true, onclick: () => this.control("stopRun") }, "Stop");
    this.fresh = el("input", { type: "checkbox", id: "train-fresh", checked: true, "data-fresh-weights": true });
    this.runError = el("p", { class: "error", "data-run-error": true, hidden: true });
    this.fitWarning = el("p", { class: "warning", "data-fit-warning": true, hidden: true });
    this.status = el("span", { class: "run-status", "data-run-status": true, text: "not started" });
    this.speed = el("span", { "data-run-speed": true, text: "–" });
    this.eta = el("span", { "data-run-eta": true, text: "–" });
    this.epochText = el("span", { "data-run-epoch": true, text: "–" });
    this.progress = el("progress", { max: 1, value: 0, "data-run-progress": true, "aria-label": "Training progress" });
    this.trainAcc = el("strong", { "data-train-accuracy": true, text: "–" });
    this.valAcc = el("strong", { "data-val-accuracy": true, text: "–" });
    this.message = el("p", { class: "muted", "data-run-message": true, "aria-live": "polite" });

    // ---- charts
    this.chartBoxes = {
      loss: el("div", { class: "chart-box", "data-chart": "loss" }),
      accuracy: el("div", { class: "chart-box", "data-chart": "accuracy" }),
    };
    this.lossChart = new EpochChart(this.chartBoxes.loss, { title: "Loss (lower is better)", xLabel: "step (mini-batches)", yLabel: "loss", yMin: 0 });
    this.accChart = new EpochChart(this.chartBoxes.accuracy, { title: "Accuracy", xLabel: "step (mini-batches)", yLabel: "accuracy", yMin: 0, yMax: 1 });
    this.clearButton = el("button", { type: "button", "data-action": "clear-charts", onclick: () => this.clear() }, "Clear the charts");

    // ---- results
    this.resultTitle = el("p", { class: "muted", "data-run-result": true, text: "When a run ends, its confusion matrix on the validation examples appears here." });
    this.confusion = el("div", { "data-confusion": true });
    this.confused = el("div", { "data-most-confused": true });

    root.append(el("div", { class: "train-layout" },
      el("section", { class: "panel train-settings", "aria-labelledby": "train-settings-h" },
        el("h2", { id: "train-settings-h", text: "Settings" }), ...groups.values()),
      el("div", { class: "train-main" },
        el("section", { class: "panel run-panel", "aria-labelledby": "train-run-h", "data-run-panel": true },
          el("h2", { id: "train-run-h", text: "Run" }),
          el("div", { class: "row run-buttons" }, this.startButton, this.pauseButton, this.resumeButton, this.stopButton,
            el("span", { class: "check" }, this.fresh, el("label", { for: "train-fresh", text: "start from fresh weights" }))),
          this.runError, this.fitWarning,
          el("dl", { class: "run-facts" },
            el("dt", { text: "Status" }), el("dd", {}, this.status),
            el("dt", { text: "Epoch" }), el("dd", {}, this.epochText, " ", this.progress),
            el("dt", { text: "Speed" }), el("dd", {}, this.speed),
            el("dt", { text: "Time left" }), el("dd", {}, this.eta),
            el("dt", { text: "Training accuracy" }), el("dd", {}, this.trainAcc, el("span", { class: "muted", text: " (mean over this epoch's mini-batches, while the weights were still changing)" })),
            el("dt", { text: "Validation accuracy" }), el("dd", {}, this.valAcc, el("span", { class: "muted", text: " (examples not trained on)" }))),
          this.message),
        el("section", { class: "panel", "aria-labelledby": "train-curves-h" },
          el("div", { class: "row curves-head" }, el("h2", { id: "train-curves-h", text: "Training curves" }), this.clearButton),
          el("p", { class: "muted", text: "Solid line: each training mini-batch; filled dots (dotted line): the mean over a training epoch; hollow dots (dashed line): the validation examples after each epoch. Each run has its own colour. If validation loss rises while training loss falls, the network is overfitting." }),
          el("div", { class: "grid2" }, this.chartBoxes.loss, this.chartBoxes.accuracy)),
        el("section", { class: "panel", "aria-labelledby": "train-results-h" },
          el("h2", { id: "train-results-h", text: "Where it goes wrong" }),
          this.resultTitle,
          this.results = el("div", { class: "results", hidden: true },
            el("div", {}, el("h3", { text: "Confusion matrix (validation)" }), this.confusion),
            el("div", {}, el("h3", { text: "Most confidently wrong" }), this.confused))))));

    runs.addEventListener("active", (e) => this.showActive(e.detail.run));
    runs.addEventListener("event", (e) => this.onEvent(e.detail.run, e.detail.event));
    runs.addEventListener("status", (e) => this.onStatus(e.detail.run));
    runs.addEventListener("end", (e) => this.finish(e.detail.run, e.detail.final));
    runs.addEventListener("redraw", (e) => this.redraw(e.detail.run));
    runs.addEventListener("problem", (e) => {
      if (e.detail.run === runs.active) showError(this.runError, e.detail.message ? { message: e.detail.message } : null);
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
    const found = (this.datasets || []).find((d) => d.name === state.dataset);
    if (!found && this.datasets && !this.refetching && this.missing !== state.dataset) {
      // maybe uploaded since we looked
      this.missing = state.dataset;
      this.refetching = true;
      this.api.datasets().then((d) => { this.datasets = d; }).catch(() => {}).finally(() => {
        this.refetching = false;
        if ((this.datasets || []).some((d) => d.name === state.dataset)) this.render(this.store.state, !this.root.hidden);
      });
    }
    return found || null;
  }

  // ---- settings -------------------------------------------------------------------
  changed(f, input, error) {
    showError(error, null);
    let value;
    if (f.kind === "select") value = input.value;
    else if (f.kind === "bool") value = input.checked;
    else {
      const text = input.value.trim();
      if (text === "" && f.optional) value = null;
      else {
        value = Number(text);
        const bad = text === "" || !Number.isFinite(value) || (f.kind === "int" && !Number.isInteger(value))
          || (f.exclusiveMin ? value <= f.min : value < f.min) || (f.max !== undefined && (f.exclusiveMax ? value >= f.max : value > f.max));
        if (bad) {
          const range = `${f.exclusiveMin ? "above" : "at least"} ${f.min}${f.max !== undefined ? ` and ${f.exclusiveMax ? "below" : "at most"} ${f.max}` : ""}`;
          showError(error, { message: `${f.label} must be ${f.kind === "int" ? "a whole number" : "a number"} ${range}` });
          return;
        }
      }
    }
    if (f.path === "seed") {
      this.store.set({ seed: value });
      return;
    }
    const hyper = { ...this.store.state.hyper };
    const [a, b] = f.path.split(".");
    if (b) hyper[a] = { ...(hyper[a] || {}), [b]: value };
    else hyper[a] = value;
    this.store.set({ hyper });
  }

  render(state, visible) {
    this.mirrorDropout(state);
    if (!visible) return;
    const ds = this.dataset(state);
    const digits = ds && ds.kind === "digits";
    for (const { field: f, input, note, row } of this.inputs.values()) {
      row.hidden = f.when ? !f.when(state) : false;
      let v = read(state, f.path);
      if (v === undefined) v = f.default;
      if (document.activeElement !== input) {
        if (f.kind === "bool") input.checked = !!v && !(f.path === "augment.flip" && digits);
        else input.value = v === null || v === undefined ? "" : String(v);
      }
      if (f.note) note.textContent = f.note(state);
    }
    // flip turns a 2 into something that is not a digit: the server refuses it for digit datasets
    const flip = this.inputs.get("augment.flip");
    flip.input.disabled = !!digits;
    flip.note.textContent = digits ? "not for digits: a flipped digit is not the same digit" : "";
    this.renderDropoutNote(state);
    const problems = misfit(state.spec, ds);
    this.fitWarning.hidden = !problems.length;
    this.fitWarning.textContent = problems.length ? `This network does not fit ${ds.title || ds.name}: ${problems.join("; ")}. Adapt it in the Data view.` : "";
    this.renderButtons();
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
    const note = this.inputs.get("dropout").note;
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

  renderButtons() {
    const status = this.runs.active ? this.runs.active.status : null;
    const busy = ACTIVE.includes(status);
    this.startButton.disabled = busy || this.starting;
    this.pauseButton.disabled = status !== "running";
    this.resumeButton.disabled = !RESUMABLE.includes(status);
    this.stopButton.disabled = !busy;
  }

  // ---- running ------------------------------------------------------------------------
  payload(state) {
    const h = state.hyper;
    const body = { dataset: state.dataset, seed: state.seed };
    for (const k of RUN_FIELDS) if (h[k] !== undefined && h[k] !== null) body[k] = h[k];
    if (h.schedule === "step") {
      if (h.step_size) body.step_size = h.step_size;
      if (h.gamma !== undefined && h.gamma !== null) body.gamma = h.gamma;
    }
    const ds = this.dataset(state);
    const a = h.augment || {};
    const augment = {};
    if (a.shift) augment.shift = a.shift;
    if (a.noise) augment.noise = a.noise;
    if (a.flip && !(ds && ds.kind === "digits")) augment.flip = true;
    if (Object.keys(augment).length) body.augment = augment;
    return body;
  }

  async start() {
    showError(this.runError, null);
    const before = this.message.textContent;
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
      this.message.textContent = "building the network…";
      const networkId = await this.session.network();
      if (this.fresh.checked && this.runs.trained.has(networkId)) {
        this.message.textContent = "drawing fresh weights…";
        await this.api.reinit(networkId, { seed: state.seed });
      }
      const run = await this.runs.start(networkId, this.payload(state));
      this.message.textContent = `${run.label} started on ${this.datasetTitle(run.dataset)}`;
    } catch (e) {
      this.message.textContent = before;
      showError(this.runError, this.explain(e));
      if (e.status === 409) this.runs.look(); // training already, from another tab: show that run
    } finally {
      this.starting = false;
      this.renderButtons();
    }
  }

  explain(e) {
    if (e.status === 409) return { message: `cannot start: ${e.message}` };
    if (e.status === 422) return { message: `cannot start: ${e.message}${/input|classes|out_features/.test(e.message) ? " (the Data view can adapt the network)" : ""}` };
    if (e.status === 413) return { message: `too big for this server: ${e.message}` };
    return e;
  }

  async control(action) {
    const run = this.runs.active;
    if (!run) return;
    showError(this.runError, null);
    try {
      await this.runs.control(action);
      if (action === "stopRun" && !run.finished) this.status.textContent = "stopping…";
    } catch (e) {
      showError(this.runError, e);
    }
  }

  datasetTitle(name) {
    const ds = this.datasetInfo(name);
    return ds ? ds.title || ds.name : name;
  }

  // ---- what the runs module reports -------------------------------------------------------------
  // Another run is now the one the buttons control: its facts replace the last one's.
  showActive(run) {
    showError(this.runError, run.problem ? { message: run.problem } : null);
    this.resetLive();
    this.epochAcc = { epoch: null, values: [] };
    this.message.textContent = `${run.label} on ${this.datasetTitle(run.dataset)}`;
    this.onStatus(run);
  }

  onStatus(run) {
    if (run !== this.runs.active) return;
    this.status.textContent = run.status;
    this.status.dataset.status = run.status;
    this.renderButtons();
  }

  // A resumed run goes on from its checkpoint: its curves are drawn again from there.
  redraw(run) {
    for (const what of ["train loss", "train loss (epoch mean)", "val loss"]) this.lossChart.remove(curve(run, what));
    for (const what of ["train accuracy", "train accuracy (epoch mean)", "val accuracy"]) this.accChart.remove(curve(run, what));
    if (run === this.runs.active) this.showActive(run);
  }

  resetLive() {
    this.speed.textContent = "–";
    this.eta.textContent = "–";
    this.epochText.textContent = "–";
    this.progress.value = 0;
    this.trainAcc.textContent = "–";
    this.valAcc.textContent = "–";
    this.resultTitle.textContent = "Training… the confusion matrix appears when the run ends.";
    this.confusion.replaceChildren();
    this.confused.replaceChildren();
    this.results.hidden = true;
  }

  onEvent(run, ev) {
    const active = run === this.runs.active;
    if (ev.type === "batch") {
      this.lossChart.addPoint(curve(run, "train loss"), ev.step, ev.loss, { colour: run.colour, dash: [] });
      this.accChart.addPoint(curve(run, "train accuracy"), ev.step, ev.accuracy, { colour: run.colour, dash: [] });
      if (active) this.showBatch(run, ev);
    } else if (ev.type === "epoch") {
      this.lossChart.addPoint(curve(run, "train loss (epoch mean)"), ev.step, ev.train_loss, { colour: run.colour, dash: [2, 3] });
      this.accChart.addPoint(curve(run, "train accuracy (epoch mean)"), ev.step, ev.train_accuracy, { colour: run.colour, dash: [2, 3] });
      this.lossChart.addPoint(curve(run, "val loss"), ev.step, ev.val_loss, { colour: run.colour, dash: [7, 4] });
      this.accChart.addPoint(curve(run, "val accuracy"), ev.step, ev.val_accuracy, { colour: run.colour, dash: [7, 4] });
      if (!active) return;
      this.trainAcc.textContent = fmt.pct(ev.train_accuracy);
      if (ev.val_accuracy !== null && ev.val_accuracy !== undefined) this.valAcc.textContent = fmt.pct(ev.val_accuracy);
    } else if (ev.type === "status" && active && ev.message) {
      this.message.textContent = `${run.label}: ${ev.message}.`; // e.g. resumed from which checkpoint
    }
  }

  showBatch(run, ev) {
    if (this.epochAcc.epoch !== ev.epoch) this.epochAcc = { epoch: ev.epoch, values: [] };
    this.epochAcc.values.push(ev.accuracy);
    const epochs = run.config.epochs || 1;
    this.epochText.textContent = `${ev.epoch} of ${epochs} (batch ${fmt.int(ev.batch)} of ${fmt.int(ev.batches)})`;
    this.progress.value = ev.progress ?? 0;
    const sps = ev.samples_per_s;
    this.speed.textContent = sps ? `${fmt.int(Math.round(sps))} samples/s` : "–";
    const remaining = ev.batches * epochs - ev.step;
    const batch = run.config.batch_size || 64;
    this.eta.textContent = sps ? `about ${duration((remaining * batch) / sps)}` : "–";
    const values = this.epochAcc.values;
    this.trainAcc.textContent = fmt.pct(values.reduce((a, b) => a + b, 0) / values.length);
  }

  finish(run, ev) {
    if (run !== this.runs.active) return;
    const m = run.metrics || {};
    this.eta.textContent = run.status === "interrupted" ? "–" : "done";
    if (run.status === "completed") this.progress.value = 1;
    if (m.train_accuracy !== null && m.train_accuracy !== undefined) this.trainAcc.textContent = fmt.pct(m.train_accuracy);
    if (m.val_accuracy !== null && m.val_accuracy !== undefined) this.valAcc.textContent = fmt.pct(m.val_accuracy);
    const parts = [`${run.label}: ${run.message || run.status}.`];
    const testSize = (this.datasetInfo(run.dataset) || {}).test_size;
    if (m.test_accuracy !== null && m.test_accuracy !== undefined) parts.push(`Accuracy on the ${fmt.int(testSize)} test images: ${fmt.pct(m.test_accuracy)}.`);
    this.message.textContent = parts.join(" ");
    if (ev.type === "error" || run.status === "failed") showError(this.runError, { message: `the run failed: ${run.message || "no reason given"}` });
    else if (run.status === "diverged") showError(this.runError, { message: `the run diverged: ${run.message}` });
    this.showResults(run);
  }

  showResults(run) {
    const e = run.evaluation;
    this.results.hidden = !(e && e.n);
    if (!e || !e.n) {
      this.resultTitle.textContent = {
        diverged: "The run diverged, so there is nothing to evaluate; the network keeps the weights it had before.",
        interrupted: "The run was interrupted before its end, so it has not been evaluated: resume it to finish it.",
        gone: "This run is no longer on the server.",
      }[run.status] || "No validation examples to evaluate (set a validation fraction above 0).";
      this.confusion.replaceChildren();
      this.confused.replaceChildren();
      return;
    }
    const classNames = (this.datasetInfo(run.dataset) || {}).class_names;
    this.resultTitle.textContent = `${run.label}: ${fmt.pct(e.accuracy)} of ${fmt.int(e.n)} validation examples right.`;
    this.confusion.replaceChildren(confusionTable(e.confusion, classNames, e.per_class_accuracy));
    const items = (e.most_confused || []).map((m) => ({ ...m }));
    this.confused.replaceChildren(mostConfusedList(items, classNames));
    this.loadConfusedImages(run, items);
  }

  // Each most-confused example says where it is in the dataset (split, dataset_index).
  async loadConfusedImages(run, items) {
    const wanted = items.map((m) => (Number.isInteger(m.dataset_index) ? m.dataset_index : null));
    if (!wanted.some((i) => i !== null)) return;
    await Promise.all(items.map(async (m, k) => {
      if (wanted[k] === null) return;
      try {
        const page = await this.api.samples(run.dataset, { split: m.split || "train", offset: wanted[k], n: 1 });
        if (page.items[0]) m.image = page.items[0].png;
      } catch { /* the text is enough */ }
    }));
    if (run === this.runs.active) this.confused.replaceChildren(mostConfusedList(items, (this.datasetInfo(run.dataset) || {}).class_names));
  }

  clear() {
    this.lossChart.reset();
    this.accChart.reset();
    this.runs.clear();
  }
}

// Initialization: how the weights' variance at step 0 decides whether a deep stack's
// activations and gradients keep their size, vanish or explode. For each initializer the
// server measures a stack made from the view's settings (POST /api/init/stack: per-layer
// statistics on random inputs). A plain stack is then set against the same layers wrapped in
// residual blocks, and against the same layers with batch norm (init/batchnorm.js, which also
// trains both). The analysis runs when the view is first shown and again after each change of
// its settings, so the view is never empty.

import { debounce, el, showError } from "../ui.js";
import { short, verdictActs, verdictGrads } from "./init-verdict.js";
import { BatchNormPanel } from "./init/batchnorm.js";
import { numberControl, selectControl } from "./init/controls.js";
import { chart, histogram, logRange } from "./init/log-chart.js";
import { ACTIVATIONS, INITS, LABELS, stackTitle } from "./init/names.js";

const DEFAULT_INITS = ["zeros", "normal", "xavier_uniform", "he_normal"];
const LIMITS = { depth: [2, 30], width: { linear: [2, 256], conv2d: [1, 32] } };
// each layer type keeps a width of its own: 64 channels of 8x8 maps would be a slow analysis
const DEFAULT_WIDTH = { linear: 64, conv2d: 16 };
const N_INPUTS = 64;

// Var(W) each initializer draws, for fan_in and fan_out (engine/init.py).
function weightVariance(init, fin, fout) {
  return { zeros: 0, normal: 1, xavier_uniform: 2 / (fin + fout), xavier_normal: 2 / (fin + fout),
    he_uniform: 2 / fin, he_normal: 2 / fin, lecun_normal: 1 / fin }[init];
}
const varianceFormula = (init, fin, fout) => ({
  zeros: "Var(W) = 0", normal: "Var(W) = 1² = 1",
  xavier_uniform: `Var(W) = 2/(fan_in + fan_out) = 2/(${fin} + ${fout})`,
  xavier_normal: `Var(W) = 2/(fan_in + fan_out) = 2/(${fin} + ${fout})`,
  he_uniform: `Var(W) = 2/fan_in = 2/${fin}`, he_normal: `Var(W) = 2/fan_in = 2/${fin}`,
  lecun_normal: `Var(W) = 1/fan_in = 1/${fin}`,
}[init]);

// ---- the view --------------------------------------------------------------------------------
export class InitView {
  constructor(root, { api, store }) {
    this.root = root;
    this.api = api;
    this.store = store;
    this.running = false;
    this.charts = { results: [], residual: [] };
    this.batchnorm = new BatchNormPanel({ api, settings: () => this.readStack() });
    this.visible = false;
    this.again = false; // settings changed during a run: run once more after it
    this.ran = false;   // the first analysis has been started
    this.widths = { ...DEFAULT_WIDTH };
    this.build();
    const again = debounce(() => { if (this.visible) this.redraw(); }, 150);
    window.addEventListener("resize", again);
  }

  redraw() {
    for (const draw of [...this.charts.results, ...this.charts.residual]) draw();
    this.batchnorm.redraw();
  }

  build() {
    const numberCtl = numberControl, selectCtl = selectControl, acts = ACTIVATIONS;
    this.kindSel = selectCtl("init-kind", "kind", "linear", "layers", [["linear", "linear (fully connected)"], ["conv2d", "conv2d 3×3 (8×8 maps)"]]);
    this.runBtn = el("button", { type: "button", class: "primary", "data-action": "init-run", onclick: () => this.run() }, "Run the analysis");
    this.errorEl = el("p", { class: "error", "data-init-error": "", hidden: true, role: "alert" });
    this.statusEl = el("span", { class: "muted", "data-init-status": "", "aria-live": "polite" });
    this.widthHint = el("span", { class: "muted hint" });
    const initBoxes = el("fieldset", { class: "init-boxes" }, el("legend", { text: "Initializers to compare" }),
      INITS.map((name) => el("label", { class: "check" },
        el("input", { type: "checkbox", value: name, checked: DEFAULT_INITS.includes(name), "data-init-choice": name }), ` ${LABELS[name]}`)));
    this.resultsEl = el("div", { class: "init-results", "data-init-results": "" },
      el("p", { class: "muted", text: "Computing: the server measures one stack per initializer." }));
    this.residualEl = el("div", { class: "init-residual-body" });

    this.root.append(
      el("section", { class: "panel" },
        el("h2", { text: "Initialization: does the signal survive a deep stack?" }),
        el("p", {},
          "Each layer computes y = W x, so Var(y) ≈ fan_in · Var(W) · Var(x): the variance of one layer drives the next. ",
          "If fan_in · Var(W) is above 1 the signal grows layer after layer (exploding), below 1 it dies out (vanishing); ",
          "backward, gradients are multiplied the same way. Xavier picks Var(W) = 2/(fan_in + fan_out) to keep it constant; He uses 2/fan_in because ReLU zeroes half the units."),
        el("div", { class: "row init-controls" },
          numberCtl("init-depth", "depth", 15, "depth (layers)", LIMITS.depth[0], LIMITS.depth[1]),
          numberCtl("init-width", "width", DEFAULT_WIDTH.linear, "width (units or channels)",
            1, 256),
          this.kindSel,
          selectCtl("init-act", "activation", "tanh", "activation", acts),
          initBoxes),
        el("div", { class: "row init-run-row" }, this.runBtn, this.statusEl),
        this.errorEl,
        el("p", { class: "muted small" },
          `Statistics at step 0 (no training) on ${N_INPUTS} random standard-normal inputs; the gradient is that of the sum of a final 10-unit linear readout, averaged over the inputs. `,
          "Standard deviations are on a log scale; a std of exactly 0 sits in the band marked 0.")),
      el("section", { class: "panel" }, el("h2", { text: "Per initializer" }), this.resultsEl),
      el("section", { class: "panel", "data-init-residual": "" },
        el("h2", { text: "Plain stack against residual blocks" }),
        el("p", {},
          "The same layers, each pair wrapped in a residual block y = x + f(x). Backward, dL/dx = dL/dy · (1 + f'(x)): ",
          "the identity path carries the gradient past every layer, so it cannot vanish however small f' gets. ",
          "Sigmoid shows it best: its slope is at most 1/4, so a plain stack loses a factor of 4 or more per layer."),
        el("div", { class: "row init-controls" },
          selectCtl("init-res-act", "res-activation", "sigmoid", "activation for this comparison", acts),
          selectCtl("init-res-init", "res-init", "xavier_uniform", "initializer for this comparison", INITS.map((i) => [i, LABELS[i]])),
          el("span", { class: "muted hint",
            text: "depth, width and layer type as above; computed with the analysis above" })),
        this.residualEl),
      this.batchnorm.element);
    this.kind = "linear";
    this.kindSel.querySelector("select").addEventListener("change", () => this.switchKind());
    this.ctl("width").parentElement.append(this.widthHint);
    this.updateHint();
    // every setting re-runs the analysis, as TensorFlow Playground redraws on every change
    const rerun = debounce(() => this.run(), 400);
    for (const input of this.root.querySelectorAll("[data-init-ctl], [data-init-choice]")) {
      input.addEventListener("change", rerun);
    }
  }

  // Conv2d and linear layers each keep their own width: 64 units fit a linear stack, a conv2d
  // one takes 1 to 32 channels.
  switchKind() {
    const kind = this.ctl("kind").value;
    const width = Number(this.ctl("width").value);
    const [lo, hi] = LIMITS.width[this.kind];
    if (Number.isInteger(width) && width >= lo && width <= hi) this.widths[this.kind] = width;
    this.kind = kind;
    this.ctl("width").value = this.widths[kind];
    this.updateHint();
  }

  ctl(key) { return this.root.querySelector(`[data-init-ctl="${key}"]`); }

  updateHint() {
    const kind = this.ctl("kind").value;
    const [lo, hi] = LIMITS.width[kind];
    this.ctl("width").max = hi;
    this.widthHint.textContent = kind === "conv2d" ? `conv2d: width = channels, ${lo} to ${hi}` : `linear: ${lo} to ${hi} units`;
  }

  // The stack every section shares: layer type, depth, width, and the seed of its weights.
  readStack() {
    const kind = this.ctl("kind").value;
    const int = (key, [lo, hi], name) => {
      const raw = this.ctl(key).value;
      const v = Number(raw);
      if (raw === "" || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`${name} must be a whole number from ${lo} to ${hi}`);
      return v;
    };
    const depth = int("depth", LIMITS.depth, "depth");
    const width = int("width", LIMITS.width[kind], kind === "conv2d" ? "width (channels) for conv2d" : "width");
    return { kind, depth, width, seed: (this.store && this.store.state.seed) || 0 };
  }

  readSettings() {
    const inits = [...this.root.querySelectorAll("[data-init-choice]")].filter((b) => b.checked).map((b) => b.value);
    if (!inits.length) throw new Error("tick at least one initializer to compare");
    return {
      ...this.readStack(), inits, activation: this.ctl("activation").value,
      resActivation: this.ctl("res-activation").value, resInit: this.ctl("res-init").value,
    };
  }

  // One stack measured by the server: its answer, whose layers are the stack's units in order.
  measure({ kind, depth, width, activation, init, seed }, { residual = false, batchnorm = false } = {}) {
    return this.api.initStack({ kind, depth, width, activation, init, seed, residual, batchnorm, n: N_INPUTS });
  }

  async run() {
    this.ran = true;
    if (this.running) { this.again = true; return; }
    let s;
    try { s = this.readSettings(); } catch (e) { showError(this.errorEl, e); return; }
    this.running = true;
    this.again = false;
    this.runBtn.disabled = true;
    showError(this.errorEl, null);
    const started = performance.now();
    const total = s.inits.length + 4;
    let done = 0;
    const status = (what) => { this.statusEl.textContent = `Computing ${what} (${done + 1} of ${total})…`; };
    try {
      const results = [];
      for (const init of s.inits) {
        status(LABELS[init]);
        results.push({ init, layers: (await this.measure({ ...s, init })).layers });
        done++;
      }
      const pair = {};
      for (const residual of [false, true]) {
        status(residual ? "the residual stack" : "the plain stack");
        const res = { ...s, activation: s.resActivation, init: s.resInit };
        pair[residual ? "residual" : "plain"] = (await this.measure(res, { residual })).layers;
        done++;
      }
      const bn = this.batchnorm.settings(), normed = {};
      for (const batchnorm of [false, true]) {
        status(batchnorm ? "the stack with batch norm" : "the stack without batch norm");
        normed[batchnorm ? "normed" : "plain"] = await this.measure({ ...s, ...bn }, { batchnorm });
        done++;
      }
      this.drawResults(s, results);
      this.drawResidual(s, pair);
      this.batchnorm.draw(s, bn, normed);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      this.statusEl.textContent = `Done: ${total} stacks of depth ${s.depth} measured in ${seconds} s.`;
    } catch (e) {
      showError(this.errorEl, e);
      this.statusEl.textContent = "";
    } finally {
      this.running = false;
      this.runBtn.disabled = false;
    }
    if (this.again) this.run();
  }

  drawResults(s, results) {
    const fin = s.kind === "conv2d" ? s.width * 9 : s.width;
    const series = (key) => results.map((r) => ({
      name: LABELS[r.init], style: r.init, values: r.layers.map((l) => (l[key] ? l[key].std : null)) }));
    const actSeries = series("activation"), gradSeries = series("gradient");
    const actRange = logRange(actSeries), gradRange = logRange(gradSeries);
    const reg = [];
    const blocks = results.map((r, i) => {
      const acts = verdictActs(actSeries[i].values, s.activation, r.layers);
      const grads = verdictGrads(gradSeries[i].values);
      const v = weightVariance(r.init, fin, fin);
      return el("article", { class: "init-block", "data-init": r.init, "data-acts": acts.kind, "data-grads": grads.kind },
        el("h3", {}, LABELS[r.init]),
        el("p", { class: "mono small" }, `${varianceFormula(r.init, fin, fin)}${v && r.init !== "normal" ? ` = ${short(v)}` : ""}; fan_in · Var(W) = ${short(fin * v)}`),
        el("p", { class: `verdict v-${acts.kind}`, "data-init-verdict": "activations", text: acts.text }),
        el("p", { class: `verdict v-${grads.kind}`, "data-init-verdict": "gradients", text: grads.text }),
        el("div", { class: "init-charts" },
          chart(reg, `std of activations, ${LABELS[r.init]}`, [{ ...actSeries[i], name: LABELS[r.init] }], actRange),
          chart(reg, `std of gradients, ${LABELS[r.init]}`, [{ ...gradSeries[i], name: LABELS[r.init] }], gradRange)),
        el("details", { class: "hists", open: true },
          el("summary", { text: "Histograms per layer" }),
          el("p", { class: "small muted", text: `activations (output of each ${s.activation}); the dashed line marks 0` }),
          el("div", { class: "hist-strip", "data-init-hist": "activation" }, r.layers.map((l, k) => histogram(l.activation, `L${k + 1}`))),
          el("p", { class: "small muted", text: "gradients reaching each layer's output" }),
          el("div", { class: "hist-strip", "data-init-hist": "gradient" }, r.layers.map((l, k) => histogram(l.gradient, `L${k + 1}`)))));
    });
    this.resultsEl.replaceChildren(
      el("p", {}, `${s.depth} × (${s.kind === "conv2d" ? `conv2d 3×3, ${s.width} channels` : `linear ${s.width} units`} + ${s.activation}), fan_in = fan_out = ${fin}.`),
      el("div", { class: "init-overview" },
        chart(reg, "std of activations per layer, all initializers", actSeries, actRange, 240),
        chart(reg, "std of gradients per layer, all initializers", gradSeries, gradRange, 240)),
      el("div", { class: "init-blocks" }, blocks));
    this.charts.results = reg;
    for (const draw of reg) draw();
  }

  drawResidual(s, pair) {
    const values = (layers, key) => layers.map((l) => (l[key] ? l[key].std : null));
    const all = ["plain", "residual"].map((k) => ({ k, act: values(pair[k], "activation"), grad: values(pair[k], "gradient") }));
    const actRange = logRange(all.map((a) => ({ values: a.act }))), gradRange = logRange(all.map((a) => ({ values: a.grad })));
    const reg = [];
    const title = `${stackTitle(s, s.resActivation)}, ${LABELS[s.resInit]}`;
    this.residualEl.replaceChildren(
      el("p", { text: title }),
      el("div", { class: "grid2" }, all.map(({ k, act, grad }) => {
        const g = verdictGrads(grad);
        return el("article", { class: "init-block", "data-init-stack": k, "data-grads": g.kind },
          el("h3", { text: k === "plain" ? "Plain stack" : "Residual blocks" }),
          el("p", { class: `verdict v-${g.kind}`, "data-init-verdict": "gradients", text: g.text }),
          el("div", { class: "init-charts" },
            chart(reg, `std of gradients, ${k}`, [{ name: k, style: k, values: grad }], gradRange),
            chart(reg, `std of activations, ${k}`, [{ name: k, style: k, values: act }], actRange)));
      })));
    this.charts.residual = reg;
    for (const draw of reg) draw();
  }

  render(state, visible) {
    // Nothing to follow in the store: the analysis runs when the view is first shown, and
    // again when one of its own settings changes.
    const wasHidden = !this.visible;
    this.visible = visible;
    if (visible && !this.ran) this.run();
    else if (visible && wasHidden) this.redraw(); // charts drawn while hidden had no width
  }
}

// Initialization: how the weights' variance at step 0 decides whether a deep
// stack's activations and gradients keep their size, vanish or explode.
// For each initializer one temporary server network is built from a generated
// spec, its per-layer statistics fetched (GET /stats on random inputs), and the
// network deleted again. A plain stack is then set against the same layers
// wrapped in residual blocks. The analysis runs when the view is first shown and
// again after each change of its settings, so the view is never empty.

import { debounce, el, showError } from "../ui.js";
import { short, verdictActs, verdictGrads } from "./init-verdict.js";

const INITS = ["zeros", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "lecun_normal"];
const DEFAULT_INITS = ["zeros", "normal", "xavier_uniform", "he_normal"];
const LABELS = {
  zeros: "zeros", normal: "normal (std 1)", xavier_uniform: "Xavier uniform", xavier_normal: "Xavier normal",
  he_uniform: "He uniform", he_normal: "He normal", lecun_normal: "LeCun normal",
};
// colour, dash and marker: the series stay apart in greyscale too
const STYLES = {
  zeros: { colour: "#4a4a4a", dash: [2, 3], marker: "x" },
  normal: { colour: "#b0281c", dash: [], marker: "square" },
  xavier_uniform: { colour: "#1f4e9c", dash: [7, 4], marker: "circle" },
  xavier_normal: { colour: "#6c3483", dash: [3, 2], marker: "diamond" },
  he_uniform: { colour: "#8a5a00", dash: [10, 3, 2, 3], marker: "plus" },
  he_normal: { colour: "#1e6b32", dash: [10, 3, 2, 3, 2, 3], marker: "triangle" },
  lecun_normal: { colour: "#00707a", dash: [1, 2], marker: "diamond" },
  plain: { colour: "#b0281c", dash: [7, 4], marker: "square" },
  residual: { colour: "#1f4e9c", dash: [], marker: "circle" },
};
const LIMITS = { depth: [2, 30], width: { linear: [2, 256], conv2d: [1, 32] } };
// each layer type keeps a width of its own: 64 channels of 8x8 maps would be a slow analysis
const DEFAULT_WIDTH = { linear: 64, conv2d: 16 };
const N_INPUTS = 64;
const CONV_SIZE = 8; // conv stacks work on 8x8 maps

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

// The layers of a generated stack: depth x (weight layer + activation), then a small readout.
export function stackSpec({ kind, depth, width, activation, init, residual }) {
  const weight = () => {
    const layer = kind === "conv2d"
      ? { type: "conv2d", out_channels: width, kernel_size: 3, padding: 1, init }
      : { type: "linear", out_features: width, init };
    if (init === "normal") layer.std = 1;
    return layer;
  };
  const layers = [];
  for (let i = 0; i < depth; i++) {
    const pair = [weight(), { type: activation }];
    if (residual) layers.push({ type: "residual", body: pair });
    else layers.push(...pair);
  }
  if (kind === "conv2d") layers.push({ type: "flatten" });
  const readout = { type: "linear", out_features: 10, init };
  if (init === "normal") readout.std = 1;
  layers.push(readout);
  return {
    name: `init ${init} ${residual ? "residual" : "plain"}`,
    input: kind === "conv2d" ? [width, CONV_SIZE, CONV_SIZE] : [width],
    layers,
  };
}

// ---- drawing -----------------------------------------------------------------------------
function marker(ctx, kind, x, y, r = 3.5) {
  ctx.beginPath();
  if (kind === "circle") ctx.arc(x, y, r, 0, 2 * Math.PI);
  else if (kind === "square") ctx.rect(x - r, y - r, 2 * r, 2 * r);
  else if (kind === "triangle") { ctx.moveTo(x, y - r - 1); ctx.lineTo(x + r + 1, y + r); ctx.lineTo(x - r - 1, y + r); ctx.closePath(); }
  else if (kind === "diamond") { ctx.moveTo(x, y - r - 1); ctx.lineTo(x + r + 1, y); ctx.lineTo(x, y + r + 1); ctx.lineTo(x - r - 1, y); ctx.closePath(); }
  else if (kind === "plus") { ctx.moveTo(x - r - 1, y); ctx.lineTo(x + r + 1, y); ctx.moveTo(x, y - r - 1); ctx.lineTo(x, y + r + 1); ctx.stroke(); return; }
  else { ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); ctx.stroke(); return; }
  ctx.fill();
  ctx.stroke();
}

// The decades [lo, hi] (powers of ten) that hold every positive finite value.
function logRange(seriesList) {
  let lo = Infinity, hi = -Infinity;
  for (const s of seriesList) for (const v of s.values) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) return [-2, 0];
  let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  if (b === a) b = a + 1;
  return [a, b];
}

// A log-scale line chart of per-layer values; zeros sit in a band of their own under the axis.
function drawLogChart(canvas, seriesList, { range, height = 190, xLabel = "layer (1 = nearest the input)" } = {}) {
  // drawn at the size the page gives the canvas, sharp on high-density screens
  // 13px labels: read on a projector from the back of the room
  const W = Math.max(200, Math.round(canvas.clientWidth || 380)), H = height;
  const L = 54, R = 10, T = 10, B = 50, ZB = 18;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.height = `${H}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  const [a, b] = range || logRange(seriesList);
  const n = Math.max(2, ...seriesList.map((s) => s.values.length));
  const px = (i) => L + (i / (n - 1)) * (W - L - R);
  const bottom = H - B - ZB; // the log axis ends here; the zero band lies below
  const py = (v) => bottom - ((Math.log10(v) - a) / (b - a)) * (bottom - T);
  ctx.font = "13px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  const step = Math.max(1, Math.ceil((b - a) / 5));
  for (let e = a; e <= b; e += step) {
    ctx.strokeStyle = "#e2e2dc";
    ctx.beginPath(); ctx.moveTo(L, py(10 ** e)); ctx.lineTo(W - R, py(10 ** e)); ctx.stroke();
    ctx.fillStyle = "#333";
    ctx.fillText(e === 0 ? "1" : `1e${e}`, 4, py(10 ** e) + 4);
  }
  ctx.fillStyle = "#f1f1ec";
  ctx.fillRect(L, bottom + 4, W - L - R, ZB - 4);
  ctx.fillStyle = "#333";
  ctx.fillText("0", 34, bottom + 15);
  ctx.strokeStyle = "#555";
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  const ticks = n <= 10 ? 1 : n <= 20 ? 2 : 5;
  for (let i = 0; i < n; i++) {
    if ((i + 1) % ticks === 0 || i === 0) ctx.fillText(String(i + 1), px(i) - 4, H - B + 15);
  }
  ctx.fillText(xLabel, L, H - 8);
  for (const s of seriesList) {
    const st = STYLES[s.style] || STYLES.plain;
    ctx.strokeStyle = st.colour; ctx.fillStyle = st.colour; ctx.lineWidth = 2; ctx.setLineDash(st.dash);
    const y = (v) => (v > 0 ? py(v) : bottom + 10);
    ctx.beginPath();
    let started = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) { started = false; return; }
      if (started) ctx.lineTo(px(i), y(v)); else ctx.moveTo(px(i), y(v));
      started = true;
    });
    ctx.stroke();
    ctx.setLineDash([]); ctx.lineWidth = 1.5;
    s.values.forEach((v, i) => { if (v !== null && Number.isFinite(v)) marker(ctx, st.marker, px(i), y(v)); });
  }
}

function keyItem(style, text) {
  const c = el("canvas", { width: 34, height: 12, "aria-hidden": "true" });
  const ctx = c.getContext("2d");
  const st = STYLES[style];
  ctx.strokeStyle = st.colour; ctx.fillStyle = st.colour; ctx.lineWidth = 2; ctx.setLineDash(st.dash);
  ctx.beginPath(); ctx.moveTo(1, 6); ctx.lineTo(33, 6); ctx.stroke();
  ctx.setLineDash([]);
  marker(ctx, st.marker, 17, 6, 3);
  return el("li", {}, c, text);
}

// A chart figure; its canvas is drawn by redraw() once it is in the page and has a width.
function chart(registry, title, seriesList, range, height = 190) {
  const canvas = el("canvas", { width: 380, height, class: "init-chart" });
  registry.push(() => drawLogChart(canvas, seriesList, { range, height }));
  const desc = seriesList.map((s) => `${s.name}: ${s.values.map(short).join(", ")}`).join("; ");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${title}, log scale, per layer. ${desc}`);
  return el("figure", { class: "chart init-fig" }, el("figcaption", { text: title }), canvas,
    seriesList.length > 1 ? el("ul", { class: "chart-key" }, seriesList.map((s) => keyItem(s.style, s.name))) : null);
}

// One small histogram (dark bars on white) with the layer number and the value range under it.
function histogram(stat, label) {
  const W = 64, H = 34;
  const c = el("canvas", { width: W, height: H, "aria-hidden": "true" });
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const counts = (stat && stat.histogram && stat.histogram.counts) || [];
  const max = Math.max(1, ...counts);
  const bw = W / Math.max(1, counts.length);
  ctx.fillStyle = "#2b2b2b";
  counts.forEach((n, i) => { const h = (n / max) * (H - 2); ctx.fillRect(i * bw, H - h, Math.max(1, bw - 0.5), h); });
  if (stat && stat.min < 0 && stat.max > 0) { // where zero lies
    const x = ((0 - stat.min) / (stat.max - stat.min)) * W;
    ctx.strokeStyle = "#c0392b"; ctx.setLineDash([2, 2]); ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, H); ctx.stroke();
  }
  const range = !stat || stat.std === null ? "no finite values" : stat.std === 0 ? `all ${short(stat.mean)}` : `${short(stat.min)} … ${short(stat.max)}`;
  return el("figure", { class: "hist", role: "img", "aria-label": `${label}: ${range}, std ${stat ? short(stat.std) : "–"}` },
    c, el("figcaption", {}, el("span", { class: "hl", text: label }), el("span", { class: "hr", text: range })));
}

// ---- the view --------------------------------------------------------------------------------
export class InitView {
  constructor(root, { api, store }) {
    this.root = root;
    this.api = api;
    this.store = store;
    this.temp = new Set(); // ids of temporary networks not yet deleted
    this.running = false;
    this.charts = { results: [], residual: [] };
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
  }

  build() {
    const numberCtl = (id, key, value, text, min, max) => el("span", { class: "ctl" },
      el("label", { for: id, text }), el("input", { id, type: "number", min, max, step: 1, value, "data-init-ctl": key, inputmode: "numeric" }));
    const selectCtl = (id, key, value, text, options) => el("span", { class: "ctl" },
      el("label", { for: id, text }),
      el("select", { id, "data-init-ctl": key }, options.map(([v, t]) => el("option", { value: v, selected: v === value, text: t }))));
    const acts = [["tanh", "tanh"], ["relu", "ReLU"], ["sigmoid", "sigmoid"]];
    this.kindSel = selectCtl("init-kind", "kind", "linear", "layers", [["linear", "linear (fully connected)"], ["conv2d", "conv2d 3×3 (8×8 maps)"]]);
    this.runBtn = el("button", { type: "button", class: "primary", "data-action": "init-run", onclick: () => this.run() }, "Run the analysis");
    this.errorEl = el("p", { class: "error", "data-init-error": "", hidden: true, role: "alert" });
    this.statusEl = el("span", { class: "muted", "data-init-status": "", "aria-live": "polite" });
    this.widthHint = el("span", { class: "muted hint" });
    const initBoxes = el("fieldset", { class: "init-boxes" }, el("legend", { text: "Initializers to compare" }),
      INITS.map((name) => el("label", { class: "check" },
        el("input", { type: "checkbox", value: name, checked: DEFAULT_INITS.includes(name), "data-init-choice": name }), ` ${LABELS[name]}`)));
    this.resultsEl = el("div", { class: "init-results", "data-init-results": "" },
      el("p", { class: "muted", text: "Computing: one network per initializer is built on the "
        + "server, looked at once, then deleted." }));
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
        this.residualEl));
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

  readSettings() {
    const kind = this.ctl("kind").value;
    const int = (key, [lo, hi], name) => {
      const raw = this.ctl(key).value;
      const v = Number(raw);
      if (raw === "" || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`${name} must be a whole number from ${lo} to ${hi}`);
      return v;
    };
    const depth = int("depth", LIMITS.depth, "depth");
    const width = int("width", LIMITS.width[kind], kind === "conv2d" ? "width (channels) for conv2d" : "width");
    const inits = [...this.root.querySelectorAll("[data-init-choice]")].filter((b) => b.checked).map((b) => b.value);
    if (!inits.length) throw new Error("tick at least one initializer to compare");
    return {
      kind, depth, width, inits, activation: this.ctl("activation").value,
      resActivation: this.ctl("res-activation").value, resInit: this.ctl("res-init").value,
      seed: (this.store && this.store.state.seed) || 0,
    };
  }

  async cleanup() {
    const ids = [...this.temp];
    await Promise.all(ids.map(async (id) => {
      try { await this.api.deleteNetwork(id); } catch (e) { if (e.status !== 404) return; }
      this.temp.delete(id);
    }));
  }

  // Build one network, read its statistics, delete it; returns the per-layer rows of interest.
  async measure(cfg) {
    const net = await this.api.createNetwork({ spec: stackSpec(cfg), seed: cfg.seed, name: stackSpec(cfg).name });
    this.temp.add(net.id);
    try {
      const stats = await this.api.stats(net.id, { n: N_INPUTS, seed: cfg.seed });
      const top = /^layers\[\d+\]$/;
      const want = cfg.residual ? "residual" : cfg.activation;
      return stats.layers.filter((l) => top.test(l.path) && l.type === want);
    } finally {
      try { await this.api.deleteNetwork(net.id); this.temp.delete(net.id); } catch { /* retried by the next cleanup */ }
    }
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
    const total = s.inits.length + 2;
    let done = 0;
    const status = (what) => { this.statusEl.textContent = `Computing ${what} (${done + 1} of ${total})…`; };
    try {
      await this.cleanup();
      const results = [];
      for (const init of s.inits) {
        status(LABELS[init]);
        const layers = await this.measure({ ...s, init, residual: false });
        results.push({ init, layers });
        done++;
      }
      const pair = {};
      for (const residual of [false, true]) {
        status(residual ? "the residual stack" : "the plain stack");
        pair[residual ? "residual" : "plain"] = await this.measure({ ...s, activation: s.resActivation, init: s.resInit, residual });
        done++;
      }
      this.drawResults(s, results);
      this.drawResidual(s, pair);
      this.statusEl.textContent = `Done: ${total} networks of depth ${s.depth} built, measured and deleted in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
    } catch (e) {
      showError(this.errorEl, e);
      this.statusEl.textContent = "";
    } finally {
      await this.cleanup();
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
    const title = `${s.depth} × (${s.kind === "conv2d" ? "conv2d" : "linear"} + ${s.resActivation}), ${LABELS[s.resInit]}`;
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

// Inspect: what the network predicts for one input, every layer's feature maps,
// the conv filters with their last gradients, and where the network looks
// (saliency and occlusion). The input is a dataset sample or a drawing.

import { el, showError, fmt, drawHeatmap, legend, decodeUint8 } from "../ui.js";
import { DrawPad } from "./canvas.js";

const MAX_MAPS = 32;          // feature maps shown per layer
const MAX_FILTERS = 16;       // output filters shown per conv layer
const MAX_FILTER_CHANNELS = 8; // input channels shown per filter
const MAX_BARS = 20;          // probability bars (the rest summed up)
const SAMPLES = 12;           // sample thumbnails per page
const LIVE_MS = 500;          // at most 2 refreshes a second while a run trains
const DRAW_MS = 200;          // refresh at most this often while a stroke goes on
const ACTIVE = ["queued", "running", "paused"];

export class InspectView {
  constructor(root, { store, api, session }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.session = session;
    this.visible = false;
    this.specKey = null;    // the spec+seed the view shows
    this.netId = null;      // the server network it reads
    this.netGen = 0;        // bumps when the network changes: late answers are dropped
    this.connecting = false;
    this.dataset = null;
    this.sampleOffset = 0;
    this.sampleTotal = 0;
    this.input = null;      // {kind: "sample", dataset, split, index, label} or {kind: "drawing"}
    this.wanted = null;     // a refresh asked for while one is running: {explain}
    this.inflight = false;
    this.acts = null;       // the last activations answer
    this.pred = null;       // the last predict answer
    this.mapsKey = null;    // layer paths+shapes the map blocks were built for
    this.mapBlocks = new Map();
    this.classKey = null;
    this.live = { store: false, server: false, timer: null, ticks: 0 };
    this.drawTimer = null;
    this.build();
  }

  // ---- DOM, built once -----------------------------------------------------------------
  build() {
    const pad = this.pad = new DrawPad({
      label: "Drawing pad: draw a digit in white with the mouse, a finger or a pen",
      onDraw: () => this.drawing(),
      onEnd: () => this.drawn(),
    });
    this.errorBox = el("p", { class: "error", "data-inspect-error": "", hidden: true });
    this.sourceText = el("p", { class: "muted inspect-source", "data-input-source": "", "aria-live": "polite" });
    this.liveText = el("p", { class: "inspect-live", "data-live-status": "", hidden: true });
    this.samplesBox = el("div", { class: "inspect-samples", "data-inspect-samples": "", role: "group",
      "aria-label": "Dataset samples: pick one to inspect" });
    this.sampleTitle = el("span", { text: "" });
    this.samplesError = el("p", { class: "error", "data-samples-error": "", hidden: true });

    const inputPanel = el("section", { class: "panel inspect-input", "aria-labelledby": "inspect-input-h" },
      el("h2", { id: "inspect-input-h" }, "Input"),
      el("p", { class: "muted" }, "Draw a digit (white on black, like MNIST) or pick a test sample below."),
      el("div", { class: "draw-wrap" }, pad.canvas),
      el("div", { class: "row inspect-controls" },
        el("button", { type: "button", "data-action": "clear-drawing", onclick: () => this.clearDrawing() }, "Clear drawing"),
        this.sourceText),
      this.errorBox,
      this.liveText,
      el("h3", {}, "Samples from ", this.sampleTitle),
      this.samplesBox,
      el("button", { type: "button", "data-action": "more-samples", onclick: () => this.moreSamples() }, "Other samples"),
      this.samplesError);

    this.summary = el("p", { class: "inspect-summary", "data-prediction-summary": "", "aria-live": "polite" });
    this.probs = el("ol", { class: "prob-list", "data-probabilities": "", "aria-label": "Class probabilities" });
    const probPanel = el("section", { class: "panel inspect-probs", "aria-labelledby": "inspect-probs-h" },
      el("h2", { id: "inspect-probs-h" }, "Prediction"),
      el("p", { class: "muted" }, "Softmax of the last layer's scores: the network's belief in each class."),
      this.summary, this.probs);

    this.classSelect = el("select", { id: "inspect-class", "data-explain-class": "", onchange: () => this.explain() },
      el("option", { value: "" }, "the predicted class"));
    this.patchSelect = el("select", { id: "inspect-patch", "data-occlusion-patch": "", onchange: () => this.explain() },
      el("option", { value: "" }, "auto (¼ of the input)"),
      ...[2, 4, 6, 8, 12].map((p) => el("option", { value: p }, `${p}×${p}`)));
    this.opacity = el("input", { id: "inspect-opacity", type: "range", min: 0, max: 100, value: 65,
      "data-overlay-opacity": "", oninput: () => this.applyOpacity() });
    this.explainError = el("p", { class: "error", "data-explain-error": "", hidden: true });
    this.saliencyFig = el("figure", { class: "explain-fig", "data-saliency": "" });
    this.occlusionFig = el("figure", { class: "explain-fig", "data-occlusion": "" });
    this.explainPanel = el("section", { class: "panel inspect-explain", "aria-labelledby": "inspect-explain-h" },
      el("h2", { id: "inspect-explain-h" }, "Where does it look?"),
      el("div", { class: "row inspect-controls" },
        el("label", { for: "inspect-class" }, "Class"), this.classSelect,
        el("label", { for: "inspect-patch" }, "Occlusion patch"), this.patchSelect,
        el("label", { for: "inspect-opacity" }, "Map opacity"), this.opacity,
        el("button", { type: "button", "data-action": "explain", onclick: () => this.explain() }, "Recompute")),
      this.explainError,
      el("div", { class: "explain-figs" }, this.saliencyFig, this.occlusionFig),
      el("p", { class: "muted" },
        "Saliency: how much the class score changes per input pixel (|∂score/∂pixel|). ",
        "Occlusion: how much the class probability drops when a square of plain (zero after normalization) pixels covers that spot."));
    this.applyOpacity();

    this.scaleMode = el("select", { id: "inspect-scale", "data-scale-mode": "", onchange: () => this.renderMaps() },
      el("option", { value: "map" }, "per map (each map its own range)"),
      el("option", { value: "layer" }, "per layer (one range for all maps)"));
    this.colourSelect = el("select", { id: "inspect-colours", "data-colour-scale": "",
      onchange: () => { this.renderMaps(); this.renderFilters(); } },
      el("option", { value: "viridis" }, "viridis"), el("option", { value: "grey" }, "grey"));
    this.mapsBox = el("div", { class: "maps", "data-feature-maps": "" });
    const mapsPanel = el("section", { class: "panel inspect-maps", "aria-labelledby": "inspect-maps-h" },
      el("h2", { id: "inspect-maps-h" }, "Feature maps, layer by layer"),
      el("p", { class: "muted" },
        "Each filter of a conv layer slides over its input and gives one map: bright where its pattern is. ",
        "Pooling shrinks the maps; after flatten the maps are one vector of features."),
      el("div", { class: "row inspect-controls" },
        el("label", { for: "inspect-scale" }, "Colour scale"), this.scaleMode,
        el("label", { for: "inspect-colours" }, "Colours"), this.colourSelect),
      this.mapsBox);

    this.filtersError = el("p", { class: "error", "data-filters-error": "", hidden: true });
    this.filtersBox = el("div", { class: "filters", "data-filters": "" });
    const filtersPanel = el("section", { class: "panel inspect-filters", "data-inspect-filters": "", "aria-labelledby": "inspect-filters-h" },
      el("h2", { id: "inspect-filters-h" }, "Conv filters and their gradients"),
      el("p", { class: "muted" },
        "One group per filter (its number, then one tile per input channel it reads). Zero is the middle of the scale. ",
        "The gradient is ∂loss/∂weight from the last training batch: the step the optimizer takes, against it."),
      this.filtersError, this.filtersBox);

    this.root.append(el("div", { class: "inspect" },
      el("div", { class: "inspect-top" }, inputPanel, probPanel, this.explainPanel),
      mapsPanel, filtersPanel));
  }

  // ---- render: cheap, called on every store change ----------------------------------------
  render(state, visible) {
    const wasVisible = this.visible;
    this.visible = visible;
    if (!visible) {
      this.stopTimer();
      return;
    }
    if (state.dataset !== this.dataset) this.changeDataset(state.dataset);
    const key = this.session.specKey(state);
    if (key !== this.specKey) {
      this.specKey = key;
      this.connect();
    } else if (!this.connecting && state.networkId && state.networkSpecKey === key && state.networkId !== this.netId) {
      this.connect(); // another view adopted a network (reinit, import)
    } else if (!wasVisible && this.netId) {
      // the weights may have changed (training) while the view was hidden
      this.requestRefresh({ explain: true });
      this.loadFilters();
      this.checkRuns();
    }
    this.updateLive(state);
  }

  // ---- the network --------------------------------------------------------------------------
  async connect() {
    const gen = ++this.netGen;
    this.netId = null;
    this.connecting = true;
    this.live.server = false;
    let id;
    try {
      id = await this.session.network();
    } catch (e) {
      if (gen === this.netGen) {
        this.connecting = false;
        showError(this.errorBox, e);
        this.clearResults();
        this.filters = null;
        this.filtersBox.replaceChildren();
      }
      return;
    }
    if (gen !== this.netGen) return;
    this.connecting = false;
    this.netId = id;
    this.acts = null;
    this.requestRefresh({ explain: true });
    this.loadFilters();
    this.checkRuns();
  }

  // ---- inputs --------------------------------------------------------------------------------
  changeDataset(name) {
    this.dataset = name;
    this.sampleOffset = 0;
    this.sampleTitle.textContent = name || "(no dataset)";
    if (this.input && this.input.kind === "sample") this.input = null; // the first new sample takes over
    else if (this.input) this.requestRefresh({ explain: true }); // a drawing is normalized like the dataset
    this.loadSamples();
  }

  async loadSamples() {
    const name = this.dataset;
    this.samplesBox.replaceChildren();
    if (!name) return;
    let page;
    try {
      page = await this.api.samples(name, { split: "test", offset: this.sampleOffset, n: SAMPLES, format: "png" });
    } catch (e) {
      if (name === this.dataset) showError(this.samplesError, e);
      return;
    }
    if (name !== this.dataset) return;
    showError(this.samplesError, null);
    this.sampleTotal = page.total;
    this.samplesBox.replaceChildren(...page.items.map((item) => el("button", {
      type: "button", class: "sample", "data-sample-index": item.index, "aria-pressed": "false",
      "aria-label": `test sample ${item.index}, labelled ${item.class_name}`,
      onclick: () => this.pickSample(page.dataset, item),
    }, el("img", { src: item.png, alt: "", width: 40, height: 40 }), el("span", { text: item.class_name }))));
    this.markSample();
    if (!this.input && page.items.length) this.pickSample(page.dataset, page.items[0]);
  }

  moreSamples() {
    if (!this.dataset) return;
    this.sampleOffset += SAMPLES;
    if (this.sampleOffset >= this.sampleTotal) this.sampleOffset = 0;
    this.loadSamples();
  }

  pickSample(dataset, item) {
    this.input = { kind: "sample", dataset, split: "test", index: item.index, label: item.class_name };
    this.markSample();
    this.sourceText.textContent = `Showing test sample ${item.index} of ${dataset} (label ${item.class_name}).`;
    this.requestRefresh({ explain: true });
  }

  markSample() {
    for (const b of this.samplesBox.querySelectorAll("[data-sample-index]")) {
      const on = this.input && this.input.kind === "sample" && this.input.dataset === this.dataset
        && Number(b.dataset.sampleIndex) === this.input.index;
      b.setAttribute("aria-pressed", String(Boolean(on)));
    }
  }

  drawing() {
    if (!this.input || this.input.kind !== "drawing") {
      this.input = { kind: "drawing" };
      this.markSample();
      this.sourceText.textContent = "Showing your drawing.";
    }
    if (!this.drawTimer) {
      this.drawTimer = setTimeout(() => { this.drawTimer = null; this.requestRefresh(); }, DRAW_MS);
    }
  }

  drawn() {
    clearTimeout(this.drawTimer);
    this.drawTimer = null;
    this.requestRefresh({ explain: true });
  }

  clearDrawing() {
    this.pad.clear();
    if (this.input && this.input.kind === "drawing") this.sourceText.textContent = "Draw something to inspect it.";
  }

  // The request body for the current input, or null.
  body() {
    const input = this.input;
    if (!input) return null;
    if (input.kind === "sample") return { dataset: input.dataset, split: input.split, index: input.index };
    if (this.pad.empty) return null;
    const shape = (this.store.state.spec && this.store.state.spec.input) || [];
    const [h, w] = shape.length === 3 ? shape.slice(1) : [0, 0];
    // drawn digits are centred by the server as MNIST's were; twice the network's size keeps the
    // strokes sharp enough for that, at a quarter of the full pad's numbers
    const digits = shape.length === 3 && shape[0] === 1 && 280 % (2 * h) === 0 && h === w;
    const body = digits ? { pixels: this.pad.pixels(2 * h, 2 * w), center: true } : { pixels: this.pad.pixels(h, w) };
    if (this.store.state.dataset) body.dataset = this.store.state.dataset;
    return body;
  }

  // ---- predictions and feature maps ----------------------------------------------------------
  // Refreshes run one at a time; asks made meanwhile merge into one more refresh.
  requestRefresh({ explain = false } = {}) {
    this.wanted = { explain: Boolean(explain || (this.wanted && this.wanted.explain)) };
    if (!this.inflight) this.runRefreshes();
  }

  async runRefreshes() {
    this.inflight = true;
    try {
      while (this.wanted) {
        const want = this.wanted;
        this.wanted = null;
        await this.refreshOnce(want);
      }
    } finally {
      this.inflight = false;
    }
  }

  async refreshOnce({ explain }) {
    const id = this.netId;
    const gen = this.netGen;
    if (!id || !this.visible) return;
    const body = this.body();
    if (!body) return;
    let pred, acts;
    try {
      [pred, acts] = await Promise.all([this.api.predict(id, body), this.api.activations(id, body)]);
    } catch (e) {
      if (gen !== this.netGen) return;
      showError(this.errorBox, e);
      this.clearResults();
      return;
    }
    if (gen !== this.netGen) return;
    showError(this.errorBox, null);
    this.pred = pred;
    this.acts = acts;
    this.renderProbs();
    this.renderMaps();
    if (explain) await this.explain(body);
  }

  clearResults() {
    this.pred = null;
    this.acts = null;
    this.summary.textContent = "";
    this.probs.replaceChildren();
    this.mapsBox.replaceChildren();
    this.mapBlocks.clear();
    this.mapsKey = null;
    this.saliencyFig.replaceChildren();
    this.occlusionFig.replaceChildren();
  }

  renderProbs() {
    const pred = this.pred;
    const p = pred.probabilities;
    const names = pred.class_names;
    const top = pred.predicted;
    const order = p.map((_, i) => i);
    if (p.length > MAX_BARS) order.sort((a, b) => p[b] - p[a]);
    const shown = order.slice(0, MAX_BARS);
    const items = shown.map((i) => {
      const isTop = i === top;
      return el("li", { class: isTop ? "prob top" : "prob", "data-class": i },
        el("span", { class: "prob-name", text: names[i] }),
        el("span", { class: "prob-bar", "aria-hidden": "true" }, barFill(p[i])),
        el("span", { class: "prob-pct", "data-pct": "", text: fmt.pct(p[i]) }),
        isTop ? el("span", { class: "visually-hidden", text: " (most likely)" }) : null);
    });
    if (p.length > shown.length) {
      const rest = order.slice(MAX_BARS).reduce((s, i) => s + p[i], 0);
      items.push(el("li", { class: "prob muted", text: `${p.length - shown.length} more classes: ${fmt.pct(rest)} together` }));
    }
    this.probs.replaceChildren(...items);
    const label = this.input && this.input.kind === "sample" && pred.label !== undefined
      ? ` The sample's label is ${names[pred.label] ?? pred.label}${pred.label === top ? " (right)." : " (wrong)."}` : "";
    this.summary.textContent = `Most likely: ${names[top]} (${fmt.pct(p[top])}).${label}`;
    // the class picker for saliency and occlusion follows the network's classes
    const key = names.join("\u0000");
    if (key !== this.classKey) {
      this.classKey = key;
      const value = this.classSelect.value;
      this.classSelect.replaceChildren(el("option", { value: "" }, "the predicted class"),
        ...names.map((n, i) => el("option", { value: i }, `${i}: ${n}`)));
      if (value !== "" && Number(value) < names.length) this.classSelect.value = value;
    }
  }

  // Draws every layer's maps from the last answer, reusing the blocks when the layers stay.
  renderMaps() {
    const acts = this.acts;
    if (!acts) return;
    const key = acts.layers.map((l) => `${l.path}:${l.shape.join("x")}`).join("|");
    if (key !== this.mapsKey) {
      this.mapsKey = key;
      this.mapBlocks.clear();
      this.mapsBox.replaceChildren(...acts.layers.map((layer) => {
        const block = makeMapBlock(layer);
        this.mapBlocks.set(layer.path, block);
        return block.node;
      }));
    }
    const perMap = this.scaleMode.value === "map";
    const scale = this.colourSelect.value;
    for (const layer of acts.layers) drawLayer(this.mapBlocks.get(layer.path), layer, perMap, scale);
    // the input's numbers are not 0-255: say why, under its maps (the server's words)
    const input = this.mapBlocks.get("input");
    if (input && acts.normalization) input.note.textContent = acts.normalization.text;
  }

  // ---- saliency and occlusion ---------------------------------------------------------------
  async explain(body = this.body()) {
    const id = this.netId;
    const gen = this.netGen;
    if (!id || !body) return;
    const cls = this.classSelect.value;
    const extra = cls === "" ? {} : { class: Number(cls) };
    const patch = this.patchSelect.value;
    this.explainPanel.setAttribute("aria-busy", "true");
    try {
      const [sal, occ] = await Promise.all([
        this.api.saliency(id, { ...body, ...extra }),
        this.api.occlusion(id, { ...body, ...extra, ...(patch ? { patch: Number(patch) } : {}) }),
      ]);
      if (gen !== this.netGen) return;
      showError(this.explainError, null);
      const input = this.acts && this.acts.layers.find((l) => l.path === "input");
      const scale = this.colourSelect.value;
      this.saliencyFig.replaceChildren(...explainFigure(input, decodeUint8(sal.map, sal.min ?? 0, sal.max ?? 0),
        sal.shape, sal.min, sal.max, scale,
        `Saliency for class ${sal.class_name}`, "|∂score/∂pixel|"));
      this.occlusionFig.replaceChildren(...explainFigure(input, occ.map.flat(), occ.shape, occ.min, occ.max, scale,
        `Occlusion for class ${occ.class_name}`, `drop in p(${occ.class_name}) from ${fmt.pct(occ.baseline)}`,
        `patch ${occ.patch}×${occ.patch}, stride ${occ.stride}`));
    } catch (e) {
      if (gen === this.netGen) showError(this.explainError, e);
    } finally {
      this.explainPanel.removeAttribute("aria-busy");
    }
  }

  applyOpacity() {
    this.explainPanel.style.setProperty("--overlay-opacity", String(Number(this.opacity.value) / 100));
  }

  // ---- filters and gradients ---------------------------------------------------------------
  async loadFilters() {
    const id = this.netId;
    const gen = this.netGen;
    if (!id || this.filtersLoading) return;
    this.filtersLoading = true;
    try {
      const list = await this.api.weights(id);
      const convs = list.layers.filter((l) => l.type === "conv2d");
      const layers = [];
      for (const l of convs) layers.push(await this.api.weights(id, l.path));
      if (gen !== this.netGen) return;
      showError(this.filtersError, null);
      this.filters = layers;
      this.renderFilters();
    } catch (e) {
      if (gen === this.netGen) showError(this.filtersError, e);
    } finally {
      this.filtersLoading = false;
    }
  }

  renderFilters() {
    const layers = this.filters;
    if (!layers) return;
    const scale = this.colourSelect.value;
    if (!layers.length) {
      this.filtersBox.replaceChildren(el("p", { class: "muted", text: "This network has no conv layers." }));
      return;
    }
    this.filtersBox.replaceChildren(...layers.map((l) => el("div", { class: "filters-layer", "data-filters-layer": l.path },
      el("h3", { text: `${l.path}${l.name ? " " + l.name : ""}: ${fmt.shape(l.filters.shape)} weights, `
        + `kernel ${l.kernel_size.join("×")}, stride ${l.stride.join("×")}, padding ${l.padding.join("×")}` }),
      el("div", { class: "filters-pair" },
        filterGrid(l.filters, "weights", scale),
        l.grad ? filterGrid(l.grad, "gradient", scale)
          : el("div", { class: "filter-grid", "data-no-gradient": "" },
            el("h4", { text: "gradient" }), el("p", { class: "muted", text: "no gradient yet: train first" }))))));
  }

  // ---- live refresh while a run trains --------------------------------------------------------
  updateLive(state) {
    const r = state.activeRun;
    const active = Boolean(r) && !(typeof r === "object" && r.status && !["queued", "running"].includes(r.status));
    if (this.live.store && !active) {
      // the run ended: show its final weights once
      this.requestRefresh({ explain: true });
      this.loadFilters();
    }
    this.live.store = active;
    this.syncTimer();
  }

  // Without the Train view's word, ask the server whether this network has a run going.
  async checkRuns() {
    const id = this.netId;
    if (!id) return;
    try {
      const runs = await this.api.runs(id);
      if (id !== this.netId) return;
      this.live.server = runs.some((r) => ACTIVE.includes(r.status));
      this.syncTimer();
    } catch { /* no runs to follow; the view still works */ }
  }

  syncTimer() {
    const on = this.visible && (this.live.store || this.live.server);
    if (on && !this.live.timer) {
      this.live.ticks = 0;
      this.live.timer = setInterval(() => this.tick(), LIVE_MS);
    } else if (!on) {
      this.stopTimer();
    }
    this.liveText.hidden = !on;
    this.liveText.textContent = on ? "Live: a run is training this network; the maps follow its weights." : "";
  }

  stopTimer() {
    clearInterval(this.live.timer);
    this.live.timer = null;
  }

  async tick() {
    const n = ++this.live.ticks;
    if (!this.visible || !this.netId) return;
    if (this.live.store) {
      if (!this.inflight) this.requestRefresh();
      if (n % 4 === 0) this.loadFilters();
      return;
    }
    if (n % 2) return; // poll the server once a second
    const id = this.netId;
    try {
      const net = await this.api.network(id);
      if (id !== this.netId) return;
      if (net.training_run) {
        if (!this.inflight) this.requestRefresh();
        if (n % 4 === 0) this.loadFilters();
      } else {
        this.live.server = false;
        this.syncTimer();
        this.requestRefresh({ explain: true });
        this.loadFilters();
      }
    } catch (e) {
      showError(this.errorBox, e);
      this.live.server = false;
      this.syncTimer();
    }
  }
}

// ---- drawing helpers ------------------------------------------------------------------------
function barFill(p) {
  const fill = el("span", { class: "prob-fill" });
  fill.style.width = `${Math.max(0, Math.min(100, 100 * p)).toFixed(1)}%`;
  return fill;
}

// A layer's block: heading, legend slot, canvases (at most MAX_MAPS maps).
function makeMapBlock(layer) {
  const shape = layer.shape;
  const spatial = shape.length === 3;
  const count = spatial ? shape[0] : 1;
  const shown = Math.min(count, MAX_MAPS);
  const title = `${layer.path}${layer.name ? " " + layer.name : ""}`;
  const canvases = [];
  for (let i = 0; i < shown; i++) {
    canvases.push(el("canvas", { class: "map", role: "img",
      "aria-label": spatial ? `${title}, map ${i}` : `${title}, ${fmt.int(shape.reduce((a, b) => a * b, 1))} values` }));
  }
  const legendSlot = el("span", { class: "maps-legend" });
  const note = el("p", { class: "muted maps-note", "data-maps-note": "" });
  const node = el("div", { class: "maps-layer", "data-maps-layer": layer.path, "data-layer-type": layer.type },
    el("div", { class: "maps-head" },
      el("h3", {}, el("span", { text: title }), " ", el("span", { class: "muted", text: `${layer.type} · ${fmt.shape(shape)}` })),
      legendSlot),
    el("div", { class: spatial ? "maps-grid" : "maps-grid vector" }, ...canvases),
    count > shown ? el("p", { class: "muted maps-more", text: `+${count - shown} more maps not shown` }) : null,
    note);
  return { node, canvases, legendSlot, note };
}

function drawLayer(block, layer, perMap, scale) {
  const { shape } = layer;
  const lo = layer.min ?? 0, hi = layer.max ?? 0;
  const values = decodeUint8(layer.data, lo, hi);
  if (shape.length === 3) {
    const [, h, w] = shape;
    const pixel = Math.max(1, Math.round(64 / Math.max(h, w)));
    block.canvases.forEach((canvas, i) => {
      const map = values.subarray(i * h * w, (i + 1) * h * w);
      const r = perMap ? rangeOf(map) : { min: lo, max: hi };
      drawHeatmap(canvas, map, h, w, { ...r, scale, pixel });
      canvas.title = `map ${i}: ${fmt.num(r.min, 3)} to ${fmt.num(r.max, 3)}`;
    });
  } else {
    // a vector (after flatten or linear): rows of up to 40 cells; the unused cells are left light
    const n = values.length;
    const cols = Math.min(n, 40);
    const rows = Math.ceil(n / cols);
    const padded = new Float32Array(rows * cols).fill(lo);
    padded.set(values);
    const canvas = block.canvases[0];
    drawHeatmap(canvas, padded, rows, cols, { min: lo, max: hi, scale, pixel: Math.max(4, Math.min(14, Math.floor(160 / cols))) });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#eeeeea";
    for (let k = n; k < rows * cols; k++) ctx.fillRect(k % cols, Math.floor(k / cols), 1, 1);
    canvas.title = `${n} values from ${fmt.num(lo, 3)} to ${fmt.num(hi, 3)}`;
  }
  const spatialPerMap = perMap && shape.length === 3;
  block.legendSlot.replaceChildren(legend(lo, hi, scale,
    spatialPerMap ? "layer range; each map stretched to its own" : "one range for the layer"));
}

function rangeOf(values) {
  let min = Infinity, max = -Infinity;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; }
  return { min, max };
}

// The input as the network sees it: grey for one channel, colour for three.
function drawInput(canvas, input, pixel) {
  const [c, h, w] = input.shape;
  const lo = input.min ?? 0, hi = input.max ?? 0;
  const span = hi > lo ? hi - lo : 1;
  const values = decodeUint8(input.data, lo, hi);
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${w * pixel}px`;
  canvas.style.height = `${h * pixel}px`;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let k = 0; k < h * w; k++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = values[(c === 3 ? ch : 0) * h * w + k];
      image.data[k * 4 + ch] = Math.round((255 * (v - lo)) / span);
    }
    image.data[k * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// The map over the input (both stretched to the same size), with a caption and a legend.
function explainFigure(input, values, shape, min, max, scale, caption, what, note) {
  const [mh, mw] = shape;
  const side = 168;
  const stack = el("div", { class: "overlay" });
  let width = side, height = side;
  if (input && input.shape.length === 3) {
    const [, h, w] = input.shape;
    const pixel = Math.max(1, Math.floor(side / Math.max(h, w)));
    width = w * pixel;
    height = h * pixel;
    const base = el("canvas", { class: "overlay-input", role: "img", "aria-label": "the input" });
    drawInput(base, input, pixel);
    stack.append(base);
  }
  const map = el("canvas", { class: "overlay-map", role: "img", "aria-label": `${caption}: ${what}` });
  drawHeatmap(map, values, mh, mw, { min: min ?? 0, max: max ?? 0, scale });
  map.style.width = `${width}px`;
  map.style.height = `${height}px`;
  stack.style.width = `${width}px`;
  stack.style.height = `${height}px`;
  stack.append(map);
  return [el("figcaption", { text: caption }), stack, legend(min ?? 0, max ?? 0, scale, what),
    note ? el("p", { class: "muted", text: note }) : null].filter(Boolean);
}

// Filters (out, in, kh, kw) as rows of tiles on a scale centred on zero.
function filterGrid(tensor, title, scale) {
  const [out, inC, kh, kw] = tensor.shape;
  const [lo, hi] = tensor.scale || [tensor.min, tensor.max];
  const values = decodeUint8(tensor.data, lo ?? 0, hi ?? 0);
  const m = Math.max(Math.abs(lo ?? 0), Math.abs(hi ?? 0)) || 1;
  const pixel = Math.max(2, Math.round(36 / Math.max(kh, kw)));
  const rows = [];
  const shownIn = Math.min(inC, MAX_FILTER_CHANNELS);
  for (let o = 0; o < Math.min(out, MAX_FILTERS); o++) {
    const tiles = [];
    for (let i = 0; i < shownIn; i++) {
      const start = (o * inC + i) * kh * kw;
      const canvas = el("canvas", { class: "filter", role: "img", "aria-label": `${title} of filter ${o}, input channel ${i}` });
      drawHeatmap(canvas, values.subarray(start, start + kh * kw), kh, kw, { min: -m, max: m, scale, pixel });
      tiles.push(canvas);
    }
    rows.push(el("div", { class: "filter-row" }, el("span", { class: "filter-label", text: `${o}` }), ...tiles,
      inC > shownIn ? el("span", { class: "muted", text: `+${inC - shownIn}` }) : null));
  }
  return el("div", { class: "filter-grid", [`data-filter-${title}`]: "" },
    el("h4", { text: `${title} (norm ${fmt.num(tensor.norm, 3)})` }),
    legend(-m, m, scale, title === "gradient" ? "∂loss/∂w" : "w"),
    el("div", { class: "filter-rows" }, ...rows),
    out > MAX_FILTERS ? el("p", { class: "muted", text: `+${out - MAX_FILTERS} more filters not shown` }) : null);
}

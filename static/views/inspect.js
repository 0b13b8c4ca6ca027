// Inspect: look inside the network for one input (a test sample or a drawing). The view
// wires its parts (views/inspect/): the input, the prediction, an overview of every
// layer's maps with one map opened large (and a unit's receptive field on the input), where
// the network looks, a dropout layer at work, and the conv filters;
// it keeps them on the session's network and refreshes them while a run trains it.

import { AdversarialPanel } from "./inspect/adversarial.js";
import { DropoutPanel } from "./inspect/dropout-panel.js";
import { ExplainPanel } from "./inspect/explain-panel.js";
import { FeatureViz } from "./inspect/feature-viz.js";
import { FiltersPanel } from "./inspect/filters-panel.js";
import { InputPanel } from "./inspect/input-panel.js";
import { Snapshot } from "./inspect/layers.js";
import { MapDetail } from "./inspect/map-detail.js";
import { Overview } from "./inspect/overview.js";
import { PredictionPanel } from "./inspect/prediction-panel.js";
import { RefreshLoop } from "./inspect/refresh-loop.js";
import { el } from "../ui.js";

// Conv weights a refresh always fetches; a network with more fetches them every few refreshes.
const SMALL_FILTERS = 250_000;
const BIG_FILTERS_EVERY = 8;

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
    this.convPaths = null;  // the conv layers of the network, for the filters
    this.filtersEvery = 1;  // refreshes per refresh of the filters
    this.refreshes = 0;
    this.snapshot = null;   // the last overview answer
    this.live = false;
    this.serverTraining = false;
    this.loop = new RefreshLoop((want) => this.refresh(want));
    this.input = new InputPanel({ api, onChange: (want) => this.loop.request(want) });
    this.prediction = new PredictionPanel();
    this.explainer = new ExplainPanel({ onChange: () => this.explain() });
    this.overview = new Overview({ onSelect: (target) => this.open(target) });
    this.detail = new MapDetail({ onClose: () => this.close(), onUnit: () => this.loadUnit(),
      onField: () => this.loadField() });
    this.dropout = new DropoutPanel({ onChange: () => this.loadDropout() });
    this.filters = new FiltersPanel();
    this.root.append(el("div", { class: "inspect" },
      el("div", { class: "inspect-top" },
        this.input.node, this.prediction.node, this.explainer.node),
      this.overview.node, this.detail.node, this.dropout.node, this.filters.node));
    // beyond saliency: how little fools it, and what its units look for
    this.adversarial = new AdversarialPanel({ api });
    this.features = new FeatureViz({ api });
    this.root.firstChild.append(this.adversarial.node, this.features.node);
  }

  // ---- render: cheap, called on every store change ----------------------------------------
  render(state, visible) {
    const wasVisible = this.visible;
    this.visible = visible;
    if (!visible) {
      this.updateLive(state);
      return;
    }
    if (state.dataset !== this.dataset) {
      this.dataset = state.dataset;
      this.input.setDataset(state.dataset);
    }
    this.input.setShape(state.spec && state.spec.input);
    const key = this.session.specKey(state);
    if (key !== this.specKey) {
      this.specKey = key;
      this.connect();
    } else if (!this.connecting && state.networkId && state.networkSpecKey === key
      && state.networkId !== this.netId) {
      this.connect(); // another view adopted a network (reinit, import)
    } else if (!wasVisible && this.netId) {
      // the weights may have changed while the view was hidden
      this.loop.request({ explain: true });
    }
    this.updateLive(state);
  }

  // ---- the network --------------------------------------------------------------------------
  async connect() {
    const gen = ++this.netGen;
    this.netId = null;
    this.convPaths = null;
    this.connecting = true;
    this.serverTraining = false;
    let id, list;
    try {
      id = await this.session.network();
      list = await this.api.weights(id);
    } catch (e) {
      if (gen === this.netGen) {
        this.connecting = false;
        this.input.showError(e);
        this.clear();
      }
      return;
    }
    if (gen !== this.netGen) return;
    this.connecting = false;
    this.netId = id;
    const convs = list.layers.filter((l) => l.type === "conv2d");
    this.convPaths = convs.map((l) => l.path);
    const size = convs.reduce((sum, l) => sum + l.params.W.reduce((a, b) => a * b, 1), 0);
    this.filtersEvery = size <= SMALL_FILTERS ? 1 : BIG_FILTERS_EVERY;
    this.clear();
    this.loop.request({ explain: true });
    this.updateLive(this.store.state);
  }

  clear() {
    this.snapshot = null;
    this.prediction.clear();
    this.overview.clear();
    this.detail.hide();
    this.explainer.clear();
    this.dropout.clear();
    this.filters.clear();
    this.adversarial.clear();
    this.features.clear();
  }

  // ---- refreshing -----------------------------------------------------------------------------
  // One refresh: the overview, the filters and the open map's unit, asked together.
  async refresh({ explain }) {
    const id = this.netId;
    const gen = this.netGen;
    if (!id || !this.visible) return;
    const body = this.input.body(this.store.state.dataset);
    const unit = this.detail.open ? this.detail.wantedUnit() : null;
    const field = this.detail.open && body ? this.detail.wantedField() : null;
    const withFilters = explain || this.refreshes++ % this.filtersEvery === 0;
    const [overview, filters, unitAnswer, fieldAnswer] = await Promise.allSettled([
      body ? this.api.overview(id, body) : null,
      withFilters ? Promise.all(this.convPaths.map((path) => this.api.weights(id, path))) : null,
      unit ? this.api.weights(id, unit.path, unit.unit) : null,
      field ? this.api.receptiveField(id, { ...body, ...field }) : null,
    ]);
    if (gen !== this.netGen) return;
    if (filters.status === "rejected") this.filters.showError(filters.reason);
    else if (filters.value) this.filters.render(filters.value);
    if (overview.status === "rejected") {
      this.input.showError(overview.reason);
      this.snapshot = null;
      this.prediction.clear();
      this.overview.clear();
      this.detail.hide();
      return;
    }
    if (!overview.value) return;
    this.input.showError(null);
    const unitWeights = unitAnswer.status === "fulfilled" ? unitAnswer.value : null;
    this.show(new Snapshot(overview.value), unitWeights);
    if (fieldAnswer.status === "rejected") this.detail.field.showError(fieldAnswer.reason);
    else if (fieldAnswer.value && this.detail.open) this.detail.renderField(fieldAnswer.value);
    if (explain) this.adversarial.update(id, body, this.snapshot.prediction);
    await Promise.all([this.loadDropout(body), explain ? this.explain(body) : null]);
  }

  show(snapshot, unitAnswer) {
    this.snapshot = snapshot;
    const { prediction, weights } = snapshot;
    if (snapshot.normalization) this.input.setNormalization(snapshot.normalization.text);
    this.prediction.render(prediction, weights, this.input.input);
    if (prediction) this.explainer.setClasses(prediction.class_names);
    this.overview.render(snapshot);
    this.dropout.setLayers(snapshot);
    if (this.netId) this.features.update(this.netId, snapshot, this.store.state.dataset);
    if (this.detail.open) {
      this.detail.render(snapshot);
      if (unitAnswer) this.detail.renderUnit(unitAnswer);
    }
    // paused, the weights stand still: no need to follow them
    this.serverTraining = Boolean(weights) && weights.state === "training"
      && weights.status !== "paused";
    this.updateLive(this.store.state);
  }

  // ---- a map opened large --------------------------------------------------------------------
  async open(target) {
    if (!this.snapshot) return;
    this.detail.show(target, this.snapshot);
    this.detail.node.scrollIntoView({ block: "nearest", behavior: "smooth" });
    await this.loadUnit();
  }

  async loadUnit() {
    const id = this.netId, gen = this.netGen;
    const unit = this.detail.wantedUnit();
    if (!unit || !id) return;
    try {
      const answer = await this.api.weights(id, unit.path, unit.unit);
      if (gen === this.netGen && this.detail.open) this.detail.renderUnit(answer);
    } catch (e) {
      if (gen === this.netGen) this.input.showError(e);
    }
  }

  async loadField() {
    const id = this.netId, gen = this.netGen;
    const field = this.detail.wantedField();
    const body = this.input.body(this.store.state.dataset);
    if (!field || !id || !body) return;
    try {
      const answer = await this.api.receptiveField(id, { ...body, ...field });
      if (gen === this.netGen && this.detail.open) this.detail.renderField(answer);
    } catch (e) {
      if (gen === this.netGen) this.detail.field.showError(e);
    }
  }

  // The dropout panel's layer on the input shown, with its mask's seed.
  async loadDropout(body = this.input.body(this.store.state.dataset)) {
    const id = this.netId, gen = this.netGen;
    const want = this.dropout.wanted();
    if (!want || !id || !body) return;
    try {
      const answer = await this.api.dropout(id, { ...body, ...want });
      if (gen === this.netGen) this.dropout.render(answer);
    } catch (e) {
      if (gen === this.netGen) this.dropout.showError(e);
    }
  }

  close() {
    this.detail.hide();
    this.overview.mark(null);
  }

  // ---- saliency and occlusion ---------------------------------------------------------------
  async explain(body = this.input.body(this.store.state.dataset)) {
    const id = this.netId;
    const gen = this.netGen;
    if (!id || !body || !this.snapshot || !this.snapshot.prediction) return;
    const input = this.snapshot.layer("input");
    const options = this.explainer.options();
    this.explainer.busy(true);
    try {
      const [saliency, occlusion] = await Promise.all([
        this.api.saliency(id, { ...body, ...options.saliency }),
        this.api.occlusion(id, { ...body, ...options.occlusion }),
      ]);
      if (gen !== this.netGen) return;
      const seen = { shape: input.shape, values: this.snapshot.values("input") };
      this.explainer.render(seen, saliency, occlusion);
    } catch (e) {
      if (gen === this.netGen) this.explainer.showError(e);
    } finally {
      this.explainer.busy(false);
    }
  }

  // ---- live while a run trains --------------------------------------------------------------
  // The store knows the page's own run as it starts; the server's answers tell of one started
  // elsewhere, and of a run's end only once its weights are the network's (the store may hear
  // of the end a moment before): live while either says it trains.
  updateLive(state) {
    const run = state.activeRun;
    const mine = run && run.network_id === this.netId && ["queued", "running"].includes(run.status);
    const live = this.visible && Boolean(this.netId) && (mine || this.serverTraining);
    // the run ended: show its final weights, once
    if (this.live && !live && this.visible) this.loop.request({ explain: true });
    this.live = live;
    this.loop.setLive(live);
  }
}

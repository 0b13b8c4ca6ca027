// Convolution, step by step: the lecture's 5x5 X and 3x3 W as an animation. The parts, each in
// views/conv/: what the student sets up (setup.js), the forward pass with its sliding window
// (forward.js), the backward pass stepped cell by cell and as convolutions (backward.js) and
// pooling with its own window (pooling.js). This module only asks the server and hands its
// answer to them: every number, warning and error comes from POST /api/conv/explain (the
// engine's own layers); the page computes none of them.

import { debounce, el, showError } from "../ui.js";
import { BackwardPanel } from "./conv/backward.js";
import { ForwardFigure } from "./conv/forward.js";
import { PoolingPanel } from "./conv/pooling.js";
import { SetupPanel } from "./conv/setup.js";

export class ConvView {
  constructor(root, { api }) {
    this.root = root;
    this.api = api;
    this.seq = 0;
    this.started = false;
    this.fetchSoon = debounce(() => this.fetch(), 250);
    const changed = (how) => this.changed(how);
    this.setup = new SetupPanel({ onChange: changed });
    this.forward = new ForwardFigure();
    this.backward = new BackwardPanel({ onChange: changed });
    this.pooling = new PoolingPanel({ onChange: changed });
    this.errorEl = el("p", { class: "error", "data-conv-error": "", hidden: true, role: "alert" });
    this.answered = [this.forward.element, this.backward.element, this.pooling.element];
    root.append(this.setup.element, this.errorEl, ...this.answered);
    this.shape();
  }

  // Something changed: shape the gradients' editors at once, ask the server a moment later
  // (typing a number is several changes). An answer already on its way is now out of date:
  // bumping seq drops it. data-conv-state says whether the view shows the answer to the latest
  // change, for the tests and for the eye.
  changed(how) {
    this.seq += 1;
    this.root.dataset.convState = "pending";
    if (how && how.reset) this.backward.dlDo = null; // the lecture's example: δ all ones again
    this.shape();
    this.fetchSoon();
  }

  shape() {
    this.backward.reshape(this.setup.outputShape());
    this.pooling.reshape([this.setup.sizes.h, this.setup.sizes.w]);
  }

  async fetch() {
    const seq = ++this.seq;
    let body;
    try {
      body = { ...this.setup.request(), ...this.backward.request(), ...this.pooling.request() };
    } catch (e) {
      this.failed(e);
      return;
    }
    try {
      const result = await this.api.convExplain(body);
      if (seq !== this.seq) return;
      showError(this.errorEl, null);
      this.setStale(false);
      this.setup.render(result);
      this.forward.render(result);
      this.backward.render(result);
      this.pooling.render(result);
      this.root.dataset.convState = "ready";
    } catch (e) {
      if (seq === this.seq) this.failed(e);
    }
  }

  failed(error) {
    this.forward.player.pause();
    this.backward.steps.player.pause();
    showError(this.errorEl, error);
    this.setStale(true);
    this.root.dataset.convState = "error";
  }

  setStale(stale) {
    for (const section of this.answered) section.classList.toggle("stale", stale);
  }

  render(state, visible) {
    if (!visible) {
      this.forward.player.pause();
      this.backward.steps.player.pause();
      return;
    }
    if (!this.started) {
      this.started = true;
      this.fetch();
    }
  }
}

// Inspect's input: a test sample, shown on the pad, or a drawing made on it; and what the
// network expects, in its own numbers. onChange({explain}) says the input changed.

import { el, showError } from "../../ui.js";
import { DrawPad } from "../canvas.js";

const SAMPLES = 12;     // sample thumbnails per page
const DRAW_MS = 200;    // while a stroke goes on, ask for a refresh at most this often

function channelWords(c) {
  if (c === 1) return "grey (one channel)";
  if (c === 3) return "colour (three channels: red, green, blue)";
  return `${c} channels`;
}

export class InputPanel {
  constructor({ api, onChange }) {
    this.api = api;
    this.onChange = onChange;
    this.dataset = null;
    this.page = null;      // the samples answer on show
    this.offset = 0;
    this.input = null;     // {kind: "sample", dataset, split, index, label} or {kind: "drawing"}
    this.shape = null;     // the network's input shape
    this.drawTimer = null;
    this.pad = new DrawPad({
      label: "Drawing pad: draw in white with the mouse, a finger or a pen",
      onDraw: () => this.drawing(),
      onEnd: () => this.drawn(),
    });
    this.expects = el("p", { class: "inspect-expects", "data-input-expects": "" });
    this.howTo = el("p", { class: "muted", "data-input-how": "" });
    this.normalization = el("p", { class: "muted", "data-input-normalization": "" });
    this.source = el("p", { class: "inspect-source", "data-input-source": "",
      "aria-live": "polite" });
    this.errorBox = el("p", { class: "error", "data-inspect-error": "", hidden: true });
    this.samplesBox = el("div", { class: "inspect-samples", "data-inspect-samples": "",
      role: "group", "aria-label": "Test samples: pick one to inspect" });
    this.samplesTitle = el("span");
    this.samplesError = el("p", { class: "error", "data-samples-error": "", hidden: true });
    this.node = el("section", { class: "panel inspect-input",
      "aria-labelledby": "inspect-input-h" },
      el("h2", { id: "inspect-input-h" }, "Input"),
      this.expects, this.howTo,
      el("div", { class: "draw-wrap" }, this.pad.canvas),
      el("details", { class: "inspect-normalization" },
        el("summary", {}, "What the network sees: not 0-255"), this.normalization),
      el("div", { class: "row inspect-controls" },
        el("button", { type: "button", "data-action": "clear-drawing",
          onclick: () => this.clearDrawing() }, "Clear the pad"),
        this.source),
      this.errorBox,
      el("h3", {}, "Test samples of ", this.samplesTitle),
      this.samplesBox,
      el("button", { type: "button", "data-action": "more-samples",
        onclick: () => this.moreSamples() }, "Other samples"),
      this.samplesError);
  }

  // The network's input shape: say what it takes, and whether the dataset's images fit it.
  setShape(shape) {
    this.shape = shape || null;
    this.describe();
  }

  describe() {
    const shape = this.shape;
    if (!shape || shape.length !== 3) {
      this.expects.textContent = shape
        ? `The network takes inputs of shape ${shape.join("×")}, not images.` : "";
      return;
    }
    const [c, h, w] = shape;
    let text = `The network takes ${c}×${h}×${w} images: ${channelWords(c)}, ${h} by ${w} pixels.`;
    const ds = this.page;
    if (ds && ds.shape.join("x") !== shape.join("x")) {
      text += ` The images of ${ds.dataset} are ${ds.shape.join("×")}: adapt the network in the `
        + "Data view.";
    }
    this.expects.textContent = text;
    const what = ds && ds.kind === "digits" ? "a digit" : "something";
    this.howTo.textContent = `Pick a test sample below, or draw ${what} on the pad in white on `
      + "black"
      + (c === 3 ? " (a drawing is grey: the same in all three channels)." : ".");
  }

  // How the pixels are scaled before the first layer (the server's words).
  setNormalization(text) {
    if (this.normalization.textContent !== text) this.normalization.textContent = text || "";
  }

  setDataset(name) {
    this.dataset = name;
    this.offset = 0;
    this.page = null;
    this.samplesTitle.textContent = name || "(no dataset)";
    if (this.input && this.input.kind === "sample") { // the first new sample takes over
      this.input = null;
      this.source.textContent = "";
    } else if (this.input) {
      this.onChange({ explain: true }); // a drawing is normalized like the dataset
    }
    this.describe();
    this.loadSamples();
  }

  async loadSamples() {
    const name = this.dataset;
    this.samplesBox.replaceChildren();
    if (!name) return;
    let page;
    try {
      page = await this.api.samples(name,
        { split: "test", offset: this.offset, n: SAMPLES, format: "png" });
    } catch (e) {
      if (name === this.dataset) showError(this.samplesError, e);
      return;
    }
    if (name !== this.dataset) return;
    showError(this.samplesError, null);
    this.page = page;
    this.describe();
    this.samplesBox.replaceChildren(...page.items.map((item) => el("button", {
      type: "button", class: "sample", "data-sample-index": item.index, "aria-pressed": "false",
      "aria-label": `test sample ${item.index}, labelled ${item.class_name}`,
      onclick: () => this.pickSample(item),
    }, el("img", { src: item.png, alt: "", width: 44, height: 44 }),
    el("span", { text: item.class_name }))));
    this.markSample();
    if (!this.input && page.items.length) this.pickSample(page.items[0]);
  }

  moreSamples() {
    if (!this.dataset || !this.page) return;
    this.offset += SAMPLES;
    if (this.offset >= this.page.total) this.offset = 0;
    this.loadSamples();
  }

  async pickSample(item) {
    const dataset = this.page.dataset;
    this.input = { kind: "sample", dataset, split: "test", index: item.index,
      label: item.class_name };
    this.markSample();
    this.source.textContent = `Test sample ${item.index} of ${dataset}, `
      + `labelled ${item.class_name}.`;
    this.onChange({ explain: true });
    const image = new Image();
    image.src = item.png;
    try {
      await image.decode();
    } catch {
      return; // the pad stays as it was; the overview still shows the input
    }
    const still = this.input && this.input.kind === "sample" && this.input.index === item.index;
    if (still) this.pad.show(image);
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
      this.source.textContent = "Your drawing.";
    }
    if (!this.drawTimer) {
      this.drawTimer = setTimeout(() => { this.drawTimer = null; this.onChange({}); }, DRAW_MS);
    }
  }

  drawn() {
    clearTimeout(this.drawTimer);
    this.drawTimer = null;
    this.onChange({ explain: true });
  }

  clearDrawing() {
    this.pad.clear();
    if (this.input && this.input.kind === "drawing") {
      this.source.textContent = "Draw something to inspect it.";
    }
  }

  // The request body for the current input, or null.
  body(datasetName) {
    const input = this.input;
    if (!input) return null;
    if (input.kind === "sample") {
      return { dataset: input.dataset, split: input.split, index: input.index };
    }
    if (this.pad.empty) return null;
    const shape = this.shape || [];
    const [h, w] = shape.length === 3 ? shape.slice(1) : [0, 0];
    // drawn digits are centred by the server as MNIST's were; twice the network's size keeps the
    // strokes sharp enough for that, at a quarter of the full pad's numbers
    const digits = shape.length === 3 && shape[0] === 1 && 280 % (2 * h) === 0 && h === w;
    const body = digits ? { pixels: this.pad.pixels(2 * h, 2 * w), center: true }
      : { pixels: this.pad.pixels(h, w) };
    if (datasetName) body.dataset = datasetName;
    return body;
  }

  showError(e) {
    showError(this.errorBox, e);
  }
}

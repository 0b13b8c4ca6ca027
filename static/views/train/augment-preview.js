// What the augmentation settings do to a few training images, before a run: each image as
// it is, then as shift, crop, flip and noise draw it several times. The server draws them
// with the code a run trains with, seeded, so a setting changed shows at once on the same
// images, and "Draw again" asks for other draws.

import { debounce, el, showError } from "../../ui.js";

const SAMPLES = 4;
const COPIES = 4;
const NAMES = ["shift", "noise", "flip", "crop"];

export class AugmentPreview {
  constructor(api) {
    this.api = api;
    this.seed = 0;
    this.asked = 0;      // requests made; an answer to an older one is not shown
    this.key = null;     // what the shown pictures were drawn for
    this.note = el("p", { class: "muted preview-note", "data-augment-note": true });
    this.error = el("p", { class: "error", hidden: true });
    this.grid = el("div", { class: "augment-grid", "data-augment-grid": true });
    this.again = el("button", { type: "button", "data-action": "augment-again", onclick: () => this.drawAgain() },
      "Draw again");
    this.root = el("div", { class: "augment-preview", "data-train-augment-preview": true },
      el("div", { class: "row preview-head" }, el("h3", { text: "What training sees" }), this.again),
      this.note, this.error, this.grid);
    this.ask = debounce(() => this.load(), 150);
  }

  // setup: {dataset, augment: {shift, noise, flip, crop}}; drawn again only when it changed.
  show(setup) {
    this.setup = setup;
    const key = JSON.stringify([setup, this.seed]);
    if (key === this.key) return;
    this.key = key;
    this.ask();
  }

  drawAgain() {
    this.seed += 1;
    if (this.setup) this.show(this.setup);
  }

  async load() {
    const { dataset, augment } = this.setup;
    const asked = ++this.asked;
    const body = { augment, seed: this.seed, n: SAMPLES, copies: COPIES };
    this.root.dataset.loading = "";
    try {
      const preview = await this.api.augmentPreview(dataset, body);
      if (asked !== this.asked) return;
      showError(this.error, null);
      this.draw(preview);
    } catch (e) {
      if (asked !== this.asked) return;
      this.key = null; // ask again next time, even for the same settings
      showError(this.error, { message: `cannot show the augmented images: ${e.message}` });
    } finally {
      if (asked === this.asked) delete this.root.dataset.loading;
    }
  }

  draw(preview) {
    const on = NAMES.filter((k) => preview.augment[k]).map((k) => (k === "shift" ? `shift up to ${preview.augment.shift}`
      : k === "noise" ? `noise ${preview.augment.noise}` : k));
    this.note.textContent = preview.active
      ? `Each row: an image, then ${COPIES} of the ways ${on.join(", ")} can change it. Every batch is drawn anew, `
        + "so the network never sees quite the same picture twice."
      : "No augmentation is set: training sees each image as it is. Set a shift, noise, a flip or a crop "
        + "and watch these change.";
    // what is shown, for tests and the curious
    this.root.dataset.augment = JSON.stringify(preview.augment);
    this.root.dataset.shown = JSON.stringify([preview.dataset, preview.augment, preview.seed]);
    const head = el("div", { class: "augment-row augment-head", "aria-hidden": "true" },
      el("span", { text: "image" }), el("span", { class: "augment-drawn", text: "as training draws it" }));
    const rows = preview.samples.map((s) => el("div", { class: "augment-row", "data-augment-sample": s.index },
      el("img", { src: s.original, alt: `training image ${s.index}: ${s.class_name}`, class: "original",
        "data-augment-original": "" }),
      ...s.augmented.map((src, k) => el("img", { src, alt: `image ${s.index}, draw ${k + 1}`,
        "data-augment-copy": k }))));
    this.grid.replaceChildren(head, ...rows);
  }
}

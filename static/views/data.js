// The Data view: what an image is (width, height, depth, value range), a grid of
// a dataset's samples with their labels, uploading and deleting datasets, and
// adapting the network to the chosen dataset's shape and classes.

import { el, fmt, showError } from "../ui.js";

const PAGE = 32;

// The last linear layer of a spec (searching from the end, into blocks), or null.
export function lastLinear(layers) {
  for (let i = (layers || []).length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (!layer) continue;
    if (layer.type === "linear") return layer;
    if (layer.type === "residual") {
      const found = lastLinear(layer.body);
      if (found) return found;
    }
    if (layer.type === "concat") return null; // a concat's branches end in parallel: no single last layer
    if (["conv2d", "batchnorm2d", "global_avgpool2d"].includes(layer.type)) return null;
  }
  return null;
}

// How the spec and the dataset disagree: a list of sentences (empty when they fit).
export function misfit(spec, ds) {
  if (!spec || !ds) return [];
  const out = [];
  const input = spec.input || [];
  if (input.join("x") !== ds.shape.join("x")) {
    out.push(`the network takes ${fmt.shape(input)} input but ${ds.title || ds.name} images are ${fmt.shape(ds.shape)} (depth × height × width)`);
  }
  const last = lastLinear(spec.layers);
  if (last && last.out_features !== ds.num_classes) {
    out.push(`the network's last linear layer has ${last.out_features} outputs but the dataset has ${ds.num_classes} classes`);
  }
  return out;
}

// A dataset downloaded on first use that is not on the server yet.
export const notDownloaded = (ds) => ds.source === "download" && !ds.cached;

export class DataView {
  constructor(root, { store, api }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.datasets = null;
    this.presets = null;
    this.loadedKey = null;   // dataset|split|offset of the grid on show
    this.page = null;        // the samples response on show
    this.selected = null;    // index in page.items
    this.requestId = 0;
    this.downloading = false; // a download of this.downloadFor is under way
    this.downloadFor = null;

    this.select = el("select", { id: "data-dataset", "data-dataset-select": true });
    this.select.addEventListener("change", () => store.set({ dataset: this.select.value }));
    this.deleteButton = el("button", { type: "button", "data-action": "delete-dataset", hidden: true, onclick: () => this.deleteDataset() }, "Delete this uploaded dataset");
    this.datasetError = el("p", { class: "error", "data-dataset-error": true, hidden: true });
    this.description = el("p", { class: "muted", "data-dataset-description": true });
    this.datasetFacts = el("dl", { class: "data-facts", "data-dataset-facts": true });

    // a dataset that is downloaded on first use but is not on the server yet
    this.missingBox = el("div", { class: "data-missing", "data-dataset-missing": true,
      hidden: true });
    this.missingText = el("p", { "data-how-to-get": true });
    this.downloadButton = el("button", { type: "button", class: "primary",
      "data-action": "download-dataset", onclick: () => this.download() });
    this.downloadStatus = el("span", { class: "muted", "aria-live": "polite" });
    this.downloadError = el("p", { class: "error", "data-download-error": true, hidden: true });
    this.missingBox.append(this.missingText,
      el("div", { class: "row download-row" }, this.downloadButton, this.downloadStatus),
      this.downloadError);

    this.fitBox = el("div", { class: "data-fit", "data-dataset-fit": true, hidden: true });
    this.fitText = el("ul", { class: "warning" });
    this.adaptButton = el("button", { type: "button", class: "primary", "data-action": "adapt-network", onclick: () => this.adapt() }, "Adapt the network to this dataset");
    this.presetButton = el("button", { type: "button", "data-action": "use-recommended-preset", hidden: true, onclick: () => this.useRecommended() });
    this.fitError = el("p", { class: "error", "data-adapt-error": true, hidden: true });
    this.fitOk = el("p", { class: "ok", "data-adapt-ok": true, hidden: true });
    this.fitBox.append(
      el("p", { class: "warning" }, el("strong", { text: "The network does not fit this dataset:" })),
      this.fitText,
      el("div", { class: "row" }, this.adaptButton, this.presetButton),
      el("p", { class: "muted", text: "Adapting sets the network's input to the dataset's shape and its last linear layer's outputs to the number of classes; the other layers keep their settings." }),
      this.fitError);

    this.splitSelect = el("select", { id: "data-split", "data-split-select": true },
      el("option", { value: "train" }, "training images"), el("option", { value: "test" }, "test images"));
    this.splitSelect.addEventListener("change", () => this.loadSamples(this.store.state.dataset, this.splitSelect.value, 0));
    this.prevButton = el("button", { type: "button", "data-action": "prev-samples", onclick: () => this.turn(-1) }, "← Previous");
    this.nextButton = el("button", { type: "button", "data-action": "next-samples", onclick: () => this.turn(1) }, "Next →");
    this.pageText = el("span", { class: "muted", "data-sample-page": true, "aria-live": "polite" });
    this.samplesError = el("p", { class: "error", "data-samples-error": true, hidden: true });
    this.grid = el("div", { class: "sample-grid", "data-sample-grid": true, role: "list", "aria-label": "Sample images with their labels" });
    this.facts = el("div", { class: "image-facts", "data-image-facts": true, "aria-live": "polite" },
      el("p", { class: "muted", text: "Click an image to see its width, height, depth and range of values." }));

    // upload
    this.fileInput = el("input", { type: "file", id: "data-upload-file", accept: ".npz,.zip", "data-upload-file": true });
    this.nameInput = el("input", { type: "text", id: "data-upload-name", maxlength: 64, placeholder: "from the file name", "data-upload-name": true });
    this.uploadButton = el("button", { type: "button", class: "primary", "data-action": "upload-dataset", onclick: () => this.upload() }, "Upload");
    this.progress = el("progress", { max: 1, value: 0, "data-upload-progress": true, hidden: true, "aria-label": "Upload progress" });
    this.uploadStatus = el("span", { class: "muted", "data-upload-status": true, "aria-live": "polite" });
    this.uploadError = el("p", { class: "error", "data-upload-error": true, hidden: true });

    root.append(
      el("div", { class: "data-layout" },
        el("section", { class: "panel data-choose", "aria-labelledby": "data-choose-h" },
          el("h2", { id: "data-choose-h", text: "Dataset" }),
          el("div", { class: "dataset-choice" }, el("label", { for: "data-dataset" }, "Train on"), this.select),
          this.datasetError, this.missingBox, this.description, this.datasetFacts,
          this.deleteButton, this.fitBox, this.fitOk),
        el("div", { class: "data-main" },
          el("section", { class: "panel data-samples", "aria-labelledby": "data-samples-h" },
            el("h2", { id: "data-samples-h", text: "Samples" }),
            el("div", { class: "row samples-bar" },
              el("label", { for: "data-split" }, "Show"), this.splitSelect, this.prevButton, this.nextButton, this.pageText),
            this.samplesError, this.grid),
          el("section", { class: "panel data-image", "aria-labelledby": "data-facts-h" },
            el("h2", { id: "data-facts-h", text: "What is an image?" }),
            el("p", { class: "muted", text: "To the network an image is an array of numbers: width × height pixels, each with depth values (1 for grey, 3 for red, green and blue), usually whole numbers from 0 to 255 (8 bits)." }),
            this.facts)),
        el("section", { class: "panel data-upload", "aria-labelledby": "data-upload-h" },
          el("h2", { id: "data-upload-h", text: "Upload your own" }),
          el("p", { class: "muted", text: "A .npz file saved with numpy.savez (arrays x: images as N×H×W, N×C×H×W or N×H×W×C with values 0..255 or 0..1, and y: labels, integers 0..K-1 or text; optional class_names, x_test, y_test; or x_train, y_train as Keras names them), or a .zip with one folder of PNG/JPEG images per class." }),
          el("div", { class: "upload-form" },
            el("label", { for: "data-upload-file" }, "File (.npz or .zip)"), this.fileInput,
            el("label", { for: "data-upload-name" }, "Name (optional)"), this.nameInput),
          el("div", { class: "row upload-actions" }, this.uploadButton, this.progress, this.uploadStatus),
          this.uploadError)));

    this.loadDatasets();
    api.presets().then((p) => { this.presets = p; this.rerender(); }).catch(() => { /* the recommendation is optional */ });
  }

  rerender() {
    this.render(this.store.state, !this.root.hidden);
  }

  async loadDatasets() {
    try {
      this.datasets = await this.api.datasets();
      showError(this.datasetError, null);
    } catch (e) {
      showError(this.datasetError, e);
      this.datasets = this.datasets || [];
    }
    this.fillSelect();
    this.rerender();
  }

  fillSelect() {
    const groups = { builtin: el("optgroup", { label: "Built in" }), upload: el("optgroup", { label: "Uploaded" }) };
    for (const d of this.datasets || []) {
      const missing = notDownloaded(d) ? " (not downloaded)" : "";
      const group = groups[d.source === "upload" ? "upload" : "builtin"];
      group.append(el("option", { value: d.name }, `${d.title || d.name}${missing}`));
    }
    this.select.replaceChildren(...Object.values(groups).filter((g) => g.children.length));
    this.select.value = this.store.state.dataset;
  }

  current(state) {
    return (this.datasets || []).find((d) => d.name === state.dataset) || null;
  }

  render(state, visible) {
    if (!visible) return;
    if (!this.datasets) return;
    const ds = this.current(state);
    if (this.select.value !== state.dataset) this.select.value = state.dataset;
    if (!ds) {
      showError(this.datasetError, { message: `there is no dataset named "${state.dataset}" on this server; pick another one` });
      this.description.textContent = "";
      this.datasetFacts.replaceChildren();
      this.fitBox.hidden = true;
      this.deleteButton.hidden = true;
      return;
    }
    if (this.datasetError.textContent.startsWith("there is no dataset")) showError(this.datasetError, null);
    this.description.textContent = ds.description || "";
    const [c, h, w] = ds.shape;
    const facts = [
      ["Image size", `${w} wide × ${h} high`],
      ["Depth", `${c} (${c === 3 ? "red, green, blue" : c === 1 ? "grey" : "channels"})`],
      ["Classes", `${ds.num_classes}: ${ds.class_names.join(", ")}`],
      ["Images", `${fmt.int(ds.train_size)} for training, ${fmt.int(ds.test_size)} for testing`],
      ["Source", ds.source === "upload" ? `uploaded${ds.filename ? ` (${ds.filename})` : ""}`
        : ds.source === "download" ? `downloaded from the internet${ds.cached ? "" : " (not yet)"}`
          : ds.source],
    ];
    this.datasetFacts.replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    this.deleteButton.hidden = !ds.deletable;
    this.renderFit(state, ds);
    this.renderMissing(ds);
    if (notDownloaded(ds)) return; // no images to show, and asking for them would start a download
    const key = `${ds.name}|${this.splitSelect.value}`;
    if (!this.loadedKey || !this.loadedKey.startsWith(key + "|")) this.loadSamples(ds.name, this.splitSelect.value, 0);
  }

  renderFit(state, ds) {
    const problems = misfit(state.spec, ds);
    this.fitBox.hidden = !problems.length;
    if (problems.length) this.fitOk.hidden = true;
    this.fitText.replaceChildren(...problems.map((p) => el("li", { text: p })));
    const recommended = this.presets && this.presets.default_for_dataset ? this.presets.default_for_dataset[ds.name] : null;
    const info = recommended && this.presets.presets.find((p) => p.name === recommended);
    // shown only while the network does not fit: then even the recommended preset's name in
    // state.preset may stand for a spec made for another dataset
    this.presetButton.hidden = !recommended;
    if (recommended) this.presetButton.textContent = `Use the recommended network: ${info ? info.title : recommended}`;
    this.adaptButton.disabled = !state.spec;
  }

  renderMissing(ds) {
    const missing = notDownloaded(ds);
    this.missingBox.hidden = !missing;
    if (!missing) return;
    this.missingText.textContent = ds.how_to_get || "Not downloaded yet.";
    this.downloadButton.hidden = !ds.downloadable;
    const mb = Math.round((ds.download_bytes || 0) / 1e6);
    const size = mb ? ` (${mb} MB)` : "";
    const label = `Download ${ds.title || ds.name}${size}`;
    if (!this.downloading) this.downloadButton.textContent = label;
    // an error of another dataset's download
    if (this.downloadFor !== ds.name) showError(this.downloadError, null);
    // the grid of another dataset must not stay under this one's name, nor one still on its way
    this.requestId++;
    this.loadedKey = null;
    this.page = null;
    this.grid.replaceChildren(el("p", { class: "muted samples-missing",
      "data-samples-missing": true,
      text: `${ds.title || ds.name}'s images appear here once it is on the server.` }));
    this.pageText.textContent = "";
    this.prevButton.disabled = this.nextButton.disabled = true;
    showError(this.samplesError, null);
    this.facts.replaceChildren();
  }

  async download() {
    const ds = this.current(this.store.state);
    if (!ds || this.downloading) return;
    this.downloading = true;
    this.downloadFor = ds.name;
    this.downloadButton.disabled = true;
    showError(this.downloadError, null);
    this.downloadStatus.textContent =
      `Downloading ${ds.title || ds.name}; this can take a few minutes…`;
    try {
      await this.api.downloadDataset(ds.name);
      this.downloadStatus.textContent = "";
      await this.loadDatasets();
    } catch (e) {
      this.downloadStatus.textContent = "";
      showError(this.downloadError, e);
    } finally {
      this.downloading = false;
      this.downloadButton.disabled = false;
      this.rerender();
    }
  }

  async adapt() {
    const { state } = this.store;
    const ds = this.current(state);
    if (!ds || !state.spec) return;
    const spec = structuredClone(state.spec);
    spec.input = [...ds.shape];
    const last = lastLinear(spec.layers);
    if (last) last.out_features = ds.num_classes;
    showError(this.fitError, null);
    try {
      await this.api.validate(spec);
    } catch (e) {
      showError(this.fitError, { message: `the adapted network is not valid: ${e.message}. Change it in the Build view or use the recommended network.` });
      return;
    }
    if (!last) {
      showError(this.fitError, { message: "the input was adapted, but the network has no linear layer at its end to set to the number of classes; change its last layer in the Build view" });
    }
    this.store.set({ spec });
    this.fitOk.textContent = `The network now takes ${fmt.shape(ds.shape)} images${last ? ` and predicts ${ds.num_classes} classes` : ""}.`;
    this.fitOk.hidden = false;
  }

  async useRecommended() {
    const ds = this.current(this.store.state);
    const name = ds && this.presets && this.presets.default_for_dataset[ds.name];
    if (!name) return;
    showError(this.fitError, null);
    try {
      const preset = await this.api.preset(name, ds.name); // made to fit this dataset
      this.store.set({ preset: name, spec: preset.spec });
      this.fitOk.textContent = `Now using ${preset.title || name}.`;
      this.fitOk.hidden = false;
    } catch (e) {
      showError(this.fitError, e);
    }
  }

  turn(direction) {
    if (!this.page) return;
    const offset = Math.max(0, this.page.offset + direction * PAGE);
    if (offset >= this.page.total) return;
    this.loadSamples(this.page.dataset === this.store.state.dataset ? this.store.state.dataset : this.page.dataset, this.page.split, offset);
  }

  async loadSamples(name, split, offset) {
    const id = ++this.requestId;
    this.loadedKey = `${name}|${split}|${offset}`;
    this.grid.setAttribute("aria-busy", "true");
    showError(this.samplesError, null);
    if (!this.page || this.page.dataset !== name || this.page.split !== split) {
      // another dataset's pictures must not stand under this one's name while it loads
      this.page = null;
      this.grid.replaceChildren(el("p", { class: "muted", "data-samples-loading": "",
        text: `Loading ${name}'s images… (a built-in dataset is generated the first time: a few seconds)` }));
      this.pageText.textContent = "";
      this.choose(null);
    }
    let page;
    try {
      page = await this.api.samples(name, { split, offset, n: PAGE, format: "png" });
    } catch (e) {
      if (id !== this.requestId) return;
      this.grid.removeAttribute("aria-busy");
      this.grid.replaceChildren();
      this.page = null;
      const empty = /out of range/.test(e.message) && offset === 0;
      showError(this.samplesError, empty ? { message: `this dataset has no ${split} images` } : e);
      this.pageText.textContent = "";
      return;
    }
    if (id !== this.requestId) return;
    this.grid.removeAttribute("aria-busy");
    page.dataset = name; // the name we asked for (the server may answer with its canonical name)
    this.page = page;
    this.prevButton.disabled = offset === 0;
    this.nextButton.disabled = offset + page.n >= page.total;
    this.pageText.textContent = page.total ? `images ${fmt.int(offset + 1)}–${fmt.int(offset + page.n)} of ${fmt.int(page.total)}` : "no images";
    if (!page.total) showError(this.samplesError, { message: `this dataset has no ${split} images` });
    this.grid.replaceChildren(...page.items.map((item, i) => {
      const b = el("button", { type: "button", class: "sample", "data-sample-index": item.index, "aria-pressed": "false",
        "aria-label": `image ${item.index}, label ${item.class_name}`, onclick: () => this.choose(i) },
        el("img", { src: item.png, alt: "", width: 56, height: 56 }),
        el("span", { class: "sample-label", text: item.class_name }));
      return el("div", { role: "listitem" }, b);
    }));
    this.choose(page.items.length ? 0 : null);
  }

  choose(i) {
    this.selected = i;
    for (const [k, b] of [...this.grid.querySelectorAll("button.sample")].entries()) b.setAttribute("aria-pressed", String(k === i));
    if (i === null || !this.page) {
      this.facts.replaceChildren(el("p", { class: "muted", text: "No image to show." }));
      return;
    }
    const page = this.page;
    const item = page.items[i];
    const s = item.stats;
    const numbers = s.width * s.height * s.depth;
    const table = el("table", { class: "facts-table" },
      el("tbody", {},
        ...[
          ["Label", `${item.class_name} (class ${item.label})`],
          ["Width", `${s.width} pixels`],
          ["Height", `${s.height} pixels`],
          ["Depth (channels)", `${s.depth}${s.depth === 3 ? " — red, green, blue" : s.depth === 1 ? " — grey" : ""}`],
          ["Value range", `${s.min} to ${s.max} (of the possible 0 to 255: 8 bits, uint8)`],
          ["Mean value", fmt.num(s.mean, 4)],
          ["As an array", `${s.depth} × ${s.height} × ${s.width} = ${fmt.int(numbers)} numbers`],
        ].map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v })))));
    const big = el("figure", { class: "facts-image" },
      el("img", { src: item.png, alt: `image ${item.index} of the ${page.split} split, labelled ${item.class_name}`, width: 168, height: 168 }),
      el("figcaption", { text: `${page.split} image #${item.index}` }));
    const channels = item.channels ? el("div", { class: "channels", "data-image-channels": true },
      el("h3", { text: "Its three channels, shown apart" }),
      el("p", { class: "muted", text: "Each channel is one 2-D array; bright means a high value (255), dark a low one (0)." }),
      el("div", { class: "row" }, ...item.channels.map((src, k) => el("figure", { class: "channel" },
        el("img", { src, alt: `${(page.channel_names || [])[k] || `channel ${k}`} channel`, width: 96, height: 96 }),
        el("figcaption", { text: (page.channel_names || [])[k] || `channel ${k}` })))))
      : el("p", { class: "muted", "data-image-channels": true, text: s.depth === 1
        ? `A grey image has one channel: a single ${s.height} × ${s.width} array, 0 black and 255 white.`
        : `This image has ${s.depth} channels.` });
    this.facts.replaceChildren(el("div", { class: "row" }, big, table), channels);
  }

  async upload() {
    const file = this.fileInput.files && this.fileInput.files[0];
    showError(this.uploadError, null);
    if (!file) {
      showError(this.uploadError, { message: "choose a .npz or .zip file first" });
      return;
    }
    this.uploadButton.disabled = true;
    this.progress.hidden = false;
    this.progress.value = 0;
    this.uploadStatus.textContent = `uploading ${file.name}…`;
    try {
      const row = await this.api.uploadDataset(file, this.nameInput.value.trim() || null, (f) => {
        this.progress.value = f;
        if (f >= 1) this.uploadStatus.textContent = "checking and converting the images…";
      });
      this.uploadStatus.textContent = `added "${row.name}": ${fmt.int(row.train_size)} training images of ${fmt.shape(row.shape)}, ${row.num_classes} classes`;
      this.fileInput.value = "";
      this.nameInput.value = "";
      await this.loadDatasets();
      this.store.set({ dataset: row.name });
    } catch (e) {
      this.uploadStatus.textContent = "";
      showError(this.uploadError, e.status === 413 ? { message: `the file is too large: ${e.message}` } : e);
    } finally {
      this.uploadButton.disabled = false;
      this.progress.hidden = true;
    }
  }

  async deleteDataset() {
    const ds = this.current(this.store.state);
    if (!ds || !ds.deletable) return;
    showError(this.datasetError, null);
    try {
      await this.api.deleteDataset(ds.name);
    } catch (e) {
      showError(this.datasetError, e);
      return;
    }
    this.loadedKey = null;
    await this.loadDatasets();
    this.store.set({ dataset: (this.datasets.find((d) => d.name === "strokes") || this.datasets[0] || { name: "strokes" }).name });
  }
}

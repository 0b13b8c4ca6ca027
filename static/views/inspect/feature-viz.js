// What does this unit look for? Feature visualization: for every channel of a chosen layer
// (at most 16 at a time), the image the server grew by gradient ascent on the input until that
// channel answers strongly, with the regularisation that keeps it readable (jitter, blur, L2)
// under the student's control, and how far each unit's value climbed.

import { el, fmt, showError } from "../../ui.js";
import { colourBar } from "./colours.js";
import { layerLongName } from "./layers.js";

const PER_REQUEST = 16;       // the server's limit on images per request
const REDRAW_MS = 400;        // a control changed: wait this long for the next before drawing
// layers whose channels are units of their own (an activation or a pool has its input's)
const UNIT_LAYERS = ["conv2d", "conv_transpose2d", "linear", "residual", "concat"];

// The controls: [field, label, {min, max, step}, default, what it does].
const KNOBS = [
  ["steps", "Steps", { min: 1, max: 512, step: 1 }, 128, "steps of gradient ascent"],
  ["lr", "Step size", { min: 0.01, max: 2, step: 0.01 }, 0.2,
    "how far a typical pixel moves per step, in the dataset's standard deviations"],
  ["jitter", "Jitter (px)", { min: 0, max: 8, step: 1 }, 1,
    "each step shifts the image by up to this many pixels"],
  ["blur", "Blur σ (px)", { min: 0, max: 4, step: 0.1 }, 0.5,
    "each step blurs the image with a Gaussian this wide; 0: no blur"],
  ["l2", "L2 decay", { min: 0, max: 0.5, step: 0.005 }, 0.02,
    "each step pulls every pixel this fraction of the way back to the average image"],
  ["seed", "Seed", { min: 0, max: 99999, step: 1 }, 0, "the start image's noise and the jitter"],
];

export class FeatureViz {
  constructor({ api }) {
    this.api = api;
    this.netId = null;
    this.dataset = null;
    this.layers = [];
    this.classNames = null; // the output layer's units, once a prediction names them
    this.autoKey = null;  // what the last automatic drawing was for
    this.gen = 0;         // bumps with every request: late answers are dropped
    this.timer = null;
    const changed = () => this.redrawSoon();
    this.layerSelect = el("select", { id: "features-layer", "data-features-layer": "",
      onchange: () => { this.fillChannels(); this.draw(); } });
    this.channelSelect = el("select", { id: "features-channels", "data-features-channels": "",
      onchange: () => this.draw() });
    this.objective = el("select", { id: "features-objective", "data-features-objective": "",
      onchange: changed },
      el("option", { value: "centre" }, "the unit in the middle"),
      el("option", { value: "mean" }, "the whole map's mean"));
    this.inputs = new Map(KNOBS.map(([field, , range, value, help]) => [field,
      el("input", { id: `features-${field}`, type: "number", ...range, value, title: help,
        [`data-features-${field}`]: "", oninput: changed })]));
    this.errorBox = el("p", { class: "error", "data-features-error": "", hidden: true });
    this.status = el("p", { class: "muted", "data-features-status": "", "aria-live": "polite" });
    this.grid = el("div", { class: "features-grid", "data-features-grid": "" });
    this.bar = el("div", { class: "features-bar" });
    this.node = el("section", { class: "panel inspect-features", "data-inspect-features": "",
      "aria-labelledby": "inspect-features-h" },
      el("h2", { id: "inspect-features-h" }, "What does this unit look for?"),
      el("p", { class: "features-intro" },
        "Each picture is an input grown for one unit: starting from the average image with a ",
        "little noise, every step moves each pixel the way that makes the unit's value larger ",
        "(gradient ascent on the input, with the weights fixed). What appears is what the unit ",
        "looks for."),
      el("div", { class: "features-controls" },
        knob("features-layer", "Layer", this.layerSelect),
        knob("features-channels", "Show", this.channelSelect),
        knob("features-objective", "Make large", this.objective)),
      el("div", { class: "features-controls" },
        ...KNOBS.map(([field, label]) => knob(`features-${field}`, label, this.inputs.get(field))),
        el("button", { type: "button", "data-action": "features-draw", onclick: () => this.draw() },
          "Draw again")),
      el("p", { class: "muted features-why" },
        el("strong", { text: "The regularisation: " }),
        "without it the ascent fills the image with fine noise the network reacts to but a person ",
        "would not call a pattern. Jitter shifts the image a pixel or so each step, so the ",
        "pattern must work wherever it lands; blur smooths away what changes from pixel to ",
        "pixel; L2 decay pulls every pixel back towards the average image, so only what the ",
        "unit needs survives. Too much of them and the pattern fades."),
      this.errorBox, this.status, this.bar, this.grid);
  }

  // Called with every refresh; draws by itself only when the network, its layers or its
  // trained weights change (not at every step of a run: "Draw again" follows a run).
  update(netId, snapshot, dataset) {
    const layers = snapshot.layers.filter((l) => l.path !== "input"
      && UNIT_LAYERS.includes(l.type) && [1, 3].includes(l.shape.length));
    const key = layers.map((l) => `${l.path}:${l.shape.join("x")}`).join("|");
    if (netId !== this.netId || key !== this.layersKey) {
      this.netId = netId;
      this.layersKey = key;
      this.layers = layers;
      this.fillLayers();
    }
    this.dataset = dataset;
    const names = snapshot.prediction ? snapshot.prediction.class_names : null;
    if (names && names.join("\u0000") !== (this.classNames || []).join("\u0000")) {
      this.classNames = names;
      this.fillChannels();
    }
    const w = snapshot.weights || {};
    const training = w.state === "training";
    const auto = `${netId}|${key}|${dataset}|${training ? "training" : `${w.state}:${w.steps}`}`;
    if (auto === this.autoKey || (training && this.autoKey && this.autoKey.startsWith(netId))) {
      return;
    }
    this.autoKey = auto;
    this.draw();
  }

  clear() {
    this.netId = null;
    this.layersKey = null;
    this.autoKey = null;
    this.gen++;
    this.grid.replaceChildren();
    this.bar.replaceChildren();
    this.status.textContent = "";
  }

  fillLayers() {
    const old = this.layerSelect.value;
    const scores = this.layers.length ? this.layers[this.layers.length - 1].path : null;
    const label = (l) => layerLongName(l)
      + (l.path === scores && l.shape.length === 1 ? ", the class scores" : "");
    this.layerSelect.replaceChildren(...this.layers.map((l) => el("option", { value: l.path },
      label(l))));
    const first = this.layers.find((l) => l.type === "conv2d") || this.layers[0];
    const kept = this.layers.some((l) => l.path === old);
    this.layerSelect.value = kept ? old : (first ? first.path : "");
    this.fillChannels();
  }

  // Whole groups of at most 16 (all of a small layer), then each unit by itself: one image,
  // drawn large. On the class scores the units are named by their classes.
  fillChannels() {
    const layer = this.layers.find((l) => l.path === this.layerSelect.value);
    const old = this.channelSelect.value;
    const n = layer ? layer.shape[0] : 0;
    const classes = this.isScores(layer) && this.classNames && this.classNames.length === n;
    const unit = (k) => (classes ? `class ${this.classNames[k]}` : `${this.unitWord(layer)} ${k}`);
    const groups = [];
    for (let first = 0; first < n; first += PER_REQUEST) {
      const last = Math.min(n, first + PER_REQUEST) - 1;
      const label = first === 0 && last === n - 1
        ? `all ${n} ${classes ? "classes" : `${this.unitWord(layer)}s`}`
        : `${this.unitWord(layer)}s ${first}–${last} of ${n}`;
      groups.push(el("option", { value: `${first}-${last}` }, label));
    }
    const singles = Array.from({ length: n }, (_, k) => el("option", { value: `${k}-${k}` },
      unit(k)));
    this.channelSelect.replaceChildren(...groups,
      el("optgroup", { label: "one at a time, large" }, ...singles));
    this.channelSelect.value = [...groups, ...singles].some((o) => o.value === old) ? old
      : (groups[0] ? groups[0].value : "");
    this.objective.disabled = !layer || layer.shape.length !== 3;
  }

  isScores(layer) {
    const last = this.layers[this.layers.length - 1];
    return Boolean(layer) && layer === last && layer.shape.length === 1;
  }

  unitWord(layer) {
    return layer && layer.shape.length === 3 ? "channel" : "unit";
  }

  redrawSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.draw(), REDRAW_MS);
  }

  body() {
    const layer = this.layers.find((l) => l.path === this.layerSelect.value);
    const [first, last] = (this.channelSelect.value || "0-0").split("-").map(Number);
    const count = Math.min(PER_REQUEST, layer.shape[0] - first, last - first + 1);
    const body = { layer: layer.path, channels: Array.from({ length: count }, (_, i) => first + i),
      objective: this.objective.value };
    for (const [field, input] of this.inputs) {
      const value = Number(input.value);
      if (input.value !== "" && Number.isFinite(value)) body[field] = value;
    }
    if (this.dataset) body.dataset = this.dataset;
    return body;
  }

  async draw() {
    clearTimeout(this.timer);
    if (!this.netId || !this.layers.length) return;
    const gen = ++this.gen;
    const body = this.body();
    this.node.setAttribute("aria-busy", "true");
    const count = body.channels.length;
    this.status.textContent = `Growing ${count} image${count === 1 ? "" : "s"} over `
      + `${body.steps} steps…`;
    try {
      const answer = await this.api.featureVisualization(this.netId, body);
      if (gen === this.gen) this.render(answer);
    } catch (e) {
      if (gen === this.gen) {
        showError(this.errorBox, e);
        this.status.textContent = "";
      }
    } finally {
      if (gen === this.gen) this.node.removeAttribute("aria-busy");
    }
  }

  render(answer) {
    showError(this.errorBox, null);
    const layer = this.layers.find((l) => l.path === answer.layer) || answer;
    this.status.textContent = `${layerLongName(layer)}: each image is grown to make one value `
      + `large: ${answer.measures}. ${answer.steps} steps in ${fmt.num(answer.seconds, 2)} s.`
      + (answer.stopped ? ` ${answer.stopped[0].toUpperCase()}${answer.stopped.slice(1)}.` : "");
    const [c, h, w] = answer.pixels.shape.slice(1);
    this.grid.style.setProperty("--input-aspect", String(w / h));
    this.bar.replaceChildren(c === 1 ? colourBar("grey", 0, 255, "pixel value", { width: 160 })
      : el("p", { class: "muted", text: "Colours as they are: red, green and blue, 0 to 255." }));
    this.grid.replaceChildren(...answer.images.map(cell));
    this.grid.classList.toggle("features-one", answer.images.length === 1);
    this.grid.dataset.layer = answer.layer;
  }
}

// A control with its label beside it.
function knob(id, label, control) {
  return el("span", { class: "features-knob" }, el("label", { for: id }, label), control);
}

// One unit's image, its name and how its value climbed over the steps.
// The stylesheet sizes it: the caption wraps under the image, never widens it.
function cell(image) {
  const name = image.class_name !== undefined ? `class ${image.class_name}`
    : `channel ${image.channel}`;
  return el("figure", { class: "features-cell", "data-features-cell": image.channel },
    el("img", { src: image.png, alt: `the input grown for ${name}`, class: "features-image" }),
    el("figcaption", {},
      el("strong", { text: name }),
      el("span", { class: "features-climb", "data-features-climb": "",
        text: `${fmt.num(image.start, 2)} → ${fmt.num(image.final, 2)}` })),
    sparkline(image.activation));
}

// The unit's value at every step, as a small line (no axes: the numbers are in the caption).
function sparkline(values) {
  const width = 100, height = 26;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none"); // as wide as the image
  svg.setAttribute("class", "features-spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "the unit's value at every step of the ascent");
  const lo = Math.min(...values), hi = Math.max(...values);
  const span = hi > lo ? hi - lo : 1;
  const points = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * (width - 2) + 1},`
    + `${height - 2 - ((v - lo) / span) * (height - 4)}`).join(" ");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points);
  svg.append(line);
  return svg;
}

// Can a tiny change fool it? The fast gradient sign method on the current input: the
// original, the step ε · sign(∂loss/∂pixel) on a diverging scale, the perturbed image, and
// the prediction before and after, following an ε slider (in grey levels out of 255).

import { el, fmt, showError } from "../../ui.js";
import { colourBar, picture } from "./colours.js";
import { bars } from "./prediction-panel.js";

const MAX_EPSILON = 64;
const SLIDER_MS = 120; // the slider moved: wait this long for it to stop before asking

function decodeInt8(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Int8Array(bytes.buffer);
}

export class AdversarialPanel {
  constructor({ api }) {
    this.api = api;
    this.netId = null;
    this.input = null;     // the request body of the current input
    this.classKey = null;
    this.gen = 0;
    this.timer = null;
    this.epsilon = el("input", { id: "adversarial-epsilon", type: "range", min: 0,
      max: MAX_EPSILON, step: 1, value: 8, "data-adversarial-epsilon": "",
      oninput: () => this.slid() });
    this.epsilonOut = el("output", { for: "adversarial-epsilon", class: "adversarial-eps",
      "data-adversarial-epsilon-value": "" });
    this.target = el("select", { id: "adversarial-target", "data-adversarial-target": "",
      onchange: () => this.ask() },
      el("option", { value: "" }, "away from its prediction"));
    this.errorBox = el("p", { class: "error", "data-adversarial-error": "", hidden: true });
    this.figs = el("div", { class: "adversarial-figs", "data-adversarial-figs": "" });
    this.summary = el("p", { class: "adversarial-summary", "data-adversarial-summary": "",
      "aria-live": "polite" });
    this.counts = el("p", { class: "muted", "data-adversarial-counts": "" });
    this.before = el("ol", { class: "prob-list", "data-adversarial-before": "",
      "aria-label": "Class probabilities before" });
    this.after = el("ol", { class: "prob-list", "data-adversarial-after": "",
      "aria-label": "Class probabilities after" });
    this.node = el("section", { class: "panel inspect-adversarial", "data-inspect-adversarial": "",
      "aria-labelledby": "inspect-adversarial-h" },
      el("h2", { id: "inspect-adversarial-h" }, "Can a tiny change fool it?"),
      el("p", { class: "adversarial-intro" },
        "The fast gradient sign method (Goodfellow and others, 2015) asks which way each pixel ",
        "would have to move to make the network less sure of its answer (the sign of ",
        "∂loss/∂pixel), and moves every pixel by the same small ε that way, all at once: ",
        "x′ = clip(x + ε · sign(∂loss/∂x), 0, 255). No pixel changes by more than ε grey ",
        "levels, yet all of them push together, so a change that is hard to see can change the ",
        "answer."),
      el("div", { class: "adversarial-controls" },
        el("label", { for: "adversarial-epsilon" }, "ε, grey levels"), this.epsilon,
        this.epsilonOut,
        el("label", { for: "adversarial-target" }, "Push"), this.target),
      this.errorBox,
      el("div", { class: "adversarial-body" },
        this.figs,
        el("div", { class: "adversarial-result" },
          this.summary,
          el("div", { class: "adversarial-probs" },
            el("div", {}, el("h3", { text: "Before" }), this.before),
            el("div", {}, el("h3", { text: "After" }), this.after)),
          this.counts)));
    this.showEpsilon();
  }

  // A new input (or new weights): ask again with the same ε.
  // Only a classifier of images has a prediction to change.
  update(netId, body, prediction) {
    if (!prediction) {
      this.clear();
      return;
    }
    this.netId = netId;
    this.input = body;
    this.setClasses(prediction.class_names);
    this.ask();
  }

  clear() {
    this.netId = null;
    this.input = null;
    this.gen++;
    this.figs.replaceChildren();
    this.before.replaceChildren();
    this.after.replaceChildren();
    this.summary.textContent = "";
    this.counts.textContent = "";
  }

  setClasses(names) {
    const key = names.join("\u0000");
    if (key === this.classKey) return;
    this.classKey = key;
    const value = this.target.value;
    this.target.replaceChildren(el("option", { value: "" }, "away from its prediction"),
      ...names.map((n, i) => el("option", { value: i }, `towards ${n}`)));
    if (value !== "" && Number(value) < names.length) this.target.value = value;
  }

  showEpsilon() {
    this.epsilonOut.textContent = `${this.epsilon.value} of 255`;
  }

  slid() {
    this.showEpsilon();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.ask(), SLIDER_MS);
  }

  async ask() {
    clearTimeout(this.timer);
    if (!this.netId || !this.input) return;
    const gen = ++this.gen;
    const body = { ...this.input, epsilon: Number(this.epsilon.value) };
    if (this.target.value !== "") body.target = Number(this.target.value);
    this.node.setAttribute("aria-busy", "true");
    try {
      const answer = await this.api.adversarial(this.netId, body);
      if (gen === this.gen) this.render(answer);
    } catch (e) {
      if (gen === this.gen) showError(this.errorBox, e);
    } finally {
      if (gen === this.gen) this.node.removeAttribute("aria-busy");
    }
  }

  render(a) {
    showError(this.errorBox, null);
    const [, h, w] = a.original.shape;
    const eps = a.epsilon;
    this.figs.style.setProperty("--input-aspect", String(w / h));
    this.figs.replaceChildren(
      figure("Original", image(a.original.png, "the original input")),
      el("span", { class: "adversarial-op", "aria-hidden": "true", text: "+" }),
      figure("The step, scaled to be seen", stepPicture(a.perturbation, eps, h, w),
        colourBar("diverging", -eps || -1, eps || 1, "change in grey levels", { width: 0 }),
        el("p", { class: "adversarial-scaled", "data-adversarial-scaled": "",
          text: `ε · sign(∂loss/∂pixel), drawn in full colour at any ε: each pixel really `
            + `moves by at most ${eps} of 255 grey levels.` })),
      el("span", { class: "adversarial-op", "aria-hidden": "true", text: "=" }),
      figure("Perturbed", image(a.perturbed.png, "the perturbed input")));
    const { before, after } = a;
    const nb = before.class_names, na = after.class_names;
    this.before.replaceChildren(...bars(before.probabilities, nb, before.predicted));
    this.after.replaceChildren(...bars(after.probabilities, na, after.predicted));
    const was = `${nb[before.predicted]} (${fmt.pct(before.probabilities[before.predicted])})`;
    const now = `${na[after.predicted]} (${fmt.pct(after.probabilities[after.predicted])})`;
    this.summary.dataset.epsilon = String(eps);
    this.summary.dataset.flipped = String(a.flipped);
    this.summary.dataset.after = String(after.predicted);
    this.summary.dataset.target = a.targeted ? String(a.class) : "";
    this.summary.textContent = a.flipped
      ? `Before: ${was}. After: ${now}. The answer changed.`
      : `Before: ${was}. After: ${now}. Still the same answer`
        + (a.targeted ? ` (towards ${a.class_name}: p = ${fmt.pct(after.probabilities[a.class])}).`
          : ": try a larger ε.");
    const c = a.counts;
    this.counts.textContent = `${fmt.int(c.moved)} of ${fmt.int(c.values)} pixel values moved by `
      + `the full ε; ${fmt.int(c.clipped)} were already at or near 0 or 255 and the clip held `
      + `them there${c.still ? `; ${fmt.int(c.still)} have no gradient and stay` : ""}. `
      + `Loss of ${a.class_name}: ${fmt.num(a.loss_before, 3)} → ${fmt.num(a.loss_after, 3)}.`;
  }
}

function figure(caption, ...content) {
  return el("figure", { class: "adversarial-fig" }, el("figcaption", { text: caption }),
    ...content);
}

// The stylesheet sizes the pictures: large on a projector, three abreast on a phone.
function image(src, alt) {
  return el("img", { src, alt, class: "adversarial-image" });
}

// The step per pixel (the mean over channels of ε · sign) on a scale centred on zero.
function stepPicture(perturbation, eps, h, w) {
  const sign = decodeInt8(perturbation.data);
  const c = sign.length / (h * w);
  const values = new Float32Array(h * w);
  for (let k = 0; k < h * w; k++) {
    let sum = 0;
    for (let ch = 0; ch < c; ch++) sum += sign[ch * h * w + k];
    values[k] = (eps * sum) / c;
  }
  const m = eps || 1;
  const canvas = picture(values, h, w, "diverging", { min: -m, max: m }, 1,
    { class: "adversarial-image", role: "img", "data-adversarial-step": "",
      "aria-label": "the step: blue pixels darken, red brighten" });
  canvas.style.width = canvas.style.height = ""; // sized by the stylesheet, as the images are
  return canvas;
}

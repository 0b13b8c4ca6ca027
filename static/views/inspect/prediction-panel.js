// What the network predicts for the input: whether its weights are trained at all, a
// warning when its outputs and the dataset's classes differ, and a bar per class.

import { el, fmt } from "../../ui.js";

const MAX_BARS = 20; // bars shown; the other classes are summed up

const plural = (n, word) => `${fmt.int(n)} ${word}${n === 1 ? "" : "s"}`;

function weightsWords(w) {
  if (!w) return "";
  if (w.state === "untrained") {
    return "Untrained: these are the random weights the network started with. No run has "
      + "trained it, so its answer is a guess. Train it in the Train view.";
  }
  if (w.state === "imported") {
    return "Imported: these weights came in a file. No run here has trained them; how well they "
      + "were trained elsewhere, the predictions show.";
  }
  if (w.state === "training" && w.status === "paused") {
    return "Training paused: what you see are the run's weights so far.";
  }
  if (w.state === "training") {
    return "Training now: what you see follows the run's weights as it learns.";
  }
  return `Trained: ${plural(w.runs, "run")}, ${plural(w.epochs, "epoch")}, `
    + `${plural(w.steps, "step")}.`;
}

export class PredictionPanel {
  constructor() {
    this.weights = el("p", { class: "weights-state", "data-weights-state": "", hidden: true,
      "aria-live": "polite" });
    this.fit = el("p", { class: "fit-warning", "data-inspect-fit-warning": "", role: "alert",
      hidden: true });
    this.summary = el("p", { class: "inspect-summary", "data-prediction-summary": "",
      "aria-live": "polite" });
    this.probs = el("ol", { class: "prob-list", "data-probabilities": "",
      "aria-label": "Class probabilities" });
    this.node = el("section", { class: "panel inspect-probs",
      "aria-labelledby": "inspect-probs-h" },
      el("h2", { id: "inspect-probs-h" }, "Prediction"),
      this.weights, this.fit, this.summary,
      el("p", { class: "muted" },
        "Softmax of the last layer's scores: the network's belief in each class."),
      this.probs);
  }

  render(prediction, weights, input) {
    this.weights.hidden = !weights;
    this.weights.dataset.state = weights ? weights.state : "";
    this.weights.textContent = weightsWords(weights);
    this.fit.hidden = !prediction || !prediction.fit_warning;
    this.fit.textContent = (prediction && prediction.fit_warning) || "";
    if (!prediction) {
      this.summary.textContent = "This network does not end in class scores: nothing to predict.";
      this.probs.replaceChildren();
      return;
    }
    const p = prediction.probabilities;
    const names = prediction.class_names;
    const top = prediction.predicted;
    this.probs.replaceChildren(...bars(p, names, top));
    const label = input && input.kind === "sample" && prediction.label !== undefined
      ? ` The sample is labelled ${names[prediction.label] ?? prediction.label}`
        + `${prediction.label === top ? " (right)." : " (wrong)."}` : "";
    const lead = weights && weights.state === "untrained" ? "Untrained guess" : "Most likely";
    this.summary.textContent = `${lead}: ${names[top]} (${fmt.pct(p[top])}).${label}`;
  }

  clear() {
    this.summary.textContent = "";
    this.probs.replaceChildren();
    this.fit.hidden = true;
  }
}

// A bar per class, in class order (the likeliest first when there are too many to show).
// Not the class "top" for the likeliest: that is the page's sticky header.
export function bars(p, names, top) {
  const order = p.map((_, i) => i);
  if (p.length > MAX_BARS) order.sort((a, b) => p[b] - p[a]);
  const shown = order.slice(0, MAX_BARS);
  const items = shown.map((i) => el("li", { class: i === top ? "prob predicted" : "prob",
    "data-class": i },
    el("span", { class: "prob-name", text: names[i], title: names[i] }),
    el("span", { class: "prob-bar", "aria-hidden": "true" }, barFill(p[i])),
    el("span", { class: "prob-pct", "data-pct": "", text: fmt.pct(p[i]) }),
    i === top ? el("span", { class: "visually-hidden", text: " (most likely)" }) : null));
  if (p.length > shown.length) {
    const rest = order.slice(MAX_BARS).reduce((s, i) => s + p[i], 0);
    items.push(el("li", { class: "prob muted",
      text: `${p.length - shown.length} more classes: ${fmt.pct(rest)} together` }));
  }
  return items;
}

function barFill(p) {
  const fill = el("span", { class: "prob-fill" });
  fill.style.width = `${Math.max(0, Math.min(100, 100 * p)).toFixed(1)}%`;
  return fill;
}

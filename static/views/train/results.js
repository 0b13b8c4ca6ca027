// Where a finished run goes wrong, on its validation examples: its confusion matrix and
// its wrong answers, with their pictures. Wrong answers are "confident" only when the
// network gave them at least half its probability: a collapsed network's 13% is a guess.

import { el, fmt } from "../../ui.js";
import { diagnosisShort } from "./diagnosis.js";
import { confusionTable, mostConfusedList } from "../confusion.js";

const CONFIDENT = 0.5;

const NOTHING = {
  diverged: "The run diverged, so there is nothing to evaluate; the network keeps the weights it had before.",
  interrupted: "The run was interrupted before its end, so it has not been evaluated: resume it to finish it.",
  gone: "This run is no longer on the server.",
};

export class RunResults {
  constructor(api) {
    this.api = api;
    this.title = el("p", { class: "muted", "data-run-result": true,
      text: "When a run ends, its confusion matrix on the validation examples appears here." });
    this.confusion = el("div", { "data-confusion": true });
    this.wrongHeading = el("h3", { "data-wrong-heading": true, text: "Most confidently wrong" });
    this.wrong = el("div", { "data-most-confused": true });
    this.body = el("div", { class: "results", hidden: true },
      el("div", {}, el("h3", { text: "Confusion matrix (validation)" }), this.confusion),
      el("div", {}, this.wrongHeading, this.wrong));
    this.root = el("div", {}, this.title, this.body);
  }

  waiting() {
    this.title.textContent = "Training… the confusion matrix appears when the run ends.";
    this.clear();
  }

  clear() {
    this.confusion.replaceChildren();
    this.wrong.replaceChildren();
    this.body.hidden = true;
  }

  // classNames: the dataset's, or null; isActive() says whether the run still is the one shown.
  show(run, classNames, isActive) {
    const e = run.evaluation;
    if (!e || !e.n) {
      this.title.textContent = NOTHING[run.status] || "No validation examples to evaluate (set a validation fraction above 0).";
      this.clear();
      return;
    }
    this.body.hidden = false;
    const d = e.diagnosis;
    const name = (i) => (classNames && classNames[i] !== undefined ? classNames[i] : String(i));
    const why = !d ? "" : d.kind === "collapsed"
      ? ` It collapsed to one class: ${fmt.pct(d.share)} of its answers are '${name(d.class)}'.`
      : d.kind === "not_learning" ? " It did not learn: that is what guessing gives."
        : ` But ${diagnosisShort(d)}.`;
    this.title.textContent = `${run.label}: ${fmt.pct(e.accuracy)} of ${fmt.int(e.n)} validation examples right.${why}`;
    this.title.classList.toggle("warning", Boolean(d));
    this.title.classList.toggle("muted", !d);
    this.confusion.replaceChildren(confusionTable(e.confusion, classNames, e.per_class_accuracy));
    const items = (e.most_confused || []).map((m) => ({ ...m }));
    const top = Math.max(0, ...items.map((m) => m.confidence));
    this.wrongHeading.textContent = !items.length || top >= CONFIDENT ? "Most confidently wrong"
      : `Wrong answers, all unsure (the highest probability given to one: ${fmt.pct(top)})`;
    this.wrong.replaceChildren(mostConfusedList(items, classNames, CONFIDENT));
    this.loadImages(run, items, classNames, isActive);
  }

  // Each wrong example says where it is in the dataset (split, dataset_index): fetch its picture.
  async loadImages(run, items, classNames, isActive) {
    if (!items.some((m) => Number.isInteger(m.dataset_index))) return;
    await Promise.all(items.map(async (m) => {
      if (!Number.isInteger(m.dataset_index)) return;
      try {
        const page = await this.api.samples(run.dataset, { split: m.split || "train", offset: m.dataset_index, n: 1 });
        if (page.items[0]) m.image = page.items[0].png;
      } catch { /* the text is enough */ }
    }));
    if (isActive()) this.wrong.replaceChildren(mostConfusedList(items, classNames, CONFIDENT));
  }
}

// The training curves: loss and accuracy against epochs, every run on the charts in its
// own colour, labelled by what differs between the runs. Each run has three series, told
// apart by line and marker: its mini-batches (thin, pale), its mean over each training
// epoch (dotted, filled dots) and its validation after each epoch (dashed, hollow dots).

import { LineChart } from "../../chart.js";
import { formatTick } from "../../ticks.js";
import { el, fmt } from "../../ui.js";

const STYLES = {
  batch: { label: "each training mini-batch", short: "mini-batch", width: 1.5, opacity: 0.55 },
  mean: { label: "training, mean over the epoch", short: "training epoch mean", width: 3, dash: "2 5",
    marker: "filled" },
  val: { label: "validation, after each epoch", short: "validation", width: 3, dash: "11 6", marker: "hollow" },
};

const epochs = (v, exact) => (exact ? v.toFixed(2) : formatTick(v));
const percent = (v, exact) => (exact ? fmt.pct(v) : `${formatTick(Math.round(v * 1000) / 10)}%`);
const lossText = (v, exact) => (exact ? fmt.num(v, 3) : formatTick(v));

export class TrainingCurves {
  constructor() {
    const box = (name) => el("div", { class: "chart-box", "data-chart": name });
    this.boxes = { loss: box("loss"), accuracy: box("accuracy") };
    this.loss = new LineChart(this.boxes.loss, { title: "Loss (lower is better)", xLabel: "epoch", yLabel: "loss",
      styles: STYLES, yScale: "log", xFormat: epochs, yFormat: lossText });
    this.accuracy = new LineChart(this.boxes.accuracy, { title: "Accuracy (higher is better)", xLabel: "epoch",
      yLabel: "accuracy", styles: STYLES, yMin: 0, yMax: 1, xFormat: epochs, yFormat: percent });
    // a loss falls from 2.3 to 0.1 in a few dozen steps: on a linear axis the rest lies flat
    this.logScale = el("input", { type: "checkbox", id: "train-loss-log", checked: true, "data-loss-log": true,
      onchange: () => this.loss.setScale(this.logScale.checked ? "log" : "linear") });
    this.root = el("div", { class: "curves" },
      el("span", { class: "check" }, this.logScale, el("label", { for: "train-loss-log", text: "loss on a log scale" })),
      el("div", { class: "grid2" }, this.boxes.loss, this.boxes.accuracy));
  }

  label(runs) {
    for (const run of runs) for (const chart of [this.loss, this.accuracy]) chart.setGroup(run.id, run);
  }

  take(run, ev) {
    this.label([run]);
    if (ev.type === "batch") {
      const x = ev.step / ev.batches;
      this.loss.addPoint(run.id, "batch", x, ev.loss);
      this.accuracy.addPoint(run.id, "batch", x, ev.accuracy);
    } else if (ev.type === "epoch") {
      this.loss.addPoint(run.id, "mean", ev.epoch, ev.train_loss);
      this.accuracy.addPoint(run.id, "mean", ev.epoch, ev.train_accuracy);
      this.loss.addPoint(run.id, "val", ev.epoch, ev.val_loss);
      this.accuracy.addPoint(run.id, "val", ev.epoch, ev.val_accuracy);
    }
  }

  // A resumed run goes on from its checkpoint: its curves are drawn again from there.
  removeRun(run) {
    this.loss.removeGroup(run.id);
    this.accuracy.removeGroup(run.id);
  }

  clear() {
    this.loss.reset();
    this.accuracy.reset();
  }
}

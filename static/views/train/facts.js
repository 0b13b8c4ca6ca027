// The facts of the run the buttons control: status, epoch and progress, speed, time
// left, training and validation accuracy, and the run's own message (the server's word
// on how it ended, with what went wrong when it learned nothing).

import { el, fmt } from "../../ui.js";
import { diagnosisShort } from "./diagnosis.js";

// A time left as a person says it: "less than a second", "about 12 s", "about 3 min 5 s".
export function timeLeft(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 1) return "less than a second";
  if (seconds < 60) return `about ${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `about ${m} min ${Math.round(seconds % 60)} s`;
  return `about ${Math.floor(m / 60)} h ${m % 60} min`;
}

const has = (v) => v !== null && v !== undefined;

export class RunFacts {
  constructor() {
    this.status = el("span", { class: "run-status", "data-run-status": true, text: "not started" });
    this.diagnosis = el("span", { class: "run-diagnosis warning", "data-run-diagnosis": true });
    this.speed = el("span", { "data-run-speed": true, text: "–" });
    this.eta = el("span", { "data-run-eta": true, text: "–" });
    this.epochText = el("span", { "data-run-epoch": true, text: "–" });
    this.progress = el("progress", { max: 1, value: 0, "data-run-progress": true, "aria-label": "Training progress" });
    this.trainAcc = el("strong", { "data-train-accuracy": true, text: "–" });
    this.valAcc = el("strong", { "data-val-accuracy": true, text: "–" });
    this.message = el("p", { class: "muted run-message", "data-run-message": true, "aria-live": "polite" });
    this.epochAcc = { epoch: null, values: [] }; // the active run's accuracies in its current epoch
    this.root = el("div", {},
      el("dl", { class: "run-facts" },
        el("dt", { text: "Status" }), el("dd", {}, this.status, this.diagnosis),
        el("dt", { text: "Epoch" }), el("dd", {}, this.epochText, " ", this.progress),
        el("dt", { text: "Speed" }), el("dd", {}, this.speed),
        el("dt", { text: "Time left" }), el("dd", {}, this.eta),
        el("dt", { text: "Training accuracy" }), el("dd", {}, this.trainAcc, el("span", { class: "muted",
          text: " (mean over this epoch's mini-batches, while the weights were still changing)" })),
        el("dt", { text: "Validation accuracy" }), el("dd", {}, this.valAcc,
          el("span", { class: "muted", text: " (examples not trained on)" }))),
      this.message);
  }

  say(text, { warning = false } = {}) {
    this.message.textContent = text;
    this.message.classList.toggle("warning", warning);
    this.message.classList.toggle("muted", !warning);
    if (warning) this.message.dataset.diagnosis = "";
    else delete this.message.dataset.diagnosis;
  }

  reset() {
    for (const node of [this.speed, this.eta, this.epochText, this.trainAcc, this.valAcc]) node.textContent = "–";
    this.progress.value = 0;
    this.epochAcc = { epoch: null, values: [] };
  }

  // A run that completed but learned nothing is not a green "completed": the status stays the
  // run's own word, in the warning colour, and what went wrong stands beside it.
  showStatus(run) {
    const diagnosis = run.evaluation && run.evaluation.diagnosis;
    this.status.textContent = run.status;
    this.diagnosis.textContent = diagnosis
      ? `, but ${diagnosisShort(diagnosis)}` : "";
    this.status.dataset.status = run.status;
    if (diagnosis) this.status.dataset.diagnosis = diagnosis.kind;
    else delete this.status.dataset.diagnosis;
  }

  showBatch(run, ev) {
    if (this.epochAcc.epoch !== ev.epoch) this.epochAcc = { epoch: ev.epoch, values: [] };
    this.epochAcc.values.push(ev.accuracy);
    const epochs = run.config.epochs || 1;
    this.epochText.textContent = `${ev.epoch} of ${epochs} (batch ${fmt.int(ev.batch)} of ${fmt.int(ev.batches)})`;
    this.progress.value = ev.progress ?? 0;
    const sps = ev.samples_per_s;
    this.speed.textContent = sps ? `${fmt.int(Math.round(sps))} samples/s` : "–";
    const remaining = ev.batches * epochs - ev.step;
    const batch = run.config.batch_size || 64;
    this.eta.textContent = sps ? timeLeft((remaining * batch) / sps) : "–";
    const values = this.epochAcc.values;
    this.trainAcc.textContent = fmt.pct(values.reduce((a, b) => a + b, 0) / values.length);
  }

  showEpoch(ev) {
    this.trainAcc.textContent = fmt.pct(ev.train_accuracy);
    if (has(ev.val_accuracy)) this.valAcc.textContent = fmt.pct(ev.val_accuracy);
  }

  // The run's end: its final figures and the server's message.
  finish(run, testSize) {
    const m = run.metrics || {};
    this.eta.textContent = run.status === "interrupted" ? "–" : "done";
    if (run.status === "completed") this.progress.value = 1;
    if (has(m.train_accuracy)) this.trainAcc.textContent = fmt.pct(m.train_accuracy);
    if (has(m.val_accuracy)) this.valAcc.textContent = fmt.pct(m.val_accuracy);
    const parts = [`${run.name}: ${(run.message || run.status).replace(/\.$/, "")}.`];
    if (has(m.test_accuracy)) parts.push(`Accuracy on the ${fmt.int(testSize)} test images: ${fmt.pct(m.test_accuracy)}.`);
    this.say(parts.join(" "), { warning: Boolean(run.evaluation && run.evaluation.diagnosis) });
    this.showStatus(run);
  }
}

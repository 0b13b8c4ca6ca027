// Batch norm's effect on training: the lab's stack trained on the strokes digits twice, without
// and with batch norm. POST /api/init/batchnorm/runs starts two ordinary runs on the server
// (queued like any other; the same weights, digits and order); both are followed live over
// their WebSockets onto the same two charts (chart.js), then drawn again from their whole
// histories when they end (live, batch events arrive thinned). Once both have ended their two
// networks are deleted: the curves are what the student keeps.

import { LineChart } from "../../chart.js";
import { formatTick } from "../../ticks.js";
import { el, fmt, showError } from "../../ui.js";
import { LABELS, stackTitle } from "./names.js";
import { reached, said } from "./pair-words.js";

const SMOOTH = 20; // mini-batches of 32 digits are too noisy to compare one by one
const STYLES = {
  batch: { label: "each mini-batch", short: "mini-batch", width: 1.5, opacity: 0.3 },
  mean: { label: `mean of the last ${SMOOTH} mini-batches`, short: "recent mean", width: 3.5 },
  val: { label: "validation, after each epoch", short: "validation", width: 3, dash: "11 6",
    marker: "hollow" },
};
const STACKS = [
  { batchnorm: false, label: "without batch norm", colour: "#b0281c" },
  { batchnorm: true, label: "with batch norm", colour: "#1f4e9c" },
];
const RATES = [0.003, 0.01, 0.03, 0.1];
// An even guess has loss ln 10 = 2.3; a stack that blows up reaches 1e10 and more in one step,
// which would flatten the other curve against the axis: such losses are drawn at LOSS_TOP.
const LOSS_TOP = 100;
const capped = (v) => (Number.isFinite(v) ? Math.min(v, LOSS_TOP) : v);
const ENDED = ["completed", "stopped", "diverged", "failed", "interrupted"];

const percent = (v, exact) => (exact ? fmt.pct(v) : `${formatTick(Math.round(v * 1000) / 10)}%`);
const steps = (v, exact) => (exact ? String(Math.round(v)) : formatTick(v));
const loss = (v, exact) => (exact ? fmt.num(v, 3) : formatTick(v));
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class PairTraining {
  // settings(): {kind, depth, width, activation, init, seed}, read when Train is pressed
  constructor({ api, settings }) {
    this.api = api;
    this.settings = settings;
    this.runs = [];
    this.build();
  }

  build() {
    this.lr = el("select", { id: "init-bn-lr", "data-init-bn-lr": "" },
      RATES.map((v) => el("option", { value: v, selected: v === 0.01, text: String(v) })));
    this.trainBtn = el("button", { type: "button", class: "primary", "data-action": "init-bn-train",
      onclick: () => this.start() }, "Train both on strokes");
    this.stopBtn = el("button", { type: "button", "data-action": "init-bn-stop", hidden: true,
      onclick: () => this.stop() }, "Stop");
    this.errorEl = el("p", { class: "error", hidden: true, role: "alert" });
    this.statusEl = el("p", { class: "init-bn-status", "data-init-bn-status": "",
      "aria-live": "polite",
      text: "Nothing trained yet: it takes a few seconds of the server's time." });
    this.whatEl = el("p", { class: "small", "data-init-bn-what": "" });
    this.verdictEl = el("p", { class: "init-compare", "data-init-bn-verdict": "training",
      hidden: true });
    const box = (name) => el("div", { class: "chart-box", "data-chart": name });
    const boxes = { loss: box("bn-loss"), accuracy: box("bn-accuracy") };
    this.loss = new LineChart(boxes.loss, { title: `Loss (lower is better; above ${LOSS_TOP} drawn at ${LOSS_TOP})`, xLabel: "step",
      yLabel: "loss", styles: STYLES, yScale: "log", xFormat: steps, yFormat: loss, height: 280 });
    this.accuracy = new LineChart(boxes.accuracy, { title: "Accuracy (higher is better)",
      xLabel: "step", yLabel: "accuracy", styles: STYLES, yMin: 0, yMax: 1, xFormat: steps,
      yFormat: percent, height: 280 });
    this.element = el("div", { class: "init-bn-training", "data-init-bn-training": "" },
      el("h3", { text: "Both stacks trained" }),
      el("p", {}, "The same two stacks, each reading a 28×28 digit (",
        el("em", { text: "strokes" }), ") and naming it, trained side by side on the server with ",
        "SGD: the same weights, the same digits in the same order; only batch norm differs. ",
        "Watch which one learns, and how fast."),
      el("div", { class: "row init-run-row" },
        el("span", { class: "ctl" },
          el("label", { for: "init-bn-lr", text: "learning rate, for both" }), this.lr),
        this.trainBtn, this.stopBtn),
      this.errorEl, this.statusEl, this.whatEl,
      el("div", { class: "grid2" }, boxes.loss, boxes.accuracy),
      this.verdictEl);
  }

  busy() {
    return this.runs.some((r) => !r.drawn);
  }

  async start() {
    if (this.busy() || this.starting) return;
    let s;
    try { s = this.settings(); } catch (e) { showError(this.errorEl, e); return; }
    const lr = Number(this.lr.value);
    this.starting = true;
    this.trainBtn.disabled = true;
    showError(this.errorEl, null);
    this.verdictEl.hidden = true;
    this.statusEl.textContent = "Starting two runs on the server…";
    let pair;
    try {
      pair = await this.api.trainBatchNormPair({ kind: s.kind, depth: s.depth, width: s.width,
        activation: s.activation, init: s.init, seed: s.seed, lr });
    } catch (e) {
      showError(this.errorEl, e);
      this.statusEl.textContent = "";
      this.trainBtn.disabled = false;
      return;
    } finally {
      this.starting = false;
    }
    this.follow(pair, s, lr);
  }

  // Both runs on the charts, each followed from its first event.
  follow(pair, s, lr) {
    this.started = performance.now();
    this.pair = pair;
    this.perEpoch = pair.steps / pair.epochs;
    const digits = (share) => fmt.int(Math.round(pair.examples * share));
    this.whatEl.textContent = `${stackTitle(s, s.activation)}, ${LABELS[s.init]}, `
      + `learning rate ${lr}: `
      + `${pair.steps} steps of ${pair.batch_size} digits (${pair.epochs} epoch${pair.epochs === 1 ? "" : "s"} of ${digits(0.9)} `
      + `digits, ${digits(0.1)} more kept to validate).`;
    for (const chart of [this.loss, this.accuracy]) chart.reset();
    this.runs = pair.stacks.map((st, i) => ({ ...STACKS[i], id: st.run.id, networkId: st.network_id,
      status: st.run.status, step: 0, lastSeq: 0, ended: false, drawn: false, unfollow: null }));
    for (const run of this.runs) {
      for (const chart of [this.loss, this.accuracy]) chart.setGroup(run.id, run);
      this.listen(run);
    }
    this.stopBtn.hidden = false;
    this.showStatus();
    // a queued run sends nothing for a while: the clock in the status goes on
    this.ticker = setInterval(() => this.showStatus(), 1000);
  }

  listen(run) {
    run.unfollow = this.api.followRun(run.id, run.lastSeq, (ev) => this.take(run, ev),
      () => this.lost(run));
  }

  take(run, ev) {
    if (ev.seq !== undefined) {
      if (ev.seq <= run.lastSeq) return;
      run.lastSeq = ev.seq;
    }
    if (ev.type === "status") run.status = ev.status;
    else if (ev.type === "batch") {
      Object.assign(run, { status: "running", step: ev.step });
      this.loss.addPoint(run.id, "batch", ev.step, capped(ev.loss));
      this.accuracy.addPoint(run.id, "batch", ev.step, ev.accuracy);
    } else if (ev.type === "epoch") {
      this.loss.addPoint(run.id, "val", ev.epoch * this.perEpoch, capped(ev.val_loss));
      this.accuracy.addPoint(run.id, "val", ev.epoch * this.perEpoch, ev.val_accuracy);
    } else if (ev.type === "done" || ev.type === "error") {
      this.end(run, ev);
      return;
    }
    this.showStatus();
  }

  // The socket closed before the run's end: its events are in GET /api/runs/{id}.
  async lost(run) {
    run.unfollow = null;
    if (run.ended) return;
    try {
      const r = await this.api.run(run.id);
      if (ENDED.includes(r.status)) this.end(run, r);
      else setTimeout(() => { if (!run.ended && !run.unfollow) this.listen(run); }, 1000);
    } catch (e) {
      showError(this.errorEl, e);
    }
  }

  // final: the run's done (or error) event, or the run as the server describes it once ended.
  // Its whole history is then drawn again, with the mean of the last SMOOTH mini-batches.
  async end(run, final) {
    if (run.ended) return;
    run.ended = true;
    if (run.unfollow) run.unfollow();
    let r;
    try {
      r = await this.api.run(run.id);
    } catch (e) {
      showError(this.errorEl, e);
      r = { history: [] };
    }
    const status = final.status || (final.type === "error" ? "failed" : "completed");
    const batches = (r.history || []).filter((e) => e.type === "batch");
    const step = batches.length ? batches[batches.length - 1].step : run.step;
    Object.assign(run, { status, step, metrics: final.metrics || null,
      message: final.message || null });
    for (const chart of [this.loss, this.accuracy]) {
      chart.removeGroup(run.id);
      chart.setGroup(run.id, run);
    }
    for (const ev of r.history || []) this.take({ ...run, lastSeq: -1 }, ev);
    const recent = [];
    for (const ev of batches) {
      recent.push(ev);
      if (recent.length > SMOOTH) recent.shift();
      const mean = (key) => recent.reduce((t, e) => t + e[key], 0) / recent.length;
      this.loss.addPoint(run.id, "mean", ev.step, capped(mean("loss")));
      this.accuracy.addPoint(run.id, "mean", ev.step, mean("accuracy"));
    }
    run.drawn = true;
    this.showStatus();
    if (this.runs.every((x) => x.drawn)) await this.finish();
  }

  async stop() {
    this.stopBtn.disabled = true;
    await Promise.all(this.runs.filter((r) => !r.ended).map(async (r) => {
      try {
        await this.api.stopRun(r.id);
      } catch (e) {
        if (e.status !== 409) showError(this.errorEl, e); // 409: it ended meanwhile
      }
    }));
    this.stopBtn.disabled = false;
  }

  // Both ended: say what each reached, and delete the two networks (a run's end is recorded a
  // moment after its last event, so a network may still be busy: try again shortly).
  async finish() {
    clearInterval(this.ticker);
    this.stopBtn.hidden = true;
    this.trainBtn.disabled = false;
    this.verdictEl.textContent = reached(this.runs);
    this.verdictEl.hidden = false;
    const seconds = ((performance.now() - this.started) / 1000).toFixed(1);
    this.statusEl.textContent = `Done in ${seconds} s: ${said(this.runs, this.pair.steps)}. `
      + "Both networks are deleted from the server again.";
    for (const run of this.runs) {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await this.api.deleteNetwork(run.networkId);
          break;
        } catch (e) {
          if (e.status === 404) break;
          if (e.status !== 409) { showError(this.errorEl, e); break; }
          await pause(400);
        }
      }
    }
  }

  showStatus() {
    if (!this.busy()) return;
    const seconds = ((performance.now() - this.started) / 1000).toFixed(0);
    this.statusEl.textContent = `Training two networks on the server (${seconds} s): `
      + `${said(this.runs, this.pair.steps)}.`;
  }
}

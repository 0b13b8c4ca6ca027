// The weights of a run, or of two side by side, layer by layer: where they started and where
// an epoch left them. L2 shrinks every weight in proportion to its size, so the hill narrows;
// L1 pulls every weight toward 0 by the same amount, so many gather at 0. The numbers under
// each histogram say it too: the spread (std) and the share of weights at 0.
// Snapshots come from GET /api/runs/{id}/weights, then from the run's live "weights" events.

import { layerLabel } from "../../layer-label.js";
import { el, fmt } from "../../ui.js";
import { drawHistogram, sharedTop } from "./weight-histogram.js";

const ALL = "all";
const GAP = 12;          // px between two runs' histograms (train.css says the same)
const MIN_WIDTH = 260;   // narrower than this, two runs' histograms go one above the other
const MAX_WIDTH = 640;
const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(v > 0 && v < 0.001 ? 2 : 1)}%`);

export class WeightsPanel {
  constructor(api) {
    this.api = api;
    this.snapshots = new Map(); // run id -> its snapshots, oldest first
    this.asked = new Set();     // runs whose snapshots were asked for
    this.runs = [];             // [{id, name, colour, label}] to choose from, oldest first
    this.chosen = null;         // [left id, right id or ""] once the student chose; else the defaults
    this.at = null;             // the epoch shown; null: the latest
    const choice = (side, text) => {
      const select = el("select", { id: `weights-${side}`, "data-weights-run": side,
        onchange: () => this.choose() });
      return [select, el("label", { for: `weights-${side}`, text })];
    };
    [this.left, this.leftLabel] = choice("left", "Run");
    [this.right, this.rightLabel] = choice("right", "beside it");
    this.slider = el("input", { type: "range", id: "weights-epoch", min: 0, max: 0, step: 1, value: 0,
      "data-weights-epoch": true, oninput: () => { this.at = this.atEnd() ? null : this.epochs[+this.slider.value]; this.draw(); } });
    this.sliderText = el("output", { for: "weights-epoch", "data-weights-epoch-text": true });
    this.empty = el("p", { class: "muted", "data-weights-empty": true,
      text: "Start a run: its weights at the start and after every epoch show here, layer by layer. Then train "
        + "again with an L2 or an L1 penalty (same seed) and put it beside the first." });
    this.grid = el("div", { class: "weights-grid", "data-weights-grid": true });
    this.controls = el("div", { class: "row weights-controls", hidden: true },
      el("span", { class: "weights-pick" }, this.leftLabel, this.left),
      el("span", { class: "weights-pick" }, this.rightLabel, this.right),
      el("span", { class: "weights-pick weights-when" }, el("label", { for: "weights-epoch", text: "Now: after epoch" }),
        this.slider, this.sliderText));
    this.key = el("p", { class: "weights-key" },
      el("span", { class: "key-start" }), " at the start   ", el("span", { class: "key-now" }), " now (the run's colour)");
    this.root = el("div", { class: "weights-panel" }, this.controls, this.key, this.empty, this.grid);
    this.width = 0;
    new ResizeObserver(() => {
      const w = this.grid.clientWidth;
      if (w && Math.abs(w - this.width) > 4) this.draw();
    }).observe(this.grid);
  }

  // runs: the runs to choose from ({id, name, colour, label}); latest: the one to show first.
  setRuns(runs, latest) {
    this.runs = runs;
    this.latest = latest || (runs.length ? runs[runs.length - 1].id : null);
    const options = (select, none) => {
      const value = select.value;
      select.replaceChildren(...(none ? [el("option", { value: "", text: "no other run" })] : []),
        ...runs.map((r) => el("option", { value: r.id, text: r.label && r.label !== r.name ? `${r.name}: ${r.label}` : r.name })));
      select.value = value;
    };
    options(this.left, false);
    options(this.right, true);
    const [left, right] = this.picked();
    this.left.value = left || "";
    this.right.value = right || "";
    this.controls.hidden = !runs.length;
    for (const id of [left, right]) if (id) this.load(id);
    this.draw();
  }

  // The two runs shown: the student's choice, else the latest and the one before it (so a run
  // with a penalty shows beside the run it was compared with).
  picked() {
    const ids = this.runs.map((r) => r.id);
    if (this.chosen) return this.chosen.map((id) => (ids.includes(id) ? id : ""));
    const latest = ids.includes(this.latest) ? this.latest : ids[ids.length - 1];
    const before = ids.filter((id) => id !== latest).pop();
    return before ? [before, latest] : [latest || "", ""];
  }

  choose() {
    this.chosen = [this.left.value, this.right.value];
    for (const id of this.chosen) if (id) this.load(id);
    this.draw();
  }

  async load(id) {
    if (this.asked.has(id)) return;
    this.asked.add(id);
    try {
      const { snapshots } = await this.api.runWeights(id);
      for (const s of snapshots) this.add(id, s);
      this.draw();
    } catch {
      this.asked.delete(id); // asked again when it is chosen again
    }
  }

  // A "weights" event of a run, live or replayed.
  take(run, ev) {
    if (this.add(run.id, ev) && this.picked().includes(run.id)) this.draw();
  }

  add(id, snapshot) {
    const list = this.snapshots.get(id) || [];
    if (list.some((s) => s.step === snapshot.step && s.at === snapshot.at)) return false;
    list.push(snapshot);
    list.sort((a, b) => a.step - b.step);
    this.snapshots.set(id, list);
    return true;
  }

  atEnd() {
    return +this.slider.value >= +this.slider.max;
  }

  // The snapshot a run shows for the epoch chosen: its last one up to that epoch.
  nowOf(list) {
    const upTo = this.at === null ? list : list.filter((s) => s.epoch <= this.at);
    return upTo.length > 1 ? upTo[upTo.length - 1] : null;
  }

  draw() {
    const shown = this.picked().filter(Boolean).map((id) => ({ run: this.runs.find((r) => r.id === id),
      list: this.snapshots.get(id) || [] })).filter((s) => s.run);
    const ready = shown.filter((s) => s.list.length);
    this.empty.hidden = ready.length > 0;
    this.key.hidden = !ready.length;
    this.epochs = [...new Set(ready.flatMap((s) => s.list.map((x) => x.epoch)))].sort((a, b) => a - b);
    const follow = this.at === null;
    this.slider.max = Math.max(0, this.epochs.length - 1);
    this.slider.value = follow ? this.slider.max : Math.max(0, this.epochs.indexOf(this.at));
    this.slider.disabled = this.epochs.length < 2;
    const epoch = this.epochs[+this.slider.value];
    this.sliderText.textContent = epoch === undefined ? "–" : follow ? `${epoch} (the latest)` : String(epoch);
    this.width = this.grid.clientWidth;
    if (!ready.length) {
      this.grid.replaceChildren();
      return;
    }
    const columns = ready.map((s) => ({ ...s, start: s.list[0], now: this.nowOf(s.list) }));
    const paths = [];
    for (const c of columns) for (const l of c.start.layers) if (!paths.includes(l.path)) paths.push(l.path);
    const head = el("div", { class: "weights-row weights-head" },
      ...columns.map((c) => el("div", { class: "weights-cell", "data-weights-column": c.run.id },
        el("span", { class: "chart-swatch", style: `background: ${c.run.colour}` }), " ",
        el("strong", { text: c.run.name }), c.run.label && c.run.label !== c.run.name ? ` (${c.run.label})` : "",
        el("div", { class: "muted", text: c.now ? `now: ${this.when(c.now)}` : "now: still at the start" }))));
    const rows = [ALL, ...paths].map((path) => this.row(path, columns));
    this.grid.style.setProperty("--columns", columns.length);
    this.grid.replaceChildren(head, ...rows);
  }

  when(s) {
    if (s.at === "end") return `as it ended (step ${fmt.int(s.step)})`;
    return `after epoch ${s.epoch}`;
  }

  row(path, columns) {
    const of = (snapshot) => (!snapshot ? null : path === ALL ? snapshot.all
      : snapshot.layers.find((l) => l.path === path) || null);
    const cells = columns.map((c) => ({ ...c, h0: of(c.start), h1: of(c.now) }));
    const first = cells.map((c) => c.h0).find(Boolean);
    const find = (p) => {
      for (const c of cells) {
        const l = c.start.layers.find((x) => x.path === p);
        if (l) return { type: l.type, name: l.name };
      }
      return { type: "block" };
    };
    const title = path === ALL ? "All weights together" : layerLabel(path, find);
    const range = Math.max(...cells.flatMap((c) => [c.h0, c.h1]).filter(Boolean).map((h) => h.range));
    const top = sharedTop(cells.map((c) => c.h0).filter(Boolean), cells.map((c) => c.h1).filter(Boolean));
    const cellWidth = this.cellWidth(cells.length);
    return el("div", { class: "weights-row", "data-weights-layer": path },
      el("h4", { class: "weights-title", title: path === ALL ? "" : path },
        title, first ? el("span", { class: "muted", text: ` · ${fmt.int(first.n)} weights` }) : ""),
      ...cells.map((c) => el("div", { class: "weights-cell", "data-weights-cell": c.run.id },
        el("div", { class: "weights-cell-run" }, el("span", { class: "chart-swatch", style: `background: ${c.run.colour}` }),
          " ", c.run.name),
        c.h0 ? drawHistogram(cellWidth, { start: c.h0, now: c.h1, range, top, colour: c.run.colour,
          label: `${c.run.name}, ${title}: weights at the start and ${c.h1 ? this.when(c.now) : "now"}` })
          : el("p", { class: "muted", text: "this network has no such layer" }),
        c.h0 ? this.numbers(c.h0, c.h1) : "")));
  }

  // Side by side while each histogram gets MIN_WIDTH px; else one above the other.
  cellWidth(n) {
    const total = this.grid.clientWidth;
    const side = Math.floor((total - GAP * (n - 1)) / n);
    const stacked = n > 1 && side < MIN_WIDTH;
    this.grid.classList.toggle("stacked", stacked);
    return Math.max(160, Math.min(MAX_WIDTH, stacked ? total : side));
  }

  // The spread and the share at 0, then and now: the two numbers L2 and L1 change.
  numbers(h0, h1) {
    const then = (a, b, say) => (h1 ? `${say(a)} → ${say(b)}` : say(a));
    const std = (v) => fmt.num(v, 3);
    return el("dl", { class: "weights-numbers" },
      el("dt", { text: "spread (std)" }), el("dd", { "data-weights-std": "", text: then(h0.std, h1 && h1.std, std) }),
      el("dt", { text: "at 0 (|w| < 0.001)" }),
      el("dd", { "data-weights-near-zero": "", text: then(h0.near_zero, h1 && h1.near_zero, pct) }),
      el("dt", { text: "exactly 0" }), el("dd", { text: then(h0.zeros, h1 && h1.zeros, pct) }));
  }
}

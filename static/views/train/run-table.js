// Runs compared side by side: one column per run (this page's, and the earlier runs of its
// networks), its settings with those that differ between the runs highlighted, and how it
// ended (accuracy and loss, epochs, steps, time, status). A checkbox in each column puts the
// run on the charts or takes it off.

import { el, fmt } from "../../ui.js";
import { diagnosisShort } from "./diagnosis.js";

const OPTIMIZERS = { sgd: "SGD", adam: "Adam", rmsprop: "RMSprop", adagrad: "Adagrad" };
const has = (v) => v !== null && v !== undefined;
const plain = (v) => (has(v) ? String(v) : "–");

export function sayAugment(augment) {
  const on = Object.entries(augment || {}).filter(([, v]) => v);
  return on.length ? on.map(([k, v]) => (v === true ? k : `${k} ${v}`)).join(", ") : "none";
}

function sayDropout(network) {
  if (!network) return "–"; // a run from before runs kept it
  const ps = [...new Set(network.dropout)];
  return ps.length ? ps.join(", ") : "no dropout layer";
}

// The settings every column shows, in this order; any other option that differs follows them.
const SETTINGS = [
  { key: "dataset", label: "Dataset", get: (r) => r.dataset },
  { key: "optimizer", label: "Optimizer", get: (r) => OPTIMIZERS[r.config.optimizer] || r.config.optimizer },
  { key: "lr", label: "Learning rate" },
  { key: "batch_size", label: "Batch size" },
  { key: "epochs", label: "Epochs planned" },
  { key: "l1", label: "L1 penalty" },
  { key: "weight_decay", label: "L2 penalty" },
  { key: "max_train", label: "Training images", get: (r) => (has(r.config.max_train) ? fmt.int(r.config.max_train) : "all") },
  { key: "dropout", label: "Dropout p", get: (r) => sayDropout(r.network) },
  { key: "params", label: "Parameters", get: (r) => (r.network ? fmt.int(r.network.params) : "–") },
  { key: "augment", label: "Augmentation", get: (r) => sayAugment(r.config.augment) },
  { key: "seed", label: "Seed" },
];
const NAMED = new Set(SETTINGS.map((s) => s.key));

// How long a run trained (so far): "0.8 s", "42 s", "3 min 5 s".
function duration(r) {
  if (!r.started) return "–";
  const s = (r.finished || Date.now() / 1000) - r.started;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function statusOf(r) {
  const d = r.evaluation && r.evaluation.diagnosis;
  if (!d) return r.status;
  return `${r.status}, but ${diagnosisShort(d)}`;
}

// How each ended; `best`: which end of the row is best (its cells are marked).
const RESULTS = [
  { key: "status", label: "Status", get: statusOf },
  { key: "train_accuracy", label: "Training accuracy", metric: true, say: fmt.pct, best: "high" },
  { key: "val_accuracy", label: "Validation accuracy", metric: true, say: fmt.pct, best: "high" },
  { key: "test_accuracy", label: "Test accuracy", metric: true, say: fmt.pct, best: "high" },
  { key: "train_loss", label: "Training loss", metric: true, say: (v) => fmt.num(v, 3), best: "low" },
  { key: "val_loss", label: "Validation loss", metric: true, say: (v) => fmt.num(v, 3), best: "low" },
  { key: "test_loss", label: "Test loss", metric: true, say: (v) => fmt.num(v, 3), best: "low" },
  { key: "epochs_done", label: "Epochs done", get: (r) => (r.metrics && has(r.metrics.epochs) ? r.metrics.epochs : r.epoch) },
  { key: "steps", label: "Steps", get: (r) => fmt.int(r.steps) },
  { key: "time", label: "Time", get: duration },
];

export class RunTable {
  // onToggle(id, shown): put a run on the charts, or take it off
  constructor({ onToggle }) {
    this.onToggle = onToggle;
    this.summary = el("p", { class: "muted", "data-compare-summary": true,
      text: "Each run you start shows here beside the others, with what differs between them highlighted." });
    this.table = el("table", { class: "compare-table", "data-compare-table": true });
    this.hint = el("p", { class: "muted compare-hint", text: "Swipe the table sideways to see every run." });
    this.root = el("div", {}, this.summary, this.hint, el("div", { class: "compare-scroll" }, this.table));
  }

  // runs: as GET /api/runs gives them, each with its name, colour and label (what differs);
  // onCharts: the ids on the charts; fixed: the id of a run that cannot leave them (it goes on).
  render(runs, { onCharts, fixed }) {
    this.table.hidden = !runs.length;
    this.hint.hidden = runs.length < 3; // two fit beside the row names, even on a phone
    if (!runs.length) return;
    const extra = [...new Set(runs.flatMap((r) => Object.keys(r.config)))]
      .filter((k) => !NAMED.has(k) && new Set(runs.map((r) => JSON.stringify(r.config[k] ?? null))).size > 1)
      .map((k) => ({ key: k, label: k.replace(/_/g, " ") }));
    const settings = [...SETTINGS, ...extra].map((s) => ({ ...s, get: s.get || ((r) => plain(r.config[s.key])) }));
    const differing = settings.filter((s) => runs.length > 1 && new Set(runs.map(s.get)).size > 1);
    this.summary.textContent = runs.length < 2
      ? "Start another run to compare: change one setting (an L1 or L2 penalty, say) and keep the seed."
      : differing.length
        ? `Highlighted: what differs between these ${runs.length} runs (${differing.map((s) => s.label).join(", ")}).`
        : `These ${runs.length} runs have the same settings.`;

    const head = el("tr", {}, el("th", { scope: "col", class: "corner", text: "Run" }),
      ...runs.map((r) => el("th", { scope: "col", "data-compare-run": r.id },
        el("span", { class: "chart-swatch", style: `background: ${r.colour}` }), " ", el("strong", { text: r.name }),
        el("div", { class: "compare-label", text: r.label === r.name ? "" : r.label }))));
    const toggles = el("tr", { class: "compare-toggles" }, el("th", { scope: "row", text: "On the charts" }),
      ...runs.map((r) => {
        const box = el("input", { type: "checkbox", "data-chart-toggle": r.id, checked: onCharts.has(r.id),
          disabled: r.id === fixed, "aria-label": `${r.name} on the charts`,
          onchange: () => this.onToggle(r.id, box.checked) });
        return el("td", {}, box);
      }));
    const section = (title) => el("tr", { class: "compare-section" },
      el("th", { scope: "rowgroup", colspan: runs.length + 1, text: title }));
    const settingRows = settings.map((s) => {
      const differs = differing.includes(s);
      return el("tr", { "data-setting": s.key, "data-differs": differs ? "" : null, class: differs ? "differs" : null },
        el("th", { scope: "row", text: s.label }), ...runs.map((r) => el("td", { text: s.get(r) })));
    });
    const resultRows = RESULTS.map((m) => this.resultRow(m, runs));
    this.table.replaceChildren(el("thead", {}, head),
      el("tbody", {}, toggles, section("Settings"), ...settingRows, section("How it ended (or stands)"),
        ...resultRows));
  }

  resultRow(m, runs) {
    const values = runs.map((r) => (m.metric ? (r.metrics || {})[m.key] : m.get(r)));
    let best = null;
    if (m.best) {
      const numbers = values.filter((v) => has(v) && Number.isFinite(v));
      if (numbers.length > 1) best = m.best === "high" ? Math.max(...numbers) : Math.min(...numbers);
    }
    return el("tr", { "data-result": m.key },
      el("th", { scope: "row", text: m.label }),
      ...values.map((v) => el("td", { class: `num${best !== null && v === best ? " best" : ""}`,
        "data-best": best !== null && v === best ? "" : null, text: m.say ? m.say(v) : plain(v) })));
  }
}

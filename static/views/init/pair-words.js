// The two training runs in words: where each is while they train, and what each reached.

import { fmt } from "../../ui.js";

// runs: [{label, status, step, ended, metrics, message}], without batch norm first.
// "without batch norm, step 120 of 452; with batch norm, queued (waiting for a free worker)"
export function said(runs, steps) {
  const one = (run) => {
    if (run.ended) {
      return run.status === "completed" ? `done, ${run.step} steps`
        : `${run.status} at step ${run.step}`;
    }
    if (run.status === "queued") return "queued (waiting for a free worker)";
    if (run.status === "running") return `step ${run.step} of ${steps}`;
    return run.status;
  };
  return runs.map((run) => `${run.label}, ${one(run)}`).join("; ");
}

// What the two runs reached, from their final metrics, in one sentence.
export function reached(runs) {
  const one = (run) => {
    const m = run.metrics;
    if (run.status === "diverged") return `${run.label}, ${run.message || "the loss overflowed"}`;
    if (!m || m.val_accuracy === undefined || m.val_accuracy === null) {
      return `${run.label}, ${run.status}`;
    }
    return `${run.label}, ${fmt.pct(m.val_accuracy)} of the validation digits named right `
      + `(loss ${fmt.num(m.val_loss, 3)})`;
  };
  const [plain, normed] = runs;
  return `After ${Math.max(plain.step, normed.step)} steps: ${one(plain)}; `
    + `${one(normed)}. A guess names 10% right.`;
}

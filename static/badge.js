// The header's word on the run the page follows, seen from every view: "Training:
// epoch 3 of 10 · 42%", "Paused", "Queued"; hidden when nothing runs. A click opens
// the Train view at the run.

export function badgeText(run) {
  if (!run) return "";
  if (run.status === "queued") return "Queued";
  if (run.status === "paused") return "Paused";
  if (run.status !== "running") return "";
  if (!run.epoch) return "Training…";
  const percent = run.percent === null ? "" : ` · ${run.percent}%`;
  return `Training: epoch ${run.epoch} of ${run.epochs}${percent}`;
}

export class RunBadge {
  constructor(root, store) {
    this.root = root;
    root.addEventListener("click", () => {
      store.set({ view: "train" });
      // on a phone the run's panel is below the settings: bring it into sight
      const panel = document.querySelector("[data-run-panel]");
      if (panel) panel.scrollIntoView({ block: "start" });
    });
  }

  render(state) {
    const text = badgeText(state.activeRun);
    this.root.hidden = !text;
    if (this.root.textContent !== text) this.root.textContent = text;
    this.root.dataset.status = text ? state.activeRun.status : "";
  }
}

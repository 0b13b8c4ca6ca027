// The header's word on the run the page follows, seen from every view: "Training:
// epoch 3 of 10 · 42%", "Paused", "Queued"; hidden when nothing runs. A click opens
// the Train view at the run. On a phone the epoch is left out ("Training · 42%"), so
// the badge stays in the header's first row.

import { el } from "./ui.js";

// [the words always shown, the detail shown where there is room, the percentage], or null.
export function badgeParts(run) {
  if (!run) return null;
  if (run.status === "queued") return ["Queued", "", ""];
  if (run.status === "paused") return ["Paused", "", ""];
  if (run.status !== "running") return null;
  if (!run.epoch) return ["Training…", "", ""];
  const percent = run.percent === null ? "" : ` · ${run.percent}%`;
  return ["Training", `: epoch ${run.epoch} of ${run.epochs}`, percent];
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
    const parts = badgeParts(state.activeRun);
    const text = parts ? parts.join("") : "";
    this.root.hidden = !text;
    if (this.root.textContent !== text) {
      const [words, detail, percent] = parts || ["", "", ""];
      // the detail stays in the text a screen reader reads, on a phone too
      const more = detail ? el("span", { class: "badge-detail", text: detail }) : "";
      this.root.replaceChildren(words, more, percent);
    }
    this.root.dataset.status = text ? state.activeRun.status : "";
  }
}

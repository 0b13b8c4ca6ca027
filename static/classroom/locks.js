// A class's locks as the page shows them. The server enforces them (a locked change answers
// 403 naming the lock); here they are only made visible: closed views lose their tab, a fixed
// architecture makes the Build view read-only, and run settings the teacher fixed are disabled.

import { el } from "../ui.js";

const VIEW_NAMES = { build: "Build", data: "Data", train: "Train", inspect: "Inspect",
  conv: "Convolution", init: "Initialization" };

// Why a view is closed, in words: "until you solve an exercise on output sizes".
export function closedBecause(rule, kinds) {
  const kind = rule && rule.until_solved;
  if (!kind) return "closed by your teacher";
  const title = (kinds && kinds[kind]) || kind.replaceAll("_", " ");
  return `opens when you solve an exercise of “${title}” in Learn`;
}

export class LockedPage {
  constructor(store) {
    this.store = store;
    this.locks = {};
    this.kinds = {};   // exercise kind -> title, for the sentences
    this.notes = new Map();
  }

  set(locks, kinds) {
    this.locks = locks || {};
    if (kinds) this.kinds = kinds;
    this.apply();
  }

  hidden(view) {
    return Boolean(this.locks.hidden_views && view in this.locks.hidden_views);
  }

  // Idempotent: called after every render, since views build their forms when they like.
  apply() {
    const hiddenViews = this.locks.hidden_views || {};
    for (const tab of document.querySelectorAll("[data-tab]")) {
      const view = tab.dataset.tab;
      if (!(view in VIEW_NAMES)) continue; // Learn is always open; the Class view is not a student's
      const closed = view in hiddenViews;
      tab.hidden = closed;
      if (closed) tab.title = `${VIEW_NAMES[view] || view}: ${closedBecause(hiddenViews[view], this.kinds)}`;
      else tab.removeAttribute("title");
    }
    if (this.hidden(this.store.state.view)) {
      const why = closedBecause(hiddenViews[this.store.state.view], this.kinds);
      this.store.set({ view: "learn", notice: `${VIEW_NAMES[this.store.state.view]} is ${why}.` });
    }
    this.lockView("build", Boolean(this.locks.architecture),
      "Your teacher fixed the network for this exercise: you train it as given (the architecture lock).");
    this.lockSettings(this.locks.editable, Boolean(this.locks.architecture));
  }

  lockView(view, locked, sentence) {
    const root = document.querySelector(`[data-view="${view}"]`);
    if (!root) return;
    let note = this.notes.get(view);
    if (locked && !note) {
      note = el("p", { class: "lock-note", "data-lock-note": view, text: `Locked: ${sentence}` });
      this.notes.set(view, note);
    }
    if (note && locked && note.parentNode !== root) root.prepend(note);
    if (note && !locked) note.remove();
    // inert: nothing in it can be clicked or typed in, but it is all still there to read
    for (const child of root.children) if (child !== note) child.inert = locked;
  }

  // As the server reads them (app/classroom/policy.py): a run setting not in `editable` stays as
  // pushed; dropout's p is the network's, so the architecture lock holds it.
  lockSettings(editable, architecture) {
    for (const input of document.querySelectorAll("[data-view=train] [data-hyper]")) {
      const name = input.dataset.hyper.split(".")[0];
      const locked = name === "dropout" ? architecture : Array.isArray(editable) && !editable.includes(name);
      if (input.disabled !== locked) input.disabled = locked;
      if (locked) input.title = `fixed by your teacher (the ${name === "dropout" ? "architecture" : "run-settings"} lock)`;
      input.closest(".field")?.classList.toggle("locked", locked);
    }
  }
}

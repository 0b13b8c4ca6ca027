// Play, pause, step and speed for a sequence of steps (the output cells of the forward pass,
// the cells of dL/dW and dL/dX). Playing advances on requestAnimationFrame, so it stops with
// the tab hidden and never runs two timers; the owner draws step i in onStep(i).

import { el } from "../../ui.js";

// steps a second; the default is the middle one
const SPEEDS = ["0.5", "1", "2", "4", "8"];
const DEFAULT_SPEED = "2";

export class Player {
  // name: the prefix of the buttons' data-action (conv-play, conv-back-play); part: the
  // player's data-player; what: what a step shows ("output cell")
  constructor({ name, part, what, onStep }) {
    this.count = 0;
    this.index = 0;
    this.onStep = onStep;
    this.playing = false;
    this.frame = null;
    this.speed = Number(DEFAULT_SPEED);
    const button = (action, text, label, handler) => el("button", {
      type: "button", "data-action": `${name}-${action}`, "aria-label": label, onclick: handler,
    }, text);
    this.playButton = button("play", "", "", () => this.toggle());
    this.speedSelect = el("select", { "data-speed": "", "aria-label": `Speed: ${what}s a second` },
      SPEEDS.map((value) => el("option", { value, selected: value === DEFAULT_SPEED },
        `${value} per second`)));
    this.speedSelect.addEventListener("change", () => {
      this.speed = Number(this.speedSelect.value);
    });
    this.label = el("span", { class: "player-label", "aria-live": "polite" });
    this.element = el("div", { class: "player", role: "group",
      "aria-label": `Step through the ${what}s`, "data-player": part, "data-step": "0" },
      button("first", "« First", `First ${what}`, () => this.go(0)),
      button("prev", "◀ Prev", `Previous ${what}`, () => this.go(this.index - 1)),
      this.playButton,
      button("step", "Next ▶", `Next ${what}`, () => this.go(this.index + 1)),
      button("last", "Last »", `Last ${what}`, () => this.go(this.count - 1)),
      el("label", { class: "player-speed" }, "speed ", this.speedSelect),
      this.label);
    this.showPaused();
  }

  // A new sequence (the server answered): keep the place if it still exists.
  setCount(count) {
    this.count = count;
    this.index = Math.max(0, Math.min(this.index, count - 1));
    this.element.dataset.step = String(this.index);
    if (!count) this.pause();
  }

  go(i) {
    if (!this.count) return;
    if (this.playing && i !== this.index + 1) this.pause(); // a jump by hand ends the play
    this.index = Math.max(0, Math.min(this.count - 1, i));
    this.element.dataset.step = String(this.index);
    this.onStep(this.index);
  }

  toggle() {
    if (this.playing) { this.pause(); return; }
    if (!this.count) return;
    if (this.index >= this.count - 1) this.go(0); // from the end, play starts again
    else this.go(this.index);
    this.playing = true;
    this.playButton.textContent = "‖ Pause";
    this.playButton.setAttribute("aria-pressed", "true");
    this.playButton.setAttribute("aria-label", "Pause");
    let last = null;
    let waited = 0;
    const tick = (now) => {
      if (!this.playing) return;
      waited += last === null ? 0 : now - last;
      last = now;
      if (waited >= 1000 / this.speed) {
        waited = 0;
        this.go(this.index + 1);
        if (this.index >= this.count - 1) { this.pause(); return; }
      }
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  pause() {
    this.playing = false;
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.showPaused();
  }

  showPaused() {
    this.playButton.textContent = "▶ Play";
    this.playButton.setAttribute("aria-pressed", "false");
    this.playButton.setAttribute("aria-label", "Play");
  }

  // How long a move between two steps may take, so that it ends before the next step.
  get moveMs() {
    return Math.min(350, 600 / this.speed);
  }
}

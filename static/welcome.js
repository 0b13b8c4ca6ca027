// The cold open: on a first visit without a setup in the address, one screen that says
// what the playground is and offers three first things to do, each one click away (the
// lecture's layer in Build, LeNet-5 training in Train, drawing a digit in Inspect), and
// the Learn view's first lesson. Closing it or choosing one is remembered in this
// browser; choosing a tab hides it until the next visit.

import { DEFAULT_HYPER } from "./store.js";
import { el } from "./ui.js";

const SEEN = "cnn-playground.welcomed"; // localStorage: "1" once closed or used

// the lecture's layer: 20 filters of 5x5, padding 1, stride 2, on a 3x32x32 image
const LECTURE_SPEC = { input: [3, 32, 32], layers: [
  { type: "conv2d", out_channels: 20, kernel_size: 5, padding: 1, stride: 2 }] };
const WATCH_EPOCHS = 3; // long enough to watch the curves move, short enough for a class

const CARDS = [
  { action: "build", title: "Build the lecture's layer", button: "Build it",
    text: "20 filters of 5 × 5 on a 32 × 32 colour image: its output size and its 1,520 "
      + "parameters, worked out." },
  { action: "train", title: "Train LeNet-5 and watch it learn", button: "Train it",
    text: `Handwritten digits, ${WATCH_EPOCHS} epochs: the loss falls and the accuracy climbs `
      + "as you watch." },
  { action: "draw", title: "Draw a digit", button: "Draw one",
    text: "With the mouse or a finger: see what each layer of LeNet-5 makes of it (trained "
      + "first, it reads it)." },
];

function seen() {
  try {
    return localStorage.getItem(SEEN) === "1";
  } catch {
    return false; // storage switched off: show it
  }
}

// Whether this page load is a cold open: no shared setup or network in the address, not a
// lesson's widget, and the welcome neither closed nor used before in this browser.
export function coldOpen(hash, embedded) {
  return !embedded && !/(?:^#?|&)(?:s|net)=/.test(hash || "") && !seen();
}

export class Welcome {
  constructor(root, { store, api, views }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.views = views;
    this.error = el("p", { class: "error", "data-welcome-error": "", hidden: true, role: "alert" });
    const cards = CARDS.map(({ action, title, text, button }) => el("li", { class: "welcome-card" },
      el("h3", { text: title }), el("p", { text }),
      el("button", { type: "button", class: "primary", "data-welcome-action": action,
        onclick: () => this.choose(action) }, button)));
    root.append(
      el("div", { class: "welcome-head" },
        el("h2", { id: "welcome-h" }, "Build a convolutional network, train it, look inside it"),
        el("button", { type: "button", class: "welcome-close", "data-action": "close-welcome",
          "aria-label": "Close the welcome", title: "Close the welcome",
          onclick: () => this.close() }, "×")),
      el("p", { class: "welcome-lead", text: "A real network, computed on this server as the "
        + "lecture does it: every layer's shapes, numbers and feature maps, live. Start with one "
        + "of these:" }),
      el("ol", { class: "welcome-cards" }, cards),
      el("p", { class: "welcome-learn" }, "New to CNNs? ",
        el("button", { type: "button", class: "link", "data-welcome-action": "learn",
          onclick: () => this.choose("learn") }, "Follow the lecture from its first lesson")),
      this.error);
    // a tab chosen instead: the student has found their own way in
    const tabs = document.querySelector("[role=tablist]");
    tabs?.addEventListener("click", () => { root.hidden = true; });
  }

  show() {
    this.root.hidden = false;
  }

  close() {
    this.remember();
    this.root.hidden = true;
    document.querySelector("[role=tab][aria-selected=true]")?.focus();
  }

  remember() {
    try {
      localStorage.setItem(SEEN, "1");
    } catch {
      // storage switched off: it shows again next time
    }
  }

  // The page set up for the first thing chosen; its view opened.
  async choose(action) {
    const { store } = this;
    this.remember();
    try {
      if (action === "build") store.set({ spec: LECTURE_SPEC, preset: null, view: "build" });
      else if (action === "learn") store.set({ view: "learn", lesson: null });
      else await this.lenet(action === "train" ? "train" : "inspect");
    } catch (e) {
      this.error.textContent = `Could not set this up: ${e.message}`;
      this.error.hidden = false;
      return;
    }
    this.root.hidden = true;
    const view = document.querySelector(`[data-view="${store.state.view}"]`);
    // the run starts as the Train view's own Start button starts it, once its settings are in
    if (action === "train") this.views.train?.startWhenReady();
    document.querySelector(`[data-tab="${store.state.view}"]`)?.focus();
    if (action === "draw") view.querySelector("[data-draw]")?.scrollIntoView({ block: "center" });
  }

  // LeNet-5 on the generated digits, in `view`; in Train, for long enough to watch.
  async lenet(view) {
    const { store } = this;
    const preset = await this.api.preset("lenet5", "strokes");
    const hyper = view === "train"
      ? { ...DEFAULT_HYPER, ...store.state.hyper, epochs: WATCH_EPOCHS } : store.state.hyper;
    store.set({ spec: preset.spec, preset: "lenet5", dataset: "strokes", hyper, view });
  }
}

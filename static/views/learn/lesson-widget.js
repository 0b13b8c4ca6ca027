// A lesson's live widget: the playground's own view, set up as the lesson says (a
// preset, a spec, a dataset, a part of the view), in an iframe of the page in embed
// mode (embed.js). The iframe keeps the lesson's setup apart from the student's own
// network and settings in the other tabs, and is the real view, not a copy of it.
// Predict, then check: a veil covers it until the student answers one of the lesson's
// exercises (or asks to see it now), so it does not show a result before the guess.

import { Store } from "../../store.js";
import { el } from "../../ui.js";

// The tabs' names for the views.
const VIEW_NAMES = { data: "Data", build: "Build", train: "Train", inspect: "Inspect", conv: "Convolution, step by step", init: "Initialization" };

// The part of the page's shareable state that sets the view up as the lesson asks.
export function widgetSetup(widget) {
  const { preset, spec, dataset } = widget.options || {};
  const setup = { view: widget.view };
  if (spec) Object.assign(setup, { spec, preset: null });
  else if (preset) setup.preset = preset;
  if (dataset) setup.dataset = dataset;
  return setup;
}

export class LessonWidget {
  constructor({ api, onReveal }) {
    this.api = api;
    this.onReveal = onReveal;
    this.element = el("section", { class: "learn-widget", "data-lesson-widget": "", "aria-labelledby": "learn-widget-h" });
  }

  show(widget, revealed) {
    const hash = Store.encode(widgetSetup(widget));
    const part = widget.options && widget.options.part;
    const name = VIEW_NAMES[widget.view] || widget.view;
    // a new iframe for each lesson: changing the src of one would add to the tab's history
    this.frame = el("iframe", { class: "widget-frame", "data-widget-frame": widget.view,
      src: this.api.pageUrl(hash, { embed: widget.view, part }), title: `The ${name} view, live, set up for this lesson` });
    this.veil = el("div", { class: "widget-veil", "data-widget-veil": "" },
      el("p", {}, el("strong", { text: "Predict first. " }), "Answer an exercise of this lesson, then check your answer here."),
      el("button", { type: "button", "data-action": "reveal-widget", onclick: () => this.reveal() }, "Show it now"));
    this.element.dataset.widgetView = widget.view;
    this.element.replaceChildren(
      el("header", { class: "widget-head" },
        el("h3", { id: "learn-widget-h" }, "Try it: ", name),
        el("a", { href: this.api.pageUrl(hash), target: "_blank", rel: "noopener", "data-widget-open": "",
          title: "Open the playground with this setup in a new tab" }, "Open in a new tab ↗")),
      el("p", { class: "widget-caption", "data-widget-caption": "", text: widget.caption }),
      el("div", { class: "widget-holder" }, this.frame, this.veil));
    this.setRevealed(revealed);
  }

  reveal() {
    if (!this.veil || this.veil.hidden) return;
    this.setRevealed(true);
    this.onReveal();
  }

  setRevealed(revealed) {
    this.veil.hidden = revealed;
    this.frame.classList.toggle("veiled", !revealed);
    this.frame.inert = !revealed; // no tabbing into what cannot be seen
    this.element.dataset.revealed = String(revealed);
  }
}

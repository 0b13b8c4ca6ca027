// Where a network starts: a preset (small ones to train, famous full-size ones to study)
// or an empty network, and the input's shape [C, H, W]; with the preset's description,
// how a famous one differs from its paper, and whether this server can build it.

import { el, fmt, showError } from "../../ui.js";
import { uid } from "./ids.js";

const LONG = { C: "channels", H: "height", W: "width", features: "features" };

export class StartPanel {
  // onPreset(name), onNew(), onInput(index, raw)
  constructor({ onPreset, onNew, onInput }) {
    this.onInput = onInput;
    this.presets = [];
    const presetId = uid("preset");
    this.select = el("select", { id: presetId, "data-preset-select": true,
      onchange: () => onPreset(this.select.value) }, el("option", { value: "" }, "loading…"));
    this.presetError = el("p", { class: "error", "data-preset-error": true, hidden: true });
    this.description = el("p", { class: "muted build-description",
      "data-preset-description": true });
    // how a famous preset differs from its paper and the lecture's slides (from GET /api/presets)
    this.note = el("p", { class: "muted build-description", "data-preset-note": true,
      hidden: true });
    this.buildable = el("p", { class: "build-note", "data-buildable-note": true, hidden: true });
    this.inputFields = el("div", { class: "build-input-fields" });
    this.inputError = el("p", { class: "error", "data-input-error": true, hidden: true });
    const headingId = uid("h");
    this.element = el("section", { class: "panel build-start", "aria-labelledby": headingId },
      el("h2", { id: headingId }, "Start from"),
      el("div", { class: "row build-start-row" },
        el("div", { class: "build-preset" },
          el("label", { for: presetId }, "Preset network"),
          this.select,
          el("button", { type: "button", "data-action": "new-network", onclick: onNew },
            "New empty network")),
        el("div", { class: "build-input" },
          el("span", { class: "build-input-label" }, "Input shape [C, H, W]"),
          this.inputFields)),
      this.presetError, this.inputError, this.description, this.note, this.buildable);
  }

  setPresets(presets, current) {
    this.presets = presets;
    const option = (p) => el("option", { value: p.name },
      `${p.title} — ${fmt.int(p.params)} parameters${p.trainable_on_cpu ? "" : " (to study)"}`);
    this.select.replaceChildren(
      el("option", { value: "" }, "— your own network —"),
      el("optgroup", { label: "Small: trainable here" },
        presets.filter((p) => p.trainable_on_cpu).map(option)),
      el("optgroup", { label: "Full size: shapes and counts" },
        presets.filter((p) => !p.trainable_on_cpu).map(option)));
    this.showPreset(current);
  }

  info(name) {
    return this.presets.find((p) => p.name === name);
  }

  showPreset(name) {
    const known = [...this.select.options].some((o) => o.value === name);
    if (name && known && this.select.value !== name) this.select.value = name;
    else if (!name) this.select.value = "";
    const info = this.info(name);
    this.description.textContent = info ? info.description : "";
    this.description.hidden = !info;
    this.note.textContent = info && info.note ? info.note : "";
    this.note.hidden = !(info && info.note);
  }

  showPresetError(error) {
    showError(this.presetError, error);
  }

  // Whether this network can be built and trained here, from the summary.
  showBuildable(summary, preset) {
    const info = this.info(preset);
    let note = "";
    if (summary.buildable === false) {
      note = `${summary.why_not_buildable || "This network is too large to build here"}. `
        + "Use it to study its shapes and parameter counts.";
    } else if (info && !info.trainable_on_cpu) {
      note = "This full-size network can be built here, but training it on a CPU would take days: "
        + "use it to study its shapes and parameter counts, or pick a small one to train.";
    }
    this.buildable.textContent = note;
    this.buildable.hidden = !note;
  }

  renderInput(spec) {
    const input = spec && Array.isArray(spec.input) ? spec.input : [1, 28, 28];
    const names = input.length === 1 ? ["features"]
      : input.length === 3 ? ["C", "H", "W"] : input.map((_, i) => `dim ${i + 1}`);
    this.inputFields.replaceChildren(...input.map((v, i) => {
      const id = uid("in");
      const long = LONG[names[i]] || names[i];
      return el("span", { class: "build-input-dim" },
        el("label", { for: id, title: long }, names[i]),
        el("input", { id, type: "number", min: 1, step: 1, value: v ?? "", "data-input-dim": i,
          "aria-label": `input ${long}`, oninput: (e) => this.onInput(i, e.target.value) }));
    }));
  }

  focusInput() {
    const first = this.inputFields.querySelector("input");
    if (first) first.focus();
  }

  markInput(error) {
    showError(this.inputError, error);
    for (const input of this.inputFields.querySelectorAll("input")) {
      if (error) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }
}

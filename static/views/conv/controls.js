// Whole-number controls (sizes, strides, paddings), read only when every one is valid; the
// set-up and pooling panels share them.

import { el, showError } from "../../ui.js";

// A labelled number input; spec: {id, key, value, label, limits: [min, max]}.
export function wholeNumberControl({ id, key, value, label, limits: [min, max] }, onInput) {
  const input = el("input", { id, type: "number", min, max, step: 1, value, inputmode: "numeric",
    "data-conv-size": key });
  input.addEventListener("input", onInput);
  return el("span", { class: "ctl" }, el("label", { for: id, text: label }), input);
}

// {key: value} from the inputs under root, or null (with the reasons shown in errorEl) when
// any is not a whole number within its limits. specs: {key: {label, limits}}.
export function readWholeNumbers(root, specs, errorEl) {
  const values = {}, wrong = [];
  for (const [key, { label, limits: [min, max] }] of Object.entries(specs)) {
    const input = root.querySelector(`[data-conv-size="${key}"]`);
    const v = Number(input.value);
    if (input.value === "" || !Number.isInteger(v) || v < min || v > max) {
      wrong.push(`${label} must be a whole number from ${min} to ${max}`);
    }
    values[key] = v;
  }
  showError(errorEl, wrong.length ? { message: wrong.join("; ") } : null);
  return wrong.length ? null : values;
}

// Which channel a part of the view shows, when there are several (hidden for one).
export class ChannelPicker {
  constructor(id, onChange) {
    this.select = el("select", { id, "data-conv-channel-pick": "" });
    this.select.addEventListener("change", onChange);
    this.element = el("span", { class: "ctl", hidden: true },
      el("label", { for: id, text: "channel" }), this.select);
  }

  // The channel picked, among count (kept when it still exists).
  pick(count) {
    if (this.select.options.length !== count) {
      const was = Number(this.select.value) || 0;
      this.select.replaceChildren(...Array.from({ length: count },
        (_, c) => el("option", { value: c, selected: c === was }, String(c))));
    }
    this.element.hidden = count === 1;
    return Math.min(Number(this.select.value) || 0, count - 1);
  }
}

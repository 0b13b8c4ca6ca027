// The lab's form controls: a label over its input, each input hooked by data-init-ctl.

import { el } from "../../ui.js";

export const numberControl = (id, key, value, text, min, max) => el("span", { class: "ctl" },
  el("label", { for: id, text }),
  el("input", { id, type: "number", min, max, step: 1, value, "data-init-ctl": key,
    inputmode: "numeric" }));

// options: [[value, text], ...]
export const selectControl = (id, key, value, text, options) => el("span", { class: "ctl" },
  el("label", { for: id, text }),
  el("select", { id, "data-init-ctl": key },
    options.map(([v, t]) => el("option", { value: v, selected: v === value, text: t }))));

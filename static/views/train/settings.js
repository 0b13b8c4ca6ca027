// The Train view's settings form. What each setting may be (its kind, limits, default and
// choices) comes from the server: GET /api/train/options for a run's options, and the layer
// catalogue for dropout's p; this module only says which to show, in which group, with
// which words. A field whose text is not valid keeps it, says why, and holds Start back.

import { el, showError } from "../../ui.js";

const say = (words) => (v) => words[v] ?? v;

// What to show and how to say it; `name` is a run option's (or "dropout", a layer field).
// note(v) and when(v) take v(name): a setting's value, the server's default if unset.
const SHOWN = [
  { group: "Optimizer", name: "optimizer", label: "Optimizer",
    say: say({ sgd: "SGD (with momentum)", adam: "Adam", rmsprop: "RMSprop", adagrad: "Adagrad" }) },
  { group: "Optimizer", name: "lr", label: "Learning rate" },
  { group: "Optimizer", name: "momentum", label: "Momentum", step: 0.05,
    when: (v) => ["sgd", "rmsprop"].includes(v("optimizer")) },
  { group: "Optimizer", name: "nesterov", label: "Nesterov (gradient a step ahead)",
    when: (v) => v("optimizer") === "sgd" },
  { group: "Optimizer", name: "beta1", label: "Beta 1 (mean of gradients)", step: 0.01,
    when: (v) => v("optimizer") === "adam" },
  { group: "Optimizer", name: "beta2", label: "Beta 2 (mean of squares)", step: 0.001,
    when: (v) => v("optimizer") === "adam" },
  { group: "Optimizer", name: "schedule", label: "Learning-rate schedule",
    say: say({ step: "step (× gamma every few epochs)", cosine: "cosine (smoothly down)" }) },
  { group: "Optimizer", name: "step_size", label: "Step every (epochs)", when: (v) => v("schedule") === "step" },
  { group: "Optimizer", name: "gamma", label: "Multiply by (gamma)", step: 0.05,
    when: (v) => v("schedule") === "step" },
  { group: "Optimizer", name: "min_lr", label: "Floor (learning rate at the end)",
    when: (v) => v("schedule") === "cosine" },
  { group: "Data", name: "batch_size", label: "Batch size" },
  { group: "Data", name: "epochs", label: "Epochs" },
  { group: "Data", name: "max_train", label: "Training examples to use", placeholder: "all",
    note: () => "blank: all; fewer is quicker" },
  { group: "Data", name: "validation", label: "Validation fraction", step: 0.05,
    note: () => "kept aside to measure generalization" },
  { group: "Data", name: "seed", label: "Seed", note: () => "same seed, same weights and run" },
  { group: "Regularization", name: "l1", label: "L1 penalty" },
  { group: "Regularization", name: "weight_decay", label: "L2 penalty (weight decay)" },
  { group: "Regularization", name: "dropout", label: "Dropout p", step: 0.05, hook: "dropout-note" },
  { group: "Regularization", name: "early_stopping", label: "Early stopping (patience)", placeholder: "off",
    note: () => "blank: off; else stop after this many epochs without a better validation loss" },
  { group: "Augmentation", name: "augment.shift", label: "Shift (pixels)" },
  { group: "Augmentation", name: "augment.noise", label: "Noise (std, 0..1)", step: 0.01 },
  { group: "Augmentation", name: "augment.flip", label: "Flip left-right", hook: "flip-note" },
  { group: "Augmentation", name: "augment.crop", label: "Crop (pad 4 pixels, cut at random)" },
];

// A setting's value in the store: seed is the page's, dropout the network's, the rest state.hyper's.
export function read(state, name) {
  if (name === "seed") return state.seed;
  const [a, b] = name.split(".");
  const v = state.hyper ? state.hyper[a] : undefined;
  return b ? (v || {})[b] : v;
}

// Why text is not a valid value of option o (as the server would answer), or null; and the value.
export function check(o, label, text) {
  if (o.kind === "bool") return { value: Boolean(text) };
  if (o.kind === "choice") return o.choices.includes(text) ? { value: text } : { error: `${label}: pick one` };
  const t = String(text).trim();
  if (t === "" && o.nullable) return { value: null };
  const value = Number(t);
  const whole = o.kind === "int";
  const low = o.min === undefined ? true : o.exclusive_min ? value > o.min : value >= o.min;
  const high = o.max === undefined ? true : o.exclusive_max ? value < o.max : value <= o.max;
  if (t !== "" && Number.isFinite(value) && (!whole || Number.isInteger(value)) && low && high) return { value };
  const range = [o.min === undefined ? null : `${o.exclusive_min ? "above" : "at least"} ${o.min}`,
    o.max === undefined ? null : `${o.exclusive_max ? "below" : "at most"} ${o.max}`].filter(Boolean).join(" and ");
  return { error: `${label} must be ${whole ? "a whole number" : "a number"} ${range}${o.nullable ? " (or blank)" : ""}` };
}

export class TrainSettings {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.options = null;          // name -> the server's definition
    this.inputs = new Map();      // name -> {shown, option, input, error, note, row}
    this.invalid = new Map();     // name -> why its text is refused
    this.onValidity = () => {};
    this.onEdit = () => {};       // a field's text changed (valid or not), before it is committed
    this.status = el("p", { class: "muted", "data-settings-status": true, text: "Loading the training options…" });
    // the groups are there at once, before their fields arrive: data-train-regularization and
    // so on let a lesson's widget open the view at its group
    this.groups = new Map();
    for (const { group } of SHOWN) {
      if (!this.groups.has(group)) {
        this.groups.set(group, el("fieldset", { class: "train-group", [`data-train-${group.toLowerCase()}`]: "" },
          el("legend", { text: group })));
      }
    }
    root.append(el("h2", { id: "train-settings-h", text: "Settings" }), this.status, ...this.groups.values());
  }

  // The server's definitions: a run's options and the dropout layer's p.
  async load(api) {
    try {
      const [{ options }, layers] = await Promise.all([api.trainOptions(), api.layers()]);
      const byName = Object.fromEntries(options.map((o) => [o.name, o]));
      const dropout = layers.find((l) => l.type === "dropout");
      const p = dropout && dropout.fields.find((f) => f.name === "p");
      if (p) byName.dropout = { ...p, kind: "float" };
      this.build(byName);
    } catch (e) {
      showError(this.status, { message: `cannot load the training options: ${e.message}; reload the page` });
    }
  }

  build(options) {
    this.options = options;
    this.status.remove();
    for (const shown of SHOWN) {
      const o = options[shown.name];
      if (o) this.groups.get(shown.group).append(this.field(shown, o)); // else: not on this server
    }
    for (const group of this.groups.values()) group.hidden = !group.querySelector(".field");
  }

  field(shown, o) {
    const id = `train-${shown.name.replace(".", "-")}`;
    let input;
    if (o.kind === "choice") {
      const words = shown.say || String;
      input = el("select", { id }, ...o.choices.map((v) => el("option", { value: v }, words(v))));
    } else if (o.kind === "bool") {
      input = el("input", { id, type: "checkbox" });
    } else {
      input = el("input", { id, type: "number", inputmode: o.kind === "int" ? "numeric" : "decimal", min: o.min,
        max: o.max, step: shown.step ?? (o.kind === "int" ? 1 : "any"), placeholder: shown.placeholder });
    }
    input.setAttribute("data-hyper", shown.name);
    if (o.help) input.title = o.help;
    const error = el("span", { class: "error field-error", hidden: true, "data-field-error": shown.name });
    const note = el("span", { class: "muted field-note" });
    if (shown.hook) note.setAttribute(`data-${shown.hook}`, "");
    const entry = { shown, option: o, input, error, note };
    input.addEventListener("input", () => { this.validate(entry); this.onEdit(shown.name); });
    input.addEventListener("change", () => this.commit(entry));
    const label = el("label", { for: id, text: shown.label });
    entry.row = o.kind === "bool"
      ? el("div", { class: "field field-bool" }, el("span", { class: "check" }, input, label), note, error)
      : el("div", { class: `field field-${o.kind}` }, label, input, note, error);
    this.inputs.set(shown.name, entry);
    return entry.row;
  }

  text(entry) {
    return entry.option.kind === "bool" ? entry.input.checked : entry.input.value;
  }

  // Say at once what is wrong with the text typed so far.
  validate(entry) {
    const result = check(entry.option, entry.shown.label, this.text(entry));
    const { error } = result;
    showError(entry.error, error ? { message: error } : null);
    entry.input.setAttribute("aria-invalid", String(Boolean(error)));
    const was = this.invalid.size;
    if (error) this.invalid.set(entry.shown.name, error);
    else this.invalid.delete(entry.shown.name);
    if (was !== this.invalid.size || error) this.onValidity();
    return result;
  }

  // A valid value goes to the store; an invalid one stays in its field, with its error.
  commit(entry) {
    const ok = this.validate(entry);
    if (ok.error) return;
    const name = entry.shown.name;
    if (name === "seed") {
      this.store.set({ seed: ok.value });
      return;
    }
    const hyper = { ...this.store.state.hyper };
    const [a, b] = name.split(".");
    if (b) hyper[a] = { ...(hyper[a] || {}), [b]: ok.value };
    else hyper[a] = ok.value;
    this.store.set({ hyper });
  }

  // The labels of the fields whose text is refused, for the reason Start waits.
  invalidLabels() {
    return [...this.invalid.keys()].map((name) => this.inputs.get(name).shown.label);
  }

  // A setting's value: the student's, else the server's default.
  value(state, name) {
    const v = read(state, name);
    return v === undefined && this.options && this.options[name] ? this.options[name].default : v;
  }

  render(state, { digits }) {
    const value = (name) => this.value(state, name);
    for (const entry of this.inputs.values()) {
      const { shown, option, input, note, row } = entry;
      row.hidden = shown.when ? !shown.when(value) : false;
      const v = value(shown.name);
      // a field being typed in, or holding refused text, keeps what the student typed
      if (document.activeElement !== input && !this.invalid.has(shown.name)) {
        if (option.kind === "bool") input.checked = !!v && !(shown.name === "augment.flip" && digits);
        else input.value = v === null || v === undefined ? "" : String(v);
      }
      if (shown.note) note.textContent = shown.note(value);
      // left blank, a default that depends on another setting (momentum's on the optimizer)
      if (option.default_by) {
        const [on, defaults] = Object.entries(option.default_by)[0];
        const d = defaults[value(on)];
        input.placeholder = d === undefined || d === null ? "" : String(d);
      }
    }
    // flip turns a 2 into something that is not a digit: the server refuses it for digit datasets
    const flip = this.inputs.get("augment.flip");
    if (flip) {
      flip.input.disabled = !!digits;
      flip.note.textContent = digits ? "not for digits: a flipped digit is not the same digit" : "";
    }
  }

  noteOf(name) {
    const entry = this.inputs.get(name);
    return entry ? entry.note : null;
  }

  // The fieldset of a group ("Augmentation"), for a view to add to it.
  group(name) {
    return this.groups.get(name);
  }

  // What a field holds now: the text being typed when it is valid, else the stored value.
  current(state, name) {
    const entry = this.inputs.get(name);
    if (entry) {
      const typed = check(entry.option, entry.shown.label, this.text(entry));
      if (!typed.error) return typed.value;
    }
    return this.value(state, name);
  }

  // Whether a setting applies now: one shown only with another's value (Adam's betas) does not
  // go with a run while hidden, since the server refuses what would do nothing.
  applies(state, name) {
    const entry = this.inputs.get(name);
    return !entry || !entry.shown.when || entry.shown.when((n) => this.value(state, n));
  }

  // What POST .../runs takes: each option the student set (the server's default for the rest).
  payload(state, { digits }) {
    const body = { dataset: state.dataset, seed: state.seed };
    const h = state.hyper || {};
    for (const name of Object.keys(this.options || {})) {
      if (["dataset", "seed", "dropout"].includes(name) || name.includes(".")) continue;
      if (!this.applies(state, name)) continue;
      if (h[name] !== undefined && h[name] !== null) body[name] = h[name];
    }
    const augment = {};
    for (const [k, v] of Object.entries(h.augment || {})) if (v) augment[k] = v;
    if (digits) delete augment.flip;
    if (Object.keys(augment).length) body.augment = augment;
    return body;
  }
}

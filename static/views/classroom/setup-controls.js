// What the teacher sends and fixes: the page's current setup pushed to every student (or to those
// with a hand up), and the class's locks. The server enforces the locks; this only sets them.

import { el, showError } from "../../ui.js";

const LOCKABLE = { build: "Build", data: "Data", train: "Train", inspect: "Inspect", conv: "Convolution",
  init: "Initialization" };

// The part of the teacher's page a push carries (the same as a shared link's).
export function setupOf(state) {
  return { spec: state.spec, preset: state.preset || null, dataset: state.dataset, hyper: state.hyper,
    view: state.view === "class" ? "train" : state.view, lesson: state.lesson || null };
}

export class PushControls {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.classId = null;
    this.summary = el("p", { class: "muted", "data-push-summary": "" });
    this.result = el("p", { class: "muted", "data-push-result": "", "aria-live": "polite" });
    this.error = el("p", { class: "error", hidden: true });
    const button = (to, text) => el("button", { type: "button", "data-action": `push-${to}`, text,
      onclick: () => this.push(to) });
    root.append(el("h3", { text: "Send your setup" }),
      el("p", { text: "What this page has now (network, dataset, training settings, view, lesson) goes to the students' pages within seconds." }),
      this.summary, el("div", { class: "button-row" }, button("all", "Send to everyone"),
        button("askers", "Send to those with a hand up")), this.result, this.error);
  }

  render(state) {
    const s = setupOf(state);
    const hyper = s.hyper || {};
    this.summary.textContent = `${s.preset || "your network"} on ${s.dataset}, learning rate ${hyper.lr}, `
      + `batch ${hyper.batch_size ?? "default"}, opening ${s.view}`;
  }

  async push(to) {
    showError(this.error, null);
    try {
      const r = await this.ctx.api.push(this.classId, setupOf(this.ctx.store.state), to);
      this.result.textContent = `Sent to ${r.to} student${r.to === 1 ? "" : "s"}.`;
    } catch (e) {
      showError(this.error, e);
    }
  }
}

export class LockControls {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.classId = null;
    this.architecture = el("input", { type: "checkbox", id: "lock-architecture", "data-lock": "architecture" });
    this.limitSettings = el("input", { type: "checkbox", id: "lock-settings", "data-lock": "settings" });
    this.settingsBox = el("div", { class: "lock-settings", "data-lock-editable": "" });
    this.viewsBox = el("div", { class: "lock-views" });
    this.views = {};
    for (const [view, label] of Object.entries(LOCKABLE)) {
      const box = el("input", { type: "checkbox", id: `lock-view-${view}`, "data-lock-view": view });
      const until = el("select", { "data-lock-until": view, "aria-label": `${label} opens when` },
        el("option", { value: "", text: "until I open it" }));
      this.views[view] = { box, until };
      this.viewsBox.append(el("div", { class: "lock-row" }, box, el("label", { for: box.id, text: `Close ${label}` }), until));
    }
    this.status = el("p", { class: "muted", "data-lock-status": "", "aria-live": "polite" });
    this.error = el("p", { class: "error", hidden: true });
    root.append(el("h3", { text: "Locks" }),
      el("div", { class: "lock-row" }, this.architecture,
        el("label", { for: "lock-architecture", text: "Fix the architecture: students train the network you sent" })),
      el("div", { class: "lock-row" }, this.limitSettings,
        el("label", { for: "lock-settings", text: "Only these training settings may change (the rest stay as sent):" })),
      this.settingsBox, this.viewsBox,
      el("button", { type: "button", class: "primary", "data-action": "save-locks", text: "Apply the locks",
        onclick: () => this.save() }), this.status, this.error);
    this.limitSettings.addEventListener("change", () => { this.settingsBox.hidden = !this.limitSettings.checked; });
    this.settingsBox.hidden = true;
    this.load();
  }

  async load() {
    try {
      const [{ options }, kinds] = await Promise.all([this.ctx.api.trainOptions(), this.ctx.api.exerciseKinds()]);
      this.settingsBox.replaceChildren(...options.map((o) => {
        const box = el("input", { type: "checkbox", id: `lock-editable-${o.name}`, "data-editable": o.name,
          checked: ["lr", "batch_size"].includes(o.name) });
        return el("span", { class: "check" }, box, el("label", { for: box.id, text: o.name }));
      }));
      for (const { until } of Object.values(this.views)) {
        for (const k of kinds) until.append(el("option", { value: k.name, text: `until solved: ${k.title}` }));
      }
    } catch (e) {
      showError(this.error, e);
    }
  }

  show(klass) {
    const locks = klass.locks || {};
    this.architecture.checked = Boolean(locks.architecture);
    this.limitSettings.checked = Array.isArray(locks.editable);
    this.settingsBox.hidden = !this.limitSettings.checked;
    if (Array.isArray(locks.editable)) {
      for (const box of this.settingsBox.querySelectorAll("[data-editable]")) box.checked = locks.editable.includes(box.dataset.editable);
    }
    for (const [view, { box, until }] of Object.entries(this.views)) {
      const rule = (locks.hidden_views || {})[view];
      box.checked = Boolean(rule);
      until.value = (rule && rule.until_solved) || "";
    }
  }

  async save() {
    showError(this.error, null);
    const locks = { architecture: this.architecture.checked, hidden_views: {} };
    if (this.limitSettings.checked) {
      locks.editable = [...this.settingsBox.querySelectorAll("[data-editable]:checked")].map((b) => b.dataset.editable);
    }
    for (const [view, { box, until }] of Object.entries(this.views)) {
      if (box.checked) locks.hidden_views[view] = until.value ? { until_solved: until.value } : {};
    }
    try {
      const klass = await this.ctx.api.setLocks(this.classId, locks);
      this.show(klass);
      const n = Object.keys(locks.hidden_views).length;
      this.status.textContent = `Applied: ${locks.architecture ? "architecture fixed" : "architecture free"}; `
        + `${locks.editable ? `only ${locks.editable.join(", ") || "nothing"} may change` : "every setting may change"}; `
        + `${n} view${n === 1 ? "" : "s"} closed.`;
    } catch (e) {
      showError(this.error, e);
    }
  }
}

// The Class view, the teacher's: open a class and give its code, follow every student live
// (the dashboard's WebSocket), see what the class gets wrong, send a setup, set locks, run a
// challenge and export the results. Each part is its own module in views/classroom/.

import { el, showError } from "../ui.js";
import { ChallengePanel } from "./classroom/challenge-panel.js";
import { LockControls, PushControls } from "./classroom/setup-controls.js";
import { StudentDetail } from "./classroom/student-detail.js";
import { ExerciseStats, StudentsTable } from "./classroom/students-table.js";

const RECONNECT_MS = 2000;

export class ClassroomView {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.classes = [];
    this.classId = null;
    this.stop = null;
    this.titles = {};

    this.picker = el("select", { id: "class-picker", "data-class-picker": "" });
    this.picker.addEventListener("change", () => this.select(this.picker.value));
    this.newName = el("input", { id: "class-name", placeholder: "e.g. Lab 3, Tuesday", "data-class-new-name": "" });
    this.closeButton = el("button", { type: "button", class: "danger", "data-action": "close-class",
      text: "Close this class", onclick: () => this.closeClass() });
    this.export = el("a", { class: "button", "data-action": "export", download: "", text: "Download results (CSV)" });
    this.error = el("p", { class: "error", hidden: true, "data-class-view-error": "" });
    this.code = el("p", { class: "class-code", "data-class-code": "", tabindex: 0, title: "Click to show it large" });
    this.code.addEventListener("click", () => this.code.classList.toggle("projected"));
    this.where = el("p", { class: "muted", "data-class-where": "" });
    this.live = el("p", { class: "muted live-state", "data-live": "", "aria-live": "polite" });

    const section = (cls) => el("section", { class: `class-card ${cls}` });
    const studentsBox = section("students");
    const detailBox = section("detail");
    const statsBox = section("stats");
    const pushBox = section("push");
    const locksBox = section("locks");
    const challengeBox = section("challenge");
    this.students = new StudentsTable(studentsBox, { onPick: (id) => this.detail.show(this.classId, id) });
    this.detail = new StudentDetail(detailBox, ctx.api);
    this.stats = new ExerciseStats(statsBox);
    this.push = new PushControls(pushBox, ctx);
    this.locks = new LockControls(locksBox, ctx);
    this.challenge = new ChallengePanel(challengeBox, ctx.api);

    this.body = el("div", { class: "class-body", hidden: true },
      el("section", { class: "class-card join-card" }, el("h3", { text: "Students join with" }), this.code, this.where),
      studentsBox, detailBox, statsBox, pushBox, locksBox, challengeBox);
    this.none = el("p", { class: "muted", "data-no-class": "",
      text: "No class is open. Open one: students then join on this server's page with its code, and you follow them here." });
    root.append(el("h2", { text: "Your class" }),
      el("div", { class: "class-top" },
        el("label", { for: "class-picker", text: "Class" }), this.picker, this.closeButton, this.export,
        el("form", { class: "class-open", onsubmit: (e) => { e.preventDefault(); this.openClass(); } },
          el("label", { for: "class-name", text: "New class" }), this.newName,
          el("button", { type: "submit", class: "primary", "data-action": "open-class", text: "Open a class" }))),
      this.error, this.live, this.none, this.body);
    this.loaded = false;
  }

  async load() {
    this.loaded = true;
    try {
      const [classes, kinds] = await Promise.all([this.ctx.api.classes(), this.ctx.api.exerciseKinds()]);
      this.titles = Object.fromEntries(kinds.map((k) => [k.name, k.title]));
      this.setClasses(classes.filter((c) => !c.closed));
    } catch (e) {
      showError(this.error, e);
    }
  }

  setClasses(classes, pick) {
    this.classes = classes;
    this.picker.replaceChildren(...classes.map((c) => el("option", { value: c.id, text: `${c.name} (${c.code})` })));
    const id = pick || (classes.some((c) => c.id === this.classId) ? this.classId : classes.at(-1)?.id);
    this.none.hidden = Boolean(classes.length);
    this.body.hidden = !classes.length;
    for (const n of [this.picker, this.closeButton, this.export]) n.hidden = !classes.length;
    if (id) this.select(id);
    else this.follow(null);
  }

  select(id) {
    const klass = this.classes.find((c) => c.id === id);
    if (!klass) return;
    this.picker.value = id;
    const changed = id !== this.classId;
    this.classId = id;
    for (const part of [this.push, this.locks]) part.classId = id;
    this.code.textContent = klass.code;
    this.where.textContent = `on ${location.origin}/ (or the address \`cnn-playground serve\` printed for students), `
      + "then their name. No password.";
    this.export.href = this.ctx.api.resultsUrl(id);
    this.locks.show(klass);
    if (changed) {
      this.detail.hide();
      this.challenge.select(id);
      this.follow(id);
    }
  }

  async openClass() {
    showError(this.error, null);
    try {
      const klass = await this.ctx.api.openClass(this.newName.value.trim());
      this.newName.value = "";
      this.setClasses([...this.classes, klass], klass.id);
    } catch (e) {
      showError(this.error, e);
    }
  }

  async closeClass() {
    const klass = this.classes.find((c) => c.id === this.classId);
    if (!klass || !confirm(`Close ${klass.name}? No one can join it any more; its students keep their work.`)) return;
    try {
      await this.ctx.api.closeClass(klass.id);
      this.classId = null;
      this.setClasses(this.classes.filter((c) => c.id !== klass.id));
    } catch (e) {
      showError(this.error, e);
    }
  }

  // The dashboard over its WebSocket while the view is open; again after a dropped connection.
  follow(id) {
    if (this.stop) this.stop();
    this.stop = null;
    if (!id || !this.active) return;
    this.live.textContent = "Connecting…";
    this.stop = this.ctx.api.followDashboard(id, (snapshot) => {
      this.live.textContent = `Live: updated ${new Date(snapshot.time * 1000).toLocaleTimeString()}`;
      this.students.render(snapshot);
      this.stats.render(snapshot.exercises, this.titles);
      const klass = this.classes.find((c) => c.id === id);
      if (klass) klass.locks = snapshot.class.locks;
    }, () => {
      this.stop = null;
      this.live.textContent = "Connection lost; reconnecting…";
      setTimeout(() => { if (this.active && this.classId === id && !this.stop) this.follow(id); }, RECONNECT_MS);
    });
  }

  render(state, active) {
    const was = this.active;
    this.active = active;
    this.challenge.active = active;
    if (!active) {
      if (was) this.follow(null);
      return;
    }
    if (!this.loaded) this.load();
    else if (!was) this.follow(this.classId);
    this.push.render(state);
    this.detail.onChange = () => this.follow(this.classId);
  }
}

// A student's page in a class: a bar naming the class and the student, a hand to raise for the
// teacher's setup, the class's challenges; and, every few seconds, what the teacher changed
// (a pushed setup, locks) is taken in and where the student is is reported for the dashboard.

import { DEFAULT_HYPER } from "../store.js";
import { presetFor } from "../presets.js";
import { el, fmt, showError } from "../ui.js";
import { LockedPage } from "./locks.js";

const POLL_MS = 3000;
const REPORT_MS = 5000;
const QUIET_REPORT_MS = 60000; // still here, even without a change

export class StudentBar {
  constructor(root, ctx, me) {
    this.root = root;
    this.ctx = ctx;
    this.me = me;
    this.locks = new LockedPage(ctx.store);
    this.appliedPush = Number(localStorage.getItem(this.pushKey()) || 0);
    this.exercise = null;
    this.lastReport = { key: null, at: 0 };
    this.challengeRows = new Map(); // id -> its row's parts
    this.openBoards = new Set();

    this.who = el("span", { class: "class-who", "data-class-who": "" });
    this.hand = el("button", { type: "button", "data-action": "ask", onclick: () => this.toggleHand() });
    const leave = el("button", { type: "button", class: "quiet", text: "Leave the class",
      onclick: () => this.leave() });
    this.error = el("p", { class: "error", hidden: true, "data-class-error": "" });
    this.challenges = el("div", { class: "class-challenges", "data-challenges": "" });
    root.replaceChildren(el("div", { class: "class-bar-row" }, this.who, this.hand, leave), this.error,
      this.challenges);
    root.hidden = false;
    document.documentElement.dataset.role = "student";

    // the exercise the student is working on: the last card they touched in Learn
    document.addEventListener("focusin", (e) => this.noteExercise(e.target));
    document.addEventListener("pointerdown", (e) => this.noteExercise(e.target));
    ctx.store.addEventListener("change", () => { this.locks.apply(); this.report(); });
    this.take(me);
    this.loadKinds();
    setInterval(() => this.poll(), POLL_MS);
    setInterval(() => this.report(), REPORT_MS);
    this.report(true);
  }

  pushKey() {
    return `cnn-playground:push:${this.me.student.id}`;
  }

  async loadKinds() {
    try {
      const kinds = Object.fromEntries((await this.ctx.api.exerciseKinds()).map((k) => [k.name, k.title]));
      this.locks.set(this.me.locks, kinds);
    } catch { /* the sentences then name the kind as it is */ }
  }

  noteExercise(target) {
    const card = target && target.closest && target.closest("[data-exercise-kind]");
    if (card) this.exercise = card.dataset.exerciseKind;
  }

  // What /api/me said: who, the locks, a setup pushed since the last one taken, the challenges.
  take(me) {
    this.me = me;
    const { student } = me;
    this.who.replaceChildren(el("strong", { text: me.class.name }), " · you are ",
      el("strong", { "data-student-name": "", text: student.name }));
    this.hand.textContent = student.asking ? "Hand up: waiting for the teacher's setup (lower it)" : "Ask for the teacher's setup";
    this.hand.setAttribute("aria-pressed", String(Boolean(student.asking)));
    this.locks.set(me.locks);
    if (me.setup && me.setup.id > this.appliedPush) this.applyPush(me.setup);
    this.renderChallenges(me.challenges || []);
  }

  async poll() {
    try {
      const me = await this.ctx.api.me();
      if (me.kind !== "student") {
        // removed by the teacher, or the class was deleted: back to joining
        document.documentElement.dataset.role = "";
        this.ctx.store.set({ notice: "You are no longer in this class; the page starts again." });
        setTimeout(() => location.reload(), 1500);
        return;
      }
      this.take(me);
      showError(this.error, null);
      for (const id of this.openBoards) this.loadBoard(id);
    } catch (e) {
      showError(this.error, { message: `cannot reach the class (${e.message}); retrying` });
    }
  }

  // The teacher's setup, taken as a shared link is: what it gives replaces the page's, the rest stays.
  async applyPush({ id, setup }) {
    this.appliedPush = id;
    localStorage.setItem(this.pushKey(), String(id));
    const { store } = this.ctx;
    const patch = {};
    if (setup.dataset) patch.dataset = setup.dataset;
    if (setup.hyper) patch.hyper = { ...DEFAULT_HYPER, ...setup.hyper, augment: { ...(setup.hyper.augment || {}) } };
    if (setup.lesson) patch.lesson = setup.lesson;
    try {
      if (setup.spec) Object.assign(patch, { spec: setup.spec, preset: setup.preset || null });
      else if (setup.preset) {
        const preset = await presetFor(this.ctx.api, setup.preset, setup.dataset || store.state.dataset);
        Object.assign(patch, { spec: preset.spec, preset: setup.preset });
      }
    } catch (e) {
      showError(this.error, { message: `the teacher's network could not be loaded: ${e.message}` });
    }
    if (setup.view && !this.locks.hidden(setup.view)) patch.view = setup.view;
    patch.notice = "Your teacher sent a setup: the page now uses it.";
    store.set(patch);
    if (this.me.student.asking) this.ctx.api.ask(false).catch(() => {});
  }

  async toggleHand() {
    try {
      await this.ctx.api.ask(!this.me.student.asking);
      this.take(await this.ctx.api.me());
    } catch (e) {
      showError(this.error, e);
    }
  }

  async leave() {
    try { await this.ctx.api.leave(); } finally { location.reload(); }
  }

  // Where the student is, for the teacher's dashboard: on each change, and now and then anyway.
  async report(force = false) {
    const { state } = this.ctx.store;
    const activity = { view: state.view, network_id: state.networkId || null, lesson: state.lesson || null,
      exercise: this.exercise };
    const key = JSON.stringify(activity);
    const now = Date.now();
    if (!force && key === this.lastReport.key && now - this.lastReport.at < QUIET_REPORT_MS) return;
    if (!force && key !== this.lastReport.key && now - this.lastReport.at < 1000) return; // the next tick sends it
    this.lastReport = { key, at: now };
    try { await this.ctx.api.reportActivity(activity); } catch { /* the next report says it */ }
  }

  renderChallenges(challenges) {
    const open = challenges.filter((c) => !c.ended);
    const shown = open.length ? open : challenges.slice(0, 1);
    const keep = new Set(shown.map((c) => c.id));
    for (const [id, row] of this.challengeRows) if (!keep.has(id)) { row.element.remove(); this.challengeRows.delete(id); }
    for (const c of shown) {
      let row = this.challengeRows.get(c.id);
      if (!row) {
        row = this.challengeRow(c);
        this.challengeRows.set(c.id, row);
        this.challenges.append(row.element);
      }
      row.rules.textContent = `${c.name}: the best validation accuracy on ${c.dataset} with at most `
        + `${fmt.int(c.max_params)} parameters and ${c.max_epochs} epoch${c.max_epochs === 1 ? "" : "s"} of training`
        + (c.ended ? " (ended)" : "");
      row.submit.hidden = Boolean(c.ended);
    }
  }

  challengeRow(c) {
    const rules = el("span", { class: "challenge-rules" });
    const result = el("span", { class: "challenge-result", "data-challenge-result": "" });
    const board = el("ol", { class: "leaderboard", hidden: true, "data-leaderboard": c.id });
    const submit = el("button", { type: "button", class: "primary", "data-action": "submit-entry",
      text: "Enter my network", onclick: () => this.submit(c.id, result) });
    const toggle = el("button", { type: "button", class: "quiet", "data-action": "leaderboard", text: "Leaderboard",
      onclick: () => {
        board.hidden = !board.hidden;
        if (board.hidden) this.openBoards.delete(c.id);
        else { this.openBoards.add(c.id); this.loadBoard(c.id); }
      } });
    const element = el("div", { class: "challenge", "data-challenge": c.id },
      el("span", { class: "challenge-label", text: "Challenge" }), rules, submit, toggle, result, board);
    return { element, rules, submit, result, board };
  }

  async submit(id, result) {
    result.classList.remove("error");
    result.textContent = "Scoring on the held-back images…";
    try {
      const networkId = await this.ctx.session.network();
      const r = await this.ctx.api.submitEntry(id, networkId);
      result.textContent = `${fmt.pct(r.accuracy)} on the held-back images: rank ${r.rank} of ${r.of}`;
      if (this.openBoards.has(id)) this.loadBoard(id);
    } catch (e) {
      result.classList.add("error");
      result.textContent = e.message;
    }
  }

  async loadBoard(id) {
    const row = this.challengeRows.get(id);
    if (!row) return;
    try {
      const { entries } = await this.ctx.api.leaderboard(id);
      row.board.replaceChildren(...(entries.length ? entries.map((e) => el("li", {
        class: e.student_id === this.me.student.id ? "me" : "" },
      `${e.name}: ${fmt.pct(e.accuracy)}`)) : [el("li", { class: "muted", text: "no entries yet" })]));
    } catch (e) {
      showError(this.error, e);
    }
  }
}

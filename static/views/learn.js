// Learn: the lecture's lessons in order, each with its text, formulas, a live widget
// (the playground's own view, set up for the lesson) and exercises the server grades.
// The lesson on show is the store's `lesson`, so a reload or a shared link comes back
// to it; the student's progress is the server's, kept for this browser's learner.

import { el, showError } from "../ui.js";
import { LessonList } from "./learn/lesson-list.js";
import { LessonPanel } from "./learn/lesson-panel.js";

export class LearnView {
  constructor(root, { store, api }) {
    this.root = root;
    this.store = store;
    this.api = api;
    this.lessons = null;         // [{id, order, title, kinds}] in the lecture's order
    this.progress = new Map();   // lesson id -> {progress, kinds: {kind: progress}}
    this.seeds = new Map();      // kind -> the seed on show: 0, the lecture's numbers, at first
    this.revealed = new Set();   // lessons whose widget the student has seen
    this.shown = null;           // the lesson id on show (or being fetched)
    this.seq = 0;
    this.list = new LessonList({ onPick: (id) => this.go(id) });
    this.panel = new LessonPanel({
      api, seeds: this.seeds,
      onOpen: (id) => this.go(id),
      onAnswered: (id, progress) => this.answered(id, progress),
      onReveal: (id) => this.revealed.add(id),
    });
    this.errorEl = el("p", { class: "error", "data-learn-error": "", hidden: true });
    root.append(el("div", { class: "learn" }, this.list.element, el("div", { class: "learn-main" }, this.errorEl, this.panel.element)));
  }

  // A lesson picked by the student: it becomes the page's, and its title takes the focus.
  go(id) {
    if (id === this.shown && !this.panel.element.hidden) {
      this.panel.focusTitle();
      return;
    }
    this.focusNext = true;
    this.store.set({ lesson: id });
  }

  async loadLessons() {
    try {
      const [lessons, progress] = await Promise.all([this.api.lessons(), this.api.progress()]);
      this.lessons = lessons;
      this.setProgress(progress);
      this.panel.setTitles(new Map(lessons.map((l) => [l.id, `${l.order}. ${l.title}`])));
    } catch (e) {
      showError(this.errorEl, e);
      this.loading = null; // the next render asks again
      return;
    }
    this.render(this.store.state, !this.root.hidden);
  }

  setProgress(progress) {
    this.progress = new Map(progress.lessons.map((p) => [p.lesson, p]));
  }

  async open(id) {
    const seq = ++this.seq;
    this.shown = id;
    let lesson;
    try {
      lesson = await this.api.lesson(id);
    } catch (e) {
      if (seq !== this.seq) return;
      showError(this.errorEl, e.status === 404 ? { message: `${e.message}. Pick a lesson from the list.` } : e);
      this.panel.element.hidden = true;
      return;
    }
    if (seq !== this.seq) return;
    showError(this.errorEl, null);
    this.panel.element.hidden = false;
    // an answer already given here (before a reload too) was the prediction: nothing to hide
    const revealed = this.revealed.has(id) || lesson.progress.attempts > 0;
    this.panel.show(lesson, { revealed });
    if (this.focusNext) this.panel.focusTitle();
    this.focusNext = false;
  }

  async answered(id, progress) {
    this.revealed.add(id);
    if (id === this.shown && !this.panel.element.hidden) {
      this.panel.reveal();
      if (progress) this.panel.progress(progress);
    }
    try {
      this.setProgress(await this.api.progress());
    } catch {
      return; // the counts stay as they were until the next answer
    }
    const lessonProgress = this.progress.get(id);
    if (id === this.shown && lessonProgress) this.panel.progress(lessonProgress.progress);
    this.list.render(this.lessons, this.progress, this.shown);
  }

  render(state, visible) {
    if (!visible) return;
    if (!this.lessons) {
      if (!this.loading) this.loading = this.loadLessons();
      return;
    }
    const id = state.lesson || this.lessons[0].id;
    if (id === this.shown) return;
    this.open(id);
    this.list.render(this.lessons, this.progress, id);
  }
}

// One lesson: its title and the student's progress in it, the short text and the
// formulas, the exercises (one card per kind), the live widget beside them, and the
// previous and next lessons.

import { el } from "../../ui.js";
import { ExerciseCard } from "./exercise-card.js";
import { LessonWidget } from "./lesson-widget.js";
import { mathText } from "./math-text.js";

export function progressSentence(p) {
  if (!p || !p.attempts) return "No answers here yet: predict, then check.";
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const parts = [`${p.correct} of ${plural(p.attempts, "answer", "answers")} correct`,
    `${plural(p.solved, "exercise", "exercises")} solved`];
  if (p.solutions) parts.push(`${plural(p.solutions, "worked solution", "worked solutions")} read`);
  return `Your progress here: ${parts.join(" · ")}.`;
}

export class LessonPanel {
  // onOpen(id): go to a lesson; onAnswered(id, progress): an exercise was answered or
  // solved; onReveal(id): the widget was asked for; seeds: kind -> the seed on show.
  constructor({ api, onOpen, onAnswered, onReveal, seeds }) {
    this.api = api;
    this.onOpen = onOpen;
    this.onAnswered = onAnswered;
    this.seeds = seeds;
    this.lesson = null;
    this.titles = new Map();
    this.widget = new LessonWidget({ api, onReveal: () => onReveal(this.lesson.id) });
    this.element = el("article", { class: "lesson", "data-lesson": "", "aria-labelledby": "learn-lesson-h" });
  }

  show(lesson, { revealed }) {
    this.lesson = lesson;
    this.element.dataset.lesson = lesson.id;
    this.title = el("h2", { id: "learn-lesson-h", tabindex: -1, "data-lesson-title": "" }, lesson.title);
    this.progressEl = el("p", { class: "lesson-progress", "data-lesson-progress-text": "", "aria-live": "polite" });
    const step = (id, label, action) => (id
      ? el("button", { type: "button", "data-action": action, onclick: () => this.onOpen(id) }, label)
      : el("span"));
    const exercises = lesson.exercises.map((kind, i) => new ExerciseCard(kind, {
      api: this.api, number: i + 1, seed: this.seeds.get(kind.name) ?? 0,
      onSeed: (name, seed) => this.seeds.set(name, seed),
      onAnswered: (progress) => this.onAnswered(lesson.id, progress),
    }));
    this.widget.show(lesson.widget, revealed);
    this.element.replaceChildren(
      el("header", { class: "lesson-head" },
        el("p", { class: "lesson-order muted", text: `Lesson ${lesson.order} of ${this.titles.size}` }),
        this.title, this.progressEl),
      el("div", { class: "lesson-text", "data-lesson-text": "" },
        lesson.paragraphs.map((p) => el("p", {}, mathText(p))),
        el("div", { class: "formulas", "data-formulas": "" },
          lesson.formulas.map((f) => el("p", { class: "formula", "data-formula": "", title: f.tex }, mathText(f.text))))),
      el("section", { class: "lesson-exercises", "aria-label": "Exercises" }, exercises.map((card) => card.element)),
      this.widget.element,
      el("nav", { class: "lesson-steps", "aria-label": "Previous and next lesson" },
        step(lesson.previous, `← ${this.titleOf(lesson.previous)}`, "previous-lesson"),
        step(lesson.next, `${this.titleOf(lesson.next)} →`, "next-lesson")));
    this.progress(lesson.progress);
  }

  titleOf(id) {
    return this.titles.get(id) || id || "";
  }

  // "3. K, P, S and the output size" by lesson id, for the previous and next buttons
  setTitles(titles) {
    this.titles = titles;
  }

  progress(p) {
    if (this.progressEl) this.progressEl.textContent = progressSentence(p);
  }

  reveal() {
    this.widget.setRevealed(true);
  }

  focusTitle() {
    this.title.focus({ preventScroll: true });
    this.element.scrollIntoView({ block: "start" });
  }
}

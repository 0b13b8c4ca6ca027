// The lessons in the lecture's order, each with the student's progress ("3/4 correct",
// and a tick once every kind of exercise in it has been answered right). On a narrow
// screen the list folds away behind a button naming the current lesson.

import { el } from "../../ui.js";

export function progressText(progress) {
  if (!progress || !progress.attempts) return "not tried yet";
  return `${progress.correct}/${progress.attempts} correct`;
}

export class LessonList {
  constructor({ onPick }) {
    this.onPick = onPick;
    this.items = el("ol", { class: "lesson-items", id: "learn-lesson-items", "data-lesson-list": "" });
    this.toggle = el("button", { type: "button", class: "lesson-list-toggle", "aria-expanded": "false",
      "aria-controls": "learn-lesson-items", "data-action": "toggle-lessons", onclick: () => this.fold(this.toggle.getAttribute("aria-expanded") === "true") });
    this.summary = el("p", { class: "muted lesson-summary", "data-learn-summary": "" });
    this.element = el("nav", { class: "lesson-list", "aria-label": "Lessons" },
      el("h2", { class: "lesson-list-h", text: "Lessons" }), this.toggle, this.summary, this.items);
  }

  fold(folded) {
    this.toggle.setAttribute("aria-expanded", String(!folded));
    this.element.dataset.open = String(!folded);
  }

  // lessons: [{id, order, title, kinds}]; progress: id -> {progress, kinds: {kind: progress}}
  render(lessons, progress, current) {
    const done = (lesson) => {
      const p = progress.get(lesson.id);
      return Boolean(p && lesson.kinds.every((k) => p.kinds[k] && p.kinds[k].correct > 0));
    };
    this.items.replaceChildren(...lessons.map((lesson) => {
      const p = progress.get(lesson.id);
      const finished = done(lesson);
      return el("li", {}, el("button", { type: "button", class: "lesson-link", "data-lesson-link": lesson.id,
        "aria-current": lesson.id === current ? "step" : null, onclick: () => { this.fold(true); this.onPick(lesson.id); } },
      el("span", { class: "lesson-n", text: `${lesson.order}.` }),
      el("span", { class: "lesson-t", text: lesson.title }),
      el("span", { class: "lesson-p", "data-lesson-progress": "" },
        finished ? el("span", { class: "lesson-done", "aria-label": "every exercise answered right", text: "✓ " }) : null,
        progressText(p && p.progress))));
    }));
    const count = lessons.filter(done).length;
    this.summary.textContent = `${count} of ${lessons.length} done (every exercise right)`;
    const now = lessons.find((l) => l.id === current);
    this.toggle.textContent = now ? `Lessons ▾  (${now.order} of ${lessons.length}: ${now.title})` : "Lessons ▾";
  }
}

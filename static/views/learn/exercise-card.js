// One exercise, predict-then-check: the prompt and its numbers, an answer control by
// the answer format, Check; then "correct" with the answer, or the hint (the formula
// with this exercise's numbers) and, on request, the worked solution. "Another one"
// draws a new exercise of the same kind. The server grades; the page never knows the
// answer before the server gives it.

import { el, showError } from "../../ui.js";
import { answerControl, expectedText, gradedHow } from "./answer-controls.js";
import { givenView } from "./given.js";
import { mathText } from "./math-text.js";

let cards = 0; // for unique ids of the controls

export class ExerciseCard {
  // kind: {name, title, answer_format}; onSeed(kind, seed) when another exercise is on
  // show; onAnswered(progress) after an answer or a solution (progress null: ask again).
  constructor(kind, { api, number, seed, onSeed, onAnswered }) {
    this.kind = kind;
    this.api = api;
    this.onSeed = onSeed;
    this.onAnswered = onAnswered;
    this.id = `exercise-${++cards}`;
    this.exercise = null;
    this.seq = 0;
    this.body = el("div", { class: "exercise-body" });
    this.loadError = el("p", { class: "error", hidden: true });
    this.anotherButton = el("button", { type: "button", "data-action": "another-exercise", onclick: () => this.load(null) }, "Another one");
    this.origin = el("span", { class: "muted exercise-origin", "data-exercise-origin": "" });
    this.element = el("article", { class: "exercise", "data-exercise-kind": kind.name, "aria-labelledby": `${this.id}-h` },
      el("header", { class: "exercise-head" },
        el("h3", { id: `${this.id}-h` }, el("span", { class: "muted", text: `Exercise ${number}: ` }), kind.title),
        this.origin),
      this.loadError, this.body,
      el("div", { class: "exercise-foot" }, this.anotherButton));
    this.load(seed);
  }

  // seed null: a random one, drawn by the server
  async load(seed) {
    const seq = ++this.seq;
    this.anotherButton.disabled = true;
    try {
      const exercise = seed === null ? await this.api.randomExercise(this.kind.name) : await this.api.exercise(this.kind.name, seed);
      if (seq !== this.seq) return;
      showError(this.loadError, null);
      this.show(exercise);
      if (seed === null) {
        this.onSeed(this.kind.name, exercise.seed);
        this.control.focus();
      }
    } catch (e) {
      if (seq === this.seq) showError(this.loadError, e);
    } finally {
      if (seq === this.seq) this.anotherButton.disabled = false;
    }
  }

  show(exercise) {
    this.exercise = exercise;
    this.solutionShown = null;
    this.element.dataset.exerciseId = exercise.id;
    this.element.dataset.state = "open";
    // seed 0 is the lecture's own example where the lecture has one (the API does not say which)
    this.origin.textContent = exercise.seed === 0 ? "no. 0, the first" : `no. ${exercise.seed}, drawn at random`;
    const format = exercise.answer_format;
    const skip = new Set(format.options ? ["options", "preset"] : ["preset"]);
    this.control = answerControl(format, exercise.given, `${this.id}-answer`);
    this.answerError = el("p", { class: "error", "data-answer-error": "", hidden: true });
    this.checkButton = el("button", { type: "submit", class: "primary", "data-action": "check-answer" }, "Check");
    this.feedback = el("div", { class: "feedback", "data-feedback": "", "aria-live": "polite" });
    const form = el("form", { class: "answer", "data-answer-form": "", novalidate: true },
      el("p", { id: `${this.id}-answer-how`, class: "muted answer-how", "data-answer-how": "", text: gradedHow(format) }),
      this.control.element,
      el("div", { class: "answer-actions" }, this.checkButton),
      this.answerError);
    form.addEventListener("submit", (e) => { e.preventDefault(); this.check(); });
    // the cell grid shows the matrix itself, so it is not repeated in the numbers
    if (format.type === "cell") for (const key of Object.keys(exercise.given)) if (Array.isArray(exercise.given[key]) && Array.isArray(exercise.given[key][0])) skip.add(key);
    this.body.replaceChildren(
      el("p", { class: "prompt", "data-prompt": "" }, mathText(exercise.prompt)),
      givenView(exercise.given, skip),
      form, this.feedback);
  }

  async check() {
    const { answer, problem } = this.control.value();
    if (problem) {
      showError(this.answerError, { message: problem });
      return;
    }
    const exercise = this.exercise;
    this.checkButton.disabled = true;
    try {
      const grade = await this.api.answer(exercise.kind, exercise.seed, answer);
      if (exercise !== this.exercise) return;
      showError(this.answerError, null);
      this.graded(grade, answer);
      this.onAnswered(grade.progress);
    } catch (e) {
      // a 422 is the server saying which format it expects: shown by the field, as it said it
      if (exercise === this.exercise) showError(this.answerError, e);
    } finally {
      // once right, there is nothing more to check: "Another one" is next
      this.checkButton.disabled = this.element.dataset.state === "correct";
    }
  }

  graded(grade, answer) {
    const format = this.exercise.answer_format;
    this.element.dataset.state = grade.correct ? "correct" : "wrong";
    const parts = [];
    if (grade.correct) {
      this.control.lock(true);
      this.control.mark(grade.expected);
      parts.push(el("p", { class: "verdict", "data-verdict": "correct" }, "✓ Correct. ",
        el("span", {}, "The answer is ", el("strong", { "data-expected": "", text: expectedText(format, grade.expected) }), ".")));
    } else {
      parts.push(el("p", { class: "verdict", "data-verdict": "wrong", text: `✗ Not this time: you answered ${shown(format, answer)}.` }),
        el("p", { class: "hint", "data-hint": "" }, el("strong", { text: "Hint: " }), mathText(grade.hint || "")));
      if (grade.expected !== null && grade.expected !== undefined) {
        parts.push(el("p", {}, "The answer, from the worked solution: ", el("strong", { "data-expected": "", text: expectedText(format, grade.expected) })));
      } else {
        parts.push(el("p", { class: "muted", text: "Try again, or read the worked solution." }));
      }
    }
    if (!this.solutionShown) {
      parts.push(el("button", { type: "button", "data-action": "show-solution", onclick: () => this.solve() }, "Show the worked solution"));
    } else {
      parts.push(this.solutionShown);
    }
    this.feedback.replaceChildren(...parts);
  }

  async solve() {
    const exercise = this.exercise;
    try {
      const solution = await this.api.solution(exercise.kind, exercise.seed);
      if (exercise !== this.exercise) return;
      const format = exercise.answer_format;
      this.solutionShown = el("section", { class: "solution", "data-solution": "" },
        el("h4", { text: "Worked solution" }),
        el("ol", {}, solution.steps.map((step) => el("li", {}, mathText(step)))),
        el("p", {}, "The answer: ", el("strong", { "data-expected": "", text: expectedText(format, solution.expected) })));
      const button = this.feedback.querySelector("[data-action=show-solution]");
      if (button) button.replaceWith(this.solutionShown);
      else this.feedback.append(this.solutionShown);
      this.onAnswered(null);
    } catch (e) {
      showError(this.answerError, e);
    }
  }
}

function shown(format, answer) {
  if (format.type === "cell") return `${format.of}[${answer[0]}, ${answer[1]}]`;
  if (format.type === "choice") return expectedText(format, answer);
  return typeof answer === "number" ? String(answer) : `“${answer}”`;
}

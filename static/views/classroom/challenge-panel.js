// A class challenge for the teacher: set the rules, watch the leaderboard fill as students enter
// their networks (scored by the server on images no student sees), end it, and show it large.

import { el, fmt, showError } from "../../ui.js";

const LIVE_MS = 2000;

export class ChallengePanel {
  constructor(root, api) {
    this.api = api;
    this.classId = null;
    this.current = null;
    this.active = false;
    this.name = el("input", { id: "challenge-name", "data-challenge-field": "name", placeholder: "e.g. Small and sharp" });
    this.dataset = el("select", { id: "challenge-dataset", "data-challenge-field": "dataset" },
      ...["shapes", "strokes", "shapes-hard", "strokes-hard"].map((d) => el("option", { value: d, text: d })));
    this.maxParams = el("input", { id: "challenge-params", type: "number", min: 1, value: 20000,
      "data-challenge-field": "max_params" });
    this.maxEpochs = el("input", { id: "challenge-epochs", type: "number", min: 1, max: 500, value: 3,
      "data-challenge-field": "max_epochs" });
    this.error = el("p", { class: "error", hidden: true });
    this.title = el("p", { class: "challenge-title", "data-challenge-title": "" });
    this.board = el("ol", { class: "leaderboard big", "data-teacher-leaderboard": "" });
    this.endButton = el("button", { type: "button", class: "danger", "data-action": "end-challenge",
      text: "End the challenge", onclick: () => this.end() });
    this.projector = el("button", { type: "button", "data-action": "projector", text: "Show it large",
      onclick: () => this.live.classList.toggle("projected") });
    this.live = el("div", { class: "challenge-live", hidden: true, "data-challenge-live": "" },
      this.title, this.board, el("div", { class: "button-row" }, this.endButton, this.projector));
    const field = (input, label) => el("div", { class: "field" }, el("label", { for: input.id, text: label }), input);
    root.append(el("h3", { text: "Challenge" }),
      el("form", { class: "challenge-form", "data-challenge-form": "", onsubmit: (e) => { e.preventDefault(); this.create(); } },
        field(this.name, "Name"), field(this.dataset, "Dataset"), field(this.maxParams, "At most parameters"),
        field(this.maxEpochs, "At most epochs"),
        el("button", { type: "submit", class: "primary", "data-action": "start-challenge", text: "Start a challenge" })),
      this.error, this.live);
    setInterval(() => this.refresh(), LIVE_MS);
  }

  async select(classId) {
    this.classId = classId;
    this.current = null;
    this.live.hidden = true;
    try {
      const all = await this.api.challenges(classId);
      this.current = all.length ? all[all.length - 1] : null;
      this.refresh();
    } catch (e) {
      showError(this.error, e);
    }
  }

  async create() {
    showError(this.error, null);
    try {
      this.current = await this.api.createChallenge(this.classId, { name: this.name.value, dataset: this.dataset.value,
        max_params: Number(this.maxParams.value), max_epochs: Number(this.maxEpochs.value) });
      this.refresh();
    } catch (e) {
      showError(this.error, e);
    }
  }

  async end() {
    try {
      this.current = await this.api.endChallenge(this.current.id);
      this.refresh();
    } catch (e) {
      showError(this.error, e);
    }
  }

  async refresh() {
    if (!this.current || !this.active) return; // the leaderboard is fetched only while the teacher looks
    try {
      const { challenge, entries } = await this.api.leaderboard(this.current.id);
      this.current = challenge;
      this.live.hidden = false;
      this.title.textContent = `${challenge.name}: ${challenge.dataset}, at most ${fmt.int(challenge.max_params)} `
        + `parameters, ${challenge.max_epochs} epoch${challenge.max_epochs === 1 ? "" : "s"}; scored on `
        + `${fmt.int(challenge.holdout_size)} held-back images. ${challenge.ended ? "Ended: final results." : "Open."}`;
      this.endButton.hidden = Boolean(challenge.ended);
      this.board.replaceChildren(...(entries.length ? entries.map((e) => el("li", { "data-entry": e.student_id },
        el("span", { class: "who", text: e.name }), el("span", { class: "score", text: fmt.pct(e.accuracy) }),
        el("span", { class: "muted", text: `${e.submissions} entr${e.submissions === 1 ? "y" : "ies"}` })))
        : [el("li", { class: "muted", text: "No entries yet." })]));
    } catch (e) {
      showError(this.error, e);
    }
  }
}

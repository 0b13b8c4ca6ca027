// The class, a row per student, as the dashboard's WebSocket sends it: where each is, their
// network and run, their lesson and exercises; a raised hand and five quiet minutes stand out.

import { el, fmt } from "../../ui.js";

const VIEW_WORDS = { learn: "Learn", build: "Build", data: "Data", train: "Train", inspect: "Inspect",
  conv: "Convolution", init: "Initialization" };

function ago(seconds) {
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

function runText(run) {
  if (!run) return "–";
  const acc = run.val_accuracy == null ? "" : `, val ${fmt.pct(run.val_accuracy)}`;
  return `${run.status} · epoch ${run.epoch ?? 0}/${run.epochs ?? "?"}${acc}`;
}

export class StudentsTable {
  constructor(root, { onPick }) {
    this.onPick = onPick;
    this.count = el("p", { class: "muted", "data-student-count": "" });
    this.body = el("tbody");
    const head = ["Student", "View", "Network", "Run", "Lesson · exercise", "Exercises", "Last seen"];
    this.table = el("table", { class: "class-table", "data-students": "" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))), this.body);
    root.append(el("h3", { text: "Students" }), this.count, el("div", { class: "table-scroll" }, this.table));
    this.picked = null;
  }

  render(snapshot) {
    const { students } = snapshot;
    const idle = students.filter((s) => s.idle).length;
    const asking = students.filter((s) => s.asking).length;
    this.count.textContent = students.length
      ? `${students.length} student${students.length === 1 ? "" : "s"}; ${asking} asking for the setup; `
        + `${idle} with no activity for 5 minutes`
      : "No one has joined yet: give the class code.";
    this.body.replaceChildren(...students.map((s) => this.row(s, snapshot.time)));
  }

  row(s, now) {
    const e = s.exercises;
    const tr = el("tr", { "data-student": s.id, class: [s.idle ? "idle" : "", s.asking ? "asking" : "",
      s.id === this.picked ? "picked" : ""].join(" ").trim(), tabindex: 0 },
    el("th", { scope: "row" }, s.asking ? el("span", { class: "hand", text: "hand up" }) : "", el("span", { "data-name": "", text: s.name })),
    el("td", { "data-cell": "view", text: VIEW_WORDS[s.view] || "–" }),
    el("td", { "data-cell": "network", text: s.network ? `${s.network.name} (${fmt.int(s.network.params)} params)` : "–" }),
    el("td", { "data-cell": "run", text: runText(s.run) }),
    el("td", { "data-cell": "lesson", text: [s.lesson, s.exercise].filter(Boolean).join(" · ") || "–" }),
    el("td", { "data-cell": "exercises", text: `${e.correct}/${e.attempted}` }),
    el("td", { "data-cell": "seen", text: s.idle ? `idle: ${ago(now - s.seen)}` : ago(now - s.seen) }));
    const pick = () => { this.picked = s.id; this.onPick(s.id); };
    tr.addEventListener("click", pick);
    tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); } });
    return tr;
  }
}

// Which exercises the class gets wrong most, with the commonest wrong answer.
export class ExerciseStats {
  constructor(root) {
    this.body = el("tbody");
    this.empty = el("p", { class: "muted", text: "No answers yet." });
    this.table = el("table", { class: "class-table", "data-exercise-stats": "", hidden: true },
      el("thead", {}, el("tr", {}, ...["Exercise", "Students", "Wrong", "Commonest wrong answer"]
        .map((h) => el("th", { scope: "col", text: h })))), this.body);
    root.append(el("h3", { text: "Exercises the class gets wrong" }), this.empty,
      el("div", { class: "table-scroll" }, this.table));
  }

  render(stats, titles) {
    this.table.hidden = !stats.length;
    this.empty.hidden = Boolean(stats.length);
    this.body.replaceChildren(...stats.map((k) => el("tr", { "data-kind": k.kind },
      el("th", { scope: "row", text: titles[k.kind] || k.kind }),
      el("td", { text: String(k.students) }),
      el("td", { text: `${k.wrong} of ${k.attempts} (${fmt.pct(k.wrong_share)})` }),
      el("td", { "data-commonest": "", text: k.commonest_wrong
        ? `${JSON.stringify(k.commonest_wrong.answer)} (${k.commonest_wrong.count}×)` : "–" }))));
  }
}

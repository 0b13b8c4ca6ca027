// One student in detail, for the teacher: their networks, their runs' curves, their answers;
// and renaming or removing them.

import { LineChart } from "../../chart.js";
import { el, fmt, showError } from "../../ui.js";

const STYLES = { train_loss: { label: "training loss", short: "train" },
  val_loss: { label: "validation loss", short: "val", dash: "6 4", marker: "hollow" } };
const COLOURS = ["#1f4e9c", "#c0392b", "#1e8449", "#8e44ad", "#b9770e"];

export class StudentDetail {
  constructor(root, api) {
    this.root = root;
    this.api = api;
    this.classId = null;
    this.studentId = null;
    this.heading = el("h3", { "data-detail-name": "" });
    this.error = el("p", { class: "error", hidden: true });
    this.body = el("div", { class: "student-detail-body" });
    const rename = el("button", { type: "button", "data-action": "rename", text: "Rename", onclick: () => this.rename() });
    const remove = el("button", { type: "button", class: "danger", "data-action": "remove", text: "Remove from the class",
      onclick: () => this.remove() });
    const close = el("button", { type: "button", class: "quiet", text: "Close", onclick: () => this.hide() });
    root.append(el("div", { class: "detail-head" }, this.heading, rename, remove, close), this.error, this.body);
    root.hidden = true;
    this.onChange = () => {};
  }

  hide() {
    this.root.hidden = true;
    this.studentId = null;
  }

  async show(classId, studentId) {
    this.classId = classId;
    this.studentId = studentId;
    this.root.hidden = false;
    showError(this.error, null);
    try {
      const d = await this.api.student(classId, studentId);
      if (this.studentId !== studentId) return;
      this.draw(d);
      this.root.scrollIntoView({ block: "nearest" });
    } catch (e) {
      showError(this.error, e);
    }
  }

  draw(d) {
    this.heading.textContent = d.student.name;
    const nets = d.networks.length
      ? el("ul", { "data-detail-networks": "" }, ...d.networks.map((n) => el("li", {},
        `${n.name}: ${fmt.int(n.params)} parameters, ${n.spec.layers.length} layers`)))
      : el("p", { class: "muted", text: "No network built yet." });
    const chartBox = el("div", { class: "detail-chart" });
    const answers = d.answers.length
      ? el("table", { class: "class-table", "data-detail-answers": "" },
        el("thead", {}, el("tr", {}, ...["Exercise", "Answer", ""].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...d.answers.slice(-30).reverse().map((a) => el("tr", { class: a.correct ? "right" : "wrong" },
          el("td", { text: a.kind }), el("td", { text: JSON.stringify(a.answer) }),
          el("td", { text: a.correct ? "✓ right" : "✗ wrong" + (a.after_solution ? " (after the solution)" : "") })))))
      : el("p", { class: "muted", text: "No answers yet." });
    this.body.replaceChildren(el("h4", { text: "Networks" }), nets, el("h4", { text: "Runs" }), chartBox,
      el("h4", { text: "Answers (latest first)" }), answers);
    const runs = d.runs.filter((r) => r.curve && r.curve.length);
    if (!runs.length) {
      chartBox.append(el("p", { class: "muted", text: d.runs.length ? "Runs started, no epoch finished yet." : "No runs yet." }));
      return;
    }
    const chart = new LineChart(chartBox, { title: "Loss per epoch", xLabel: "epoch", yLabel: "loss", styles: STYLES, height: 240 });
    runs.forEach((r, i) => {
      const acc = r.metrics && r.metrics.val_accuracy != null ? `, val ${fmt.pct(r.metrics.val_accuracy)}` : "";
      chart.setGroup(r.id, { label: `run ${i + 1} (${r.status}${acc})`, colour: COLOURS[i % COLOURS.length] });
      for (const p of r.curve) {
        if (p.train_loss != null) chart.addPoint(r.id, "train_loss", p.epoch, p.train_loss);
        if (p.val_loss != null) chart.addPoint(r.id, "val_loss", p.epoch, p.val_loss);
      }
    });
  }

  async rename() {
    const name = prompt("The student's new name", this.heading.textContent);
    if (!name) return;
    try {
      await this.api.renameStudent(this.classId, this.studentId, name);
      this.heading.textContent = name;
      this.onChange();
    } catch (e) {
      showError(this.error, e);
    }
  }

  async remove() {
    if (!confirm(`Remove ${this.heading.textContent} from the class? Their networks, runs and answers are deleted.`)) return;
    try {
      await this.api.removeStudent(this.classId, this.studentId);
      this.hide();
      this.onChange();
    } catch (e) {
      showError(this.error, e);
    }
  }
}

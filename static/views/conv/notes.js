// Two notes beside the forward pass: how this view counts W's rows and columns (from its corner)
// against the lecture (from its centre), and mathematics' convolution (W rotated 180 degrees)
// beside the lecture's cross-correlation, on request.

import { el } from "../../ui.js";
import { channelName, figure, numberGrid } from "./grids.js";

export class ForwardNotes {
  constructor() {
    this.result = null;
    this.indexNote = el("p", { class: "muted", "data-conv-index-note": "" });
    this.trueToggle = el("input",
      { type: "checkbox", id: "conv-true", "data-conv-true-toggle": "" });
    this.trueToggle.addEventListener("change", () => this.drawTrueConvolution());
    this.trueHolder = el("div", { class: "row conv-true", "data-conv-true": "", hidden: true });
    this.toggleLine = el("p", { class: "conv-true-line" }, this.trueToggle,
      el("label", { for: "conv-true",
        text: " Beside it, mathematics' convolution (W rotated 180° first)" }));
  }

  render(r) {
    this.result = r;
    this.drawIndexNote();
    this.drawTrueConvolution();
  }

  // The lecture counts W's rows and columns from its centre; this view from its top-left corner.
  drawIndexNote() {
    const [kh, kw] = this.result.kernel_shape;
    const [ch, cw] = [(kh - 1) / 2, (kw - 1) / 2];
    const here = "Here W's rows and columns are counted from its top-left corner "
      + `(a from 0 to ${kh - 1}, b from 0 to ${kw - 1})`;
    this.indexNote.textContent = kh % 2 === 1 && kw % 2 === 1
      ? `${here}; the lecture counts from its centre (a from −${ch} to ${ch}, b from −${cw} to `
        + `${cw}), so its W[−${ch}, −${cw}] is W[0, 0] here, and X's index shifts the same `
        + "way. The sums are the same."
      : `${here}, as in PyTorch; an even kernel has no centre cell to count from, as the lecture `
        + "does.";
  }

  // What a signal-processing text calls convolution, beside the lecture's cross-correlation.
  drawTrueConvolution() {
    const r = this.result;
    const on = this.trueToggle.checked && r;
    this.trueHolder.hidden = !on;
    if (!on) return;
    const t = r.true_convolution;
    this.trueHolder.replaceChildren(
      ...t.kernel.map((k, c) => {
        const name = `W${channelName(c, r.channels)}`;
        return figure(`${name} rotated 180°`,
          numberGrid(k, { label: `the kernel ${name} rotated by 180 degrees` }));
      }),
      figure("X convolved with W",
        numberGrid(t.output, { label: "the output of true convolution" })),
      el("p", { class: "muted conv-true-note", text: t.description }));
  }
}

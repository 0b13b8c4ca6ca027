// The backward pass, in the lecture's order: first δ = dL/dO · f'(I) (the activation's step),
// then each cell of dL/dW and dL/dX with its terms (backward-steps.js), then both as the
// convolutions they are: dL/dW = X ⋆ δ, dL/dX = δ fully padded ⋆ W rotated 180°.

import { el } from "../../ui.js";
import { BackwardSteps } from "./backward-steps.js";
import { ChannelPicker } from "./controls.js";
import { matrixEditor, parseMatrix, resize } from "./editor.js";
import { channelName, factor, figure, num, numberGrid, onCells } from "./grids.js";

const op = (text) => el("span", { class: "op", "aria-hidden": "true", text });
const grid = (m, label, attrs) => numberGrid(m, { label, attrs });
// a row of figures and operators, scrolled inside itself when wider than the screen
const equation = (...parts) => el("div", { class: "conv-scroll" },
  el("div", { class: "row conv-eq" }, parts.map((p) => (typeof p === "string" ? op(p) : p))));

export class BackwardPanel {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.result = null;
    this.dlDo = null; // strings shaped like the output; null: all ones (the server's default)
    this.shape = null;
    this.steps = new BackwardSteps();
    this.dlDoHolder = el("div", { class: "editor" });
    this.slopeHolder = el("div", {});
    this.deltaHolder = el("div", {});
    this.deltaLine = el("p", { class: "conv-delta-line", "data-conv-delta-line": "",
      "aria-live": "polite" });
    this.channel = new ChannelPicker("conv-back-channel", () => this.drawConvolutions());
    this.convolutions = el("div", { class: "conv-backward-body" });
    const ones = el("button", { type: "button", "data-action": "conv-delta-ones",
      onclick: () => this.allOnes() }, "All ones");
    this.element = el("section",
      { class: "panel", "data-conv-backward": "", "aria-labelledby": "conv-h-bwd" },
      el("h2", { id: "conv-h-bwd", text: "Backward: δ, then dL/dW and dL/dX" }),
      el("h3", { text: "1. δ = dL/dO · f'(I), cell by cell" }),
      el("p", { class: "muted" }, "δ[i,j] = dL/dI[i,j] = dL/dO[i,j] · f'(I[i,j]): the gradient ",
        "arriving at O, times the slope of f at I. Edit dL/dO (by default every cell gets 1)."),
      equation(figure("dL/dO (edit it)", this.dlDoHolder, ones), "·", this.slopeHolder, "=",
        this.deltaHolder),
      this.deltaLine,
      this.steps.element,
      el("h3", { text: "3. The same, as convolutions" }),
      this.channel.element,
      this.convolutions);
  }

  allOnes() {
    this.dlDo = null;
    this.reshape(this.shape);
    this.onChange();
  }

  // The dL/dO editor for an output of this shape (null: none); keeps what fits of the old one.
  reshape(shape) {
    if (shape && this.shape && shape.join("x") === this.shape.join("x") && this.dlDo) return;
    this.shape = shape;
    if (!shape) {
      this.dlDoHolder.replaceChildren(el("p", { class: "muted", text: "no output, so no dL/dO" }));
      return;
    }
    this.dlDo = resize(this.dlDo || [], shape[0], shape[1], "1");
    this.dlDoHolder.replaceChildren(matrixEditor(this.dlDo,
      { name: "dl_do", label: "dL/dO", onChange: this.onChange }));
  }

  request() {
    return this.shape ? { dl_do: parseMatrix(this.dlDo, "dL/dO") } : {};
  }

  render(r) {
    this.result = r;
    const b = r.backward;
    const slope = grid(b.slope, "f'(I), the slope of f at each I", { "data-conv-slope": "" });
    const delta = grid(b.delta, "δ = dL/dI", { "data-conv-delta": "" });
    this.slopeHolder.replaceChildren(figure(`f'(I): ${r.activation.df}`, slope));
    this.deltaHolder.replaceChildren(figure("δ = dL/dI", delta));
    for (const table of [slope, delta]) onCells(table, { over: (i, j) => this.explainDelta(i, j) });
    this.explainDelta(0, 0);
    this.steps.render(r);
    this.drawConvolutions();
  }

  explainDelta(i, j) {
    const r = this.result, b = r.backward, at = `[${i},${j}]`;
    this.deltaLine.textContent = `δ${at} = dL/dO${at} · f'(I${at}) = ${factor(b.dl_do[i][j])} · `
      + `${factor(b.slope[i][j])} = ${num(b.delta[i][j])}   (I${at} = ${num(r.output[i][j])})`;
  }

  drawConvolutions() {
    const r = this.result;
    if (!r) return;
    const b = r.backward, c = this.channel.pick(r.channels);
    const [kh, kw] = r.kernel_shape;
    const S = r.stride, D = r.dilation || 1, ch = channelName(c, r.channels);
    const rotated = D > 1 ? `rot180(W${ch} dilated by d = ${D})` : `rot180(W${ch})`;
    const rotatedLabel = `W${D > 1 ? " dilated and" : ""} rotated 180 degrees`;
    const padded = D > 1 ? `d(K−1) = ${D * (kh - 1)}` : `K−1 = ${kh - 1}`;
    const dW = b.dW_as_convolution, dX = b.dX_as_convolution;
    const zeros = (i, j, v) => (v === 0 ? "zero" : null);
    this.convolutions.replaceChildren(
      el("h3", { class: "h4", text: "dL/dW = X ⋆ δ: the input convolved with the gradient" }),
      el("p", { class: "muted mono", text: "dL/dW[a,b] = Σ_i,j δ[i,j] · X[i+a, j+b]" }),
      equation(
        figure(r.padding ? `X${ch} padded` : `X${ch}`, grid(dW.input[c], "X, the input")), "⋆",
        figure(S > 1 ? `δ dilated by S = ${S}` : "δ", grid(dW.kernel, "δ used as the kernel")),
        "=", figure(`dL/dW${ch} (${kh}×${kw})`, grid(dW.output[c], "dL/dW as a convolution"))),
      el("p", { class: "muted", text: dW.description }),
      el("h3", { class: "h4", text: `dL/dX = δ (padded fully) ⋆ W ${D > 1 ? "dilated and " : ""}`
        + "rotated 180°" }),
      el("p", { class: "muted mono", text: "dL/dX[i,j] = Σ_a,b δ[i−a, j−b] · W[a,b]" }),
      equation(figure(`W${ch}`, grid(r.kernel[c], "W")),
        D > 1 ? "→ dilate, rotate 180° →" : "→ rotate 180° →",
        figure(rotated, grid(dX.kernel[c], rotatedLabel, { "data-conv-rot": "" }))),
      equation(
        figure(`δ${S > 1 ? " dilated," : ""} zero-padded by ${padded}`, numberGrid(dX.input,
          { label: "δ padded for a full convolution", cellClass: zeros })), "⋆",
        figure(rotated, grid(dX.kernel[c], rotatedLabel)), "=",
        figure(`dL/dX${ch}`, grid(dX.output[c], "dL/dX as a convolution"))),
      el("p", { class: "muted", text: dX.description }));
  }
}

// Convolution, step by step: the lecture's 5x5 X and 3x3 W worked through one
// output cell at a time, then the backward pass (dL/dW and dL/dX, each shown as
// the convolution it is) and max/average pooling with their gradients.
// Every number, and every warning and error, comes from POST /api/conv/explain
// (the engine's own layers); the page composes none of its own.

import { debounce, el, showError } from "../ui.js";

const LECTURE_X = [[0, 1, 2, 1, 0], [4, 1, 0, 1, 0], [2, 0, 1, 1, 1], [1, 2, 3, 1, 0], [0, 4, 3, 2, 0]];
const LECTURE_W = [[0, 1, 0], [1, 0, 1], [2, 1, 0]];
// What the controls allow (the server takes up to 32x32; larger grids stop being readable).
const LIMITS = { h: [1, 16], w: [1, 16], k: [1, 9], s: [1, 8], p: [0, 8], d: [1, 8] };
const NAMES = { h: "H", w: "W", k: "K", s: "S", p: "P", d: "d" };
const PLAY_MS = 500; // about two cells a second

// A number as a student would write it: 12, -0.5, 0.3333 (never "12.0" or "-0").
export function num(v) {
  if (v === null || v === undefined) return "–";
  if (!Number.isFinite(v)) return String(v);
  if (Object.is(v, -0) || Math.abs(v) < 1e-12) return "0";
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

const toStrings = (m) => m.map((r) => r.map(String));
const resize = (m, rows, cols, fill) =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => (m[r] && m[r][c] !== undefined ? m[r][c] : fill)));
// the output size, to shape the δ editor before the server answers (a kernel of k taps dilated
// by d spans d(k - 1) + 1 inputs)
const outSize = (n, k, s, p, d) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

// A table of numbers; cellClass(r, c) gives extra classes, cellText(r, c, v) the text.
function numberGrid(matrix, { label, cellClass, cellText, attrs = {} } = {}) {
  const rows = matrix.map((row, r) => el("tr", {}, row.map((v, c) => {
    const td = el("td", { "data-row": r, "data-col": c, class: cellClass ? cellClass(r, c, v) : null });
    const content = cellText ? cellText(r, c, v) : num(v);
    if (content instanceof Node) td.append(content); else td.textContent = content;
    return td;
  })));
  return el("table", { class: "cgrid", "aria-label": label, ...attrs }, el("tbody", {}, rows));
}

function figure(title, ...content) {
  return el("figure", { class: "cfig" }, el("figcaption", { text: title }), ...content);
}

// The server answers channel by channel; this view shows one channel.
function firstChannel(r) {
  const b = r.backward, pool = r.pooling;
  const one = (p) => (p ? { ...p, output: p.output[0], dx: p.dx[0], argmax: p.argmax && p.argmax[0] } : p);
  return {
    ...r, padded_x: r.padded_x[0], kernel: r.kernel[0],
    cells: r.cells.map((c) => ({ ...c, products: c.products[0] })),
    true_convolution: { ...r.true_convolution, kernel: r.true_convolution.kernel[0] },
    backward: { ...b, dW: b.dW[0], dX: b.dX[0],
      dW_as_convolution: { ...b.dW_as_convolution, input: b.dW_as_convolution.input[0], output: b.dW_as_convolution.output[0] },
      dX_as_convolution: { ...b.dX_as_convolution, kernel: b.dX_as_convolution.kernel[0], output: b.dX_as_convolution.output[0] } },
    pooling: { ...pool, note: pool.error, max: pool.error ? null : one(pool.max), avg: pool.error ? null : one(pool.avg) },
  };
}

export class ConvView {
  constructor(root, { api }) {
    this.root = root;
    this.api = api;
    this.x = toStrings(LECTURE_X);
    this.w = toStrings(LECTURE_W);
    this.delta = null; // strings, shaped like the output; null = all ones
    this.stride = 1;
    this.padding = 0;
    this.dilation = 1;
    this.result = null;
    this.step = 0;
    this.timer = null;
    this.seq = 0;
    this.started = false;
    this.schedule = debounce(() => this.fetch(), 250);
    this.build();
  }

  // ---- DOM, built once ----------------------------------------------------------------
  build() {
    const number = (id, key, value, labelText, [min, max]) => {
      const input = el("input", { id, type: "number", min, max, step: 1, value, "data-conv-size": key, inputmode: "numeric" });
      input.addEventListener("input", () => this.onSize());
      return el("span", { class: "ctl" }, el("label", { for: id, text: labelText }), input);
    };
    this.controls = el("div", { class: "row conv-controls" },
      number("conv-h", "h", 5, "X height H", LIMITS.h),
      number("conv-w", "w", 5, "X width W", LIMITS.w),
      number("conv-k", "k", 3, "kernel size K", LIMITS.k),
      number("conv-s", "s", 1, "stride S", LIMITS.s),
      number("conv-p", "p", 0, "padding P", LIMITS.p),
      number("conv-d", "d", 1, "dilation d", LIMITS.d),
      el("button", { type: "button", "data-action": "conv-reset", onclick: () => this.reset() }, "Lecture example"));
    this.errorEl = el("p", { class: "error", "data-conv-error": "", hidden: true, role: "alert" });
    this.xEditor = el("div", { class: "editor" });
    this.wEditor = el("div", { class: "editor" });
    this.formulaEl = el("div", { class: "conv-formula", "data-conv-formula": "", "aria-live": "polite" });

    const btn = (action, text, label, handler) =>
      el("button", { type: "button", "data-action": action, "aria-label": label, onclick: handler }, text);
    this.playBtn = btn("conv-play", "▶ Play", "Play through the output cells", () => this.togglePlay());
    this.playBtn.setAttribute("aria-pressed", "false");
    this.stepper = el("div", { class: "row conv-stepper", role: "group", "aria-label": "Step through the output cells" },
      btn("conv-first", "« First", "First output cell", () => this.go(0)),
      btn("conv-prev", "◀ Prev", "Previous output cell", () => this.go(this.step - 1)),
      this.playBtn,
      btn("conv-step", "Next ▶", "Next output cell", () => this.go(this.step + 1)),
      btn("conv-last", "Last »", "Last output cell", () => this.go(Infinity)),
      el("span", { class: "cell-label" }, el("strong", { "data-conv-cell": "", "aria-live": "polite" }), el("span", { class: "muted", "data-conv-progress": "" })));
    this.paddedEl = el("div", { class: "cfig-holder" });
    this.kernelEl = el("div", { class: "cfig-holder" });
    this.productsEl = el("div", { class: "cfig-holder", "data-conv-products": "" });
    this.sumEl = el("span", { class: "sum", "data-conv-sum": "" });
    this.sumExpr = el("span", { class: "mono sum-expr" });
    this.outputEl = el("div", { class: "cfig-holder", "data-conv-output": "" });
    this.trueEl = el("div", { class: "cfig-holder", "data-conv-true": "", hidden: true });
    this.trueToggle = el("input", { type: "checkbox", id: "conv-true", "data-conv-true-toggle": "" });
    this.trueToggle.addEventListener("change", () => this.drawTrueConvolution());
    this.indexNote = el("p", { class: "muted", "data-conv-index-note": "" });

    this.deltaEditor = el("div", { class: "editor" });
    this.backwardEl = el("div", { class: "conv-backward-body" });
    this.poolingEl = el("div", { class: "conv-pooling-body" });

    this.root.append(
      el("section", { class: "panel", "aria-labelledby": "conv-h-input" },
        el("h2", { id: "conv-h-input", text: "Input X and kernel W" }),
        el("p", { class: "muted" },
          "The lecture's single-channel 5×5 input and 3×3 filter, no stride, no padding, no bias. ",
          "Edit any number, the sizes, the stride, the padding or the dilation (the spacing of the ",
          "kernel's taps); everything below follows."),
        this.controls, this.errorEl,
        el("div", { class: "row conv-editors" },
          el("div", {}, el("h3", { text: "X (input)" }), this.xEditor),
          el("div", {}, el("h3", { text: "W (kernel)" }), this.wEditor),
          el("div", { class: "conv-formula-box" }, el("h3", { text: "Output size" }), this.formulaEl))),
      el("section", { class: "panel", "data-conv-forward": "", "aria-labelledby": "conv-h-fwd" },
        el("h2", { id: "conv-h-fwd", text: "Forward: one output cell at a time" }),
        el("p", { class: "muted" }, "I[i,j] = Σ_a,b W[a,b] · X[i·S + a·d, j·S + b·d]: lay W on the window of ",
          "the (padded) input, its taps d apart, multiply cell by cell, add up. W is laid on as it is, ",
          "not flipped: the lecture's * is cross-correlation, which deep-learning libraries call convolution."),
        this.indexNote,
        this.stepper,
        el("div", { class: "row conv-forward" }, this.paddedEl, this.kernelEl, this.productsEl, this.outputEl,
          this.trueEl),
        el("p", { class: "conv-sum-line" }, this.sumExpr, " = ", this.sumEl),
        el("p", { class: "conv-true-line" }, this.trueToggle,
          el("label", { for: "conv-true", text: " Beside it, mathematics' convolution (W rotated 180° first)" }))),
      el("section", { class: "panel", "data-conv-backward": "", "aria-labelledby": "conv-h-bwd" },
        el("h2", { id: "conv-h-bwd", text: "Backward: dL/dW and dL/dX" }),
        el("p", { class: "muted" }, "δ[i,j] = dL/dI[i,j], the gradient arriving at each output cell. Edit it (by default every cell gets 1)."),
        el("div", { class: "row" },
          el("div", {}, el("h3", { text: "δ (upstream gradient)" }), this.deltaEditor,
            el("button", { type: "button", "data-action": "conv-delta-ones", onclick: () => { this.delta = null; this.rebuildDelta(); this.schedule(); } }, "All ones"))),
        this.backwardEl),
      el("section", { class: "panel", "data-conv-pooling": "", "aria-labelledby": "conv-h-pool" },
        el("h2", { id: "conv-h-pool", text: "Pooling and its derivative" }),
        el("p", { class: "muted" }, "Max and average pooling of X with the kernel size and stride above; δ above (or ones) flows back."),
        this.poolingEl));
    this.rebuildEditors();
  }

  // Number inputs for a matrix of strings; rebuilt only when its size changes, so focus stays.
  editor(holder, matrix, name, onChange) {
    const rows = matrix.map((row, r) => el("tr", {}, row.map((v, c) => {
      const input = el("input", { type: "number", step: "any", value: v, "aria-label": `${name} row ${r + 1} column ${c + 1}`, "data-r": r, "data-c": c });
      input.addEventListener("input", () => onChange(r, c, input.value));
      return el("td", {}, input);
    })));
    holder.replaceChildren(el("table", { class: "cgrid edit", "data-conv-grid": name }, el("tbody", {}, rows)));
  }

  rebuildEditors() {
    this.editor(this.xEditor, this.x, "X", (r, c, v) => { this.x[r][c] = v; this.schedule(); });
    this.editor(this.wEditor, this.w, "W", (r, c, v) => { this.w[r][c] = v; this.schedule(); });
    this.rebuildDelta();
  }

  expectedOut() {
    const H = this.x.length, W = this.x[0].length, K = this.w.length;
    const size = (n) => outSize(n, K, this.stride, this.padding, this.dilation);
    return [size(H), size(W)];
  }

  rebuildDelta() {
    const [ho, wo] = this.expectedOut();
    if (ho < 1 || wo < 1) {
      this.deltaEditor.replaceChildren(el("p", { class: "muted", text: "no output, so no δ" }));
      this.deltaShape = null;
      return;
    }
    if (!this.delta || this.delta.length !== ho || this.delta[0].length !== wo) {
      this.delta = this.delta ? resize(this.delta, ho, wo, "1") : resize([], ho, wo, "1");
    }
    const key = `${ho}x${wo}`;
    this.deltaShape = key;
    this.editor(this.deltaEditor, this.delta, "delta", (r, c, v) => { this.delta[r][c] = v; this.schedule(); });
  }

  sizeInput(key) { return this.controls.querySelector(`[data-conv-size="${key}"]`); }

  onSize() {
    const read = (key) => {
      const input = this.sizeInput(key);
      const v = Number(input.value);
      const [min, max] = LIMITS[key];
      if (input.value === "" || !Number.isInteger(v) || v < min || v > max) return null;
      return v;
    };
    const vals = Object.fromEntries(["h", "w", "k", "s", "p", "d"].map((k) => [k, read(k)]));
    const bad = Object.entries(vals).filter(([, v]) => v === null).map(([k]) => k);
    if (bad.length) {
      showError(this.errorEl, { message: bad.map((k) => `${NAMES[k]} must be a whole number from ${LIMITS[k][0]} to ${LIMITS[k][1]}`).join("; ") });
      return;
    }
    const { h, w, k, s, p, d } = vals;
    const sizeChanged = h !== this.x.length || w !== this.x[0].length || k !== this.w.length;
    this.stride = s;
    this.padding = p;
    this.dilation = d;
    if (sizeChanged) {
      this.x = resize(this.x, h, w, "0");
      this.w = resize(this.w, k, k, "0");
      this.editor(this.xEditor, this.x, "X", (r, c, v) => { this.x[r][c] = v; this.schedule(); });
      this.editor(this.wEditor, this.w, "W", (r, c, v) => { this.w[r][c] = v; this.schedule(); });
    }
    const [ho, wo] = this.expectedOut();
    if (`${ho}x${wo}` !== this.deltaShape) this.rebuildDelta();
    this.schedule();
  }

  reset() {
    this.x = toStrings(LECTURE_X);
    this.w = toStrings(LECTURE_W);
    this.delta = null;
    this.stride = 1;
    this.padding = 0;
    this.dilation = 1;
    for (const [k, v] of Object.entries({ h: 5, w: 5, k: 3, s: 1, p: 0, d: 1 })) this.sizeInput(k).value = v;
    this.rebuildEditors();
    this.step = 0;
    this.schedule();
  }

  // ---- talking to the server -----------------------------------------------------------
  parse(matrix, name) {
    return matrix.map((row, r) => row.map((v, c) => {
      const n = Number(v);
      if (v === "" || v === null || !Number.isFinite(n)) throw new Error(`${name} row ${r + 1}, column ${c + 1}: enter a number`);
      return n;
    }));
  }

  async fetch() {
    const seq = ++this.seq;
    let body;
    try {
      const x = this.parse(this.x, "X");
      const w = this.parse(this.w, "W");
      body = { x, w, stride: this.stride, padding: this.padding, dilation: this.dilation };
      // δ only when it has the output's shape (a kernel that leaves no output has none: the
      // server then says why, with its formula)
      const [ho, wo] = this.expectedOut();
      if (this.delta && ho >= 1 && wo >= 1) body.dl_do = this.parse(this.delta, "δ");
    } catch (e) {
      this.stopPlay();
      showError(this.errorEl, e);
      this.setStale(true);
      return;
    }
    try {
      const result = await this.api.convExplain(body);
      if (seq !== this.seq) return;
      showError(this.errorEl, null);
      this.result = firstChannel(result);
      this.step = Math.min(this.step, result.cells.length - 1);
      this.setStale(false);
      this.draw();
    } catch (e) {
      if (seq !== this.seq) return;
      this.stopPlay();
      showError(this.errorEl, e);
      this.setStale(true);
    }
  }

  setStale(stale) {
    for (const sec of this.root.querySelectorAll(".panel")) if (sec !== this.root.firstElementChild) sec.classList.toggle("stale", stale);
  }

  // ---- stepping ----------------------------------------------------------------------------
  go(i) {
    if (!this.result) return;
    const n = this.result.cells.length;
    this.step = Math.max(0, Math.min(n - 1, i));
    this.drawForward();
  }

  togglePlay() {
    if (this.timer) { this.stopPlay(); return; }
    if (!this.result) return;
    if (this.step >= this.result.cells.length - 1) this.step = 0;
    this.drawForward();
    this.timer = setInterval(() => {
      if (!this.result || this.step >= this.result.cells.length - 1) { this.stopPlay(); return; }
      this.go(this.step + 1);
      if (this.step >= this.result.cells.length - 1) this.stopPlay();
    }, PLAY_MS);
    this.playBtn.textContent = "‖ Pause";
    this.playBtn.setAttribute("aria-pressed", "true");
    this.playBtn.setAttribute("aria-label", "Pause");
  }

  stopPlay() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.playBtn.textContent = "▶ Play";
    this.playBtn.setAttribute("aria-pressed", "false");
    this.playBtn.setAttribute("aria-label", "Play through the output cells");
  }

  // ---- drawing -------------------------------------------------------------------------------
  draw() {
    this.drawFormula();
    this.drawIndexNote();
    this.drawForward();
    this.drawTrueConvolution();
    this.drawBackward();
    this.drawPooling();
  }

  drawFormula() {
    const r = this.result;
    this.formulaEl.replaceChildren(
      el("p", { class: "mono",
        text: r.dilation > 1 ? "N_out = (N_in + 2P − d(K − 1) − 1)/S + 1" : "N_out = (N_in + 2P − K)/S + 1" }),
      el("p", { class: "mono" }, "height: ", el("span", { "data-conv-formula-h": "", text: r.formula.height })),
      el("p", { class: "mono" }, "width:  ", el("span", { "data-conv-formula-w": "", text: r.formula.width })),
      el("p", {}, `output: ${r.output_shape[0]}×${r.output_shape[1]}`),
      ...(r.warnings.length ? [el("ul", { class: "warning" }, r.warnings.map((w) => el("li", { text: w })))] : []));
  }

  drawForward() {
    const r = this.result;
    if (!r) return;
    const cell = r.cells[this.step];
    const { top, left, rows, cols } = cell.window;
    const D = cell.window.dilation || 1;
    const bottom = top + D * (rows - 1), right = left + D * (cols - 1);
    const P = r.padding, [H, W] = r.input_shape;
    // the window's taps: every D-th row and column from its top left corner
    const inWin = (i, j) => i >= top && i <= bottom && j >= left && j <= right
      && (i - top) % D === 0 && (j - left) % D === 0;
    const isPad = (i, j) => i < P || j < P || i >= P + H || j >= P + W;
    const padded = numberGrid(r.padded_x, {
      label: `X padded by ${P}; the window of cell (${cell.row}, ${cell.col}) is marked`,
      cellClass: (i, j) => [inWin(i, j) ? "win" : "", isPad(i, j) ? "pad" : "",
        inWin(i, j) && (i === top || D > 1) ? "wt" : "", inWin(i, j) && (i === bottom || D > 1) ? "wb" : "",
        inWin(i, j) && (j === left || D > 1) ? "wl" : "", inWin(i, j) && (j === right || D > 1) ? "wr" : ""].filter(Boolean).join(" "),
    });
    const marked = D > 1 ? `window: thick borders, its taps ${D} apart` : "window: thick border";
    this.paddedEl.replaceChildren(figure(P ? `X padded by P = ${P} (${marked})` : `X (${marked})`, padded));
    const kernel = r.kernel;
    this.kernelEl.replaceChildren(figure("W", numberGrid(kernel, { label: "the kernel W" })));
    const win = kernel.map((row, a) => row.map((_, b) => r.padded_x[top + a * D][left + b * D]));
    const products = numberGrid(cell.products, {
      label: `elementwise products of the window and W for cell (${cell.row}, ${cell.col})`,
      cellText: (a, b, v) => el("span", { class: "prod" },
        el("span", { class: "term", text: `${num(win[a][b])}·${num(kernel[a][b])}` }), el("span", { class: "pv", text: num(v) })),
    });
    this.productsEl.replaceChildren(figure("window · W, cell by cell", products));
    const flat = cell.products.flat();
    this.sumExpr.textContent = `I[${cell.row},${cell.col}] = ${flat.map(num).join(" + ").replace(/\+ -/g, "− ")}`;
    this.sumEl.textContent = num(cell.sum);
    const [, wo] = r.output_shape;
    const output = numberGrid(r.output, {
      label: `the output I, filled up to cell (${cell.row}, ${cell.col})`,
      cellClass: (i, j) => (i * wo + j === this.step ? "cur" : i * wo + j > this.step ? "todo" : "done"),
      cellText: (i, j, v) => (i * wo + j > this.step ? "" : num(v)),
    });
    this.outputEl.replaceChildren(figure(`I = output (${r.output_shape[0]}×${r.output_shape[1]})`, output));
    this.root.querySelector("[data-conv-cell]").textContent = `cell (${cell.row}, ${cell.col})`;
    this.root.querySelector("[data-conv-progress]").textContent = ` — ${this.step + 1} of ${r.cells.length} (rows and columns counted from 0)`;
  }

  // What a signal-processing text calls convolution, beside the lecture's cross-correlation.
  drawTrueConvolution() {
    const r = this.result;
    const on = this.trueToggle.checked && r && r.true_convolution;
    this.trueEl.hidden = !on;
    if (!on) return;
    const t = r.true_convolution;
    this.trueEl.replaceChildren(
      figure("W rotated 180°", numberGrid(t.kernel, { label: "the kernel W rotated by 180 degrees" })),
      figure("X convolved with W", numberGrid(t.output, { label: "the output of true convolution" })),
      el("p", { class: "muted conv-true-note", text: t.description }));
  }

  // The lecture counts W's rows and columns from its centre; this view from its top-left corner.
  drawIndexNote() {
    const [kh, kw] = this.result.kernel_shape;
    const [ch, cw] = [(kh - 1) / 2, (kw - 1) / 2];
    this.indexNote.textContent = kh % 2 === 1 && kw % 2 === 1
      ? `Here W's rows and columns are counted from its top-left corner (a from 0 to ${kh - 1}, b from 0 to `
        + `${kw - 1}); the lecture counts from its centre (a from −${ch} to ${ch}, b from −${cw} to ${cw}), so `
        + `its W[−${ch}, −${cw}] is W[0, 0] here, and X's index shifts the same way. The sums are the same.`
      : `Here W's rows and columns are counted from its top-left corner (a from 0 to ${kh - 1}, b from 0 to `
        + `${kw - 1}), as in PyTorch; an even kernel has no centre cell to count from, as the lecture does.`;
  }

  drawBackward() {
    const b = this.result.backward;
    const [kh, kw] = this.result.kernel_shape;
    const S = this.result.stride, D = this.result.dilation || 1;
    const W = this.result.kernel;
    const rotLabel = D > 1 ? `rot180(W dilated by d = ${D})` : "rot180(W)";
    const eq = (...parts) => el("div", { class: "row conv-eq" }, parts.map((p) => (typeof p === "string" ? el("span", { class: "op", text: p }) : p)));
    this.backwardEl.replaceChildren(
      el("div", { class: "row" },
        figure("dL/dW", numberGrid(b.dW, { label: "dL/dW", attrs: { "data-conv-dw": "" } })),
        figure("dL/dX", numberGrid(b.dX, { label: "dL/dX", attrs: { "data-conv-dx": "" } }))),
      el("h3", { text: "dL/dW = X ⋆ δ: the input convolved with the gradient" }),
      el("p", { class: "muted mono", text: "dL/dW[a,b] = Σ_i,j δ[i,j] · X[i+a, j+b]" }),
      eq(figure(this.result.padding ? "X padded" : "X", numberGrid(b.dW_as_convolution.input, { label: "X, the input of this convolution" })), "⋆",
        figure(S > 1 ? `δ dilated by S = ${S}` : "δ", numberGrid(b.dW_as_convolution.kernel, { label: "δ used as the kernel" })), "=",
        figure(`dL/dW (${kh}×${kw})`, numberGrid(b.dW_as_convolution.output, { label: "dL/dW computed as a convolution" }))),
      el("p", { class: "muted", text: b.dW_as_convolution.description }),
      el("h3", { text: D > 1 ? "dL/dX = δ (padded fully) ⋆ W dilated and rotated 180°" : "dL/dX = δ (padded fully) ⋆ W rotated 180°" }),
      el("p", { class: "muted mono", text: "dL/dX[i,j] = Σ_a,b δ[i−a, j−b] · W[a,b]" }),
      eq(figure("W", numberGrid(W, { label: "W" })), D > 1 ? "→ dilate, rotate 180° →" : "→ rotate 180° →",
        figure(rotLabel, numberGrid(b.dX_as_convolution.kernel, { label: `W${D > 1 ? " dilated and" : ""} rotated 180 degrees`, attrs: { "data-conv-rot": "" } }))),
      eq(figure(`δ${S > 1 ? " dilated," : ""} zero-padded by ${D > 1 ? `d(K−1) = ${D * (kh - 1)}` : `K−1 = ${kh - 1}`}`, numberGrid(b.dX_as_convolution.input, {
        label: "δ padded for a full convolution",
        cellClass: (i, j, v) => (v === 0 ? "zero" : null),
      })), "⋆",
      figure(rotLabel, numberGrid(b.dX_as_convolution.kernel, { label: `W${D > 1 ? " dilated and" : ""} rotated 180 degrees` })), "=",
      figure("dL/dX", numberGrid(b.dX_as_convolution.output, { label: "dL/dX computed as a convolution" }))),
      el("p", { class: "muted", text: b.dX_as_convolution.description }));
  }

  drawPooling() {
    const pool = this.result.pooling;
    const kh = pool.kernel_size, kw = pool.kernel_size, S = pool.stride;
    const parts = [el("p", {}, `Window ${kh}×${kw}, stride ${S}, padding ${pool.padding}.`)];
    if (pool.note) parts.push(el("p", { class: "warning", text: pool.note }));
    if (!pool.max) { this.poolingEl.replaceChildren(...parts); return; }
    const P = this.result.padding, [H, W] = this.result.input_shape;
    const x = this.result.padded_x.slice(P, P + H).map((row) => row.slice(P, P + W));
    const wins = new Map();
    for (const row of pool.max.argmax) for (const [i, j] of row) wins.set(`${i},${j}`, (wins.get(`${i},${j}`) || 0) + 1);
    const xMarked = numberGrid(x, {
      label: "X with the inputs that win a max marked",
      cellClass: (i, j) => (wins.has(`${i},${j}`) ? "argmax" : null),
    });
    parts.push(
      el("p", {}, "Upstream gradient for pooling: ", pool.delta.every((r) => r.every((v) => v === 1)) ? "all ones" : "the δ above"),
      el("div", { class: "grid2 pool-grid" },
        el("div", { "data-conv-pool": "max" },
          el("h3", { text: "Max pooling" }),
          el("div", { class: "row" },
            figure("X (thick border: the max of some window)", xMarked),
            figure("max", numberGrid(pool.max.output, { label: "max pooling output" })),
            figure("dL/dX", numberGrid(pool.max.dx, { label: "gradient of max pooling", cellClass: (i, j, v) => (v === 0 ? "zero" : "nz") }))),
          el("p", { class: "muted", text: `Derivative: ${pool.max.description}.` })),
        el("div", { "data-conv-pool": "avg" },
          el("h3", { text: "Average pooling" }),
          el("div", { class: "row" },
            figure("average", numberGrid(pool.avg.output, { label: "average pooling output" })),
            figure("dL/dX", numberGrid(pool.avg.dx, { label: "gradient of average pooling" }))),
          el("p", { class: "muted", text: `Derivative: ${pool.avg.description}.` }))));
    this.poolingEl.replaceChildren(...parts);
  }

  render(state, visible) {
    if (!visible) { this.stopPlay(); return; }
    if (!this.started) {
      this.started = true;
      this.fetch();
    }
  }
}

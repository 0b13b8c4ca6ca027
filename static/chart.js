// A self-contained line chart on a canvas: several named series, added to point
// by point. addPoint(series, x, y); remove(series); reset(); the chart redraws itself.

import { el } from "./ui.js";

const COLOURS = ["#1f4e9c", "#c0392b", "#2e7d32", "#8e44ad", "#b9770e", "#00838f", "#5d4037", "#455a64"];
const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3]];

export class LineChart {
  constructor(container, { title = "", xLabel = "", yLabel = "", yMin = null, yMax = null, width = 520, height = 240 } = {}) {
    this.opts = { title, xLabel, yLabel, yMin, yMax };
    this.series = new Map();
    this.canvas = el("canvas", { width, height, role: "img", "aria-label": title });
    this.keyEl = el("ul", { class: "chart-key" });
    this.root = el("figure", { class: "chart" }, el("figcaption", { text: title }), this.canvas, this.keyEl);
    container.append(this.root);
    this.pending = false;
  }

  // style: {colour, dash} chosen from the series' index unless given.
  addPoint(name, x, y, style = {}) {
    if (y === null || y === undefined || !Number.isFinite(y)) return;
    if (!this.series.has(name)) {
      const i = this.series.size;
      this.series.set(name, { points: [], colour: style.colour || COLOURS[i % COLOURS.length], dash: style.dash || DASHES[Math.floor(i / 2) % DASHES.length] });
      this.drawKey();
    }
    this.series.get(name).points.push([x, y]);
    this.schedule();
  }

  remove(name) {
    if (!this.series.delete(name)) return;
    this.drawKey();
    this.schedule();
  }

  reset() {
    this.series.clear();
    this.drawKey();
    this.schedule();
  }

  lastPoints() {
    return Object.fromEntries([...this.series].map(([n, s]) => [n, s.points.length]));
  }

  drawKey() {
    this.keyEl.replaceChildren(...[...this.series].map(([name, s]) =>
      el("li", {}, el("span", { class: "swatch", style: `border-top: 3px ${s.dash.length ? "dashed" : "solid"} ${s.colour}` }), name)));
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    const { canvas } = this;
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, L = 48, R = 10, T = 10, B = 32;
    ctx.clearRect(0, 0, W, H);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of this.series.values()) for (const [x, y] of s.points) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    if (this.opts.yMin !== null) y0 = this.opts.yMin;
    if (this.opts.yMax !== null) y1 = this.opts.yMax;
    if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) y1 = y0 + 1;
    const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const py = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
    ctx.strokeStyle = "#555"; ctx.fillStyle = "#222"; ctx.font = "11px system-ui"; ctx.lineWidth = 1; ctx.setLineDash([]);
    ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      ctx.fillText(Number(y.toPrecision(3)).toString(), 2, py(y) + 4);
    }
    ctx.fillText(String(Math.round(x0)), L, H - B + 14);
    ctx.fillText(String(Math.round(x1)), W - R - 30, H - B + 14);
    ctx.fillText(this.opts.xLabel, (W - L) / 2, H - 4);
    for (const s of this.series.values()) {
      ctx.strokeStyle = s.colour; ctx.lineWidth = 2; ctx.setLineDash(s.dash);
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.stroke();
    }
  }
}

// A line chart in SVG, drawn at the size of its box so its text stays at least 16 px
// on a projector and a phone alike: round ticks with gridlines, a linear or log y axis,
// several groups of series overlaid (a group is a run: one colour), each series in one
// of the chart's styles (a line pattern and a marker), a legend that decodes both, and
// the values under the pointer. Points are appended one at a time (a run's history,
// then its live events); the chart redraws once per frame at most.
//
//   const chart = new LineChart(box, { title, xLabel, yLabel, styles, yScale: "log" });
//   chart.setGroup("run-1", { label: "lr 0.05", colour: "#1f4e9c" });
//   chart.addPoint("run-1", "batch", x, y);

import { el } from "./ui.js";
import { formatTick, linearTicks, logTicks } from "./ticks.js";

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { top: 14, right: 18, bottom: 58, left: 78 };
const NEAR_PX = 32;        // a sparse series shows in the hover box when a point is this close
const MAX_MARKERS = 120;   // more markers than this would hide the line they sit on

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

// A short sample of a style (its line pattern and marker) in a colour, for legends and hover boxes.
export function styleSample(style, colour = "currentColor", width = 46) {
  return svg("svg", { width, height: 18, class: "chart-sample", "aria-hidden": "true" },
    svg("line", { x1: 2, y1: 9, x2: width - 2, y2: 9, stroke: colour, "stroke-width": style.width || 2,
      "stroke-dasharray": style.dash || null, "stroke-opacity": style.opacity ?? null }),
    style.marker ? svg("circle", { cx: width / 2, cy: 9, r: 5, stroke: colour, "stroke-width": 2,
      fill: style.marker === "hollow" ? "#fff" : colour }) : "");
}

export class LineChart {
  // styles: {name: {label, short (for the hover box), dash ("6 4"), width, opacity,
  //   marker: "filled" | "hollow" | null}}
  // yFormat(v) and xFormat(v): tick and hover text; yMin/yMax fix the y range (accuracy: 0..1).
  constructor(container, { title = "", xLabel = "", yLabel = "", styles = {}, yScale = "linear", yMin = null,
    yMax = null, xFormat = formatTick, yFormat = formatTick, height = 300 } = {}) {
    this.opts = { title, xLabel, yLabel, yMin, yMax, xFormat, yFormat, height };
    this.styles = styles;
    this.yScale = yScale;
    this.groups = new Map();   // id -> {label, colour}
    this.series = new Map();   // "group|style" -> {group, style, points: [[x, y], ...]}
    this.plot = svg("svg", { class: "chart-svg", role: "img", "aria-label": title });
    this.tip = el("div", { class: "chart-tip", hidden: true, "data-chart-tip": true });
    this.legendEl = el("ul", { class: "chart-legend", "data-chart-legend": true });
    this.frame = el("div", { class: "chart-frame" }, this.plot, this.tip);
    this.caption = el("figcaption", { text: title });
    this.root = el("figure", { class: "chart" }, this.caption, this.frame, this.legendEl);
    container.append(this.root);
    this.pending = false;
    this.pointer = null; // the pointer's x in the plot, while it hovers
    this.frame.addEventListener("pointermove", (e) => this.hover(e));
    this.frame.addEventListener("pointerdown", (e) => this.hover(e));
    this.frame.addEventListener("pointerleave", () => { this.pointer = null; this.showTip(); });
    new ResizeObserver(() => this.schedule()).observe(this.frame);
  }

  // ---- data --------------------------------------------------------------------------------
  setGroup(id, { label, colour }) {
    const old = this.groups.get(id);
    if (old && old.label === label && old.colour === colour) return;
    this.groups.set(id, { label, colour });
    this.changed();
  }

  addPoint(group, style, x, y) {
    if (y === null || y === undefined || !Number.isFinite(y) || !Number.isFinite(x)) return;
    if (this.yScale === "log" && y <= 0) return;
    const key = `${group}|${style}`;
    if (!this.series.has(key)) {
      this.series.set(key, { group, style, points: [] });
      this.drawLegend();
    }
    this.series.get(key).points.push([x, y]);
    this.schedule();
  }

  removeGroup(group) {
    for (const [key, s] of this.series) if (s.group === group) this.series.delete(key);
    this.groups.delete(group);
    this.changed();
  }

  reset() {
    this.series.clear();
    this.groups.clear();
    this.changed();
  }

  setScale(yScale) {
    this.yScale = yScale;
    this.schedule();
  }

  changed() {
    this.drawLegend();
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  // ---- legend: what each line style means, then which colour is which run ------------------------
  drawLegend() {
    const styles = Object.keys(this.styles).filter((s) => [...this.series.values()].some((x) => x.style === s));
    const groups = [...this.groups].filter(([id]) => [...this.series.values()].some((s) => s.group === id));
    this.legendEl.replaceChildren(
      ...styles.map((name) => el("li", { "data-legend-style": name }, styleSample(this.styles[name]),
        el("span", { text: this.styles[name].label }))),
      ...groups.map(([id, g]) => el("li", { "data-legend-group": id },
        el("span", { class: "chart-swatch", style: `background: ${g.colour}` }), el("span", { text: g.label }))));
  }

  // ---- drawing -----------------------------------------------------------------------------------
  layout() {
    const width = Math.floor(this.frame.clientWidth);
    const height = this.opts.height;
    return { width, height, x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: MARGIN.top };
  }

  extent() {
    let xMax = 0, yLo = Infinity, yHi = -Infinity;
    for (const s of this.series.values()) for (const [x, y] of s.points) {
      xMax = Math.max(xMax, x); yLo = Math.min(yLo, y); yHi = Math.max(yHi, y);
    }
    if (this.opts.yMin !== null) yLo = this.opts.yMin;
    if (this.opts.yMax !== null) yHi = this.opts.yMax;
    if (!Number.isFinite(yLo)) [yLo, yHi] = this.yScale === "log" ? [0.1, 10] : [0, 1];
    return { xMax: xMax || 1, yLo, yHi };
  }

  draw() {
    const box = this.layout();
    if (box.width < 120) return; // hidden: drawn when it shows (the ResizeObserver calls again)
    const { xMax, yLo, yHi } = this.extent();
    const xTicks = linearTicks(0, xMax, Math.max(3, Math.floor((box.x1 - box.x0) / 70)));
    const yTicks = this.yScale === "log" ? logTicks(yLo, yHi) : linearTicks(this.opts.yMin ?? Math.min(0, yLo), yHi,
      Math.max(2, Math.floor((box.y0 - box.y1) / 50)));
    const xs = [xTicks[0], xTicks[xTicks.length - 1]];
    const ys = [yTicks[0], yTicks[yTicks.length - 1]];
    const f = this.yScale === "log" ? Math.log10 : (v) => v;
    this.px = (x) => box.x0 + ((x - xs[0]) / (xs[1] - xs[0] || 1)) * (box.x1 - box.x0);
    this.py = (y) => box.y0 - ((f(y) - f(ys[0])) / (f(ys[1]) - f(ys[0]) || 1)) * (box.y0 - box.y1);
    this.xOf = (px) => xs[0] + ((px - box.x0) / (box.x1 - box.x0)) * (xs[1] - xs[0]);
    this.box = box;
    const { px, py } = this;
    const grid = svg("g", { class: "chart-grid" });
    const labels = svg("g", { class: "chart-ticks" });
    for (const t of xTicks) {
      grid.append(svg("line", { class: "grid grid-x", x1: px(t), x2: px(t), y1: box.y1, y2: box.y0 }));
      labels.append(svg("text", { x: px(t), y: box.y0 + 22, "text-anchor": "middle", "data-tick-x": t },
        this.opts.xFormat(t)));
    }
    for (const t of yTicks) {
      grid.append(svg("line", { class: "grid grid-y", x1: box.x0, x2: box.x1, y1: py(t), y2: py(t) }));
      labels.append(svg("text", { x: box.x0 - 8, y: py(t) + 5, "text-anchor": "end", "data-tick-y": t },
        this.opts.yFormat(t)));
    }
    const axes = svg("path", { class: "chart-axis", d: `M${box.x0},${box.y1}V${box.y0}H${box.x1}` });
    const titles = svg("g", { class: "chart-titles" },
      svg("text", { x: (box.x0 + box.x1) / 2, y: box.height - 8, "text-anchor": "middle", "data-axis": "x" },
        this.opts.xLabel),
      svg("text", { transform: `translate(18 ${(box.y0 + box.y1) / 2}) rotate(-90)`, "text-anchor": "middle",
        "data-axis": "y" }, this.yScale === "log" ? `${this.opts.yLabel} (log scale)` : this.opts.yLabel));
    const lines = svg("g", { class: "chart-lines" });
    for (const s of this.series.values()) lines.append(this.drawSeries(s));
    this.cursor = svg("g", { class: "chart-cursor" });
    this.plot.setAttribute("width", box.width);
    this.plot.setAttribute("height", box.height);
    this.plot.replaceChildren(grid, axes, labels, titles, lines, this.cursor);
    this.showTip();
  }

  drawSeries(s) {
    const style = this.styles[s.style] || {};
    const colour = (this.groups.get(s.group) || {}).colour || "#333";
    const pts = thin(s.points.map(([x, y]) => [this.px(x), this.py(y)]), this.box.x1 - this.box.x0);
    const d = pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
    const g = svg("g", { "data-series-group": s.group, "data-series-style": s.style },
      svg("path", { d, fill: "none", stroke: colour, "stroke-width": style.width || 2,
        "stroke-dasharray": style.dash || null, "stroke-opacity": style.opacity ?? null, "stroke-linejoin": "round" }));
    if (style.marker && s.points.length <= MAX_MARKERS) {
      for (const [x, y] of s.points) {
        g.append(svg("circle", { cx: this.px(x), cy: this.py(y), r: 5, stroke: colour, "stroke-width": 2,
          fill: style.marker === "hollow" ? "#fff" : colour }));
      }
    }
    return g;
  }

  // ---- hover: every series' value near the pointer ---------------------------------------------
  hover(e) {
    if (!this.box) return;
    const r = this.plot.getBoundingClientRect();
    const x = e.clientX - r.left;
    const edge = 12; // a point on the plot's edge is still under a pointer just outside it
    this.pointer = x >= this.box.x0 - edge && x <= this.box.x1 + edge
      ? Math.min(this.box.x1, Math.max(this.box.x0, x)) : null;
    this.showTip();
  }

  showTip() {
    if (!this.cursor) return;
    this.cursor.replaceChildren();
    const found = this.pointer === null ? [] : this.nearest(this.pointer);
    if (!found.length) { this.tip.hidden = true; return; }
    const at = this.px(found[0].point[0]);
    this.cursor.append(svg("line", { class: "chart-guide", x1: at, x2: at, y1: this.box.y1, y2: this.box.y0 }));
    for (const f of found) {
      this.cursor.append(svg("circle", { cx: this.px(f.point[0]), cy: this.py(f.point[1]), r: 6, fill: f.colour,
        stroke: "#fff", "stroke-width": 2 }));
    }
    this.tip.replaceChildren(
      el("div", { class: "chart-tip-x", text: `${this.opts.xLabel} ${this.opts.xFormat(found[0].point[0], true)}` }),
      ...found.map((f) => el("div", { class: "chart-tip-row" }, styleSample(this.styles[f.style], f.colour, 30),
        el("span", { text: `${f.label}, ${(this.styles[f.style] || {}).short || f.style}: ` }),
        el("strong", { text: this.opts.yFormat(f.point[1], true) }))));
    this.tip.hidden = false;
    const left = this.pointer > this.box.width / 2;
    this.tip.style.left = left ? "" : `${this.pointer + 14}px`;
    this.tip.style.right = left ? `${this.box.width - this.pointer + 14}px` : "";
  }

  nearest(pointerPx) {
    const out = [];
    for (const s of this.series.values()) {
      const p = closest(s.points, this.xOf(pointerPx));
      if (!p || Math.abs(this.px(p[0]) - pointerPx) > NEAR_PX) continue;
      const g = this.groups.get(s.group) || { label: s.group, colour: "#333" };
      out.push({ point: p, style: s.style, label: g.label, colour: g.colour });
    }
    return out.sort((a, b) => Math.abs(this.px(a.point[0]) - pointerPx) - Math.abs(this.px(b.point[0]) - pointerPx));
  }
}

// The point whose x is closest to x, in points sorted by x.
function closest(points, x) {
  let lo = 0, hi = points.length - 1;
  if (hi < 0) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < x) lo = mid; else hi = mid;
  }
  return Math.abs(points[lo][0] - x) <= Math.abs(points[hi][0] - x) ? points[lo] : points[hi];
}

// More points than pixel columns: keep each column's first, lowest, highest and last point,
// so the line looks the same with far fewer vertices.
function thin(pts, columns) {
  if (pts.length <= 2 * columns) return pts;
  const out = [];
  let col = null, bucket = [];
  const flush = () => {
    if (!bucket.length) return;
    const lo = bucket.reduce((a, b) => (b[1] > a[1] ? b : a));
    const hi = bucket.reduce((a, b) => (b[1] < a[1] ? b : a));
    const keep = [bucket[0], lo, hi, bucket[bucket.length - 1]];
    keep.sort((a, b) => a[0] - b[0]);
    for (const p of keep) if (out[out.length - 1] !== p) out.push(p);
  };
  for (const p of pts) {
    const c = Math.floor(p[0]);
    if (c !== col) { flush(); bucket = []; col = c; }
    bucket.push(p);
  }
  flush();
  return out;
}

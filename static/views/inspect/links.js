// The overview's lines: each map linked to the maps of the next column that read it, as
// curves in one SVG behind the columns. One path per pair of columns keeps thousands of
// lines cheap; the lines into the map in focus are drawn again on top, highlighted.

import { linkKind, mapsRead } from "./layers.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_LINES = 4096; // between two columns; a denser gap is drawn as a band only

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

const curve = ([x0, y0], [x1, y1]) => {
  const xm = (x0 + x1) / 2;
  return `M${x0.toFixed(1)} ${y0.toFixed(1)}C${xm.toFixed(1)} ${y0.toFixed(1)} ${xm.toFixed(1)} `
    + `${y1.toFixed(1)} ${x1.toFixed(1)} ${y1.toFixed(1)}`;
};

// Where lines leave and enter a column's pictures, in the stage's coordinates. A strip (a
// vector) is entered and left along its edge: piece i of n is the i-th stretch of it.
function anchors(column, origin) {
  const boxes = column.targets().map((t) => t.getBoundingClientRect());
  const left = (r, f = 0.5) => [r.left - origin.left, r.top - origin.top + r.height * f];
  const right = (r, f = 0.5) => [r.right - origin.left, r.top - origin.top + r.height * f];
  return {
    count: boxes.length,
    out: (i, n = boxes.length) => (boxes.length === 1 ? right(boxes[0], (i + 0.5) / n)
      : right(boxes[i])),
    in: (j, n = boxes.length) => (boxes.length === 1 ? left(boxes[0], (j + 0.5) / n)
      : left(boxes[j])),
    span: () => {
      const top = Math.min(...boxes.map((r) => r.top));
      const bottom = Math.max(...boxes.map((r) => r.bottom));
      return { top: top - origin.top, bottom: bottom - origin.top,
        left: boxes[0].left - origin.left, right: boxes[0].right - origin.left };
    },
  };
}

export class Links {
  constructor() {
    this.svg = svgEl("svg", { class: "overview-links", "aria-hidden": "true",
      "data-overview-links": "" });
    this.gaps = new Map(); // path of the column read into -> {before, after, kind, a, b, lit}
  }

  // Draw every gap between consecutive columns ({layer, targets(): the pictures}).
  draw(stage, columns) {
    const origin = stage.getBoundingClientRect();
    this.svg.setAttribute("width", stage.scrollWidth);
    this.svg.setAttribute("height", stage.scrollHeight);
    this.svg.replaceChildren();
    this.gaps.clear();
    for (let k = 1; k < columns.length; k++) {
      const before = columns[k - 1], after = columns[k];
      const gap = { before, after, kind: linkKind(after.layer, before.layer),
        a: anchors(before, origin), b: anchors(after, origin) };
      const lines = this.pairs(gap, null);
      const group = svgEl("g", { "data-links-from": before.layer.path,
        "data-links-to": after.layer.path, "data-lines": lines.length,
        class: `links links-${gap.kind}` });
      if (gap.kind === "dense" || lines.length > MAX_LINES) group.append(this.band(gap));
      if (lines.length <= MAX_LINES) {
        group.append(svgEl("path", { class: "links-lines", d: lines.join("") }));
      }
      gap.lit = svgEl("path", { class: "links-lit", d: "" });
      group.append(gap.lit);
      this.svg.append(group);
      this.gaps.set(after.layer.path, gap);
    }
  }

  // The curves of a gap, or only those into picture `only` of the column after it.
  pairs({ before, after, kind, a, b }, only) {
    const out = [];
    const into = (j) => only === null || only === j;
    if (kind === "flatten") { // map c becomes the c-th stretch of the vector
      if (into(0)) for (let c = 0; c < a.count; c++) out.push(curve(a.out(c), b.in(c, a.count)));
    } else if (kind === "dense") {
      const n = b.count > 1 ? b.count : 8; // into a strip: a few lines to say all reach all
      for (let j = 0; j < n; j++) {
        if (b.count > 1 && !into(j)) continue;
        out.push(curve(a.out(j, n), b.in(j, n)), curve(a.out(n - 1 - j, n), b.in(j, n)));
      }
    } else if (kind === "one" && a.count === 1 && b.count === 1) {
      for (let j = 0; j < 8; j++) out.push(curve(a.out(j, 8), b.in(j, 8)));
    } else {
      for (let j = 0; j < b.count; j++) {
        if (!into(j)) continue;
        for (const i of mapsRead(after.layer, before.layer, j)) {
          if (i < a.count) out.push(curve(a.out(i), b.in(j)));
        }
      }
    }
    return out;
  }

  // A light band between two columns: every value after reads every value before.
  band({ a, b }) {
    const s = a.span(), t = b.span();
    const xm = (s.right + t.left) / 2;
    const d = `M${s.right} ${s.top}C${xm} ${s.top} ${xm} ${t.top} ${t.left} ${t.top}`
      + `L${t.left} ${t.bottom}C${xm} ${t.bottom} ${xm} ${s.bottom} ${s.right} ${s.bottom}Z`;
    return svgEl("path", { class: "links-band", d });
  }

  // Light up the lines into picture `index` of the column `path` (null: none).
  highlight(path, index) {
    for (const gap of this.gaps.values()) gap.lit.setAttribute("d", "");
    const gap = path ? this.gaps.get(path) : null;
    if (!gap) return;
    gap.lit.setAttribute("d", this.pairs(gap, index ?? null).slice(0, MAX_LINES).join(""));
  }
}

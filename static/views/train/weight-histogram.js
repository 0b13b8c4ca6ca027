// One layer's weights in one run, drawn in SVG at the size of its box: where they started
// (a dark outline) and where they are (bars in the run's colour). Each histogram is drawn as
// a density over its own bins, so two snapshots or two runs whose bins differ still compare
// by area on a shared axis. A spike far above the other histogram (L1's weights gathered at
// 0, or an output layer that started 100 times smaller) is cut at the top and says its
// share, so the shape of the other stays in sight.

const SVG = "http://www.w3.org/2000/svg";
const M = { top: 22, right: 12, bottom: 30, left: 12 };
const CUT = 3; // the taller of start and now is cut at this many times the other's tallest

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

// [{x0, x1, density, share}] of a histogram {range, counts}: density is share / bin width.
export function bars(h) {
  const n = h.counts.reduce((a, b) => a + b, 0) || 1;
  const width = (2 * h.range) / h.counts.length;
  return h.counts.map((c, i) => ({ x0: -h.range + i * width, x1: -h.range + (i + 1) * width,
    share: c / n, density: c / n / width }));
}

const tallest = (h) => (h ? Math.max(0, ...bars(h).map((b) => b.density)) : 0);

// The y scale a row of cells shares: its tallest bar, unless the starts or the nows stand far
// above the others; then those are cut, a few times above the others' tallest.
export function sharedTop(starts, nows) {
  const start = Math.max(0, ...starts.map(tallest));
  const now = Math.max(0, ...nows.map(tallest));
  if (!start || !now) return Math.max(start, now) || 1;
  return Math.min(Math.max(start, now), CUT * Math.min(start, now));
}

// The bars above `top`, as one label: where the tallest is, and the share they hold together.
function cut(list, top) {
  const over = list.filter((b) => b.density > top);
  if (!over.length) return null;
  const tallest = over.reduce((a, b) => (b.density > a.density ? b : a));
  return { x0: tallest.x0, x1: tallest.x1, share: over.reduce((a, b) => a + b.share, 0) };
}

const percent = (share) => `${(100 * share).toFixed(share < 0.1 ? 1 : 0)}%`;

const tick = (v) => (v === 0 ? "0" : Number(v.toPrecision(2)).toString());

// {start, now}: histograms (now may be null); range: the x axis's half-width; top: the y scale.
export function drawHistogram(width, { start, now, range, top, colour, label }) {
  const height = 150;
  const x0 = M.left, x1 = width - M.right, y0 = height - M.bottom, y1 = M.top;
  const px = (x) => x0 + ((x + range) / (2 * range)) * (x1 - x0);
  const py = (d) => y0 - (Math.min(d, top) / top) * (y0 - y1);
  const root = svg("svg", { width, height, class: "weights-svg", role: "img", "aria-label": label });
  root.append(svg("line", { class: "weights-zero", x1: px(0), x2: px(0), y1: y1 - 6, y2: y0 }));
  if (now) {
    const g = svg("g", { "data-histogram": "now", fill: colour });
    const list = bars(now);
    for (const b of list) {
      if (!b.density) continue;
      const y = py(b.density);
      g.append(svg("rect", { x: px(b.x0), y, width: Math.max(0.8, px(b.x1) - px(b.x0) - 0.6), height: y0 - y }));
    }
    const c = cut(list, top); // cut at the top: say how many weights it holds
    if (c) {
      g.append(svg("text", { class: "weights-cut", "data-cut": "now", x: (px(c.x0) + px(c.x1)) / 2, y: y1 - 6,
        "text-anchor": "middle" }, percent(c.share)));
    }
    root.append(g);
  }
  if (start) {
    const list = bars(start);
    const pts = list.flatMap((b) => [[px(b.x0), py(b.density)], [px(b.x1), py(b.density)]]);
    const d = `M${px(-start.range)},${y0}` + pts.map(([x, y]) => `L${x.toFixed(1)},${y.toFixed(1)}`).join("")
      + `L${px(start.range)},${y0}`;
    root.append(svg("path", { class: "weights-start", d, "data-histogram": "start" }));
    const c = cut(list, top);
    if (c) {
      root.append(svg("text", { class: "weights-cut weights-cut-start", "data-cut": "start", x: px(c.x1) + 6,
        y: y1 + 14 }, `start: ${percent(c.share)}`));
    }
  }
  root.append(svg("line", { class: "weights-axis", x1: x0, x2: x1, y1: y0, y2: y0 }));
  for (const v of [-range, 0, range]) {
    root.append(svg("text", { class: "weights-tick", x: px(v), y: y0 + 20,
      "text-anchor": v < 0 ? "start" : v > 0 ? "end" : "middle" }, tick(v)));
  }
  return root;
}

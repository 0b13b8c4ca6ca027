// The Initialization view's pictures of a stack, layer by layer: log-scale line charts of a
// standard deviation per layer (several stacks on one chart, told apart by colour, dash and
// marker, so they read in greyscale too), and small histograms of one layer's values.

import { el } from "../../ui.js";
import { short } from "../init-verdict.js";

// colour, dash and marker: the series stay apart in greyscale too
export const STYLES = {
  zeros: { colour: "#4a4a4a", dash: [2, 3], marker: "x" },
  normal: { colour: "#b0281c", dash: [], marker: "square" },
  xavier_uniform: { colour: "#1f4e9c", dash: [7, 4], marker: "circle" },
  xavier_normal: { colour: "#6c3483", dash: [3, 2], marker: "diamond" },
  he_uniform: { colour: "#8a5a00", dash: [10, 3, 2, 3], marker: "plus" },
  he_normal: { colour: "#1e6b32", dash: [10, 3, 2, 3, 2, 3], marker: "triangle" },
  lecun_normal: { colour: "#00707a", dash: [1, 2], marker: "diamond" },
  plain: { colour: "#b0281c", dash: [7, 4], marker: "square" },
  residual: { colour: "#1f4e9c", dash: [], marker: "circle" },
  batchnorm: { colour: "#1f4e9c", dash: [], marker: "circle" },
};

function marker(ctx, kind, x, y, r = 3.5) {
  ctx.beginPath();
  if (kind === "circle") ctx.arc(x, y, r, 0, 2 * Math.PI);
  else if (kind === "square") ctx.rect(x - r, y - r, 2 * r, 2 * r);
  else if (kind === "triangle") { ctx.moveTo(x, y - r - 1); ctx.lineTo(x + r + 1, y + r); ctx.lineTo(x - r - 1, y + r); ctx.closePath(); }
  else if (kind === "diamond") { ctx.moveTo(x, y - r - 1); ctx.lineTo(x + r + 1, y); ctx.lineTo(x, y + r + 1); ctx.lineTo(x - r - 1, y); ctx.closePath(); }
  else if (kind === "plus") { ctx.moveTo(x - r - 1, y); ctx.lineTo(x + r + 1, y); ctx.moveTo(x, y - r - 1); ctx.lineTo(x, y + r + 1); ctx.stroke(); return; }
  else { ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); ctx.stroke(); return; }
  ctx.fill();
  ctx.stroke();
}

// The decades [lo, hi] (powers of ten) that hold every positive finite value.
export function logRange(seriesList) {
  let lo = Infinity, hi = -Infinity;
  for (const s of seriesList) for (const v of s.values) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) return [-2, 0];
  let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  if (b === a) b = a + 1;
  return [a, b];
}

// A log-scale line chart of per-layer values; zeros sit in a band of their own under the axis.
function drawLogChart(canvas, seriesList, { range, height = 190, xLabel = "layer (1 = nearest the input)" } = {}) {
  // drawn at the size the page gives the canvas, sharp on high-density screens
  // 13px labels: read on a projector from the back of the room
  const W = Math.max(200, Math.round(canvas.clientWidth || 380)), H = height;
  const L = 54, R = 10, T = 10, B = 50, ZB = 18;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.height = `${H}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  const [a, b] = range || logRange(seriesList);
  const n = Math.max(2, ...seriesList.map((s) => s.values.length));
  const px = (i) => L + (i / (n - 1)) * (W - L - R);
  const bottom = H - B - ZB; // the log axis ends here; the zero band lies below
  const py = (v) => bottom - ((Math.log10(v) - a) / (b - a)) * (bottom - T);
  ctx.font = "13px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  const step = Math.max(1, Math.ceil((b - a) / 5));
  for (let e = a; e <= b; e += step) {
    ctx.strokeStyle = "#e2e2dc";
    ctx.beginPath(); ctx.moveTo(L, py(10 ** e)); ctx.lineTo(W - R, py(10 ** e)); ctx.stroke();
    ctx.fillStyle = "#333";
    ctx.fillText(e === 0 ? "1" : `1e${e}`, 4, py(10 ** e) + 4);
  }
  ctx.fillStyle = "#f1f1ec";
  ctx.fillRect(L, bottom + 4, W - L - R, ZB - 4);
  ctx.fillStyle = "#333";
  ctx.fillText("0", 34, bottom + 15);
  ctx.strokeStyle = "#555";
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  const ticks = n <= 10 ? 1 : n <= 20 ? 2 : 5;
  for (let i = 0; i < n; i++) {
    if ((i + 1) % ticks === 0 || i === 0) ctx.fillText(String(i + 1), px(i) - 4, H - B + 15);
  }
  ctx.fillText(xLabel, L, H - 8);
  for (const s of seriesList) {
    const st = STYLES[s.style] || STYLES.plain;
    ctx.strokeStyle = st.colour; ctx.fillStyle = st.colour; ctx.lineWidth = 2; ctx.setLineDash(st.dash);
    const y = (v) => (v > 0 ? py(v) : bottom + 10);
    ctx.beginPath();
    let started = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) { started = false; return; }
      if (started) ctx.lineTo(px(i), y(v)); else ctx.moveTo(px(i), y(v));
      started = true;
    });
    ctx.stroke();
    ctx.setLineDash([]); ctx.lineWidth = 1.5;
    s.values.forEach((v, i) => { if (v !== null && Number.isFinite(v)) marker(ctx, st.marker, px(i), y(v)); });
  }
}

function keyItem(style, text) {
  const c = el("canvas", { width: 34, height: 12, "aria-hidden": "true" });
  const ctx = c.getContext("2d");
  const st = STYLES[style];
  ctx.strokeStyle = st.colour; ctx.fillStyle = st.colour; ctx.lineWidth = 2; ctx.setLineDash(st.dash);
  ctx.beginPath(); ctx.moveTo(1, 6); ctx.lineTo(33, 6); ctx.stroke();
  ctx.setLineDash([]);
  marker(ctx, st.marker, 17, 6, 3);
  return el("li", {}, c, text);
}

// A chart figure; its canvas is drawn by redraw() once it is in the page and has a width.
export function chart(registry, title, seriesList, range, height = 190) {
  const canvas = el("canvas", { width: 380, height, class: "init-chart" });
  registry.push(() => drawLogChart(canvas, seriesList, { range, height }));
  const desc = seriesList.map((s) => `${s.name}: ${s.values.map(short).join(", ")}`).join("; ");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${title}, log scale, per layer. ${desc}`);
  return el("figure", { class: "chart init-fig" }, el("figcaption", { text: title }), canvas,
    seriesList.length > 1 ? el("ul", { class: "chart-key" }, seriesList.map((s) => keyItem(s.style, s.name))) : null);
}

// One small histogram (dark bars on white) with the layer number and the value range under it.
export function histogram(stat, label) {
  const W = 64, H = 34;
  const c = el("canvas", { width: W, height: H, "aria-hidden": "true" });
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const counts = (stat && stat.histogram && stat.histogram.counts) || [];
  const max = Math.max(1, ...counts);
  const bw = W / Math.max(1, counts.length);
  ctx.fillStyle = "#2b2b2b";
  counts.forEach((n, i) => { const h = (n / max) * (H - 2); ctx.fillRect(i * bw, H - h, Math.max(1, bw - 0.5), h); });
  if (stat && stat.min < 0 && stat.max > 0) { // where zero lies
    const x = ((0 - stat.min) / (stat.max - stat.min)) * W;
    ctx.strokeStyle = "#c0392b"; ctx.setLineDash([2, 2]); ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, H); ctx.stroke();
  }
  const range = !stat || stat.std === null ? "no finite values" : stat.std === 0 ? `all ${short(stat.mean)}` : `${short(stat.min)} … ${short(stat.max)}`;
  return el("figure", { class: "hist", role: "img", "aria-label": `${label}: ${range}, std ${stat ? short(stat.std) : "–"}` },
    c, el("figcaption", {}, el("span", { class: "hl", text: label }), el("span", { class: "hr", text: range })));
}

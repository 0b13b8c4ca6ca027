// Small DOM and drawing helpers shared by the views. User text always goes
// through textContent; nothing here builds HTML from strings.

import { formatDetail } from "./api.js";

// el("button", {class: "x", "data-action": "go", onclick: f}, "Go")
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Show an error right next to what caused it (role=alert so it is announced).
export function showError(target, error) {
  if (!target) return;
  const message = error ? (error.message || formatDetail(error.detail || error)) : "";
  target.textContent = message;
  target.hidden = !message;
  target.setAttribute("role", "alert");
}

export const fmt = {
  int: (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US")),
  num: (x, digits = 4) => (x === null || x === undefined ? "–" : Number(x).toPrecision(digits)),
  pct: (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`),
  shape: (s) => (s ? s.join("×") : "–"),
  bytes: (b) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`),
};

// Viridis, sampled: lightness rises monotonically, so it reads in greyscale too.
const VIRIDIS = [
  [68, 1, 84], [72, 35, 116], [64, 67, 135], [52, 94, 141], [41, 120, 142],
  [32, 144, 140], [34, 167, 132], [68, 190, 112], [121, 209, 81], [189, 222, 38], [253, 231, 37],
];
export const SCALES = {
  viridis: (t) => interpolate(VIRIDIS, t),
  grey: (t) => { const v = Math.round(255 * t); return [v, v, v]; },
};

function interpolate(stops, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
}

// Draw a (h, w) array of numbers (row-major, flat) on a canvas, scaled from [min, max].
export function drawHeatmap(canvas, values, h, w, { min, max, scale = "viridis", pixel = 1 } = {}) {
  let lo = min, hi = max;
  if (lo === undefined || hi === undefined) {
    lo = Infinity; hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  const span = hi > lo ? hi - lo : 1;
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${w * pixel}px`;
  canvas.style.height = `${h * pixel}px`;
  canvas.style.imageRendering = "pixelated";
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const colour = SCALES[scale] || SCALES.viridis;
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colour((values[i] - lo) / span);
    image.data.set([r, g, b, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return { min: lo, max: hi };
}

// A horizontal colour bar with its end values, for a heatmap's legend.
export function legend(min, max, scale = "viridis", label = "") {
  const bar = el("canvas", { class: "legend-bar", width: 120, height: 10, "aria-hidden": "true" });
  const ctx = bar.getContext("2d");
  const colour = SCALES[scale] || SCALES.viridis;
  for (let x = 0; x < 120; x++) {
    const [r, g, b] = colour(x / 119);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, 10);
  }
  return el("div", { class: "legend", role: "img", "aria-label": `${label} colour scale from ${fmt.num(min, 3)} to ${fmt.num(max, 3)}` },
    el("span", { text: fmt.num(min, 3) }), bar, el("span", { text: fmt.num(max, 3) }), label ? el("span", { class: "legend-label", text: label }) : null);
}

// Decode base64 uint8 data (as the activations endpoint sends it) to numbers in [min, max].
export function decodeUint8(b64, min, max) {
  const bin = atob(b64);
  const out = new Float32Array(bin.length);
  const span = (max - min) / 255;
  for (let i = 0; i < bin.length; i++) out[i] = min + bin.charCodeAt(i) * span;
  return out;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

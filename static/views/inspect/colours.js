// Colour scales for Inspect's pictures, and the colour bar every picture carries.
// Signed quantities (conv outputs, weights, gradients, a signed saliency, an occlusion
// drop) use a diverging scale centred on zero: blue below, white at zero, red above.
// Magnitudes (after a ReLU, |gradient|) use a sequential one from dark to bright. An
// image's channels are drawn as themselves: grey, or red, green and blue.

import { el, fmt, SCALES } from "../../ui.js";

// A number short enough for a colour bar's end or a hover readout: 3 significant digits.
export function short(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a === 0) return "0";
  if (a >= 1000 || a < 0.001) return x.toExponential(1);
  return String(Number(x.toPrecision(3)));
}

// ColorBrewer's RdBu, reversed so that negative is blue and positive is red.
const RD_BU = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

function interpolate(stops, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
}

const ramp = (r, g, b) => (t) => {
  const v = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  return [Math.round(r * v), Math.round(g * v), Math.round(b * v)];
};

// scale name -> t in [0, 1] -> [r, g, b]
export const COLOURS = {
  diverging: (t) => interpolate(RD_BU, t),
  sequential: SCALES.viridis,
  grey: ramp(255, 255, 255),
  red: ramp(255, 40, 40),
  green: ramp(40, 220, 40),
  blue: ramp(60, 90, 255),
};

const CHANNEL_SCALES = ["red", "green", "blue"];

// How to colour a layer's values: the input as an image, a signed layer on the diverging
// scale, a non-negative one (after ReLU, pooling of it) on the sequential one.
export function scaleOf(layer, channel = 0) {
  if (layer.path === "input") return layer.shape[0] === 3 ? CHANNEL_SCALES[channel] : "grey";
  return (layer.min ?? 0) < 0 ? "diverging" : "sequential";
}

// The range a scale spans for values from min to max: symmetric about zero when diverging.
export function rangeFor(scale, min, max) {
  const lo = min ?? 0, hi = max ?? 0;
  if (scale === "diverging") {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { min: -m, max: m };
  }
  if (scale === "sequential") {
    const from = Math.min(0, lo);
    return { min: from, max: hi > from ? hi : from + 1 };
  }
  return { min: lo, max: hi > lo ? hi : lo + 1 };
}

export function extent(values) {
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 0 };
}

// Paint (h, w) values (row-major) on a canvas of h x w pixels; CSS sizes it.
export function paint(canvas, values, h, w, scale, { min, max }) {
  if (!canvas.style.imageRendering) canvas.style.imageRendering = "pixelated";
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const colour = COLOURS[scale] || COLOURS.sequential;
  const span = max > min ? max - min : 1;
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colour((values[i] - min) / span);
    image.data[i * 4] = r;
    image.data[i * 4 + 1] = g;
    image.data[i * 4 + 2] = b;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// A colour bar: the scale from min to max with its ends (and zero, when diverging) written
// beside it. data-scale and data-range say what it shows.
export function colourBar(scale, min, max, label = "", { width = 120 } = {}) {
  const steps = 64;
  const bar = el("canvas", { class: "colour-bar-strip", width: steps, height: 1,
    "aria-hidden": "true" });
  if (width) bar.style.width = `${width}px`; // else the stylesheet sizes it to its box
  const ctx = bar.getContext("2d");
  const colour = COLOURS[scale] || COLOURS.sequential;
  for (let x = 0; x < steps; x++) {
    const [r, g, b] = colour(x / (steps - 1));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, 1);
  }
  const ticks = el("span", { class: "colour-bar-ticks" },
    el("span", { text: short(min) }),
    scale === "diverging" ? el("span", { class: "colour-bar-zero", text: "0" }) : null,
    el("span", { text: short(max) }));
  if (width) ticks.style.width = `${width}px`;
  const words = `${label ? label + ": " : ""}${scale} colour scale from ${fmt.num(min, 3)} `
    + `to ${fmt.num(max, 3)}`;
  return el("div", {
    class: "colour-bar", role: "img", "aria-label": words, title: words,
    "data-colour-bar": "", "data-scale": scale, "data-range": `${min},${max}`,
  }, bar, ticks, label ? el("span", { class: "colour-bar-label", text: label }) : null);
}

// A new canvas showing (h, w) values, `px` CSS pixels per value.
export function picture(values, h, w, scale, range, px, attrs = {}) {
  const canvas = el("canvas", { width: w, height: h, ...attrs });
  canvas.style.width = `${w * px}px`;
  canvas.style.height = `${h * px}px`;
  paint(canvas, values, h, w, scale, range);
  return canvas;
}

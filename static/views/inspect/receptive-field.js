// A unit's receptive field on the input, beside its map opened large: the theoretical field
// (the box its layers' windows reach back to, with the part beyond the image drawn over the
// padding) and the effective one (|∂unit/∂pixel| as a heat map, the square holding 90% of it
// dashed), each with its size in words. Both pictures share one geometry, so they compare.

import { el, showError } from "../../ui.js";
import { COLOURS, colourBar } from "./colours.js";
import { drawInput } from "./input-image.js";

const SIDE = 196;         // px: the image in each picture, at most (less on a phone: two abreast)
const FIELD = "#e3a400";  // the theoretical field's outline: amber reads on black and on colour
const PROMPT = "Click a unit of the map (or move to it with the arrow keys and press Enter) to "
  + "see which pixels of the input it depends on.";

function decodeFloat32(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

const rows = (a, b) => (a === b ? `row ${a}` : `rows ${a} to ${b}`);
const cols = (a, b) => (a === b ? `column ${a}` : `columns ${a} to ${b}`);

export class ReceptiveField {
  constructor() {
    this.words = el("p", { class: "field-words", "data-field-words": "", "aria-live": "polite" });
    this.errorBox = el("p", { class: "error", hidden: true });
    this.figs = el("div", { class: "field-figs" });
    this.node = el("div", { class: "detail-field", "data-inspect-receptive": "",
      "aria-labelledby": "detail-field-h" },
      el("h3", { id: "detail-field-h", text: "Its receptive field on the input" }),
      this.words, this.errorBox, this.figs);
    this.prompt();
  }

  prompt(text = PROMPT) {
    this.node.dataset.state = "waiting";
    this.words.textContent = text;
    this.words.classList.add("muted");
    this.figs.replaceChildren();
    showError(this.errorBox, null);
  }

  busy() {
    this.node.setAttribute("aria-busy", "true");
  }

  showError(e) {
    this.node.removeAttribute("aria-busy");
    showError(this.errorBox, e);
  }

  // answer: the server's receptive-field answer; input: {shape, values} as the network sees it.
  render(answer, input) {
    this.node.removeAttribute("aria-busy");
    showError(this.errorBox, null);
    this.node.dataset.state = "shown";
    this.words.classList.remove("muted");
    this.words.textContent = answer.text;
    const t = answer.theoretical, e = answer.effective;
    const frame = frameOf(input.shape, t);
    const mass = decodeFloat32(e.map);
    const max = e.max > 0 ? e.max : 1;
    const square = e.square;
    this.figs.replaceChildren(
      figure("Theoretical", `${t.size[0]}×${t.size[1]}`, theoreticalWords(t),
        drawPicture(frame, input, t, null, null), { "data-field-theoretical": "" }),
      figure("Effective", square ? `90% within ${square.size[0]}×${square.size[1]}` : "none",
        effectiveWords(e, t), drawPicture(frame, input, t, mass, { max, square }),
        { "data-field-effective": "" },
        colourBar("sequential", 0, max, "|∂unit/∂pixel|", { width: frame.cssWidth })));
  }
}

// ---- words -------------------------------------------------------------------------------
function theoreticalWords(t) {
  const c = t.clipped;
  const beyond = [
    c.top && `${c.top} row${c.top > 1 ? "s" : ""} above`, c.bottom && `${c.bottom} below`,
    c.left && `${c.left} column${c.left > 1 ? "s" : ""} left`, c.right && `${c.right} right`,
  ].filter(Boolean);
  const padding = beyond.length ? ` The field reaches past the image (${beyond.join(", ")}): `
    + "there it reads padding, zeros." : "";
  if (t.top === null) return `Only padding reaches this unit.${padding}`;
  return `The layers' windows reach ${rows(t.top, t.bottom)}, ${cols(t.left, t.right)} of the `
    + `image (outlined).${padding}`;
}

function effectiveWords(e, t) {
  if (!e.square) {
    return "No gradient reaches the input: for this input the unit is flat (a ReLU on its way "
      + "is off).";
  }
  const s = e.square;
  const share = (s.size[0] * s.size[1]) / (t.size[0] * t.size[1]);
  return `|∂unit/∂pixel| from one backward pass. 90% of it lies in ${rows(s.top, s.bottom)}, `
    + `${cols(s.left, s.right)} (dashed), ${Math.round(100 * share)}% of the theoretical `
    + `field's area${share < 0.5 ? ": the unit leans on the middle of its field" : ""}.`;
}

function figure(title, size, words, canvas, attrs, bar = null) {
  return el("figure", { class: "field-fig", ...attrs },
    el("figcaption", {}, el("strong", { text: `${title}: ` }),
      el("span", { class: "field-size", "data-field-size": "", text: size })),
    canvas, bar, el("p", { class: "field-note", text: words }));
}

// ---- pictures -------------------------------------------------------------------------------
// The image with a margin around it as wide as the field reaches past it (at most a quarter of
// the image: beyond that the outline runs off the picture), px CSS pixels per input pixel.
function frameOf([, h, w], t) {
  const side = Math.min(SIDE, Math.floor((window.innerWidth - 100) / 2));
  const px = Math.max(1, Math.floor(side / Math.max(h, w)));
  const reach = Math.max(t.clipped.top, t.clipped.bottom, t.clipped.left, t.clipped.right);
  const margin = Math.min(reach, Math.ceil(Math.max(h, w) / 4));
  return { h, w, px, margin, cssWidth: (w + 2 * margin) * px, cssHeight: (h + 2 * margin) * px };
}

function drawPicture(frame, input, t, mass, effective) {
  const { h, w, px, margin, cssWidth, cssHeight } = frame;
  const ratio = window.devicePixelRatio || 1;
  const canvas = el("canvas", { class: "field-canvas", role: "img",
    width: Math.round(cssWidth * ratio), height: Math.round(cssHeight * ratio),
    "aria-label": mass ? "the input under |∂unit/∂pixel|, the 90% square dashed"
      : "the input with the unit's theoretical field outlined" });
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  // where the image lies on the canvas, in device pixels, for tests to read the picture
  Object.assign(canvas.dataset, { px: String(px * ratio), margin: String(margin) });
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio * px, ratio * px); // from here on, one unit is one input pixel
  ctx.translate(margin, margin);
  paddingBand(ctx, h, w, margin);
  const image = el("canvas");
  drawInput(image, input);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, 0, 0, w, h);
  if (mass) ctx.drawImage(heat(mass, h, w, effective.max), 0, 0, w, h);
  const line = 1 / px; // one CSS pixel
  const u = t.unclipped;
  outline(ctx, u.left, u.top, u.right + 1, u.bottom + 1, FIELD, 3 * line, []);
  if (effective && effective.square) {
    const s = effective.square;
    outline(ctx, s.left, s.top, s.right + 1, s.bottom + 1, "#000", 4 * line, []);
    outline(ctx, s.left, s.top, s.right + 1, s.bottom + 1, "#fff", 2 * line, [4 * line, 3 * line]);
  }
  return canvas;
}

// The padding around the image: light grey, hatched, so the field's part there reads as "not
// the image".
function paddingBand(ctx, h, w, margin) {
  if (!margin) return;
  ctx.fillStyle = "#d9d9d4";
  ctx.fillRect(-margin, -margin, w + 2 * margin, h + 2 * margin);
  ctx.strokeStyle = "#b4b4ae";
  ctx.lineWidth = 0.25;
  for (let k = -h - 2 * margin; k < w + 2 * margin; k += 1.5) {
    ctx.beginPath();
    ctx.moveTo(k - margin, h + margin);
    ctx.lineTo(k + h + margin, -margin);
    ctx.stroke();
  }
}

// |gradient| on the sequential scale, transparent where it is zero, so the image shows through.
function heat(mass, h, w, max) {
  const canvas = el("canvas", { width: w, height: h });
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = mass[i] / max;
    const [r, g, b] = COLOURS.sequential(v);
    image.data.set([r, g, b, v > 0 ? Math.round(255 * Math.min(1, 0.35 + v)) : 0], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function outline(ctx, left, top, right, bottom, colour, width, dash) {
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.strokeRect(left, top, right - left, bottom - top);
  ctx.restore();
}

// Where does the network look? Saliency (how much each pixel moves the class score, as a
// magnitude or with its sign) and occlusion (how much the class probability drops when a
// square covers each spot), each over the input with its colour bar. The occlusion patch
// is the image's background unless the student picks another fill, and the page says which.

import { el, fmt, showError } from "../../ui.js";
import { colourBar, paint, rangeFor } from "./colours.js";
import { drawInput } from "./input-image.js";

const SIDE = 168; // px: the input under each map

const FILLS = {
  background: "the image's background",
  zero: "0 after normalization",
  mean: "the image's mean",
};

// A 0-255 colour in words: "grey level 0 of 255, black" or "the colour (128, 48, 87)".
function pixelWords(pixel) {
  if (!pixel || !pixel.length) return "";
  const rounded = pixel.map((v) => Math.round(v));
  if (rounded.every((v) => v === rounded[0])) {
    const v = rounded[0];
    return `grey level ${v} of 255, ${v <= 8 ? "black" : v >= 247 ? "white" : "grey"}`;
  }
  return `the colour (${rounded.join(", ")}) of 255`;
}

function occlusionNote(occ) {
  const value = pixelWords(occ.fill_pixel);
  const where = `Patch ${occ.patch}×${occ.patch}, moved ${occ.stride} at a time. `;
  if (occ.fill === "background") {
    return `${where}Each square was covered with the image's background (the middle value of `
      + `its border: ${value}), so covering empty space changes nothing.`;
  }
  if (occ.fill === "zero") {
    return `${where}Each square was set to 0 after normalization, which is ${value} in the `
      + "image: on a black background that adds grey ink.";
  }
  return `${where}Each square was covered with the image's mean, ${value}.`;
}

function decodeFloat32(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

export class ExplainPanel {
  constructor({ onChange }) {
    this.classKey = null;
    const changed = () => onChange();
    this.classSelect = el("select", { id: "inspect-class", "data-explain-class": "",
      onchange: changed },
      el("option", { value: "" }, "the predicted class"));
    this.saliencyKind = el("select", { id: "inspect-saliency", "data-saliency-kind": "",
      onchange: () => this.drawSaliency() },
      el("option", { value: "magnitude" }, "how much: |∂score/∂pixel|"),
      el("option", { value: "signed" }, "which way: ∂score/∂pixel"));
    this.patchSelect = el("select", { id: "inspect-patch", "data-occlusion-patch": "",
      onchange: changed },
      el("option", { value: "" }, "¼ of the input"),
      ...[2, 4, 6, 8, 12].map((p) => el("option", { value: p }, `${p}×${p}`)));
    this.fillSelect = el("select", { id: "inspect-fill", "data-occlusion-fill": "",
      onchange: changed },
      ...Object.entries(FILLS).map(([value, words]) => el("option", { value }, words)));
    this.opacity = el("input", { id: "inspect-opacity", type: "range", min: 0, max: 100, value: 65,
      "data-overlay-opacity": "", oninput: () => this.applyOpacity() });
    this.errorBox = el("p", { class: "error", "data-explain-error": "", hidden: true });
    this.saliencyFig = el("figure", { class: "explain-fig", "data-saliency": "" });
    this.occlusionFig = el("figure", { class: "explain-fig", "data-occlusion": "" });
    this.occlusionNote = el("p", { class: "muted", "data-occlusion-note": "" });
    this.node = el("section", { class: "panel inspect-explain",
      "aria-labelledby": "inspect-explain-h" },
      el("h2", { id: "inspect-explain-h" }, "Where does it look?"),
      el("div", { class: "explain-controls" },
        el("label", { for: "inspect-class" }, "Class"), this.classSelect,
        el("label", { for: "inspect-saliency" }, "Saliency"), this.saliencyKind,
        el("label", { for: "inspect-patch" }, "Occlusion patch"), this.patchSelect,
        el("label", { for: "inspect-fill" }, "Covered with"), this.fillSelect,
        el("label", { for: "inspect-opacity" }, "Map opacity"), this.opacity,
        el("span"),
        el("button", { type: "button", "data-action": "explain", onclick: changed }, "Recompute")),
      this.errorBox,
      el("div", { class: "explain-figs" }, this.saliencyFig, this.occlusionFig),
      this.occlusionNote,
      el("p", { class: "muted" },
        "Saliency: how much the class score changes as each input pixel changes. Occlusion: how ",
        "much the class probability drops when a square covers that spot (red: it drops, blue: ",
        "it rises)."));
    this.applyOpacity();
  }

  // The options the requests take, beside the input's body.
  options() {
    const cls = this.classSelect.value === "" ? {} : { class: Number(this.classSelect.value) };
    const patch = this.patchSelect.value ? { patch: Number(this.patchSelect.value) } : {};
    return { saliency: cls, occlusion: { ...cls, ...patch, fill: this.fillSelect.value } };
  }

  // The class picker follows the network's classes.
  setClasses(names) {
    const key = names.join("\u0000");
    if (key === this.classKey) return;
    this.classKey = key;
    const value = this.classSelect.value;
    this.classSelect.replaceChildren(el("option", { value: "" }, "the predicted class"),
      ...names.map((n, i) => el("option", { value: i }, n === String(i) ? n : `${i}: ${n}`)));
    if (value !== "" && Number(value) < names.length) this.classSelect.value = value;
  }

  busy(on) {
    if (on) this.node.setAttribute("aria-busy", "true");
    else this.node.removeAttribute("aria-busy");
  }

  // input: {shape, values} as the network sees it.
  render(input, saliency, occlusion) {
    showError(this.errorBox, null);
    this.input = input;
    this.saliency = saliency;
    this.drawSaliency();
    const drop = Float32Array.from(occlusion.map.flat());
    const range = rangeFor("diverging", occlusion.min, occlusion.max);
    this.occlusionFig.replaceChildren(...figure(input, drop, occlusion.shape, "diverging", range,
      `Occlusion for ${occlusion.class_name}`,
      `drop in p(${occlusion.class_name}) from ${fmt.pct(occlusion.baseline)}`));
    this.occlusionNote.textContent = occlusionNote(occlusion);
  }

  drawSaliency() {
    const sal = this.saliency;
    if (!sal) return;
    const signed = this.saliencyKind.value === "signed" && sal.gradient;
    const values = signed ? decodeFloat32(sal.gradient.data) : magnitudes(sal);
    const scale = signed ? "diverging" : "sequential";
    const range = signed ? rangeFor(scale, sal.gradient.min, sal.gradient.max)
      : rangeFor(scale, 0, sal.max);
    this.saliencyFig.replaceChildren(...figure(this.input, values, sal.shape, scale, range,
      `Saliency for ${sal.class_name}`, signed ? "∂score/∂pixel" : "|∂score/∂pixel|"));
  }

  showError(e) {
    showError(this.errorBox, e);
  }

  clear() {
    this.saliency = null;
    this.saliencyFig.replaceChildren();
    this.occlusionFig.replaceChildren();
    this.occlusionNote.textContent = "";
  }

  applyOpacity() {
    this.node.style.setProperty("--overlay-opacity", String(Number(this.opacity.value) / 100));
  }
}

// The saliency answer's magnitudes (uint8 over [min, max]) as numbers.
function magnitudes(sal) {
  const lo = sal.min ?? 0;
  const step = ((sal.max ?? 0) - lo) / 255;
  return Float32Array.from(atob(sal.map), (c) => lo + c.charCodeAt(0) * step);
}

// A map over the input (both stretched to the same size), its caption and colour bar.
function figure(input, values, [mh, mw], scale, range, caption, what) {
  const stack = el("div", { class: "overlay" });
  let width = SIDE, height = SIDE;
  if (input && input.shape.length === 3) {
    const [, h, w] = input.shape;
    const px = Math.max(1, Math.floor(SIDE / Math.max(h, w)));
    width = w * px;
    height = h * px;
    const base = el("canvas", { class: "overlay-input", role: "img", "aria-label": "the input" });
    drawInput(base, input);
    stack.append(base);
  }
  const map = el("canvas", { class: "overlay-map", role: "img",
    "aria-label": `${caption}: ${what}` });
  paint(map, values, mh, mw, scale, range);
  for (const c of [...stack.children, map]) {
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
  }
  stack.style.width = `${width}px`;
  stack.style.height = `${height}px`;
  stack.append(map);
  return [el("figcaption", { text: caption }), stack,
    colourBar(scale, range.min, range.max, what, { width })];
}

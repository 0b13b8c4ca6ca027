// A drawing pad: white strokes on black, like an MNIST digit, drawn with a mouse,
// a finger or a pen (pointer events). It reports strokes through callbacks and
// hands out its pixels as a 2-D list of 0-255 numbers. Between drawings it can
// show a picture, the sample being inspected.

import { el } from "../ui.js";

export const PAD_SIZE = 280;

export class DrawPad {
  // onDraw(): while a stroke goes on; onEnd(): when a stroke ends.
  constructor({ size = PAD_SIZE, brush = 22, label = "Drawing pad", onDraw = () => {}, onEnd = () => {} } = {}) {
    this.size = size;
    this.brush = brush;
    this.onDraw = onDraw;
    this.onEnd = onEnd;
    this.empty = true;
    this.showing = false; // a picture is shown, not a drawing
    this.pointer = null; // the id of the pointer drawing, one at a time
    this.last = null;
    this.canvas = el("canvas", {
      class: "draw-pad", width: size, height: size, "data-draw": "", role: "img", "aria-label": label,
    });
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.clear();
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
    this.canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel"]) this.canvas.addEventListener(type, (e) => this.up(e));
    // no context menu or page scroll while drawing with a finger (touch-action: none in the CSS too)
    this.canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  clear() {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.size, this.size);
    this.empty = true;
    this.showing = false;
  }

  // Show a picture (the dataset sample being inspected) until the next stroke clears it.
  show(image) {
    this.ctx.imageSmoothingEnabled = false; // its pixels, as the network gets them
    this.ctx.drawImage(image, 0, 0, this.size, this.size);
    this.empty = true;
    this.showing = true;
  }

  // The event's position in canvas pixels (the canvas may be shown smaller than it is).
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (this.size / (r.width || this.size)),
            (e.clientY - r.top) * (this.size / (r.height || this.size))];
  }

  down(e) {
    if (this.pointer !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    if (this.showing) this.clear(); // a stroke starts a drawing of one's own
    this.pointer = e.pointerId;
    try { this.canvas.setPointerCapture(e.pointerId); } catch { /* synthetic events have no capture */ }
    this.last = this.point(e);
    this.dot(this.last);
    this.onDraw();
  }

  move(e) {
    if (e.pointerId !== this.pointer) return;
    e.preventDefault();
    // coalesced events give the whole path of a fast stroke
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const c of events.length ? events : [e]) {
      const p = this.point(c);
      this.line(this.last, p);
      this.last = p;
    }
    this.onDraw();
  }

  up(e) {
    if (e.pointerId !== this.pointer) return;
    this.pointer = null;
    this.last = null;
    try { this.canvas.releasePointerCapture(e.pointerId); } catch { /* already released */ }
    this.onEnd();
  }

  dot([x, y]) {
    this.ctx.fillStyle = "#fff";
    this.ctx.beginPath();
    this.ctx.arc(x, y, this.brush / 2, 0, 2 * Math.PI);
    this.ctx.fill();
    this.empty = false;
  }

  line([x0, y0], [x1, y1]) {
    const c = this.ctx;
    c.strokeStyle = "#fff";
    c.lineWidth = this.brush;
    c.lineCap = "round";
    c.lineJoin = "round";
    c.beginPath();
    c.moveTo(x0, y0);
    c.lineTo(x1, y1);
    c.stroke();
    this.empty = false;
  }

  // The drawing as an (h, w) list of 0-255 numbers. When the pad's side is a whole
  // multiple of h and w, this averages whole blocks, exactly what the server does
  // with a 280x280 canvas (and far less to send); otherwise the full canvas goes
  // and the server resizes it (box filter).
  pixels(h = this.size, w = this.size) {
    const n = this.size;
    const data = this.ctx.getImageData(0, 0, n, n).data;
    if (!(h > 0 && w > 0 && n % h === 0 && n % w === 0)) {
      h = n; w = n;
    }
    const fy = n / h, fx = n / w, area = fy * fx;
    const out = [];
    for (let i = 0; i < h; i++) {
      const row = new Array(w);
      for (let j = 0; j < w; j++) {
        let s = 0;
        for (let y = i * fy; y < (i + 1) * fy; y++) {
          let k = (y * n + j * fx) * 4;
          for (let x = 0; x < fx; x++, k += 4) s += data[k]; // red = grey: the pad is black and white
        }
        row[j] = Math.round((s / area) * 100) / 100;
      }
      out.push(row);
    }
    return out;
  }
}

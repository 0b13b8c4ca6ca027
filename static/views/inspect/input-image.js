// The input under the pictures that lay something over it (saliency, occlusion, a unit's
// receptive field), drawn on a canvas of its own size for CSS to scale.

import { extent } from "./colours.js";

// The input as the network sees it, grey for one channel and colour for three, each
// channel stretched over its own range.
export function drawInput(canvas, { shape: [c, h, w], values }) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const channel = (ch) => values.subarray(ch * h * w, (ch + 1) * h * w);
  const ranges = Array.from({ length: c }, (_, ch) => extent(channel(ch)));
  for (let k = 0; k < h * w; k++) {
    for (let ch = 0; ch < 3; ch++) {
      const from = c === 3 ? ch : 0;
      const { min, max } = ranges[from];
      const v = (values[from * h * w + k] - min) / (max > min ? max - min : 1);
      image.data[k * 4 + ch] = Math.round(255 * v);
    }
    image.data[k * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

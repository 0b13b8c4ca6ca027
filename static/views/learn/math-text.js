// Lesson text with its subscripts set as subscripts: "N_in" is N with "in" below,
// "σ²_B" is σ² with B below. Only a single letter (Latin or Greek, maybe squared) takes
// one, so names such as fan_in, he_normal or kernel_size stay as they are written.
// Built from text nodes and <sub> elements, never from HTML.

const SUBSCRIPT = /(?<![\p{L}\p{N}_])(\p{L}[²³]?)_([\p{L}\p{N}]+)/gu;

export function mathText(text) {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const m of String(text).matchAll(SUBSCRIPT)) {
    out.append(text.slice(at, m.index) + m[1]);
    const sub = document.createElement("sub");
    sub.textContent = m[2];
    out.append(sub);
    at = m.index + m[0].length;
  }
  out.append(String(text).slice(at));
  return out;
}

// Round tick values for chart axes: steps of 1, 2, 2.5 or 5 times a power of ten, so a student reads
// 0.5 and 1.0 off the axis, never 0.4783. The first and last ticks enclose the data, so
// the axis ends on a labelled line.

// Ticks from at most lo to at least hi, about `count` steps apart.
export function linearTicks(lo, hi, count = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw * 0.999);
  const first = Math.floor(lo / step + 1e-9) * step;
  const out = [];
  for (let v = first; v < hi + step - 1e-9 * step; v += step) out.push(round(v, step));
  if (out[out.length - 1] < hi) out.push(round(out[out.length - 1] + step, step));
  return out;
}

// Ticks on a log axis: every power of ten, and 2 and 5 times it when the data spans
// less than three decades (and 3 times it within one decade), enclosing [lo, hi]; never
// closer than a sixth of a decade, so their labels do not overlap.
export function logTicks(lo, hi) {
  if (!(lo > 0)) lo = hi > 0 ? hi / 100 : 0.1;
  if (!(hi > lo)) hi = lo * 10;
  const decades = Math.log10(hi / lo);
  const steps = decades < 1 ? [1, 2, 3, 5] : decades < 3 ? [1, 2, 5] : [1];
  const all = [];
  for (let p = Math.floor(Math.log10(lo)) - 1; p <= Math.ceil(Math.log10(hi)); p++) {
    for (const m of steps) all.push(round(m * 10 ** p, 10 ** p));
  }
  const below = all.filter((v) => v <= lo * (1 + 1e-9));
  const above = all.filter((v) => v >= hi * (1 - 1e-9));
  const from = below.length ? below[below.length - 1] : all[0];
  const to = above.length ? above[0] : all[all.length - 1];
  return all.filter((v) => v >= from && v <= to);
}

// A tick's text: no trailing zeros, no float noise (0.30000000000000004 is 0.3).
export function formatTick(v) {
  if (v === 0) return "0";
  return String(Number(v.toPrecision(6)));
}

function round(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(digits, 20)));
}

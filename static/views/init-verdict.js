// The Initialization view's verdicts: one sentence per stack that says what its measured
// standard deviations do from the first layer to the last, with the factor, so the words
// never say "the same range" while the chart shows the signal three times smaller.

// A number as a student reads it: two significant digits, powers of ten when far from 1.
export function short(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  if (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(2)));
}

// Within a factor of SAME the size counts as kept; past a factor of FAR it has vanished or
// exploded; between the two it is said to shrink or grow, with the factor.
export const SAME = 2;
export const FAR = 100;

// How a size changed by `ratio` (later over earlier): a kind and the words for it; `along`
// says where it changes ("with depth", "on the way back").
export function change(ratio, along) {
  if (ratio >= 1 / SAME && ratio <= SAME) return { kind: "constant", words: "about the same size" };
  const larger = ratio > 1;
  const times = `${short(larger ? ratio : 1 / ratio)} times ${larger ? "larger" : "smaller"}`;
  if (ratio < 1 / FAR) return { kind: "vanish", words: `${times}: vanishing` };
  if (ratio > FAR) return { kind: "explode", words: `${times}: exploding` };
  const trend = larger ? "growing" : "shrinking";
  return { kind: larger ? "grow" : "shrink", words: `${times}: ${trend} ${along}` };
}

const FROM_NOTHING = { kind: "explode", words: "growing from nothing" };
const broken = (v) => v === null || !Number.isFinite(v);

// The share of a tanh layer's outputs that sit where tanh is flat (|a| > 0.9).
function saturated({ counts, edges }) {
  const total = counts.reduce((s, n) => s + n, 0);
  const centre = (i) => (edges[i] + edges[i + 1]) / 2;
  const flat = counts.reduce((s, n, i) => s + (Math.abs(centre(i)) > 0.9 ? n : 0), 0);
  return flat / Math.max(1, total);
}

// values: the std of each layer's activations, first layer first; layers: the stats rows
// (the top layer's histogram tells saturated tanh units).
export function verdictActs(values, activation, layers) {
  const D = values.length;
  const k = values.findIndex(broken);
  if (k >= 0) {
    return { kind: "explode", text: `Activations overflow to infinity from layer ${k + 1}.` };
  }
  if (values.every((v) => v === 0)) {
    return { kind: "dead", text: "Activations: std 0 at every layer: all units compute the same "
      + "value, so the network is dead (it cannot break the symmetry)." };
  }
  const first = values[0], last = values[D - 1];
  const { kind: how, words } = first > 0 ? change(last / first, "with depth") : FROM_NOTHING;
  let kind = how;
  let text = `Activations: std ${short(first)} at layer 1 → ${short(last)} at layer ${D}, `
    + `${words}.`;
  const top = layers && layers[D - 1] && layers[D - 1].activation;
  if (activation === "tanh" && top && top.histogram.counts.length) {
    const share = saturated(top.histogram);
    if (share > 0.5) {
      text += ` ${Math.round(100 * share)}% of the tanh outputs at layer ${D} are saturated `
        + "(|a| > 0.9), where tanh' ≈ 0.";
      if (kind === "constant") kind = "saturated";
    }
  }
  return { kind, text };
}

// values: the std of the gradient reaching each layer's output, first layer first.
export function verdictGrads(values) {
  const D = values.length;
  if (values.some(broken)) return { kind: "explode", text: "Gradients overflow to infinity." };
  if (values.every((v) => v === 0)) {
    return { kind: "dead", text: "Gradients: 0 at every layer: no weight ever changes." };
  }
  const g1 = values[0], gD = values[D - 1];
  // backward, layer D's gradient is passed down to layer 1
  const { kind, words } = gD > 0 ? change(g1 / gD, "on the way back") : FROM_NOTHING;
  const pos = values.filter((v) => v > 0);
  const spread = Math.max(...pos) / Math.min(...pos);
  const apart = kind === "constant" && spread > SAME
    ? ` (but ${short(spread)} times apart between layers)` : "";
  const text = `Gradients: std ${short(gD)} at layer ${D} → ${short(g1)} at layer 1, `
    + `${words}${apart}.`;
  return { kind, text };
}

// ---- a stack without and with batch norm, side by side ---------------------------------------

// What one stack's values do from one end to the other: activations from layer 1 to the last,
// gradients (backward) from the last layer to layer 1. spread: the largest over the smallest.
function ends(values, backward) {
  const D = values.length;
  const k = values.findIndex(broken);
  if (k >= 0) return { overflow: k + 1 };
  if (values.every((v) => v === 0)) return { zero: true };
  const [from, to] = backward ? [D, 1] : [1, D];
  const pos = values.filter((v) => v > 0);
  return { from, to, ratio: values[from - 1] > 0 ? values[to - 1] / values[from - 1] : Infinity,
    spread: Math.max(...pos) / Math.min(...pos) };
}

// "5.0e+10 times larger at layer 15 than at layer 1"
function factor({ from, to, ratio }) {
  if (ratio === Infinity) return `0 at layer ${from} but not at layer ${to}`;
  const larger = ratio > 1;
  const times = short(larger ? ratio : 1 / ratio);
  return `${times} times ${larger ? "larger" : "smaller"} at layer ${to} than at layer ${from}`;
}

const TREND = {
  explode: " (exploding)", vanish: " (vanishing)", grow: " (growing)", shrink: " (shrinking)",
};

// One sentence setting the two stacks' std per layer side by side, from the numbers alone:
// what = "activations" or "gradients"; plain and normed: the std of each layer, layer 1 first.
export function compareBatchNorm(what, plain, normed) {
  const backward = what === "gradients";
  const p = ends(plain, backward), n = ends(normed, backward);
  const Q = what[0].toUpperCase() + what.slice(1);
  let without;
  if (p.overflow) without = `overflow to infinity from layer ${p.overflow}`;
  else if (p.zero) without = "are 0 at every layer";
  else without = `are ${factor(p)}${TREND[change(p.ratio, "").kind] || ""}`;
  let withIt;
  if (n.overflow) withIt = `they overflow too, from layer ${n.overflow}`;
  else if (n.zero) withIt = "they are 0 at every layer too";
  else if (n.spread <= SAME) {
    const within = n.spread.toPrecision(3);
    withIt = `they stay within a factor of ${within} at all ${normed.length} layers`;
  }
  else withIt = `they are ${factor(n)}, and up to ${short(n.spread)} times apart between layers`;
  return `${Q} without batch norm ${without}; with it, ${withIt}.`;
}

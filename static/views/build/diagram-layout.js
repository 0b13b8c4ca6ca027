// Where everything of the network diagram goes, as plain numbers (no DOM): the flow runs
// left to right, as in the AlexNet and VGG figures and CNN Explainer. A layer is a block
// whose height grows with its output's height and whose width grows with its channels,
// both on log scales, so that VGG16's 3x224x224 input and its 512x7x7 maps are both
// visible, and a vector (flatten, linear) is a flat bar as wide as its length says.
// Layers that keep the shape (activations, dropout, normalization) are thin slices.
// Above a block its parameter count; below a lane, two rows: the channels, then height x
// width, each said once for a run of layers that share it. A residual or concat block
// is a frame whose lanes fork, run one under the other and join; when the whole does
// not fit, the largest blocks are shown collapsed, as one block, before any text shrinks.

import { walk } from "./diagram-tree.js";

export const SIZES = {
  font: 13, // every label, in CSS pixels: readable from the back of a room
  rowGap: 4, // between a block and its labels, and between label rows
  hMin: 8, hMax: 124, // a block's height: 1x1 .. the network's largest image
  wMin: 6, wMax: 46, wThin: 7, // a block's width: 1 channel .. the most channels
  gap: 5, // between blocks in a lane
  fork: 18, // where a block's lanes split, and where they meet the join
  joinR: 10,
  laneGap: 10,
  header: 22, // a block frame's title row, with its close button
  stack: 4, // the offset of a collapsed block's second outline
  pad: 8,
};

// 64x224x224 -> {channels: 64, height: 224, size: "224×224"}; [4096] -> a vector.
export function dims(shape) {
  if (!Array.isArray(shape) || !shape.length) return null;
  const [c, h, w] = shape;
  if (shape.length === 1) return { channels: c, height: 1, size: null };
  if (shape.length === 2) return { channels: c, height: h, size: String(h) };
  return { channels: c, height: h, size: `${h}×${w}` };
}

const log = (v) => Math.log(Math.max(1, v));
const lerp = (a, b, t) => a + (b - a) * t;

// "1.8k", "590k", "2.4M", "103M": a parameter count that fits over a narrow block.
export function compact(n) {
  if (n < 1000) return String(n);
  const [div, unit] = n < 1e6 ? [1e3, "k"] : n < 1e9 ? [1e6, "M"] : [1e9, "G"];
  const v = n / div;
  return `${v < 10 ? v.toFixed(1).replace(/\.0$/, "") : Math.round(v)}${unit}`;
}

// Images (C x H x W) and vectors (a flatten's or a linear layer's features) each have their
// own width scale: VGG16's 25,088 features would otherwise squeeze its 64..512 channels.
function scales(tree, sizes) {
  let maxH = 1;
  const maxC = { image: 1, vector: 1 };
  const take = (shape) => {
    const d = dims(shape);
    if (!d) return;
    maxH = Math.max(maxH, d.height);
    const kind = d.size === null ? "vector" : "image";
    maxC[kind] = Math.max(maxC[kind], d.channels);
  };
  take(tree.input);
  for (const n of walk(tree.items)) if (n.row) take(n.row.output_shape);
  const along = (v, max) => (max > 1 ? log(v) / log(max) : 0);
  return {
    height: (h) => Math.round(lerp(sizes.hMin, sizes.hMax, along(h, maxH))),
    width: (d) => Math.round(lerp(sizes.wMin, sizes.wMax,
      along(d.channels, maxC[d.size === null ? "vector" : "image"]))),
  };
}

// One layout with the given blocks expanded.
function layoutOnce(tree, { sizes, measure, isExpanded, failed }) {
  const S = sizes;
  const scale = scales(tree, S);
  const textWidth = (t) => measure(String(t), S.font);
  const labelRow = S.font + S.rowGap;

  function leafSlot(node, collapsed) {
    const shape = node.input ? node.shape : node.row && node.row.output_shape;
    const bad = !node.input && (!node.row || failed.has(node.path));
    const d = bad ? null : dims(shape);
    // a layer without numbers (in error) has a size of its own, none of its last shape's
    const h = d ? scale.height(d.height) : Math.round(S.hMax / 3);
    const w = !d ? 2 * S.wThin : node.thin ? S.wThin : scale.width(d);
    const failedHere = failed.has(node.path);
    const params = failedHere ? "error"
      : !bad && node.row && node.row.params ? compact(node.row.params) : null;
    const extra = collapsed ? S.stack : 0;
    const slotW = Math.max(w + extra, params ? textWidth(params) + 6 : 0);
    return { kind: "leaf", node, collapsed, bad, d, w, h, params, slotW };
  }

  function lane(items, leading) {
    const slots = [...(leading ? [leading] : []), ...items.map((n) => (n.lanes && isExpanded(n)
      ? { kind: "group", node: n, box: group(n) }
      : leafSlot(n, Boolean(n.lanes))))];
    for (const s of slots) if (s.kind === "group") s.slotW = s.box.width;
    const leaves = slots.filter((s) => s.kind === "leaf");
    const half = Math.max(S.hMin, ...leaves.map((s) => s.h)) / 2;
    const hasParams = leaves.some((s) => s.params);
    const hasLabels = leaves.some((s) => s.d);
    const leafUp = half + (hasParams ? labelRow + 2 : 2);
    const leafDown = half + (hasLabels ? 2 * labelRow + 4 : 2);

    // runs of blocks that share their channels (or size) get one label, and room for it
    const runs = { channels: [], size: [] };
    const pre = slots.map(() => ({ channels: 0, size: 0 }));
    const post = slots.map(() => ({ channels: 0, size: 0 }));
    for (const row of ["channels", "size"]) {
      let start = -1;
      const close = (end) => {
        if (start < 0) return;
        const key = slots[start].d[row];
        if (key !== null && key !== undefined) {
          let span = 0;
          for (let i = start; i <= end; i++) span += slots[i].slotW + (i > start ? S.gap : 0);
          const need = textWidth(key) + 10 - span;
          if (need > 0) {
            pre[start][row] += need / 2;
            post[end][row] += need / 2;
          }
          runs[row].push({ start, end, text: String(key) });
        }
        start = -1;
      };
      slots.forEach((s, i) => {
        const key = s.kind === "leaf" && s.d ? s.d[row] : undefined;
        if (start >= 0 && (key === undefined || key !== slots[start].d[row])) close(i - 1);
        if (start < 0 && key !== undefined) start = i;
      });
      close(slots.length - 1);
    }
    const xs = [];
    let x = 0;
    slots.forEach((s, i) => {
      const before = i === 0 ? Math.max(pre[0].channels, pre[0].size)
        : S.gap + Math.max(post[i - 1].channels + pre[i].channels, post[i - 1].size + pre[i].size);
      x += before;
      xs.push(x);
      x += s.slotW;
    });
    const last = slots.length - 1;
    const width = slots.length ? x + Math.max(post[last].channels, post[last].size) : 0;
    const up = Math.max(leafUp, ...slots.filter((s) => s.kind === "group").map((s) => s.box.up));
    const down = Math.max(leafDown,
      ...slots.filter((s) => s.kind === "group").map((s) => s.box.down));

    function place(x0, axis, out) {
      if (width) out.edges.push({ kind: "axis", d: `M${x0},${axis}H${x0 + width}` });
      slots.forEach((s, i) => {
        const sx = x0 + xs[i];
        if (s.kind === "group") { s.box.place(sx, axis, out); return; }
        const bx = sx + (s.slotW - s.w - (s.collapsed ? S.stack : 0)) / 2;
        out.blocks.push({ node: s.node, x: bx, y: axis - s.h / 2, w: s.w, h: s.h,
          collapsed: s.collapsed, bad: s.bad, stack: S.stack });
        if (s.params) {
          out.labels.push({ kind: s.params === "error" ? "error" : "params", x: sx + s.slotW / 2,
            y: axis - half - S.rowGap - 2, text: s.params, path: s.node.path });
        }
      });
      const rowY = { channels: axis + half + S.rowGap + S.font,
        size: axis + half + 2 * S.rowGap + 2 * S.font + 2 };
      for (const row of ["channels", "size"]) {
        for (const r of runs[row]) {
          const x1 = x0 + xs[r.start];
          const x2 = x0 + xs[r.end] + slots[r.end].slotW;
          out.labels.push({ kind: row, x: (x1 + x2) / 2, x1, x2, y: rowY[row], text: r.text });
        }
      }
    }
    return { width, up, down, place };
  }

  function group(node) {
    const lanes = node.lanes.map((l) => ({ lane: l, box: l.items.length ? lane(l.items) : null }));
    const inner = Math.max(24, ...lanes.map((l) => (l.box ? l.box.width : 0)));
    // what the lanes add up to, e.g. an Inception module's concatenated channels
    const out = node.row ? ` → ${node.row.output_shape.join("×")}` : "";
    const title = `${node.name || node.type}${out}`;
    const toggle = S.header - 2;
    const width = Math.max(S.fork + inner + S.fork + 2 * S.joinR + 4,
      textWidth(title) + 16 + toggle);
    const first = lanes[0];
    const firstUp = first && first.box ? first.box.up : 8;
    const firstDown = first && first.box ? first.box.down : 8;
    const up = S.header + firstUp + 4;
    const offsets = [0];
    let down = firstDown;
    for (const l of lanes.slice(1)) {
      const lu = l.box ? l.box.up : 8;
      offsets.push(down + S.laneGap + lu);
      down += S.laneGap + lu + (l.box ? l.box.down : 8);
    }
    down += 6;

    function place(x0, axis, out) {
      out.frames.push({ node, x: x0, y: axis - up, w: width, h: up + down, title,
        titleY: axis - up + S.font + 3,
        toggle: { x: x0 + width - toggle - 2, y: axis - up + 2, size: toggle } });
      const laneX = x0 + S.fork;
      const jx = x0 + width - S.joinR - 4;
      lanes.forEach((l, k) => {
        const ly = axis + offsets[k];
        const lw = l.box ? l.box.width : 0;
        const lu = l.box ? l.box.up : 8;
        const ld = l.box ? l.box.down : 8;
        out.lanes.push({ of: node.path, key: l.lane.key, title: l.lane.title, identity: !l.box,
          x: laneX, y: ly - lu, w: inner, h: lu + ld });
        const bend = x0 + S.fork / 2;
        const into = k === 0 ? `H${jx - S.joinR}` : `H${jx}V${axis + S.joinR}`;
        if (!l.box) {
          out.edges.push({ kind: "identity", to: node.path, lane: l.lane.key,
            d: `M${x0},${axis}H${bend}V${ly}H${laneX}${into}` });
          return;
        }
        if (k > 0) out.edges.push({ kind: "fork", d: `M${bend},${axis}V${ly}H${laneX}` });
        l.box.place(laneX, ly, out);
        out.edges.push({ kind: "join", to: node.path, lane: l.lane.key,
          d: `M${laneX + lw},${ly}${into}` });
      });
      out.joins.push({ node, x: jx, y: axis, r: S.joinR });
    }
    return { width, up, down, place };
  }

  const input = leafSlot({ input: true, path: "input", shape: tree.input, thin: false }, false);
  const top = lane(tree.items, input);
  const out = { blocks: [], labels: [], edges: [], joins: [], frames: [], lanes: [] };
  top.place(S.pad, S.pad + top.up, out);
  return { ...out, width: Math.ceil(top.width + 2 * S.pad),
    height: Math.ceil(top.up + top.down + 2 * S.pad) };
}

// A small network (LeNet-5) is drawn larger, when it fits as it is, to fill a projector.
const ROOMY = { hMax: 150, wMax: 72, wThin: 10, gap: 12 };

// The layout that fits maxWidth x maxHeight: blocks the student opened or closed stay so
// (chosen: path -> expanded), the others are open unless the whole would not fit, the
// largest closed first; then narrower blocks; what still does not fit scrolls.
export function layoutNetwork(tree, { measure, maxWidth = Infinity, maxHeight = Infinity,
  chosen = new Map(), failed = new Set(), sizes = {} } = {}) {
  // a phone's diagram scrolls sideways anyway: lower blocks leave it more of the screen
  let S = { ...SIZES, ...(maxWidth < 600 ? { hMax: 90 } : {}), ...sizes };
  const open = new Set();
  for (const n of walk(tree.items)) if (n.lanes && !chosen.has(n.path)) open.add(n.path);
  const isExpanded = (n) => (chosen.has(n.path) ? chosen.get(n.path) : open.has(n.path));
  const fits = (l) => l.width <= maxWidth && l.height <= maxHeight;
  if (maxWidth >= 600) {
    const roomy = layoutOnce(tree, { sizes: { ...S, ...ROOMY, ...sizes }, measure, isExpanded,
      failed });
    if (fits(roomy)) return { ...roomy, expanded: (path) => isExpanded({ path }) };
  }
  let layout = layoutOnce(tree, { sizes: S, measure, isExpanded, failed });
  while (!fits(layout)) {
    const auto = layout.frames.filter((f) => open.has(f.node.path));
    if (!auto.length) break;
    const largest = auto.reduce((a, b) => (b.w * b.h > a.w * a.h ? b : a));
    open.delete(largest.node.path);
    layout = layoutOnce(tree, { sizes: S, measure, isExpanded, failed });
  }
  for (const wMax of [34, 24]) {
    if (layout.width <= maxWidth) break;
    S = { ...S, wMax, gap: 4 };
    layout = layoutOnce(tree, { sizes: S, measure, isExpanded, failed });
  }
  return { ...layout, expanded: (path) => isExpanded({ path }) };
}

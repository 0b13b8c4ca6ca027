// The network diagram's layout drawn as SVG, at one CSS pixel per unit (so its text is the
// size the layout chose, never scaled down to fit). Every block is a focusable element
// named for a screen reader by its layer, output shape and parameter count; the layer's
// path is in its tooltip.

import { fmt } from "../../ui.js";
import { walk } from "./diagram-tree.js";

const NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const JOIN_SIGN = { add: "+", concat: "‖" };
const JOIN_SAYS = { add: "added", concat: "concatenated along channels" };

// What a screen reader says for a block, and what its tooltip shows.
export function blockLabel(node, { error } = {}) {
  if (node.input) return `input: ${fmt.shape(node.shape)}`;
  const who = node.name ? `${node.label} (${node.type})` : node.label;
  if (error !== undefined) return `${who}: error${error ? `: ${error}` : ""}`;
  if (!node.row) return `${who}: no numbers yet`;
  const r = node.row;
  let text = `${who}: output ${fmt.shape(r.output_shape)}, ${fmt.int(r.params)} parameters`;
  if (node.lanes) {
    const lanes = node.join === "concat" ? `${node.lanes.length} branches`
      : "a body and a shortcut";
    text += `${r.block ? " in all" : ""}; ${lanes}, ${JOIN_SAYS[node.join]}`;
  }
  return text;
}

function blockElement(b, errors) {
  const node = b.node;
  const failed = errors.has(node.path);
  const label = blockLabel(node, failed ? { error: errors.get(node.path) } : {});
  const r = node.row;
  const showNumbers = r && !failed;
  const g = svg("g", {
    class: ["diagram-block", `family-${node.input ? "input" : node.family}`,
      node.thin && "is-thin", b.collapsed && "is-collapsed", b.bad && "is-bad"]
      .filter(Boolean).join(" "),
    role: "button", tabindex: -1, "aria-label": label,
    "data-block-path": node.input ? null : node.path, "data-block-input": node.input || null,
    "data-block-type": node.input ? null : node.type,
    "data-block-shape": node.input ? fmt.shape(node.shape)
      : showNumbers ? fmt.shape(r.output_shape) : null,
    "data-block-params": showNumbers ? r.params : null,
    "data-block-error": failed || null,
    "aria-expanded": b.collapsed ? "false" : null,
  }, svg("title", {}, node.input ? label : `${label}\n${node.path}`));
  if (b.collapsed) {
    g.append(svg("rect", { class: "block-stack", x: b.x + b.stack, y: b.y - b.stack,
      width: b.w, height: b.h, rx: 2 }));
  }
  g.append(svg("rect", { class: "block-box", "data-block-box": true, x: b.x, y: b.y,
    width: b.w, height: b.h, rx: node.thin ? 1 : 2 }));
  if (b.collapsed && b.w >= 10 && b.h >= 14) {
    const cx = b.x + b.w / 2;
    const cy = b.y + b.h / 2;
    g.append(svg("path", { class: "block-plus", d: `M${cx - 4},${cy}h8M${cx},${cy - 4}v8` }));
  }
  return g;
}

// An open block: its frame (which goes to the block's card, as any block does) and a
// button in its corner that closes it again.
function frameElement(f) {
  const node = f.node;
  const name = node.name || node.label;
  const t = f.toggle;
  return svg("g", { class: "diagram-frame-group" },
    svg("g", { class: "diagram-frame", role: "button", tabindex: -1,
      "aria-label": blockLabel(node), "data-block-path": node.path, "data-block-type": node.type,
      "data-block-shape": node.row ? fmt.shape(node.row.output_shape) : null,
      "data-block-params": node.row ? node.row.params : null },
    svg("title", {}, `${blockLabel(node)}\n${node.path}`),
    svg("rect", { class: "frame-box", "data-block-box": true, x: f.x, y: f.y, width: f.w,
      height: f.h, rx: 6 }),
    svg("text", { class: "frame-title", x: f.x + 8, y: f.titleY }, f.title)),
    svg("g", { class: "diagram-toggle", role: "button", tabindex: -1, "aria-expanded": "true",
      "aria-label": `close ${name}`, "data-block-toggle": node.path },
    svg("title", {}, `close ${name}: show it as one block`),
    svg("rect", { x: t.x, y: t.y, width: t.size, height: t.size, rx: 3 }),
    svg("path", { d: `M${t.x + 5},${t.y + t.size / 2}h${t.size - 10}` })));
}

function labelElement(l) {
  const text = svg("text", { class: `diagram-label label-${l.kind}`, x: l.x, y: l.y,
    "text-anchor": "middle" }, l.text);
  if (l.kind === "params" || l.kind === "error" || l.x2 - l.x1 < 40) return text;
  // a bracket under the run of blocks this label speaks for
  const y = l.y - 13 - 1;
  return svg("g", {}, svg("path", { class: "label-bracket",
    d: `M${l.x1 + 2},${y - 3}V${y}H${l.x2 - 2}V${y - 3}` }), text);
}

// The layout as an <svg>; errors: path -> message of the layers in error.
export function drawDiagram(layout, tree, { errors = new Map(), title = "" } = {}) {
  const blocks = new Map(layout.blocks.map((b) => [b.node.path, b]));
  const frames = new Map(layout.frames.map((f) => [f.node.path, f]));
  const root = svg("svg", { class: "diagram-svg", width: layout.width, height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`, role: "group", "aria-label": title });
  root.append(svg("g", { class: "diagram-edges", "aria-hidden": "true" },
    layout.edges.map((e) => svg("path", { class: `edge edge-${e.kind}`, d: e.d,
      "data-edge-to": e.to, "data-edge-lane": e.lane }))));
  root.append(svg("g", { class: "diagram-lanes", "aria-hidden": "true" },
    layout.lanes.map((l) => svg("rect", { class: "diagram-lane", x: l.x, y: l.y, width: l.w,
      height: l.h, "data-lane-of": l.of, "data-lane": l.key,
      "data-identity": l.identity || null }))));
  // in the order of the summary's rows, so Tab and the arrow keys follow the network
  const items = [blockElement(blocks.get("input"), errors)];
  for (const node of walk(tree.items)) {
    if (frames.has(node.path)) items.push(frameElement(frames.get(node.path)));
    else if (blocks.has(node.path)) items.push(blockElement(blocks.get(node.path), errors));
  }
  root.append(svg("g", { class: "diagram-blocks" }, items));
  root.append(svg("g", { class: "diagram-joins", "aria-hidden": "true" },
    layout.joins.map((j) => svg("g", { class: `diagram-join join-${j.node.join}`,
      "data-join-of": j.node.path, "data-join": j.node.join },
    svg("circle", { cx: j.x, cy: j.y, r: j.r }),
    svg("text", { x: j.x, y: j.y + 5, "text-anchor": "middle" }, JOIN_SIGN[j.node.join])))));
  root.append(svg("g", { class: "diagram-labels", "aria-hidden": "true" },
    layout.labels.map(labelElement)));
  return root;
}

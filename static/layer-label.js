// A layer's place in the spec, as the engine names it: its path ("layers[8].branches[1][2]").

// "layers[8].branches[1][2]" -> ["layers", 8, "branches", 1, 2]
export function parsePath(path) {
  return [...String(path).matchAll(/([A-Za-z_]+)|\[(\d+)\]/g)]
    .map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

// ["layers", 3, "body", 0] -> "layers[3].body[0]"
export function pathString(parts) {
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : (i ? "." : "") + p)).join("");
}

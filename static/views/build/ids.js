// Unique element ids for labels and descriptions within the Build view.
let count = 0;

export function uid(prefix) {
  count += 1;
  return `build-${prefix}-${count}`;
}

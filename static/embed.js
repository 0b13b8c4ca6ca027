// The page as a lesson's live widget: /?embed=conv&part=backward#s=... shows that one
// view and nothing else of the page (no header, no tabs), set up from the hash as a
// shared link is, with the named part of the view brought into sight and marked. The
// Learn view shows it in an iframe, so a lesson's setup never replaces the student's
// own network, and the view is the very one the student uses, not a copy.

export const EMBEDDABLE = ["data", "build", "train", "inspect", "conv", "init"];

// {view, part} when this page is a widget, else null.
export function embedding(search) {
  const query = new URLSearchParams(search);
  const view = query.get("embed");
  if (!EMBEDDABLE.includes(view)) return null;
  return { view, part: query.get("part") };
}

// What ends the page's hold on the part: the student moving about the view.
const MOVES = ["wheel", "touchstart", "keydown", "pointerdown"];

// A view's part is its element [data-<view>-<part>] (data-conv-backward, data-init-residual).
// It is kept in sight while the view fills in above it (samples, maps, results arrive
// later and push it down), until the student scrolls or clicks.
export function showPart(root, view, part) {
  if (!part || !/^[a-z]+$/.test(part)) return;
  const target = root.querySelector(`[data-${view}-${part}]`);
  if (!target) return;
  target.classList.add("embed-part");
  // scrollTo, not scrollIntoView: that would scroll the lesson's page around the iframe too
  const bring = () => window.scrollTo({ top: Math.max(0, target.getBoundingClientRect().top + window.scrollY - 8) });
  const observer = new ResizeObserver(bring);
  observer.observe(root);
  const stop = () => {
    observer.disconnect();
    for (const type of MOVES) window.removeEventListener(type, stop, true);
  };
  for (const type of MOVES) window.addEventListener(type, stop, { capture: true, passive: true });
  bring();
}

// The page's state in one place. Views read it in render(state) and change it
// only through store.set(); every change fires "change". The shareable part
// (spec, dataset, hyperparameters, seed, view, lesson) round-trips through the URL hash.
// The page's own URL also names its server network (net=), so a reload comes back
// to it and its run; a shared link never does: whoever opens it gets a network of
// their own instead of training the sharer's.

// Only the page's own choices: every other training option starts at the server's
// default (GET /api/train/options), so the two cannot differ. lr 0.05: a first epoch
// visibly learns. dropout is the network's, not a run option.
export const DEFAULT_HYPER = { lr: 0.05, dropout: 0, augment: {} };

const SHARED = ["view", "spec", "preset", "dataset", "hyper", "seed", "lesson"];

export class Store extends EventTarget {
  constructor(initial) {
    super();
    this.state = {
      view: "build", spec: null, preset: "lenet5", dataset: "strokes", hyper: { ...DEFAULT_HYPER }, seed: 0,
      lesson: null, // the Learn view's lesson; null: the first
      networkId: null, networkSpecKey: null, runs: [], activeRun: null, summary: null,
      notice: null, // a quiet message for the whole page (not an error)
      ...initial,
    };
  }

  set(patch) {
    const changed = Object.keys(patch).filter((k) => this.state[k] !== patch[k]);
    if (!changed.length) return;
    this.state = { ...this.state, ...patch };
    this.dispatchEvent(new CustomEvent("change", { detail: { changed, state: this.state } }));
    if (changed.some((k) => SHARED.includes(k) || k === "networkId")) this.writeHash();
  }

  // The shareable setup as a URL-safe string.
  toHash() {
    const shared = {};
    for (const k of SHARED) shared[k] = this.state[k];
    return Store.encode(shared);
  }

  // Any part of the shareable setup as a hash (what parseHash reads back), e.g. a lesson's widget.
  static encode(shared) {
    const bytes = new TextEncoder().encode(JSON.stringify(shared));
    let bin = "";
    bytes.forEach((b) => { bin += String.fromCharCode(b); });
    return "s=" + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  static parseHash(hash) {
    const m = /(?:^#?|&)s=([A-Za-z0-9_-]+)/.exec(hash || "");
    if (!m) return {};
    try {
      const b64 = m[1].replace(/-/g, "+").replace(/_/g, "/");
      const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      const shared = JSON.parse(new TextDecoder().decode(bytes));
      const out = {};
      for (const k of SHARED) if (k in shared) out[k] = shared[k];
      if (out.hyper) out.hyper = { ...DEFAULT_HYPER, ...out.hyper };
      return out;
    } catch {
      return { hashError: "the shared link could not be read; starting from the default setup" };
    }
  }

  // The id of the network a page URL names, or null.
  static linkedNetwork(hash) {
    const m = /(?:^#?|&)net=([A-Za-z0-9_-]+)/.exec(hash || "");
    return m ? m[1] : null;
  }

  writeHash() {
    const net = this.state.networkId ? `&net=${this.state.networkId}` : "";
    const hash = "#" + this.toHash() + net;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  shareUrl() {
    return `${location.origin}${location.pathname}#${this.toHash()}`;
  }
}

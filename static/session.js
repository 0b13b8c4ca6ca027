// The network on the server that matches the spec being edited. Views that need
// weights (train, inspect, initialization) call network(); it builds the spec on
// the server when the spec or the seed changed since the last build.

import { api } from "./api.js";

// JSON with sorted keys: the same spec read back from the server gives the same key.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export class Session {
  constructor(store) {
    this.store = store;
    this.building = null;
  }

  specKey(state) {
    return canonical([state.spec, state.seed]);
  }

  // The id of a server network for the current spec and seed, building it if needed.
  async network() {
    const state = this.store.state;
    const key = this.specKey(state);
    if (state.networkId && state.networkSpecKey === key) return state.networkId;
    if (this.building && this.building.key === key) return this.building.promise;
    const promise = api.createNetwork({ spec: state.spec, seed: state.seed, name: state.preset || "my network" })
      .then((net) => {
        if (this.specKey(this.store.state) === key) this.store.set({ networkId: net.id, networkSpecKey: key });
        return net.id;
      })
      .finally(() => { if (this.building && this.building.key === key) this.building = null; });
    this.building = { key, promise };
    return promise;
  }

  // Forget the server network (after a reinit or an import gives another one).
  adopt(net) {
    this.store.set({ spec: net.spec, seed: net.seed, networkId: net.id, networkSpecKey: this.specKey(net) });
  }

  // Come back to the network the page's URL names (after a reload). Its spec and seed
  // become the page's, unless the URL holds edits made after that network was built:
  // those are kept, and the network stays the session's last one, as before the reload.
  // A network that is gone is said quietly in the page; the next view that needs one builds it.
  async restore(id) {
    try {
      const net = await api.network(id);
      const state = this.store.state;
      if (state.spec && this.specKey(state) !== this.specKey(net)) {
        this.store.set({ networkId: net.id, networkSpecKey: this.specKey(net) });
      } else {
        if (!state.spec) this.store.set({ preset: null }); // a bare #net= link: the spec is the network's, not a preset's
        this.adopt(net);
      }
    } catch (e) {
      if (e.status !== 404) {
        this.store.set({ notice: `Could not come back to this page's network (${e.message}).` });
        return;
      }
      this.store.set({ notice: "The network this page was working on is no longer on the server; a new one is built when needed." });
      this.store.writeHash(); // the URL no longer names it
    }
  }
}

// The network on the server that matches the spec being edited. Views that need
// weights (train, inspect, initialization) call network(); it builds the spec on
// the server when the spec or the seed changed since the last build.

import { api } from "./api.js";

export class Session {
  constructor(store) {
    this.store = store;
    this.building = null;
  }

  specKey(state) {
    return JSON.stringify([state.spec, state.seed]);
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
    this.store.set({ spec: net.spec, seed: net.seed, networkId: net.id, networkSpecKey: JSON.stringify([net.spec, net.seed]) });
  }
}

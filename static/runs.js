// The runs the page shows, and the one place that follows them. Runs belong to the
// server, not to the page: this finds the session network's runs (on load, when the
// network changes, and every few seconds while the tab is visible and follows none of
// them, so a run started in another tab shows up), replays what the server kept of a
// run, then follows its live events over the WebSocket. It keeps the store's activeRun,
// which the header badge and the Inspect view read.
//
// Besides the runs on the charts it knows every run of the networks the page worked on
// (`known`, as GET /api/runs lists them, with their settings and final metrics), for the
// Train view's comparison table; each run keeps one name and colour on the page.
//
// The Train view draws what it hears: "active" (another run is the one the buttons
// control), "event" (one event of a run, replayed or live), "status", "end", "redraw"
// (a resumed run goes on from its checkpoint: its curves start again from there),
// "hidden" (a run was taken off the charts), "labels" (the runs' labels changed: a run
// came or went, and each is labelled by what differs between them), "known" (the list of
// known runs was read again) and "problem" (a message about following a run, or null
// when it has passed).

import { labelRuns } from "./runlabels.js";

export const ACTIVE = ["queued", "running", "paused"];
export const RESUMABLE = ["paused", "interrupted"];
const COLOURS = ["#1f4e9c", "#c0392b", "#2e7d32", "#8e44ad", "#b9770e", "#00838f", "#5d4037", "#455a64"];
const LOOK_EVERY_MS = 2000;
const SURVEY_AFTER_MS = 400; // epochs end in bursts when a history is replayed: one listing after them

export class Runs extends EventTarget {
  constructor(store, api) {
    super();
    this.store = store;
    this.api = api;
    this.records = [];        // every run on the charts, oldest first
    this.active = null;       // the run the buttons control
    this.count = 0;           // runs named by this page
    this.identities = new Map(); // run id -> {name, colour}: one for each run, kept when it leaves the charts
    this.known = [];          // every run of the networks the page worked on, oldest first (GET /api/runs)
    this.surveying = null;
    this.trained = new Set(); // networks that have had a run (a new one starts from fresh weights)
    this.network = null;      // the session's network, whose runs are looked for
    this.attaching = new Set();
    this.looking = false;
    this.starting = false;
    store.addEventListener("change", (e) => {
      if (e.detail.changed.includes("networkId")) this.watch(e.detail.state.networkId);
    });
    document.addEventListener("visibilitychange", () => this.look());
    setInterval(() => this.look(), LOOK_EVERY_MS);
    this.watch(store.state.networkId);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  busy() {
    return Boolean(this.active && !this.active.finished);
  }

  // ---- finding runs ------------------------------------------------------------------------
  // The session's network changed: show its active run, or else its latest one (so a
  // reload after a run shows how it ended), unless its runs are on the charts already.
  async watch(networkId) {
    this.network = networkId;
    if (!networkId) return;
    let list;
    try {
      list = await this.api.runs(networkId);
    } catch {
      return; // look() asks again in a moment
    }
    if (networkId !== this.network || this.starting) return;
    if (list.length) this.trained.add(networkId);
    for (const r of list) this.identity(r.id); // named in the order they were made
    this.survey();
    if (this.records.some((r) => r.networkId === networkId)) return;
    const going = list.find((r) => ACTIVE.includes(r.status));
    if (going) await this.attach(going.id);
    else if (list.length && !this.busy()) await this.attach(list[list.length - 1].id);
  }

  // A run started elsewhere (another tab, a notebook) on this network: attach when it appears.
  async look() {
    const id = this.network;
    if (!id || document.hidden || this.looking || this.starting) return;
    if (this.records.some((r) => r.networkId === id && !r.finished)) return;
    this.looking = true;
    try {
      const net = await this.api.network(id);
      if (id === this.network && net.training_run && !this.starting) await this.attach(net.training_run);
    } catch (e) {
      if (e.status === 404 && id === this.store.state.networkId) {
        this.store.set({ networkId: null, networkSpecKey: null,
          notice: "This page's network was deleted from the server; a new one is built when needed." });
      }
    } finally {
      this.looking = false;
    }
  }

  // Show a run the server has: draw what it kept, then follow it if it goes on. It becomes the
  // run the buttons control unless `activate` is false and there is one already.
  async attach(id, { activate = true } = {}) {
    if (this.attaching.has(id) || this.records.some((r) => r.id === id)) return;
    this.attaching.add(id);
    try {
      const r = await this.api.run(id);
      if (this.records.some((x) => x.id === id)) return;
      const run = this.add(r);
      if (activate || !this.active) this.setActive(run);
      this.replay(run, r);
    } catch (e) {
      this.emit("problem", { run: this.active, message: `cannot show run ${id}: ${e.message}` });
    } finally {
      this.attaching.delete(id);
    }
  }

  // A run's name on this page ("run 3") and its colour, the same wherever it shows.
  identity(id) {
    if (!this.identities.has(id)) {
      this.count += 1;
      this.identities.set(id, { name: `run ${this.count}`, colour: COLOURS[(this.count - 1) % COLOURS.length] });
    }
    return this.identities.get(id);
  }

  add(r) {
    const config = r.config || {};
    const { name, colour } = this.identity(r.id);
    const run = {
      id: r.id, networkId: r.network_id, dataset: r.dataset, config, network: r.network || null, status: r.status,
      name, label: name, colour,
      lastSeq: 0, lastBatch: r.last_batch || null, finished: false, metrics: null, evaluation: null, message: null,
      unfollow: null, problem: null, dropped: false,
    };
    this.records.push(run);
    this.trained.add(run.networkId);
    this.relabel();
    return run;
  }

  // Each run on the charts labelled by what differs between it and the others.
  relabel() {
    const labels = labelRuns(this.records);
    this.records.forEach((r, i) => { r.label = labels[i]; });
    this.emit("labels", { runs: this.records });
  }

  setActive(run) {
    this.active = run;
    this.emit("active", { run });
    this.publish();
  }

  // ---- starting and controlling --------------------------------------------------------------
  async start(networkId, body) {
    this.starting = true;
    try {
      const r = await this.api.startRun(networkId, body);
      const run = this.add(r);
      this.setActive(run);
      this.setStatus(run, r.status);
      this.follow(run);
      this.survey();
      return run;
    } finally {
      this.starting = false;
    }
  }

  // Pause, resume or stop the active run; what the server answered. An interrupted run
  // resumes from its last checkpoint and the server drops the events after it, so its
  // curves are drawn again from the history it kept.
  async control(action) {
    const run = this.active;
    if (!run) return null;
    const r = await this.api[action](run.id);
    if (action === "resumeRun" && run.finished) {
      Object.assign(run, { finished: false, lastSeq: 0, lastBatch: null, metrics: null, evaluation: null, message: null });
      this.emit("redraw", { run });
      this.replay(run, await this.api.run(run.id));
    } else if (!run.finished && !run.unfollow && r && r.status && !(action === "stopRun" && r.status === "running")) {
      // only when not following: the answer can be older than the run's own status event
      // (pause answers "running" while the worker is still finishing its batch)
      this.setStatus(run, r.status);
    }
    return r;
  }

  // Put a known run on the charts beside the others, or take one off (the comparison table's
  // choice); the run the buttons control stays while it goes on.
  show(id) {
    return this.attach(id, { activate: false });
  }

  hide(id) {
    const run = this.records.find((r) => r.id === id);
    if (!run || (run === this.active && !run.finished)) return false;
    run.dropped = true;
    this.unfollow(run);
    this.records = this.records.filter((r) => r !== run);
    this.emit("hidden", { run });
    this.relabel();
    this.publish();
    return true;
  }

  // Every run of the networks the page worked on, with their settings and final metrics, read
  // again once a run starts, ends an epoch or ends.
  survey() {
    clearTimeout(this.surveying);
    this.surveying = setTimeout(() => this.readKnown(), SURVEY_AFTER_MS);
  }

  async readKnown() {
    const networks = [...new Set([this.network, ...this.records.map((r) => r.networkId)].filter(Boolean))];
    let lists;
    try {
      lists = await Promise.all(networks.map((id) => this.api.runs(id).catch((e) => {
        if (e.status === 404) return []; // deleted: its runs went with it
        throw e;
      })));
    } catch {
      return; // the next run's events ask again
    }
    const known = lists.flat().sort((a, b) => a.created - b.created);
    for (const r of known) this.identity(r.id);
    this.known = known;
    this.emit("known", { runs: known });
  }

  // Forget every run but the one still going: the charts were cleared.
  clear() {
    for (const r of this.records) {
      if (r === this.active && !r.finished) continue;
      r.dropped = true;
      this.unfollow(r);
    }
    this.records = this.records.filter((r) => !r.dropped);
    this.relabel();
    this.publish();
  }

  // ---- following ----------------------------------------------------------------------------
  // r: the run as GET /api/runs/{id} gives it, with its history.
  replay(run, r) {
    for (const ev of r.history || []) this.take(run, ev);
    if (run.finished) return;
    if (!ACTIVE.includes(r.status)) {
      this.end(run, { type: "done", status: r.status, message: r.message, metrics: r.metrics, evaluation: r.evaluation });
      return;
    }
    // the newest batch, which the history may have thinned away: where the run is now
    if (r.last_batch && r.last_batch.seq > run.lastSeq) this.take(run, r.last_batch);
    this.setStatus(run, r.status);
    this.follow(run);
  }

  follow(run) {
    this.unfollow(run);
    run.unfollow = this.api.followRun(run.id, run.lastSeq, (ev) => {
      if (run.problem) this.problem(run, null);
      this.take(run, ev);
    }, (code, heard) => this.lost(run, heard));
  }

  unfollow(run) {
    const stop = run.unfollow;
    run.unfollow = null;
    if (stop) stop();
  }

  // The socket closed before the run's end: ask the server what became of the run.
  async lost(run, heard) {
    run.unfollow = null;
    if (run.finished || run.dropped) return;
    let r;
    try {
      r = await this.api.run(run.id);
    } catch (e) {
      if (e.status === 404) {
        this.problem(run, `${run.name} is no longer on the server (its network was deleted)`);
        this.end(run, { type: "done", status: "gone" });
      } else {
        this.retry(run, 2000); // the server is restarting, or the connection dropped
      }
      return;
    }
    if (run.finished || run.dropped) return;
    if (!ACTIVE.includes(r.status) || heard) {
      this.replay(run, r); // the events missed since, then the socket again
    } else {
      // refused before any event while the run goes on: the server has too many followers
      this.problem(run, `cannot follow ${run.name} live: too many pages follow it; trying again in a few seconds`);
      this.retry(run, 5000);
    }
  }

  retry(run, ms) {
    setTimeout(() => { if (!run.finished && !run.dropped && !run.unfollow) this.follow(run); }, ms);
  }

  problem(run, message) {
    run.problem = message;
    this.emit("problem", { run, message });
  }

  take(run, ev) {
    if (ev.seq !== undefined) {
      if (ev.seq <= run.lastSeq) return;
      run.lastSeq = ev.seq;
    }
    if (ev.type === "status") this.setStatus(run, ev.status);
    if (ev.type === "batch") {
      run.lastBatch = ev;
      if (run.status === "queued") this.setStatus(run, "running");
    }
    this.emit("event", { run, event: ev });
    if (ev.type === "epoch") this.survey(); // its metrics so far
    if (ev.type === "done" || ev.type === "error") this.end(run, ev);
    else if (ev.type === "batch" && run === this.active) this.publish();
  }

  setStatus(run, status) {
    run.status = status;
    this.emit("status", { run });
    this.publish();
  }

  end(run, ev) {
    run.finished = true;
    run.metrics = ev.metrics || null;
    run.evaluation = ev.evaluation || null;
    run.message = ev.message || null;
    this.unfollow(run);
    this.setStatus(run, ev.status || (ev.type === "error" ? "failed" : "completed"));
    this.emit("end", { run, final: ev });
    this.survey();
  }

  // What the store holds of the runs, set only when something it shows changed (the
  // badge's whole percent, not every batch): every store change renders the views.
  publish() {
    const run = this.active;
    const b = run && run.lastBatch;
    const activeRun = run ? {
      id: run.id, network_id: run.networkId, status: run.status, epochs: run.config.epochs ?? null,
      epoch: b ? b.epoch : null, percent: b && Number.isFinite(b.progress) ? Math.floor(100 * b.progress) : null,
    } : null;
    const runs = this.records.map((r) => ({ id: r.id, network_id: r.networkId, label: r.label, status: r.status, metrics: r.metrics }));
    const patch = {};
    if (JSON.stringify(activeRun) !== JSON.stringify(this.store.state.activeRun)) patch.activeRun = activeRun;
    if (JSON.stringify(runs) !== JSON.stringify(this.store.state.runs)) patch.runs = runs;
    this.store.set(patch);
  }
}

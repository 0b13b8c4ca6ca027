// The runs the page shows, and the one place that follows them. Runs belong to the
// server, not to the page: this finds the session network's runs (on load, when the
// network changes, and every few seconds while the tab is visible and follows none of
// them, so a run started in another tab shows up), replays what the server kept of a
// run, then follows its live events over the WebSocket. It keeps the store's activeRun,
// which the header badge and the Inspect view read.
//
// The Train view draws what it hears: "active" (another run is the one the buttons
// control), "event" (one event of a run, replayed or live), "status", "end", "redraw"
// (a resumed run goes on from its checkpoint: its curves start again from there),
// "labels" (the runs' labels changed: a run came or went, and each is labelled by what
// differs between them) and "problem" (a message about following a run, or null when it
// has passed).

import { labelRuns } from "./runlabels.js";

export const ACTIVE = ["queued", "running", "paused"];
export const RESUMABLE = ["paused", "interrupted"];
const COLOURS = ["#1f4e9c", "#c0392b", "#2e7d32", "#8e44ad", "#b9770e", "#00838f", "#5d4037", "#455a64"];
const LOOK_EVERY_MS = 2000;

export class Runs extends EventTarget {
  constructor(store, api) {
    super();
    this.store = store;
    this.api = api;
    this.records = [];        // every run on the charts, oldest first
    this.active = null;       // the run the buttons control
    this.count = 0;           // runs shown by this page, for their names
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

  // Show a run the server has: draw what it kept, then follow it if it goes on.
  async attach(id) {
    if (this.attaching.has(id) || this.records.some((r) => r.id === id)) return;
    this.attaching.add(id);
    try {
      const r = await this.api.run(id);
      if (this.records.some((x) => x.id === id)) return;
      const run = this.add(r);
      this.setActive(run);
      this.replay(run, r);
    } catch (e) {
      this.emit("problem", { run: this.active, message: `cannot show run ${id}: ${e.message}` });
    } finally {
      this.attaching.delete(id);
    }
  }

  add(r) {
    this.count += 1;
    const config = r.config || {};
    const run = {
      id: r.id, networkId: r.network_id, dataset: r.dataset, config, status: r.status,
      name: `run ${this.count}`, label: `run ${this.count}`, colour: COLOURS[(this.count - 1) % COLOURS.length],
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

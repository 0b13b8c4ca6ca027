// Wires the store, the session, the runs and the views; nothing else.

import { api } from "./api.js";
import { RunBadge } from "./badge.js";
import { embedding, showPart } from "./embed.js";
import { presetFor } from "./presets.js";
import { Runs } from "./runs.js";
import { Session } from "./session.js";
import { Store } from "./store.js";
import { JoinScreen } from "./classroom/join.js";
import { StudentBar } from "./classroom/student.js";
import { showError } from "./ui.js";
import { ClassroomView } from "./views/classroom.js";
import { BuildView } from "./views/build.js";
import { ConvView } from "./views/conv.js";
import { DataView } from "./views/data.js";
import { InitView } from "./views/init.js";
import { InspectView } from "./views/inspect.js";
import { LearnView } from "./views/learn.js";
import { TrainView } from "./views/train.js";
import { Welcome, coldOpen } from "./welcome.js";

const VIEWS = { learn: LearnView, build: BuildView, data: DataView, train: TrainView, inspect: InspectView, conv: ConvView, init: InitView };

// Who the page is for. The server's token in the URL has been turned into a cookie by the server
// when the page was served: it leaves the address bar, so it is not shared with the next link.
async function whoIsAsking(embedded) {
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  if (embedded) return { kind: "widget" }; // inside a lesson: the page around it said who
  try {
    return await api.me();
  } catch (e) {
    showError(document.querySelector("[data-page-error]"), e);
    return { kind: "teacher" };
  }
}

async function start() {
  const embedded = embedding(location.search); // a lesson's widget: one view, no header
  const me = await whoIsAsking(embedded);
  if (me.kind === "anonymous") { // a student who has not joined yet: nothing else starts
    document.documentElement.dataset.role = "joining";
    new JoinScreen(document.querySelector("[data-join-screen]"), api, { classesOpen: me.classes_open });
    return;
  }
  const cold = coldOpen(location.hash, embedded); // read before the page writes its setup there
  // a widget's hash sets it up, but never shows another view than its own
  const readHash = (hash) => {
    const shared = Store.parseHash(hash);
    return embedded && !shared.hashError ? { ...shared, view: embedded.view } : shared;
  };
  if (embedded) document.documentElement.dataset.embed = embedded.view;
  const fromLink = readHash(location.hash);
  const store = new Store(fromLink);
  const session = new Session(store);
  const banner = document.querySelector("[data-page-error]");
  if (fromLink.hashError) showError(banner, { message: fromLink.hashError });
  // before any view asks for a network, so none builds one of its own after a reload
  const linked = Store.linkedNetwork(location.hash);
  if (linked) await session.restore(linked);
  if (!store.state.spec) {
    try {
      const name = store.state.preset || "lenet5";
      const preset = await presetFor(api, name, store.state.dataset);
      store.set({ spec: preset.spec });
    } catch (e) {
      showError(banner, e);
    }
  }
  const runs = new Runs(store, api);
  const ctx = { store, api, session, runs };
  const views = {};
  const all = me.kind === "teacher" && me.teaching ? { ...VIEWS, class: ClassroomView } : VIEWS;
  const made = embedded ? { [embedded.view]: all[embedded.view] } : all;
  document.querySelector("[data-tab=class]").hidden = !made.class;
  if (made.class) document.documentElement.dataset.role = "teacher";
  for (const [name, View] of Object.entries(made)) {
    const root = document.querySelector(`[data-view="${name}"]`);
    views[name] = new View(root, ctx);
  }
  const badge = new RunBadge(document.querySelector("[data-run-badge]"), store);
  if (cold) new Welcome(document.querySelector("[data-welcome]"), { ...ctx, views }).show();
  const notice = document.querySelector("[data-page-notice]");
  const tabs = [...document.querySelectorAll("[data-tab]")].filter((tab) => made[tab.dataset.tab]);
  const student = me.kind === "student" ? new StudentBar(document.querySelector("[data-class-bar]"), ctx, me) : null;
  for (const tab of tabs) tab.addEventListener("click", () => store.set({ view: tab.dataset.tab }));
  // arrow keys move between tabs, as in the ARIA tabs pattern
  document.querySelector("[role=tablist]").addEventListener("keydown", (e) => {
    const shown = tabs.filter((tab) => !tab.hidden); // a class may have closed some
    const i = shown.indexOf(document.activeElement);
    if (i < 0 || !["ArrowLeft", "ArrowRight"].includes(e.key)) return;
    const next = shown[(i + (e.key === "ArrowRight" ? 1 : shown.length - 1)) % shown.length];
    next.focus();
    store.set({ view: next.dataset.tab });
  });
  document.querySelector("[data-action=share]").addEventListener("click", async () => {
    const url = store.shareUrl();
    const out = document.querySelector("[data-share-url]");
    out.value = url;
    out.hidden = false;
    out.select();
    try { await navigator.clipboard.writeText(url); } catch { /* the field shows it to copy by hand */ }
  });

  function render() {
    const { state } = store;
    // a link made on a page with a view this page lacks (the teacher's Class view)
    if (!embedded && !views[state.view]) return store.set({ view: "learn" });
    let selectedChanged = null;
    badge.render(state);
    notice.textContent = state.notice || "";
    notice.hidden = !state.notice;
    for (const tab of tabs) {
      const on = tab.dataset.tab === state.view;
      if (on && tab.getAttribute("aria-selected") !== "true") selectedChanged = tab;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    // on a phone the tabs scroll in one row: keep the chosen one in sight
    if (selectedChanged) selectedChanged.scrollIntoView({ block: "nearest", inline: "nearest" });
    for (const [name, view] of Object.entries(views)) {
      view.root.hidden = name !== state.view;
      view.render(state, name === state.view);
    }
    if (student) student.locks.apply(); // views build their forms when they like: lock what is there now
  }
  store.addEventListener("change", render);
  window.addEventListener("hashchange", () => {
    const shared = readHash(location.hash);
    if (!shared.hashError) store.set(shared);
  });
  render();
  if (embedded) showPart(views[embedded.view].root, embedded.view, embedded.part);
  window.playground = { store, session, runs }; // for the browser tests and the curious student
}

start();

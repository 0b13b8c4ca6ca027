// The only module that knows URLs and sockets. Every call resolves to JSON (or a
// Blob) or rejects with an ApiError carrying the server's status and detail.

// Every error answer is RFC 9457 problem details: `detail` one sentence, `errors` each
// problem with its place ({path, field, message}: a spec's layer path, or a request field's).
export class ApiError extends Error {
  constructor(status, detail, errors = []) {
    super(formatDetail(detail));
    this.status = status;
    this.detail = detail;
    this.errors = errors;
  }
}

// The server's detail is one sentence; a list (spec errors {path, field, message} or
// FastAPI's {loc, msg}) still turns into one, for a server from before problem details.
export function formatDetail(detail) {
  if (detail == null) return "the server gave no reason";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      if (typeof d === "string") return d;
      if (d.message) return `${d.path || ""}${d.field ? "." + d.field : ""}: ${d.message}`.replace(/^: /, "");
      if (d.msg) return `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`;
      return JSON.stringify(d);
    }).join("; ");
  }
  return JSON.stringify(detail);
}

async function request(method, url, body, { raw = false } = {}) {
  const init = { method, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${e.message}); is cnn-playground serve still running?`);
  }
  if (!response.ok) {
    let detail = response.statusText;
    let errors = [];
    try {
      const problem = await response.json();
      detail = problem.detail;
      errors = Array.isArray(problem.errors) ? problem.errors : Array.isArray(detail) ? detail : [];
    } catch { /* not JSON */ }
    throw new ApiError(response.status, detail, errors);
  }
  if (response.status === 204) return null;
  return raw ? response.blob() : response.json();
}

const get = (url) => request("GET", url);
const post = (url, body) => request("POST", url, body ?? {});
const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};

export const api = {
  health: () => get("/api/health"),
  layers: () => get("/api/layers"),
  presets: () => get("/api/presets"),
  // with a dataset: the preset made to fit it (input shape, one output per class)
  preset: (name, dataset) => get(`/api/presets/${encodeURIComponent(name)}${qs({ dataset })}`),
  // ?report=true: an invalid spec is a normal answer ({valid: false, errors}), not a failed request
  validate: (spec) => post("/api/networks/validate?report=true", spec),

  networks: () => get("/api/networks"),
  createNetwork: (body) => post("/api/networks", body),
  network: (id) => get(`/api/networks/${id}`),
  updateNetwork: (id, body) => request("PATCH", `/api/networks/${id}`, body),
  deleteNetwork: (id) => request("DELETE", `/api/networks/${id}`),
  reinit: (id, body) => post(`/api/networks/${id}/reinit`, body),
  exportUrl: (id, format) => `/api/networks/${id}/export?format=${format}`,
  importNetwork: (file) => {
    const form = new FormData();
    form.append("file", file);
    return request("POST", "/api/networks/import", form);
  },

  datasets: () => get("/api/datasets"),
  // MNIST, Fashion-MNIST, CIFAR-10 onto the server; resolves when it is there (can take minutes)
  downloadDataset: (name) => post(`/api/datasets/${encodeURIComponent(name)}/download`),
  samples: (name, params) => get(`/api/datasets/${encodeURIComponent(name)}/samples${qs(params)}`),
  // {augment, seed, n, copies}: each image as it is and as augmentation draws it, as a run does
  augmentPreview: (name, body) => post(`/api/datasets/${encodeURIComponent(name)}/augment-preview`, body),
  deleteDataset: (name) => request("DELETE", `/api/datasets/${encodeURIComponent(name)}`),
  // XMLHttpRequest, not fetch: it reports upload progress.
  uploadDataset(file, name, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      form.append("file", file);
      if (name) form.append("name", name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/datasets");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new ApiError(xhr.status, data ? data.detail : xhr.statusText));
      };
      xhr.onerror = () => reject(new ApiError(0, "the upload failed: the server could not be reached"));
      xhr.send(form);
    });
  },

  trainOptions: () => get("/api/train/options"), // a run's options with their defaults and limits
  startRun: (networkId, body) => post(`/api/networks/${networkId}/runs`, body),
  runs: (networkId) => get(`/api/runs${qs({ network_id: networkId })}`),
  run: (id) => get(`/api/runs/${id}`),
  runWeights: (id) => get(`/api/runs/${id}/weights`), // histograms at the start and after epochs
  pauseRun: (id) => post(`/api/runs/${id}/pause`),
  resumeRun: (id) => post(`/api/runs/${id}/resume`),
  stopRun: (id) => post(`/api/runs/${id}/stop`),
  // Calls onEvent for each event with seq > after (history first, then live), then
  // onClose(code, heard): heard is false when the socket closed before any event, as it
  // does when the server refuses it (unknown run, too many followers; the browser shows
  // those only as code 1006): ask run(id) why.
  followRun(id, after, onEvent, onClose) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/runs/${id}/events${qs({ after })}`);
    let heard = false;
    socket.onmessage = (m) => { heard = true; onEvent(JSON.parse(m.data)); };
    socket.onclose = (e) => onClose && onClose(e.code, heard);
    return () => { socket.onclose = null; socket.close(); };
  },

  predict: (id, input) => post(`/api/networks/${id}/predict`, input),
  activations: (id, input, params) => post(`/api/networks/${id}/activations${qs(params)}`, input),
  activationsPngUrl: (id) => `/api/networks/${id}/activations`,
  overview: (id, input) => post(`/api/networks/${id}/overview`, input),
  weights: (id, layer, unit) => get(`/api/networks/${id}/weights${qs({ layer, unit })}`),
  stats: (id, params) => get(`/api/networks/${id}/stats${qs(params)}`),
  saliency: (id, input) => post(`/api/networks/${id}/saliency`, input),
  occlusion: (id, input) => post(`/api/networks/${id}/occlusion`, input),
  // one unit's field on the input: {...input, layer, channel, row, col}
  receptiveField: (id, body) => post(`/api/networks/${id}/receptive-field`, body),
  // a dropout layer on one input, training against evaluation: {...input, layer, seed}
  dropout: (id, body) => post(`/api/networks/${id}/dropout`, body),
  gradcheck: (id, body) => post(`/api/networks/${id}/gradcheck`, body),
  featureVisualization: (id, body) => post(`/api/networks/${id}/feature-visualization`, body),
  adversarial: (id, input) => post(`/api/networks/${id}/adversarial`, input),
  convExplain: (body) => post("/api/conv/explain", body),

  // The Initialization lab: a deep stack measured at step 0; the stack trained with and without batch norm.
  initStack: (body) => post("/api/init/stack", body),
  trainBatchNormPair: (body) => post("/api/init/batchnorm/runs", body),

  // Lessons and exercises. The learner is a cookie the server sets; nothing to send for it.
  lessons: () => get("/api/lessons"),
  exerciseKinds: () => get("/api/exercises/kinds"), // [{name, title, lesson, ...}]
  lesson: (id) => get(`/api/lessons/${encodeURIComponent(id)}`),
  progress: () => get("/api/progress"),
  exercise: (kind, seed) => get(`/api/exercises/${encodeURIComponent(kind)}/${seed}`),
  randomExercise: (kind) => post("/api/exercises", { kind }),
  answer: (kind, seed, answer) => post(`/api/exercises/${encodeURIComponent(kind)}/${seed}/answer`, { answer }),
  solution: (kind, seed) => post(`/api/exercises/${encodeURIComponent(kind)}/${seed}/solution`),

  // The classroom. Who the page is for: {kind: "anonymous" | "teacher" | "student", ...}.
  me: () => get("/api/me"),
  join: (code, name) => post("/api/classes/join", { code, name }),
  leave: () => post("/api/me/leave"),
  reportActivity: (activity) => post("/api/me/activity", activity),
  ask: (asking) => post("/api/me/ask", { asking }),
  leaderboard: (id) => get(`/api/challenges/${id}/leaderboard`),
  submitEntry: (id, networkId) => post(`/api/challenges/${id}/submit`, { network_id: networkId }),
  // the teacher's
  classes: () => get("/api/classes"),
  openClass: (name) => post("/api/classes", { name: name || null }),
  closeClass: (id) => post(`/api/classes/${id}/close`),
  dashboard: (id) => get(`/api/classes/${id}/dashboard`),
  student: (classId, id) => get(`/api/classes/${classId}/students/${id}`),
  renameStudent: (classId, id, name) => request("PATCH", `/api/classes/${classId}/students/${id}`, { name }),
  removeStudent: (classId, id) => request("DELETE", `/api/classes/${classId}/students/${id}`),
  push: (classId, setup, to) => post(`/api/classes/${classId}/push`, { setup, to }),
  setLocks: (classId, locks) => request("PUT", `/api/classes/${classId}/locks`, locks),
  challenges: (classId) => get(`/api/classes/${classId}/challenges`),
  createChallenge: (classId, body) => post(`/api/classes/${classId}/challenges`, body),
  endChallenge: (id) => post(`/api/challenges/${id}/end`),
  resultsUrl: (classId) => `/api/classes/${classId}/results.csv`,
  // Calls onSnapshot with the class's dashboard about every second; returns a function that stops.
  followDashboard(classId, onSnapshot, onClose) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/classes/${classId}/dashboard/live`);
    socket.onmessage = (m) => onSnapshot(JSON.parse(m.data));
    socket.onclose = (e) => onClose && onClose(e.code);
    return () => { socket.onclose = null; socket.close(); };
  },

  // The page itself with a setup in its hash; with embed, only that view (a lesson's widget).
  pageUrl: (hash, { embed, part } = {}) => `/${qs({ embed, part })}#${hash}`,
};

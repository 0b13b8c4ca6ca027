// Runs on one chart are told apart by what differs between them: "lr 0.05" and
// "lr 0.01", not "run 1" and "run 2". A run alone is named by its optimizer and
// learning rate. Settings a run's config holds that this list does not name are said
// as "name value", so a new option still tells runs apart. Dropout is the network's, not a
// run option: each run says the p its network had (run.network.dropout).

const SAY = {
  dataset: (v) => v,
  optimizer: (v) => v,
  lr: (v) => `lr ${v}`,
  batch_size: (v) => `batch ${v}`,
  epochs: (v) => `${v} epoch${v === 1 ? "" : "s"}`,
  momentum: (v) => (v === null || v === undefined ? "no momentum" : `momentum ${v}`),
  weight_decay: (v) => (v ? `L2 ${v}` : "no L2"),
  l1: (v) => (v ? `L1 ${v}` : "no L1"),
  schedule: (v) => `${v} schedule`,
  validation: (v) => `validation ${v}`,
  max_train: (v) => (v === null || v === undefined ? "all examples" : `${v} examples`),
  augment: (v) => {
    const on = Object.entries(v || {}).filter(([, x]) => x);
    return on.length ? `augment ${on.map(([k, x]) => (x === true ? k : `${k} ${x}`)).join(" ")}` : "no augmentation";
  },
  seed: (v) => `seed ${v}`,
  dropout: (v) => (v && v.length ? `dropout ${[...new Set(v)].join("/")}` : "no dropout"),
};
const MOST = 3; // more differences than this make a label too long for a legend

// runs: [{name, dataset, networkId, config, network: {dropout} or null}]; a label for each, in order.
export function labelRuns(runs) {
  if (runs.length === 1) return [`${runs[0].config.optimizer}, lr ${runs[0].config.lr}`];
  const networks = [...new Set(runs.map((r) => r.networkId))];
  const settings = runs.map((r) => ({ dataset: r.dataset, ...r.config, network: networks.indexOf(r.networkId) + 1,
    dropout: r.network ? r.network.dropout : undefined }));
  const keys = [...new Set(settings.flatMap(Object.keys))];
  const differing = keys.filter((k) => new Set(settings.map((s) => JSON.stringify(s[k] ?? null))).size > 1);
  const labels = settings.map((s, i) => {
    const parts = differing.slice(0, MOST).map((k) => (k === "network" ? `network ${s.network}`
      : (SAY[k] || ((v) => `${k} ${JSON.stringify(v)}`))(s[k])));
    return parts.length ? parts.join(", ") + (differing.length > MOST ? ", …" : "") : runs[i].name;
  });
  // the same settings twice (the same run again): their names tell them apart
  return labels.map((label, i) => (labels.indexOf(label) !== labels.lastIndexOf(label) && label !== runs[i].name
    ? `${label} (${runs[i].name})` : label));
}

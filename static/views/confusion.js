// A confusion matrix as a table (rows: true class, columns: predicted class),
// each cell coloured by the share of its row on a scale that reads in greyscale,
// and the most-confused examples as a list.

import { SCALES, el, fmt, legend } from "../ui.js";

export function confusionTable(confusion, classNames, perClassAccuracy = []) {
  const k = confusion.length;
  const names = Array.from({ length: k }, (_, i) => (classNames && classNames[i] !== undefined ? String(classNames[i]) : String(i)));
  const head = el("tr", {},
    el("th", { scope: "col", class: "corner" }, el("span", { text: "true ↓ / predicted →" })),
    ...names.map((n) => el("th", { scope: "col", class: "num", text: n })),
    el("th", { scope: "col", class: "num", text: "accuracy" }));
  const rows = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return el("tr", {},
      el("th", { scope: "row", text: names[i] }),
      ...row.map((count, j) => {
        const share = total ? count / total : 0;
        const [r, g, b] = SCALES.viridis(share);
        const light = 0.2126 * r + 0.7152 * g + 0.0722 * b > 140;
        return el("td", {
          class: `num cell${i === j ? " diagonal" : ""}`,
          style: `background: rgb(${r},${g},${b}); color: ${light ? "#111" : "#fff"}`,
          title: `true ${names[i]}, predicted ${names[j]}: ${count} of ${total} (${fmt.pct(share)})`,
          text: String(count),
        });
      }),
      el("td", { class: "num", text: fmt.pct(perClassAccuracy[i]) }));
  });
  return el("div", { class: "confusion" },
    el("div", { class: "confusion-scroll" },
      el("table", { class: "confusion-table" },
        el("caption", { text: "Rows are the true classes, columns the predicted ones; the diagonal holds the correct predictions." }),
        el("thead", {}, head), el("tbody", {}, ...rows))),
    legend(0, 1, "viridis", "share of the row (true class)"));
}

// items: evaluation.most_confused ({index, true, predicted, confidence, [image]}). Below
// `confident`, a probability is not called sureness: it is what the network gave the answer.
export function mostConfusedList(items, classNames, confident = 0) {
  const name = (i) => (classNames && classNames[i] !== undefined ? classNames[i] : String(i));
  if (!items || !items.length) return el("p", { class: "muted", text: "No wrong predictions on the validation set." });
  return el("ol", { class: "confused-list" }, ...items.map((m) => el("li", { class: "confused" },
    m.image ? el("img", { src: m.image, alt: `validation example ${m.index}`, width: 56, height: 56 }) : null,
    el("span", {},
      el("strong", { text: `${name(m.true)} → ${name(m.predicted)}` }),
      el("br"),
      el("span", { class: "muted", text: `${fmt.pct(m.confidence)} ${m.confidence >= confident ? "sure" : "probability"}; `
        + `validation example #${m.index}` })))));
}

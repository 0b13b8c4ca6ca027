// One field of a layer's card, made from the layer catalogue's description of it
// (kind, default, range, help), and what a student types read back as a spec value.

import { el } from "../../ui.js";
import { uid } from "./ids.js";

// "5" -> 5, "3, 5" / "3x5" / "[3,5]" -> [3, 5], "same" -> "same"; anything else is
// passed on as typed so that the server names the problem on that very layer.
export function parsePair(raw, allowWords) {
  const s = raw.trim();
  if (s === "") return undefined;
  if (/^-?\d+$/.test(s)) return Number(s);
  const m = /^\[?\s*(-?\d+)\s*(?:,|x|×|\s)\s*(-?\d+)\s*\]?$/i.exec(s);
  if (m) return [Number(m[1]), Number(m[2])];
  if (allowWords && /^(same|valid)$/i.test(s)) return s.toLowerCase();
  return s;
}

function showPair(v) {
  if (v === undefined || v === null) return "";
  return Array.isArray(v) ? v.join(", ") : String(v);
}

export function parseNumber(raw) {
  const s = raw.trim();
  if (s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

function placeholderOf(f) {
  if (f.default !== undefined && f.default !== null) return String(f.default);
  if (f.name === "stride") return "= K";
  return f.required ? "" : "optional";
}

// The editor for field f of layer; onChange(value) gets undefined for "back to the default".
// Returns {element, input}.
export function fieldEditor(f, layer, onChange, extraClass) {
  const id = uid("f");
  const helpId = `${id}-help`;
  const has = Object.prototype.hasOwnProperty.call(layer, f.name);
  const value = layer[f.name];
  const base = { id, "data-field": f.name, "aria-describedby": helpId, title: f.help || "" };
  const placeholder = placeholderOf(f);
  const orDefault = (v) => (!f.required && v === f.default ? undefined : v);
  let input;
  switch (f.kind) {
    case "bool":
      input = el("input", { ...base, type: "checkbox",
        checked: has ? Boolean(value) : Boolean(f.default),
        onchange: (e) => onChange(orDefault(e.target.checked)) });
      break;
    case "choice":
      input = el("select", { ...base, onchange: (e) => onChange(orDefault(e.target.value)) },
        f.choices.map((c) => el("option", { value: c }, c)));
      input.value = has ? value : (f.default ?? f.choices[0]);
      break;
    case "int":
    case "float":
      input = el("input", { ...base, type: "number",
        inputmode: f.kind === "int" ? "numeric" : "decimal",
        step: f.kind === "int" ? 1 : "any", min: f.min, max: f.exclusive_max ? undefined : f.max,
        value: has && value !== null ? value : "", placeholder,
        oninput: (e) => onChange(parseNumber(e.target.value)) });
      break;
    case "int2":
    case "padding":
      input = el("input", { ...base, type: "text", class: "field-pair",
        value: has ? showPair(value) : "", placeholder, autocomplete: "off", spellcheck: "false",
        oninput: (e) => onChange(parsePair(e.target.value, f.kind === "padding")) });
      break;
    default:
      input = el("input", { ...base, type: "text", value: has && value !== null ? value : "",
        placeholder, autocomplete: "off",
        oninput: (e) => onChange(e.target.value === "" ? undefined : e.target.value) });
  }
  const numeric = f.kind === "int" || f.kind === "float";
  const range = f.min !== undefined && f.max !== undefined && numeric
    ? ` (${f.min} to ${f.max}${f.exclusive_max ? ", exclusive" : ""})` : "";
  const help = el("span", { id: helpId, class: "visually-hidden" }, `${f.help || ""}${range}`);
  const label = el("label", { for: id }, f.name);
  const classes = ["field", `field-${f.kind}`, extraClass].filter(Boolean).join(" ");
  const element = el("span", { class: classes },
    f.kind === "bool" ? [input, label] : [label, input], help);
  return { element, input };
}

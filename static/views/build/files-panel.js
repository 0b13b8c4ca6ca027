// Save and load: the network exported as .npz (spec and weights), .json (spec), a
// PyTorch .zip or ONNX, and a network imported from .npz or .json. A format the server
// cannot write (ONNX without its extra) is offered disabled, with how to install it.

import { el, showError } from "../../ui.js";
import { uid } from "./ids.js";

const TOO_LARGE = "too large to build on this server, so there are no weights to export; "
  + "copy the spec from the JSON box";

export class FilesPanel {
  // network(): the server network's id (made if need be); onImported(net)
  constructor({ api, network, onImported }) {
    this.api = api;
    this.network = network;
    this.onImported = onImported;
    this.exportError = el("p", { class: "error", "data-export-error": true, hidden: true });
    this.importError = el("p", { class: "error", "data-import-error": true, hidden: true });
    const importId = uid("import");
    this.importInput = el("input", { id: importId, type: "file",
      accept: ".npz,.json,application/json", "data-import-file": true,
      onchange: () => this.importFile() });
    const exportButton = (format, label) => el("button", { type: "button", "data-export": format,
      onclick: (e) => this.exportAs(format, e.currentTarget) }, label);
    this.buttons = [exportButton("npz", ".npz (spec + weights)"),
      exportButton("json", ".json (spec)"), exportButton("pytorch", "PyTorch (.zip)"),
      exportButton("onnx", "ONNX (.onnx)")];
    this.buildable = true;
    this.missing = {}; // format -> the command that installs it on the server
    this.missingNote = el("p", { class: "muted", "data-export-missing": true, hidden: true });
    this.element = el("section", { class: "panel build-files", "aria-label": "Save and load" },
      el("h2", {}, "Save and load"),
      el("div", { class: "row build-export" },
        el("span", { class: "muted" }, "Export:"), this.buttons),
      this.missingNote,
      this.exportError,
      el("div", { class: "build-import" },
        el("label", { for: importId }, "Import a network (.npz or .json)"), this.importInput),
      this.importError);
    this.checkFormats();
  }

  // Which formats this server writes: /api/health lists those it lacks with their install command.
  async checkFormats() {
    let health;
    try {
      health = await this.api.health();
    } catch {
      return; // every button stays; an export that fails says why
    }
    this.missing = health.missing_exports || {};
    const notes = Object.entries(this.missing).map(([format, how]) =>
      `${format.toUpperCase()} export is not installed on this server: install it there with ${how}, `
      + "then restart the server.");
    this.missingNote.textContent = notes.join(" ");
    this.missingNote.hidden = !notes.length;
    this.setBuildable(this.buildable);
  }

  // A network over the server's limits has no weights to export.
  setBuildable(buildable) {
    this.buildable = buildable;
    for (const button of this.buttons) {
      const how = this.missing[button.dataset.export];
      button.disabled = !buildable || Boolean(how);
      button.title = how ? `not installed on this server: ${how}` : buildable ? "" : TOO_LARGE;
    }
  }

  async exportAs(format, button) {
    showError(this.exportError, null);
    button.disabled = true;
    try {
      const id = await this.network();
      const a = el("a", { href: this.api.exportUrl(id, format), download: "", hidden: true });
      this.element.append(a);
      a.click();
      a.remove();
    } catch (e) {
      showError(this.exportError, e);
    } finally {
      this.setBuildable(this.buildable);
    }
  }

  async importFile() {
    showError(this.importError, null);
    const file = this.importInput.files && this.importInput.files[0];
    if (!file) return;
    try {
      this.onImported(await this.api.importNetwork(file));
    } catch (e) {
      showError(this.importError, e);
    } finally {
      this.importInput.value = "";
    }
  }
}

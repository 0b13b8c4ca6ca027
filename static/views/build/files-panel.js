// Save and load: the network exported as .npz (spec and weights), .json (spec) or a
// PyTorch .zip, and a network imported from .npz or .json.

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
      exportButton("json", ".json (spec)"), exportButton("pytorch", "PyTorch (.zip)")];
    this.element = el("section", { class: "panel build-files", "aria-label": "Save and load" },
      el("h2", {}, "Save and load"),
      el("div", { class: "row build-export" },
        el("span", { class: "muted" }, "Export:"), this.buttons),
      this.exportError,
      el("div", { class: "build-import" },
        el("label", { for: importId }, "Import a network (.npz or .json)"), this.importInput),
      this.importError);
  }

  // A network over the server's limits has no weights to export.
  setBuildable(buildable) {
    for (const button of this.buttons) {
      button.disabled = !buildable;
      button.title = buildable ? "" : TOO_LARGE;
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
      button.disabled = false;
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

// The screen a student sees before joining a class: the code the teacher reads out and a
// name. Nothing else of the page starts until the server knows who is asking.

import { el, showError } from "../ui.js";

// A code as typed (lower case, spaces, a dash read aloud) as the server reads it: codes are made
// of capitals and digits with no look-alikes (app/classroom/codes.py).
export function normalizeCode(text) {
  return String(text || "").toUpperCase().replace(/[^A-Z0-9]/g, "");
}

export class JoinScreen {
  constructor(root, api, { classesOpen }) {
    this.root = root;
    this.api = api;
    const code = el("input", { id: "join-code", name: "code", autocomplete: "off", autocapitalize: "characters",
      spellcheck: "false", maxlength: 12, required: true, "data-join-code": "", placeholder: "K7M3QX" });
    const name = el("input", { id: "join-name", name: "name", autocomplete: "given-name", maxlength: 60,
      required: true, "data-join-name": "", placeholder: "your first name" });
    this.error = el("p", { class: "error", hidden: true, "data-join-error": "" });
    code.addEventListener("input", () => {
      const at = code.selectionStart;
      code.value = normalizeCode(code.value);
      code.setSelectionRange(at, at);
    });
    const form = el("form", { class: "join-form", "data-join": "" },
      el("h2", { id: "join-h", text: "Join your class" }),
      el("p", { class: "muted", text: classesOpen
        ? "Type the code your teacher gives and the name your teacher will see. No password."
        : "No class is open on this server yet. Ask your teacher for the code, or for the link with the server's token." }),
      el("label", { for: "join-code", text: "Class code" }), code,
      el("label", { for: "join-name", text: "Your name" }), name,
      el("button", { type: "submit", class: "primary", text: "Join" }),
      this.error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      showError(this.error, null);
      try {
        await api.join(normalizeCode(code.value), name.value.trim());
        location.reload(); // the page starts again as the student (its cookie is set)
      } catch (err) {
        showError(this.error, err);
      }
    });
    root.replaceChildren(form);
    root.hidden = false;
    code.focus();
  }
}

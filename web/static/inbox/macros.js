// Macros in the composer: "/" at the start of a word opens a fuzzy picker of the agent's macros
// (Fuse.js, vendored); picking one asks the server for its text on this conversation and puts
// that preview in the composer, where it can still be edited. Sending then applies the macro:
// the text as shown is sent and the macro's actions (tags, status, assignment) run with it.

import Fuse from "../vendor/fuse.basic.min.mjs";
import { api, toast } from "./api.js";

const MAX_OPTIONS = 8;

function describe(action) {
  switch (action.type) {
    case "tag":
      return `tag ${action.tags.join(", ")}`;
    case "untag":
      return `remove tag ${action.tags.join(", ")}`;
    case "status":
      return action.status === "snoozed" ? `snooze ${action.snooze_minutes} min` : `set status ${action.status}`;
    case "priority":
      return `set priority ${action.priority}`;
    case "assign":
      return action.to_self ? "assign to you" : action.agent_id ? "assign to an agent" : "assign to a team";
    default:
      return action.type;
  }
}

export class MacroPicker {
  constructor(text, { conversationId, isReply, onChange }) {
    this.text = text;
    this.conversationId = conversationId;
    this.isReply = isReply;
    this.onChange = onChange;
    this.box = document.getElementById("macro-options");
    this.chip = document.getElementById("composer-macro");
    this.macros = null; // loaded on the first "/"
    this.fuse = null;
    this.options = [];
    this.active = 0;
    this.chosen = null; // {macro, text}
    if (!this.box) return;
    text.addEventListener("input", () => this.update());
    text.addEventListener("keydown", (event) => this.key(event), true);
    text.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    const clear = this.chip && this.chip.querySelector("button");
    if (clear) clear.addEventListener("click", () => this.forget());
  }

  // The "/partial" just before the caret, if any.
  query() {
    const before = this.text.value.slice(0, this.text.selectionStart);
    const match = before.match(/(^|\s)\/([^\s/]{0,40})$/);
    return match ? { start: before.length - match[2].length - 1, term: match[2] } : null;
  }

  async load() {
    if (this.macros) return;
    this.macros = await api("GET", "/api/v1/macros");
    this.fuse = new Fuse(this.macros, {
      keys: [
        { name: "name", weight: 3 },
        { name: "body", weight: 1 },
      ],
      threshold: 0.4,
      ignoreLocation: true,
    });
  }

  async update() {
    const q = this.isReply() ? this.query() : null;
    if (!q) return this.close();
    try {
      await this.load();
    } catch (error) {
      return this.close();
    }
    if (!this.query()) return this.close(); // typed on while loading
    const term = this.query().term;
    this.options = (term ? this.fuse.search(term).map((r) => r.item) : this.macros).slice(0, MAX_OPTIONS);
    this.active = 0;
    this.render();
  }

  render() {
    if (!this.options.length) {
      const li = document.createElement("li");
      li.className = "mention-option muted";
      li.textContent = this.macros.length ? "No macro matches" : "No macros yet";
      this.box.replaceChildren(li);
      this.box.hidden = false;
      return;
    }
    this.box.replaceChildren(
      ...this.options.map((macro, index) => {
        const li = document.createElement("li");
        li.role = "option";
        li.id = `macro-option-${index}`;
        li.className = "mention-option macro-option" + (index === this.active ? " active" : "");
        li.setAttribute("aria-selected", String(index === this.active));
        li.dataset.macroId = String(macro.id);
        const name = document.createElement("strong");
        name.textContent = macro.name;
        const body = document.createElement("span");
        body.className = "muted";
        body.textContent = " " + macro.body.slice(0, 60);
        li.append(name, body);
        li.addEventListener("mousedown", (event) => {
          event.preventDefault(); // keep the focus in the textarea
          this.pick(macro);
        });
        return li;
      }),
    );
    this.box.hidden = false;
    this.text.setAttribute("aria-activedescendant", `macro-option-${this.active}`);
  }

  close() {
    if (!this.box) return;
    this.box.hidden = true;
    this.options = [];
    this.text.removeAttribute("aria-activedescendant");
  }

  key(event) {
    if (this.box.hidden) return;
    if (event.key === "Escape") {
      event.preventDefault();
      return this.close();
    }
    if (!this.options.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.pick(this.options[this.active]);
    }
  }

  async pick(macro) {
    const q = this.query();
    this.close();
    if (!q) return;
    let preview;
    try {
      preview = await api("POST", `/api/v1/macros/${macro.id}/preview`, { conversation_id: this.conversationId });
    } catch (error) {
      if (error.status !== 401) toast(error.message);
      return;
    }
    const value = this.text.value;
    const end = q.start + 1 + q.term.length;
    this.text.value = value.slice(0, q.start) + preview.text + value.slice(end);
    const caret = q.start + preview.text.length;
    this.text.setSelectionRange(caret, caret);
    this.chosen = { macro };
    this.showChip();
    this.text.dispatchEvent(new Event("input", { bubbles: true }));
    this.onChange();
  }

  showChip() {
    if (!this.chip) return;
    const label = this.chip.querySelector("span");
    const macro = this.chosen && this.chosen.macro;
    if (!macro) {
      this.chip.hidden = true;
      return;
    }
    const actions = (macro.actions || []).map(describe);
    label.textContent = `Macro “${macro.name}”` + (actions.length ? ` — also: ${actions.join("; ")}` : "");
    this.chip.hidden = false;
  }

  forget() {
    this.chosen = null;
    this.showChip();
    this.onChange();
  }

  // The chosen macro's id while it applies (reply mode), else null.
  current() {
    return this.chosen && this.isReply() ? this.chosen.macro.id : null;
  }
}

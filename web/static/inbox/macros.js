// Macros in the composer: "/" at the start of a word opens a fuzzy picker of the agent's macros
// (Fuse.js, vendored); picking one asks the server for its text on this conversation and puts
// that preview in the composer, where it can still be edited. Sending then applies the macro:
// the text as shown is sent and the macro's actions (tags, status, assignment) run with it.

import Fuse from "../vendor/fuse.basic.min.mjs";
import { api, toast } from "./api.js";
import { TriggerPicker } from "./picker.js";

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

export class MacroPicker extends TriggerPicker {
  constructor(text, { conversationId, isReply, onChange }) {
    super(text, document.getElementById("macro-options"), { trigger: "/", prefix: "macro", enabled: isReply });
    this.conversationId = conversationId;
    this.isReply = isReply;
    this.onChange = onChange;
    this.chip = document.getElementById("composer-macro");
    this.macros = null; // loaded on the first "/"
    this.fuse = null;
    this.chosen = null; // {macro}
    const clear = this.chip && this.chip.querySelector("button");
    if (clear) clear.addEventListener("click", () => this.forget());
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

  // The agent's macros, fuzzily matched on name and body; null (closed) if they cannot be loaded.
  async options(term) {
    try {
      await this.load();
    } catch (error) {
      return null;
    }
    return term ? this.fuse.search(term).map((r) => r.item) : this.macros;
  }

  emptyText() {
    return this.macros.length ? "No macro matches" : "No macros yet";
  }

  draw(li, macro) {
    li.classList.add("macro-option");
    li.dataset.macroId = String(macro.id);
    const name = document.createElement("strong");
    name.textContent = macro.name;
    const body = document.createElement("span");
    body.className = "muted";
    body.textContent = " " + macro.body.slice(0, 60);
    li.append(name, body);
  }

  // The server renders the macro on this conversation; its text replaces the "/partial".
  async pick(macro, q) {
    let preview;
    try {
      preview = await api("POST", `/api/v1/macros/${macro.id}/preview`, { conversation_id: this.conversationId });
    } catch (error) {
      if (error.status !== 401) toast(error.message);
      return;
    }
    this.replace(q, preview.text);
    this.chosen = { macro };
    this.showChip();
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

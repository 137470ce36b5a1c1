// @mentions in private notes: typing "@" and a few letters offers matching agents and teams;
// picking one writes "@Name" into the text and remembers the structured mention, which is sent
// with the note (the server notifies by id, never by parsing the text). A mention whose "@Name"
// was deleted from the text is not sent.

import { TriggerPicker } from "./picker.js";

export class Mentions extends TriggerPicker {
  constructor(form, text, { isNote }) {
    super(text, document.getElementById("mention-options"), { trigger: "@", prefix: "mention", enabled: isNote });
    const parse = (raw) => {
      try {
        return JSON.parse(raw || "[]");
      } catch {
        return [];
      }
    };
    this.candidates = [
      ...parse(form.dataset.mentionAgents).map((a) => ({ type: "agent", id: a.id, name: a.name })),
      ...parse(form.dataset.mentionTeams).map((t) => ({ type: "team", id: t.id, name: t.name })),
    ];
    this.picked = [];
  }

  // A name matches when it, or one of its words, starts with what was typed.
  options(term) {
    const typed = term.toLowerCase();
    return this.candidates.filter((c) => {
      const name = c.name.toLowerCase();
      return name.startsWith(typed) || name.split(/\s+/).some((w) => w.startsWith(typed));
    });
  }

  draw(li, option) {
    li.dataset.mentionType = option.type;
    li.dataset.mentionId = String(option.id);
    li.textContent = option.type === "team" ? `${option.name} (team)` : option.name;
  }

  pick(option, q) {
    if (!this.picked.some((p) => p.type === option.type && p.id === option.id)) this.picked.push(option);
    this.replace(q, `@${option.name} `);
  }

  // The mentions still named in the text, as the API takes them.
  current() {
    const value = this.text.value;
    return this.picked.filter((p) => value.includes(`@${p.name}`)).map((p) => ({ type: p.type, id: p.id }));
  }

  reset() {
    this.picked = [];
    this.close();
  }
}

// @mentions in private notes: typing "@" and a few letters offers matching agents and teams;
// picking one writes "@Name" into the text and remembers the structured mention, which is sent
// with the note (the server notifies by id, never by parsing the text). A mention whose "@Name"
// was deleted from the text is not sent.

const MAX_OPTIONS = 8;

export class Mentions {
  constructor(form, text, { isNote }) {
    this.text = text;
    this.isNote = isNote;
    this.box = document.getElementById("mention-options");
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
    this.options = [];
    this.active = 0;
    if (!this.box) return;
    text.addEventListener("input", () => this.update());
    text.addEventListener("keydown", (event) => this.key(event), true);
    text.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  // The "@partial" just before the caret, if any.
  query() {
    const before = this.text.value.slice(0, this.text.selectionStart);
    const match = before.match(/(^|\s)@([^\s@]{0,40})$/);
    return match ? { start: before.length - match[2].length - 1, term: match[2].toLowerCase() } : null;
  }

  update() {
    const q = this.isNote() ? this.query() : null;
    if (!q) return this.close();
    this.options = this.candidates
      .filter((c) => c.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q.term)) || c.name.toLowerCase().startsWith(q.term))
      .slice(0, MAX_OPTIONS);
    if (!this.options.length) return this.close();
    this.active = 0;
    this.render();
  }

  render() {
    this.box.replaceChildren(
      ...this.options.map((option, index) => {
        const li = document.createElement("li");
        li.role = "option";
        li.id = `mention-option-${index}`;
        li.className = "mention-option" + (index === this.active ? " active" : "");
        li.setAttribute("aria-selected", String(index === this.active));
        li.dataset.mentionType = option.type;
        li.dataset.mentionId = String(option.id);
        li.textContent = option.type === "team" ? `${option.name} (team)` : option.name;
        li.addEventListener("mousedown", (event) => {
          event.preventDefault(); // keep the focus in the textarea
          this.pick(option);
        });
        return li;
      }),
    );
    this.box.hidden = false;
    this.text.setAttribute("aria-activedescendant", `mention-option-${this.active}`);
  }

  close() {
    if (!this.box) return;
    this.box.hidden = true;
    this.options = [];
    this.text.removeAttribute("aria-activedescendant");
  }

  key(event) {
    if (this.box.hidden || !this.options.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.pick(this.options[this.active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    }
  }

  pick(option) {
    const q = this.query();
    if (!q) return this.close();
    const value = this.text.value;
    const insert = `@${option.name} `;
    this.text.value = value.slice(0, q.start) + insert + value.slice(this.text.selectionStart);
    const caret = q.start + insert.length;
    this.text.setSelectionRange(caret, caret);
    if (!this.picked.some((p) => p.type === option.type && p.id === option.id)) this.picked.push(option);
    this.close();
    this.text.dispatchEvent(new Event("input", { bubbles: true }));
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

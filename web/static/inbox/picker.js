// A listbox of options that a trigger character opens in the composer's textarea ("@" for
// mentions, "/" for macros): it finds the "<trigger>partial" just before the caret, keeps one
// option active for the arrow keys, picks with Enter, Tab or a click, closes on Escape or blur,
// and keeps the textarea's aria-activedescendant in step. Subclasses say which options match
// (`options(term)`), how one is drawn (`draw(li, option)`) and what picking does (`pick`).

const MAX_OPTIONS = 8;

export class TriggerPicker {
  // `trigger` is one character; `prefix` names the option elements' ids (`${prefix}-option-N`).
  constructor(text, box, { trigger, prefix, enabled }) {
    this.text = text;
    this.box = box;
    this.prefix = prefix;
    this.enabled = enabled;
    const t = trigger.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
    this.pattern = new RegExp(`(^|\\s)${t}([^\\s${t}]{0,40})$`);
    this.shown = [];
    this.active = 0;
    if (!box) return;
    text.addEventListener("input", () => this.update());
    text.addEventListener("keydown", (event) => this.key(event), true);
    text.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  // The "<trigger>partial" just before the caret: where it starts and what was typed after it.
  query() {
    const before = this.text.value.slice(0, this.text.selectionStart);
    const match = before.match(this.pattern);
    return match ? { start: before.length - match[2].length - 1, term: match[2] } : null;
  }

  // Replace the "<trigger>partial" of `q` with `insert` and put the caret after it.
  replace(q, insert) {
    const value = this.text.value;
    const end = q.start + 1 + q.term.length;
    this.text.value = value.slice(0, q.start) + insert + value.slice(end);
    const caret = q.start + insert.length;
    this.text.setSelectionRange(caret, caret);
    this.text.dispatchEvent(new Event("input", { bubbles: true }));
  }

  async update() {
    const q = this.enabled() ? this.query() : null;
    if (!q) return this.close();
    const found = await this.options(q.term);
    const now = this.query();
    if (found === null || !now) return this.close();
    if (now.term !== q.term) return; // typed on meanwhile: that input event draws
    this.shown = found.slice(0, MAX_OPTIONS);
    this.active = 0;
    this.render();
  }

  // What the list says when nothing matches; null closes it instead.
  emptyText() {
    return null;
  }

  render() {
    if (!this.shown.length) {
      const message = this.emptyText();
      if (message === null) return this.close();
      const li = document.createElement("li");
      li.className = "mention-option muted";
      li.textContent = message;
      this.box.replaceChildren(li);
      this.box.hidden = false;
      this.text.removeAttribute("aria-activedescendant");
      return;
    }
    this.box.replaceChildren(
      ...this.shown.map((option, index) => {
        const li = document.createElement("li");
        li.role = "option";
        li.id = `${this.prefix}-option-${index}`;
        li.className = "mention-option" + (index === this.active ? " active" : "");
        li.setAttribute("aria-selected", String(index === this.active));
        this.draw(li, option);
        li.addEventListener("mousedown", (event) => {
          event.preventDefault(); // keep the focus in the textarea
          this.choose(option);
        });
        return li;
      }),
    );
    this.box.hidden = false;
    this.text.setAttribute("aria-activedescendant", `${this.prefix}-option-${this.active}`);
  }

  close() {
    if (!this.box) return;
    this.box.hidden = true;
    this.shown = [];
    this.text.removeAttribute("aria-activedescendant");
  }

  key(event) {
    if (this.box.hidden) return;
    if (event.key === "Escape") {
      event.preventDefault();
      return this.close();
    }
    if (!this.shown.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.shown.length) % this.shown.length;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.choose(this.shown[this.active]);
    }
  }

  // The picked option, with the query it answers (null when the caret has moved away).
  choose(option) {
    const q = this.query();
    this.close();
    if (q) this.pick(option, q);
  }
}

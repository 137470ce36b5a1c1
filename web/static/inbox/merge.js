// Merging from the list (select several, keep one) and from a conversation (search for the one
// to merge into), and splitting from a message's menu. The server decides everything; after a
// merge or split the page goes to the conversation that holds the messages now.

import { api, toast } from "./api.js";

const SEARCH_DELAY_MS = 250;

function escapeText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

export class Merging {
  constructor({ list, conversation }) {
    this.list = list;
    this.conversation = conversation;
    this.selected = new Set();
    this.dialog = document.getElementById("merge-dialog");
    this.choices = document.getElementById("merge-choices");
    this.search = document.getElementById("merge-search");
    this.query = document.getElementById("merge-q");
    this.error = document.getElementById("merge-error");
    this.confirm = document.getElementById("merge-confirm");
    this.bar = document.getElementById("merge-bar");
    this.mode = null;
    this.searchTimer = 0;
    this.install();
  }

  install() {
    document.addEventListener("change", (event) => {
      const box = event.target.closest && event.target.closest("[data-select]");
      if (box) this.setSelected(Number(box.dataset.select), box.checked);
    });
    // The list re-renders its rows on live updates: put the ticks back.
    document.addEventListener("htmx:afterSettle", () => this.applySelection());
    document.getElementById("merge-selected")?.addEventListener("click", () => this.openForSelection());
    document.getElementById("merge-clear")?.addEventListener("click", () => {
      this.selected.clear();
      this.applySelection();
    });
    document.getElementById("merge-cancel")?.addEventListener("click", () => this.dialog.close());
    this.confirm?.addEventListener("click", () => this.run());
    this.choices?.addEventListener("change", () => { this.confirm.disabled = !this.target(); });
    this.query?.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.findTargets(), SEARCH_DELAY_MS);
    });
    document.addEventListener("click", (event) => {
      const into = event.target.closest("[data-merge-into]");
      if (into) this.openForConversation();
      const from = event.target.closest("[data-split-from]");
      if (from) this.split({ message_id: Number(from.dataset.splitFrom) });
      const one = event.target.closest("[data-split-one]");
      if (one) this.split({ message_ids: [Number(one.dataset.splitOne)] });
    });
  }

  setSelected(id, on) {
    if (on) this.selected.add(id);
    else this.selected.delete(id);
    this.applySelection();
  }

  toggleCurrentRow() {
    const row = this.list.selectedRow();
    if (!row) return;
    const id = Number(row.dataset.id);
    this.setSelected(id, !this.selected.has(id));
  }

  applySelection() {
    for (const box of document.querySelectorAll("[data-select]")) {
      box.checked = this.selected.has(Number(box.dataset.select));
    }
    if (!this.bar) return;
    this.bar.hidden = this.selected.size === 0;
    document.getElementById("merge-count").textContent = `${this.selected.size} selected`;
    document.getElementById("merge-selected").disabled = this.selected.size < 2;
  }

  // The "m" shortcut: the selection if there is one, else this conversation into another.
  open() {
    if (this.selected.size >= 2) this.openForSelection();
    else if (this.conversation) this.openForConversation();
  }

  show(mode, items) {
    this.mode = mode;
    this.error.hidden = true;
    this.search.hidden = mode !== "into";
    this.render(items);
    this.dialog.showModal();
    if (mode === "into") this.query.focus();
  }

  render(items) {
    this.choices.innerHTML = items.length
      ? items
          .map(
            (c, n) =>
              `<li><label><input type="radio" name="merge-target" value="${c.id}"${n === 0 && this.mode === "selection" ? " checked" : ""}>` +
              `<span><strong>#${c.ref}</strong> ${escapeText(c.name || "Unknown contact")}` +
              `<br><span class="muted">${escapeText(c.subject || c.preview || "")}</span></span></label></li>`,
          )
          .join("")
      : '<li class="muted">No other conversation found.</li>';
    this.confirm.disabled = !this.target();
  }

  openForSelection() {
    const items = [...this.selected].map((id) => {
      const row = document.querySelector(`li.row[data-id="${id}"]`);
      return {
        id,
        ref: row ? row.dataset.ref : id,
        name: row ? row.querySelector(".row-name").textContent : "",
        subject: row ? (row.querySelector(".row-subject") || row.querySelector(".row-preview")).textContent : "",
      };
    });
    this.show("selection", items);
  }

  openForConversation() {
    if (!this.conversation) return;
    this.query.value = "";
    this.show("into", []);
    this.findTargets();
  }

  // The same contact's conversations first (the usual case); words search everything visible.
  async findTargets() {
    const params = new URLSearchParams({ limit: "20" });
    const words = this.query.value.trim();
    if (words) params.set("q", words);
    else params.set("contact_id", this.conversation.main.dataset.contactId);
    for (const status of ["open", "pending", "snoozed", "resolved"]) params.append("status", status);
    try {
      const page = await api("GET", "/api/v1/conversations?" + params.toString());
      const items = page.items
        .filter((c) => c.id !== this.conversation.id)
        .map((c) => ({ id: c.id, ref: c.ref, name: c.contact.name, subject: c.subject, preview: c.preview }));
      this.render(items);
    } catch (error) {
      this.fail(error.message);
    }
  }

  target() {
    const checked = this.choices.querySelector('input[name="merge-target"]:checked');
    return checked ? Number(checked.value) : null;
  }

  fail(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  async run() {
    const target = this.target();
    if (!target) return;
    const sources = this.mode === "into" ? [this.conversation.id] : [...this.selected].filter((id) => id !== target);
    this.confirm.disabled = true;
    try {
      await api("POST", `/api/v1/conversations/${target}/merge`, { source_ids: sources });
      this.selected.clear();
      window.location.assign(`/inbox/conversations/${target}`);
    } catch (error) {
      this.confirm.disabled = false;
      this.fail(error.message);
    }
  }

  async split(body) {
    if (!this.conversation) return;
    try {
      const created = await api("POST", `/api/v1/conversations/${this.conversation.id}/split`, body);
      window.location.assign(`/inbox/conversations/${created.id}`);
    } catch (error) {
      toast(error.message);
    }
  }
}

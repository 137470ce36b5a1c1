// The open conversation: live timeline items, delivery status, the header's actions.
//
// Items are rendered by the server (one template, one sanitiser); this module only asks for
// the ones it lacks and swaps them in.

import { api, toast } from "./api.js";

const NEAR_BOTTOM_PX = 120;

export class OpenConversation {
  constructor(main, { list, agentId }) {
    this.main = main;
    this.id = Number(main.dataset.conversationId);
    this.list = list;
    this.agentId = agentId;
    this.items = document.getElementById("timeline-items");
    this.scroller = document.getElementById("timeline");
    this.appending = null;
    this.appendAgain = false;
    this.refreshing = new Map();
    this.refreshAgain = new Set();
    this.headerTimer = 0;
    this.installActions();
    // "Load earlier" swaps its own button for older items: tidy after any settle (cheap).
    document.addEventListener("htmx:afterSettle", () => this.tidy());
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  lastMessageId() {
    let last = 0;
    for (const item of this.items.querySelectorAll("[data-message-id]")) {
      last = Math.max(last, Number(item.dataset.messageId));
    }
    return last;
  }

  // Items can arrive twice (a reply is fetched after sending and announced by the socket) and
  // a page boundary can repeat a date: keep the first of each.
  tidy() {
    const seen = new Set();
    for (const item of [...this.items.querySelectorAll("[data-message-id]")]) {
      if (seen.has(item.dataset.messageId)) item.remove();
      else seen.add(item.dataset.messageId);
    }
    let day = null;
    for (const separator of [...this.items.querySelectorAll("li.day")]) {
      const next = separator.nextElementSibling;
      if (separator.dataset.day === day || !next || next.classList.contains("day")) separator.remove();
      else day = separator.dataset.day;
    }
  }

  // Serialised: one request at a time, and one more if events came in meanwhile.
  async append() {
    if (this.appending) {
      this.appendAgain = true;
      return this.appending;
    }
    const stick = this.nearEnd();
    const url = `/inbox/conversations/${this.id}/timeline?after=${this.lastMessageId()}`;
    this.appending = htmx
      .ajax("GET", url, { target: this.items, swap: "beforeend" })
      .then(() => {
        this.tidy();
        if (stick) this.scrollToEnd();
      })
      .finally(() => {
        this.appending = null;
        if (this.appendAgain) {
          this.appendAgain = false;
          this.append();
        }
      });
    return this.appending;
  }

  // Serialised per message, like append(): two fetches in flight for one item swap into the
  // same element, and whichever answer lands second is lost (a reply stuck at "sending" after
  // its "sent" came in). An update during a fetch fetches once more afterwards.
  async refreshMessage(messageId) {
    if (this.refreshing.has(messageId)) {
      this.refreshAgain.add(messageId);
      return this.refreshing.get(messageId);
    }
    const item = document.getElementById(`m-${messageId}`);
    if (!item) {
      // Being appended right now, from a fetch made before this update: look again after it.
      if (this.appending) return this.appending.then(() => this.refreshMessage(messageId));
      return; // not loaded (an older page): nothing to update
    }
    const done = htmx
      .ajax("GET", `/inbox/messages/${messageId}`, { target: item, swap: "outerHTML" })
      .finally(() => {
        this.refreshing.delete(messageId);
        if (this.refreshAgain.delete(messageId)) this.refreshMessage(messageId);
      });
    this.refreshing.set(messageId, done);
    return done;
  }

  // After a merge, unmerge or split the rows of the timeline changed, not only its end.
  async reloadTimeline() {
    await htmx.ajax("GET", `/inbox/conversations/${this.id}/timeline`, { target: this.items, swap: "innerHTML" });
    this.tidy();
    this.scrollToEnd();
  }

  scheduleHeaderRefresh() {
    clearTimeout(this.headerTimer);
    this.headerTimer = setTimeout(() => this.refreshHeader(), 150);
  }

  async refreshHeader() {
    // Keep the agent's place: a select being used is not swapped away under the pointer.
    const active = document.activeElement;
    const focusedField = active && active.closest("#conversation-header") ? active.id || active.dataset.field : null;
    await htmx.ajax("GET", `/inbox/conversations/${this.id}/header`, {
      target: "#conversation-header",
      swap: "innerHTML",
    });
    const status = document.getElementById("conversation-status");
    if (status) this.main.dataset.status = status.dataset.status;
    if (focusedField) {
      const again = document.getElementById(focusedField) || document.querySelector(`#conversation-header [data-field="${focusedField}"]`);
      if (again) again.focus();
    }
  }

  markRead() {
    return api("POST", `/api/v1/conversations/${this.id}/read`).catch(() => undefined);
  }

  async change(body) {
    try {
      await api("PATCH", `/api/v1/conversations/${this.id}`, body);
    } catch (error) {
      toast(error.message);
      return;
    }
    await this.afterChange();
  }

  async afterChange() {
    // The socket announces the change too; refreshing now makes it instant for the actor.
    await Promise.all([this.refreshHeader(), this.append()]);
    this.list.scheduleRefresh();
  }

  toggleResolved() {
    const button = document.getElementById("resolve-button");
    if (button) button.click();
  }

  focusAssign() {
    document.body.classList.add("show-actions"); // on a phone the actions fold away
    const select = document.getElementById("assignee");
    if (select) {
      select.focus();
      if (typeof select.showPicker === "function") {
        try {
          select.showPicker();
        } catch {
          /* not allowed without a user gesture in some browsers: focus is enough */
        }
      }
    }
  }

  snoozeTime(kind) {
    const at = new Date();
    if (kind === "1h") return new Date(at.getTime() + 3600 * 1000);
    if (kind === "tomorrow" || kind === "week") {
      at.setDate(at.getDate() + (kind === "week" ? 7 : 1));
      at.setHours(9, 0, 0, 0);
      return at;
    }
    const input = document.getElementById("snooze-until");
    return input && input.value ? new Date(input.value) : null;
  }

  installActions() {
    const header = document.getElementById("conversation-header");
    header.addEventListener("click", (event) => {
      const target = event.target.closest("button");
      if (!target) return;
      if (target.dataset.statusTo) {
        this.change({ status: target.dataset.statusTo });
      } else if ("assignMe" in target.dataset) {
        this.change({ assignee_id: this.agentId });
      } else if (target.dataset.snooze) {
        const until = this.snoozeTime(target.dataset.snooze);
        if (!until || Number.isNaN(until.getTime())) {
          toast("Choose when the conversation should come back.");
          return;
        }
        this.change({ status: "snoozed", snoozed_until: until.toISOString() });
      } else if (target.dataset.removeTag) {
        this.removeTag(target.dataset.removeTag);
      }
    });
    header.addEventListener("change", (event) => {
      const field = event.target.dataset.field;
      if (!field) return;
      const value = event.target.value;
      this.change({ [field]: field === "priority" ? value : value === "" ? null : Number(value) });
    });
    header.addEventListener("submit", (event) => {
      if (!event.target.matches("[data-add-tag]")) return;
      event.preventDefault();
      const input = event.target.querySelector("input");
      const tag = input.value.trim();
      if (tag) this.addTag(tag);
    });
    this.items.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-retry]");
      if (!button) return;
      button.disabled = true;
      try {
        await api("POST", `/api/v1/messages/${button.dataset.retry}/retry`);
        await this.refreshMessage(button.dataset.retry);
      } catch (error) {
        toast(error.message);
        button.disabled = false;
      }
    });
  }

  async addTag(tag) {
    try {
      await api("POST", `/api/v1/conversations/${this.id}/tags`, { tags: [tag] });
    } catch (error) {
      toast(error.message);
      return;
    }
    await this.afterChange();
    const input = document.getElementById("tag-input");
    if (input) input.focus();
  }

  async removeTag(tag) {
    try {
      await api("DELETE", `/api/v1/conversations/${this.id}/tags/${encodeURIComponent(tag)}`);
    } catch (error) {
      toast(error.message);
      return;
    }
    await this.afterChange();
  }
}

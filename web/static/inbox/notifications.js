// The bell: the unread count, the newest notifications, mark one or all read, and a click that
// opens the conversation. It loads once from the API, then follows the live socket:
// `notification.created` adds one (with the new unread count), `notification.read` (from this
// or another tab) marks them read.

import { api, toast } from "./api.js";

const PAGE = 30;

export class Bell {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector("#bell");
    this.count = root.querySelector("#bell-count");
    this.panel = root.querySelector("#bell-panel");
    this.list = root.querySelector("#bell-list");
    this.empty = root.querySelector("#bell-empty");
    this.items = [];
    this.unread = 0;
    this.button.addEventListener("click", () => this.toggle());
    root.querySelector("#bell-read-all").addEventListener("click", () => this.readAll());
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !root.contains(event.target)) this.toggle(false);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) {
        this.toggle(false);
        this.button.focus();
      }
    });
  }

  async load() {
    try {
      const page = await api("GET", `/api/v1/notifications?limit=${PAGE}`);
      this.items = page.items;
      this.setUnread(page.unread_count);
      this.render();
    } catch (error) {
      if (error.status !== 401) toast(`Could not load notifications: ${error.message}`);
    }
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  }

  setUnread(count) {
    this.unread = Math.max(0, Number(count) || 0);
    this.root.dataset.unread = String(this.unread);
    this.count.textContent = this.unread > 99 ? "99+" : String(this.unread);
    this.count.hidden = this.unread === 0;
    this.button.setAttribute("aria-label", this.unread ? `Notifications, ${this.unread} unread` : "Notifications");
  }

  onEvent(event) {
    const data = event.data || {};
    if (event.type === "notification.created") {
      if (!this.items.some((n) => n.id === data.id)) this.items.unshift(data);
      this.items = this.items.slice(0, PAGE);
      this.setUnread(data.unread_count);
    } else if (event.type === "notification.read") {
      const ids = Array.isArray(data.ids) ? new Set(data.ids) : null;
      const now = new Date().toISOString();
      for (const item of this.items) if (!item.read_at && (!ids || ids.has(item.id))) item.read_at = now;
      this.setUnread(data.unread_count);
    }
    this.render();
  }

  render() {
    this.list.replaceChildren(...this.items.map((item) => this.row(item)));
    this.empty.hidden = this.items.length > 0;
  }

  row(item) {
    const li = document.createElement("li");
    li.className = "bell-item" + (item.read_at ? "" : " unread");
    li.dataset.notificationId = String(item.id);
    li.dataset.kind = item.kind;
    const link = document.createElement("a");
    link.href = item.conversation_id ? `/inbox/conversations/${item.conversation_id}` : "#";
    const title = document.createElement("span");
    title.className = "bell-title";
    title.textContent = item.title;
    const body = document.createElement("span");
    body.className = "bell-body";
    body.textContent = item.body || (item.data && item.data.contact_name) || "";
    const when = document.createElement("time");
    when.className = "bell-when";
    when.dateTime = item.created_at;
    when.textContent = new Date(item.created_at).toLocaleString();
    link.append(title, body, when);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      this.open(item, link.href);
    });
    li.append(link);
    if (!item.read_at) {
      const mark = document.createElement("button");
      mark.type = "button";
      mark.className = "ghost bell-mark";
      mark.textContent = "Mark read";
      mark.setAttribute("aria-label", `Mark read: ${item.title}`);
      mark.addEventListener("click", () => this.read([item.id]));
      li.append(mark);
    }
    return li;
  }

  async read(ids) {
    try {
      const result = await api("POST", "/api/v1/notifications/read", { ids });
      this.onEvent({ type: "notification.read", data: { ids, unread_count: result.unread_count } });
    } catch (error) {
      if (error.status !== 401) toast(error.message);
    }
  }

  async readAll() {
    try {
      const result = await api("POST", "/api/v1/notifications/read", { all: true });
      this.onEvent({ type: "notification.read", data: { ids: null, unread_count: result.unread_count } });
    } catch (error) {
      if (error.status !== 401) toast(error.message);
    }
  }

  async open(item, href) {
    if (!item.read_at) await this.read([item.id]);
    if (item.conversation_id) window.location.assign(href);
  }
}

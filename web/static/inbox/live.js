// The live connection: WS /ws/agent, resumed from the last event id after any drop.
//
// The page is rendered with the newest event id it reflects, so the socket starts there and
// nothing that happened between the render and the connection is missed. Every event's id is
// kept (sessionStorage too, for pages rendered without one); after a drop the socket comes back
// with exponential backoff and asks for everything after that id, while a banner says so.

import { toLogin } from "./api.js";

const STORAGE_KEY = "hub:lastEventId";
const MAX_DELAY_MS = 30000;

async function sessionAlive() {
  try {
    const response = await fetch("/api/v1/auth/me", { credentials: "same-origin" });
    return response.status !== 401;
  } catch {
    return true; // the network is down, not the session: keep trying
  }
}

export class Live {
  constructor({ after, onEvent }) {
    const stored = Number(sessionStorage.getItem(STORAGE_KEY) || 0);
    this.last = Number.isFinite(after) && after > 0 ? after : stored;
    this.onEvent = onEvent;
    this.attempt = 0;
    this.socket = null;
    this.timer = 0;
    this.banner = document.getElementById("live-status");
  }

  start() {
    this.connect();
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.socket) this.reconnectNow();
    });
  }

  setState(state) {
    document.body.dataset.live = state;
    if (this.banner) this.banner.hidden = state !== "reconnecting";
  }

  connect() {
    clearTimeout(this.timer);
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + "/ws/agent");
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    if (document.body.dataset.live !== "reconnecting") this.setState("connecting");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ after: this.last }));
      this.attempt = 0;
      this.setState("live");
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState("reconnecting");
      this.schedule();
    });
  }

  receive(data) {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (!event || typeof event.id !== "number" || event.id <= this.last) return;
    this.last = event.id;
    sessionStorage.setItem(STORAGE_KEY, String(event.id));
    try {
      this.onEvent(event);
    } catch (error) {
      console.error("live event handler failed", error);
    }
  }

  schedule() {
    const base = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt);
    const delay = base * (0.75 + Math.random() * 0.5); // jitter: not every tab at once
    this.attempt += 1;
    this.timer = setTimeout(async () => {
      // A socket refused again and again may mean the session ended: ask the API, which says so.
      if (this.attempt > 1 && !(await sessionAlive())) {
        toLogin();
        return;
      }
      this.connect();
    }, delay);
  }

  reconnectNow() {
    if (this.socket) return;
    this.attempt = 0;
    this.connect();
  }
}

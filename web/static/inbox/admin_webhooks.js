// The webhooks admin pages: create a subscription (its secret shown once), send a test event,
// enable or disable, rotate the secret, delete, and redeliver from the log. All through the API.

import { api, toast } from "./api.js";

const PATH = "/api/v1/webhook-subscriptions";

const create = document.getElementById("new-webhook");
if (create) {
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = create.elements;
    const error = document.getElementById("new-webhook-error");
    error.hidden = true;
    const types = [...create.querySelectorAll("input[name=event_types]:checked")].map((i) => i.value);
    try {
      const created = await api("POST", PATH, { name: f.name.value, url: f.url.value, event_types: types });
      document.getElementById("new-webhook-secret").textContent = created.secret;
      document.getElementById("new-webhook-link").href = `/admin/webhooks/${created.id}`;
      document.getElementById("new-webhook-result").hidden = false;
      create.reset();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
}

const panel = document.getElementById("webhook");
if (panel) {
  const s = JSON.parse(panel.dataset.subscription);
  const settings = (changes) => ({ name: s.name, url: s.url, event_types: s.event_types, enabled: s.enabled, ...changes });
  const on = (id, handler) => {
    const button = document.getElementById(id);
    if (button) button.addEventListener("click", () => handler().catch((e) => toast(e.message)));
  };
  on("webhook-test", async () => {
    await api("POST", `${PATH}/${s.id}/test`);
    toast("Test event queued: it shows in the log below.");
    setTimeout(() => window.location.reload(), 1500);
  });
  on("webhook-toggle", async () => {
    await api("PUT", `${PATH}/${s.id}`, settings({ enabled: !s.enabled }));
    window.location.reload();
  });
  on("webhook-rotate", async () => {
    if (!window.confirm("Rotate the signing secret? The receiver must be given the new one.")) return;
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    const secret = "whsec_" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    await api("PUT", `${PATH}/${s.id}`, settings({ secret }));
    const box = document.getElementById("webhook-secret");
    box.querySelector("code").textContent = secret;
    box.hidden = false;
  });
  on("webhook-delete", async () => {
    if (!window.confirm("Delete this subscription and its delivery log?")) return;
    await api("DELETE", `${PATH}/${s.id}`);
    window.location.assign("/admin/webhooks");
  });
  document.getElementById("delivery-rows").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-redeliver]");
    if (!button) return;
    button.disabled = true;
    try {
      const again = await api("POST", `${PATH}/${s.id}/deliveries/${button.dataset.redeliver}/redeliver`);
      toast(`Redelivery ${again.id} is ${again.status}.`);
      setTimeout(() => window.location.reload(), 1500);
    } catch (e) {
      toast(e.message);
      button.disabled = false;
    }
  });
}

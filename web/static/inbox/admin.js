// Admin pages: create an API inbox (its generated secret shown once), create and revoke API
// keys (the key shown once). Everything goes through the REST API.

import { api, toast } from "./api.js";
import { installChrome } from "./chrome.js";

installChrome();

function fail(box, error) {
  box.textContent = error.message;
  box.hidden = false;
}

const inboxForm = document.getElementById("new-inbox");
if (inboxForm) {
  inboxForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("new-inbox-error");
    const result = document.getElementById("new-inbox-result");
    error.hidden = true;
    // form.elements, not form.name: a form's own `name` property shadows a field called "name".
    const fields = inboxForm.elements;
    const config = {};
    if (fields.callback_url.value) config.callback_url = fields.callback_url.value;
    if (fields.callback_secret.value) config.callback_secret = fields.callback_secret.value;
    const body = { name: fields.name.value, channel: "api", config };
    if (fields.team_id.value) body.team_id = Number(fields.team_id.value);
    try {
      const inbox = await api("POST", "/api/v1/inboxes", body);
      const secrets = inbox.generated_secrets || {};
      const values = {
        inbound_url: `${inboxForm.dataset.publicUrl}/api/v1/inboxes/${inbox.id}/messages`,
        webhook_url: inbox.webhook_url || "",
        secret: secrets.callback_secret || "",
      };
      for (const [name, value] of Object.entries(values)) {
        const field = result.querySelector(`[data-field=${name}]`);
        if (field) field.textContent = value; // text, never HTML
        const line = result.querySelector(`[data-if=${name}]`);
        if (line) line.hidden = !value;
      }
      result.hidden = false;
      inboxForm.reset();
      const row = document.createElement("tr");
      for (const text of [inbox.name, "API", "—", config.callback_url || values.inbound_url, (inbox.secrets_set || []).join(", ")]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      document.getElementById("inbox-rows").append(row);
    } catch (e) {
      fail(error, e);
    }
  });
}

const keyForm = document.getElementById("new-key");
if (keyForm) {
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("new-key-error");
    error.hidden = true;
    try {
      const key = await api("POST", "/api/v1/api-keys", { name: keyForm.elements.name.value });
      document.getElementById("new-key-value").textContent = key.key;
      document.getElementById("new-key-result").hidden = false;
      keyForm.reset();
      const rows = document.getElementById("key-rows");
      rows.querySelector("tr.none")?.remove();
      const row = document.createElement("tr");
      row.dataset.keyId = key.id;
      for (const text of [key.name, `${key.prefix}…`, "just now", "never"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const cell = document.createElement("td");
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.className = "danger";
      revoke.dataset.revoke = key.id;
      revoke.textContent = "Revoke";
      revoke.setAttribute("aria-label", `Revoke ${key.name}`);
      cell.append(revoke);
      row.append(cell);
      rows.append(row);
    } catch (e) {
      fail(error, e);
    }
  });
}

const keyRows = document.getElementById("key-rows");
if (keyRows) {
  keyRows.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-revoke]");
    if (!button) return;
    if (!window.confirm("Revoke this key? Requests with it will be refused from now on.")) return;
    try {
      await api("DELETE", `/api/v1/api-keys/${button.dataset.revoke}`);
      button.closest("tr").remove();
    } catch (e) {
      toast(e.message);
    }
  });
}

// CRM: start a sync; the log below shows it once the page is reloaded.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-crm-sync]");
  if (!button) return;
  button.disabled = true;
  try {
    const run = await api("POST", "/api/v1/crm/sync", {
      source_id: Number(button.dataset.crmSync),
      full: "full" in button.dataset,
    });
    toast(`Sync run ${run.id} is ${run.status}.`);
    setTimeout(() => window.location.reload(), 1500);
  } catch (error) {
    toast(error.message);
    button.disabled = false;
  }
});

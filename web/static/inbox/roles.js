// The roles page: create, save and delete roles, and change an agent's role, through the API
// (/api/v1/roles, PATCH /api/v1/agents/{id}). The page reloads after a change to show it.

import { api, toast } from "./api.js";

const error = document.getElementById("roles-error");

function fail(e) {
  error.textContent = e.message; // text, never HTML
  error.hidden = false;
  toast(e.message);
}

function checked(form) {
  return [...form.querySelectorAll('input[name="permissions"]:checked')].map((box) => box.value);
}

document.getElementById("new-role")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    await api("POST", "/api/v1/roles", {
      key: form.elements.key.value,
      name: form.elements.name.value,
      permissions: checked(form),
    });
    window.location.reload();
  } catch (e) {
    fail(e);
  }
});

for (const form of document.querySelectorAll("form.role-form:not([data-system])")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("PATCH", `/api/v1/roles/${encodeURIComponent(form.dataset.role)}`, {
        name: form.elements.name.value,
        permissions: checked(form),
      });
      toast("Saved.");
    } catch (e) {
      fail(e);
    }
  });
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-delete-role]");
  if (!button) return;
  if (!window.confirm("Delete this role?")) return;
  try {
    await api("DELETE", `/api/v1/roles/${encodeURIComponent(button.dataset.deleteRole)}`);
    window.location.reload();
  } catch (e) {
    fail(e);
  }
});

for (const select of document.querySelectorAll("select[data-agent-role]")) {
  select.addEventListener("change", async () => {
    try {
      await api("PATCH", `/api/v1/agents/${select.dataset.agentRole}`, { role: select.value });
      toast("Role changed.");
    } catch (e) {
      fail(e);
      window.location.reload();
    }
  });
}

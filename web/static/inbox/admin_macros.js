// The macros admin page: create, edit and delete macros through the REST API. The action
// fields (tags, status, priority, assignment) become the macro's `actions` list.

import { api, toast } from "./api.js";

const form = document.getElementById("macro-form");
const rows = document.getElementById("macro-rows");

function actionsFrom(fields) {
  const actions = [];
  const tags = fields.tags.value.split(",").map((t) => t.trim()).filter(Boolean);
  if (tags.length) actions.push({ type: "tag", tags });
  if (fields.priority.value) actions.push({ type: "priority", priority: fields.priority.value });
  const assign = fields.assign.value;
  if (assign === "self") actions.push({ type: "assign", to_self: true });
  else if (assign.startsWith("team:")) actions.push({ type: "assign", team_id: Number(assign.slice(5)) });
  if (fields.status.value) actions.push({ type: "status", status: fields.status.value });
  return actions;
}

function fill(macro) {
  const f = form.elements;
  f.id.value = macro.id;
  f.name.value = macro.name;
  f.body.value = macro.body;
  f.visibility.value = macro.visibility;
  if (f.team_id) f.team_id.value = macro.team_id || "";
  f.tags.value = "";
  f.status.value = "";
  f.priority.value = "";
  f.assign.value = "";
  for (const action of macro.actions) {
    if (action.type === "tag") f.tags.value = action.tags.join(", ");
    if (action.type === "status") f.status.value = action.status;
    if (action.type === "priority") f.priority.value = action.priority;
    if (action.type === "assign") f.assign.value = action.to_self ? "self" : action.team_id ? `team:${action.team_id}` : "";
  }
  document.getElementById("macro-form-title").textContent = `Edit “${macro.name}”`;
  document.getElementById("macro-save").textContent = "Save macro";
  f.name.focus();
}

if (form) {
  form.addEventListener("reset", () => {
    form.elements.id.value = "";
    document.getElementById("macro-form-title").textContent = "New macro";
    document.getElementById("macro-save").textContent = "Create macro";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const error = document.getElementById("macro-error");
    error.hidden = true;
    const body = {
      name: f.name.value,
      body: f.body.value,
      visibility: f.visibility.value,
      actions: actionsFrom(f),
    };
    if (body.visibility === "team") body.team_id = f.team_id && f.team_id.value ? Number(f.team_id.value) : null;
    try {
      if (f.id.value) await api("PUT", `/api/v1/macros/${f.id.value}`, body);
      else await api("POST", "/api/v1/macros", body);
      window.location.reload();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
}

if (rows) {
  rows.addEventListener("click", async (event) => {
    const edit = event.target.closest("button[data-edit-macro]");
    if (edit) return fill(JSON.parse(edit.closest("tr").dataset.macro));
    const remove = event.target.closest("button[data-delete-macro]");
    if (!remove) return;
    if (!window.confirm("Delete this macro?")) return;
    try {
      await api("DELETE", `/api/v1/macros/${remove.dataset.deleteMacro}`);
      remove.closest("tr").remove();
    } catch (e) {
      toast(e.message);
    }
  });
}

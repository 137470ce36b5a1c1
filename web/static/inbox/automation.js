// The automation page: enable, reorder, delete and test rules, and build a rule from a form
// (fields, operators and values chosen from lists) that becomes the JSON the API validates.

import { api, toast } from "./api.js";
import { installChrome } from "./chrome.js";

installChrome();

const FIELDS = {
  "priority": { ops: ["in", "not_in"], kind: "list" },
  "status": { ops: ["in", "not_in"], kind: "list" },
  "channel": { ops: ["in", "not_in"], kind: "list" },
  "tags": { ops: ["has_any", "has_all", "has_none"], kind: "list" },
  "message.text": { ops: ["contains", "not_contains", "matches", "not_matches"], kind: "text" },
  "subject": { ops: ["contains", "not_contains", "matches", "not_matches"], kind: "text" },
  "sender.domain": { ops: ["in", "not_in"], kind: "list" },
  "inbox": { ops: ["in", "not_in"], kind: "ids" },
  "team": { ops: ["in", "not_in", "is_set", "not_set"], kind: "ids" },
  "assignee": { ops: ["in", "not_in", "is_set", "not_set"], kind: "ids" },
  "sla.state": { ops: ["in", "not_in"], kind: "list" },
  "crm.customer_status": { ops: ["in", "not_in"], kind: "list" },
  "crm.overdue_invoice_count": { ops: ["gte", "gt", "eq", "lt", "lte"], kind: "number" },
  "crm.overdue_amount": { ops: ["gte", "gt", "eq", "lt", "lte"], kind: "number" },
  "crm.service_status": { ops: ["has_any", "has_none"], kind: "list" },
  "crm.tariff": { ops: ["has_any", "has_none"], kind: "list" },
  "csat.rating": { ops: ["lte", "lt", "eq", "gte", "gt"], kind: "number" },
};
const ACTIONS = {
  set_priority: { key: "priority", kind: "text", hint: "urgent" },
  add_tags: { key: "tags", kind: "list", hint: "vip, billing" },
  remove_tags: { key: "tags", kind: "list", hint: "spam" },
  set_status: { key: "status", kind: "text", hint: "closed" },
  assign_team: { key: "team_id", kind: "number", hint: "team id" },
  assign_agent: { key: "agent_id", kind: "number", hint: "agent id" },
  unassign: { key: null },
  apply_sla: { key: "policy_id", kind: "number", hint: "policy id" },
  private_note: { key: "text", kind: "text", hint: "note text" },
  notify: { key: "team_id", kind: "number", hint: "team id", title: true },
  mark_spam: { key: null },
  reply_macro: { key: "macro_id", kind: "number", hint: "macro id" },
  set_requirements: { key: "requirements", kind: "list", hint: "language:de, product:fibre" },
  reply_template: { key: "name", kind: "text", hint: "approved template name" },
  send_webhook: { key: "subscription_id", kind: "number", hint: "subscription id" },
};

function option(value) {
  const o = document.createElement("option");
  o.value = o.textContent = value;
  return o;
}

function row(container, names, label) {
  const div = document.createElement("div");
  div.className = "builder-row";
  const select = document.createElement("select");
  select.setAttribute("aria-label", label);
  names.forEach((n) => select.append(option(n)));
  div.append(select);
  container.append(div);
  return { div, select };
}

function removeButton(div) {
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Remove";
  remove.addEventListener("click", () => div.remove());
  div.append(remove);
}

function addCondition() {
  const { div, select } = row(document.getElementById("conditions"), Object.keys(FIELDS), "Field");
  const negate = document.createElement("label");
  negate.innerHTML = '<input type="checkbox" data-not> not';
  const op = document.createElement("select");
  op.setAttribute("aria-label", "Operator");
  const value = document.createElement("input");
  value.setAttribute("aria-label", "Value");
  value.dataset.value = "";
  const sync = () => {
    op.replaceChildren(...FIELDS[select.value].ops.map(option));
    value.placeholder = FIELDS[select.value].kind === "number" ? "a number" : "comma separated";
  };
  select.addEventListener("change", sync);
  sync();
  div.prepend(negate);
  div.append(op, value);
  removeButton(div);
}

function addAction() {
  const { div, select } = row(document.getElementById("actions"), Object.keys(ACTIONS), "Action");
  const value = document.createElement("input");
  value.setAttribute("aria-label", "Action value");
  const sync = () => {
    const spec = ACTIONS[select.value];
    value.hidden = !spec.key;
    value.placeholder = spec.hint || "";
  };
  select.addEventListener("change", sync);
  sync();
  div.append(value);
  removeButton(div);
}

function typed(kind, raw) {
  const parts = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (kind === "number") return raw.trim() === "" ? raw : Number(raw);
  if (kind === "ids") return parts.map(Number);
  if (kind === "list") return parts;
  return raw;
}

function buildRule(form) {
  const [type, direction] = form.elements.trigger.value.split(":");
  const trigger = { type };
  if (direction) trigger.direction = direction;
  if (type.startsWith("time.")) trigger.minutes = Number(form.elements.minutes.value);
  const leaves = [...document.querySelectorAll("#conditions .builder-row")].map((div) => {
    const [field, op] = div.querySelectorAll("select");
    const spec = FIELDS[field.value];
    const leaf = { field: field.value, op: op.value };
    if (!op.value.endsWith("_set")) leaf.value = typed(spec.kind, div.querySelector("[data-value]").value);
    return div.querySelector("[data-not]").checked ? { not: leaf } : leaf;
  });
  const actions = [...document.querySelectorAll("#actions .builder-row")].map((div) => {
    const select = div.querySelector("select");
    const spec = ACTIONS[select.value];
    const action = { type: select.value };
    if (spec.key) action[spec.key] = typed(spec.kind, div.querySelector("input").value);
    if (spec.title) action.title = form.elements.name.value;
    return action;
  });
  return {
    name: form.elements.name.value,
    trigger,
    conditions: leaves.length ? { [form.elements.match.value]: leaves } : {},
    actions,
    stop_processing: form.elements.stop_processing.checked,
  };
}

const form = document.getElementById("new-rule");
if (form) {
  document.getElementById("add-condition").addEventListener("click", addCondition);
  document.getElementById("add-action").addEventListener("click", addAction);
  form.elements.trigger.addEventListener("change", () => {
    document.getElementById("minutes-box").hidden = !form.elements.trigger.value.startsWith("time.");
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("new-rule-error");
    error.hidden = true;
    try {
      await api("POST", "/api/v1/automation-rules", buildRule(form));
      window.location.reload();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
}

const rows = document.getElementById("rule-rows");
if (rows) {
  rows.addEventListener("click", async (event) => {
    const tr = event.target.closest("tr[data-rule-id]");
    if (!tr) return;
    const id = Number(tr.dataset.ruleId);
    try {
      if (event.target.matches("[data-move]")) {
        const ids = [...rows.querySelectorAll("tr[data-rule-id]")].map((r) => Number(r.dataset.ruleId));
        const at = ids.indexOf(id);
        const to = at + Number(event.target.dataset.move);
        if (to < 0 || to >= ids.length) return;
        [ids[at], ids[to]] = [ids[to], ids[at]];
        await api("PUT", "/api/v1/automation-rules/order", { rule_ids: ids });
        window.location.reload();
      } else if (event.target.matches("[data-delete]")) {
        await api("DELETE", `/api/v1/automation-rules/${id}`);
        tr.remove();
      } else if (event.target.matches("[data-test]")) {
        const target = window.prompt("Dry run against conversation id:");
        if (!target) return;
        const result = await api("POST", `/api/v1/automation-rules/${id}/test`, { conversation_id: Number(target) });
        const box = document.getElementById("test-result");
        box.textContent = result.matched
          ? `Would match and ${result.actions.map((a) => a.action).join(", ")}.`
          : "Would not match.";
        box.hidden = false;
      }
    } catch (failure) {
      toast(failure.message);
    }
  });
  rows.addEventListener("change", async (event) => {
    if (!event.target.matches("[data-enable]")) return;
    const id = Number(event.target.closest("tr").dataset.ruleId);
    try {
      await api("PUT", `/api/v1/automation-rules/${id}/enabled`, { enabled: event.target.checked });
      toast(event.target.checked ? "Rule enabled" : "Rule disabled");
    } catch (failure) {
      toast(failure.message);
    }
  });
}

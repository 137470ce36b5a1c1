// The agents admin page: invite (mailed, or the one-time link shown to copy), edit, deactivate and
// reactivate agents, their inbox access, teams with their routing settings, members and
// capacities. Everything goes through the REST API; an answer it refuses (422, 403, 409) is
// shown next to the form, and a change that worked reloads the page so every table agrees.

import { api } from "./api.js";

function errorBox(key) {
  return document.querySelector(`[data-error-for="${key}"]`);
}

function show(box, error) {
  if (!box) return;
  box.textContent = error.message; // text, never HTML
  box.hidden = false;
}

function hide(box) {
  if (box) box.hidden = true;
}

function capacity(value) {
  // Empty: the team's own capacity (null on the API).
  return value === "" ? null : Number(value);
}

// Run `change` for a form; errors go to its box, success reloads.
function wire(form, key, change) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = typeof key === "function" ? key() : errorBox(key);
    hide(box);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await change();
      window.location.reload();
    } catch (error) {
      show(box, error);
      if (button) button.disabled = false;
    }
  });
}

const invite = document.getElementById("invite-agent");
if (invite) {
  const result = document.getElementById("invite-result");
  const link = document.getElementById("invite-link");
  invite.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("invite-agent-error");
    hide(box);
    result.hidden = true;
    // form.elements, not form.name: a form's own `name` property shadows a field called "name".
    const fields = invite.elements;
    try {
      const answer = await api("POST", "/api/v1/agents", {
        name: fields.name.value,
        email: fields.email.value,
        role: fields.role.value,
      });
      for (const field of result.querySelectorAll("[data-field=email]")) field.textContent = answer.agent.email;
      // Mailed (HUB_SMTP_* set): the link never reaches this page. Otherwise it is shown once.
      link.value = answer.invite_url || "";
      result.querySelector("[data-if=link]").hidden = answer.emailed;
      result.querySelector("[data-if=emailed]").hidden = !answer.emailed;
      result.hidden = false;
      invite.reset();
      const row = document.createElement("tr");
      row.dataset.agentId = answer.agent.id;
      for (const text of [answer.agent.name, answer.agent.email, answer.agent.role, "—", answer.agent.availability, "yes"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      document.getElementById("agent-rows").append(row);
    } catch (error) {
      show(box, error);
    }
  });
  document.getElementById("copy-invite").addEventListener("click", async () => {
    link.select();
    try {
      await navigator.clipboard.writeText(link.value);
    } catch {
      document.execCommand("copy"); // no clipboard API (plain http): the selection is copied
    }
  });
}

for (const form of document.querySelectorAll("form.agent-form")) {
  const id = form.dataset.agentId;
  wire(form, `agent-${id}`, () =>
    api("PATCH", `/api/v1/agents/${id}`, { name: form.elements.name.value, role: form.elements.role.value }),
  );
  const toggle = form.querySelector("button[data-set-active]");
  if (toggle) {
    toggle.addEventListener("click", async () => {
      const active = toggle.dataset.setActive === "true";
      const name = form.dataset.agentName;
      const question = active
        ? `Reactivate ${name}? They can log in again with their password.`
        : `Deactivate ${name}? They are logged out everywhere, their API keys are revoked and nothing is assigned to them any more.`;
      if (!window.confirm(question)) return;
      const box = errorBox(`agent-${id}`);
      hide(box);
      try {
        await api("PATCH", `/api/v1/agents/${id}`, { active });
        window.location.reload();
      } catch (error) {
        show(box, error);
      }
    });
  }
}

// Inbox access: an inbox's members are set as a whole, so each inbox whose box changed gets
// its members as the page was rendered, with this agent added or taken out.
for (const form of document.querySelectorAll("form.access-form")) {
  const agentId = Number(form.dataset.agentId);
  const boxes = [...form.querySelectorAll("input[name=inbox]")];
  const initial = new Map(boxes.map((box) => [box.value, box.checked]));
  wire(form, `access-${agentId}`, async () => {
    for (const box of boxes) {
      if (box.checked === initial.get(box.value)) continue;
      const listed = box.dataset.members ? box.dataset.members.split(",").map(Number) : [];
      const members = listed.filter((id) => id !== agentId);
      if (box.checked) members.push(agentId);
      await api("PUT", `/api/v1/inboxes/${box.value}/members`, { agent_ids: members });
    }
  });
}

function teamFields(form) {
  const fields = form.elements;
  return {
    name: fields.name.value,
    routing: {
      assignment: fields.assignment.value,
      max_open: Number(fields.max_open.value),
      unassign_on_away: fields.unassign_on_away.checked,
    },
  };
}

for (const form of document.querySelectorAll("form.team-form")) {
  const id = form.dataset.teamId;
  wire(form, `team-${id}`, async () => {
    const { name, routing } = teamFields(form);
    if (name !== form.dataset.teamName) await api("PATCH", `/api/v1/teams/${id}`, { name });
    await api("PATCH", `/api/v1/teams/${id}/routing`, routing);
  });
}

const newTeam = document.getElementById("new-team");
if (newTeam) {
  wire(newTeam, () => document.getElementById("new-team-error"), async () => {
    const { name, routing } = teamFields(newTeam);
    const team = await api("POST", "/api/v1/teams", { name });
    await api("PATCH", `/api/v1/teams/${team.id}/routing`, routing);
  });
}

for (const form of document.querySelectorAll("form.capacity-form")) {
  const { teamId, agentId } = form.dataset;
  wire(form, `members-${teamId}`, () =>
    api("PUT", `/api/v1/teams/${teamId}/members/${agentId}/capacity`, { max_open: capacity(form.elements.max_open.value) }),
  );
}

function memberIds(teamId) {
  const form = document.querySelector(`form.add-member-form[data-team-id="${teamId}"]`);
  const listed = form.dataset.memberIds;
  return listed ? listed.split(",").map(Number) : [];
}

for (const form of document.querySelectorAll("form.add-member-form")) {
  const teamId = form.dataset.teamId;
  wire(form, `members-${teamId}`, async () => {
    const agentId = Number(form.elements.agent_id.value);
    await api("PUT", `/api/v1/teams/${teamId}/members`, { agent_ids: [...memberIds(teamId), agentId] });
    const max = capacity(form.elements.max_open.value);
    if (max !== null) {
      await api("PUT", `/api/v1/teams/${teamId}/members/${agentId}/capacity`, { max_open: max });
    }
  });
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-remove-member]");
  if (!button) return;
  const teamId = button.dataset.teamId;
  const agentId = Number(button.dataset.removeMember);
  const box = errorBox(`members-${teamId}`);
  hide(box);
  try {
    await api("PUT", `/api/v1/teams/${teamId}/members`, { agent_ids: memberIds(teamId).filter((id) => id !== agentId) });
    window.location.reload();
  } catch (error) {
    show(box, error);
  }
});

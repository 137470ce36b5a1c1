// An inbox's CSAT survey settings: the form is saved whole through the REST API (PUT).

import { api } from "./api.js";

const form = document.getElementById("csat-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const saved = document.getElementById("csat-saved");
    const error = document.getElementById("csat-error");
    saved.hidden = true;
    error.hidden = true;
    const body = {
      enabled: f.enabled.checked,
      delay_minutes: Number(f.delay_minutes.value),
      window_hours: Number(f.window_hours.value),
      question: f.question.value,
      // Only WhatsApp inboxes show the template; the others keep what is stored.
      template: f.template ? f.template.value : form.dataset.template,
    };
    try {
      const stored = await api("PUT", `/api/v1/inboxes/${form.dataset.inbox}/csat`, body);
      f.enabled.checked = stored.enabled;
      f.delay_minutes.value = stored.delay_minutes;
      f.window_hours.value = stored.window_hours;
      f.question.value = stored.question;
      if (f.template) f.template.value = stored.template;
      form.dataset.template = stored.template;
      saved.textContent = stored.enabled
        ? `Saved: a survey goes ${stored.delay_minutes} minutes after each resolution.`
        : "Saved: no surveys are sent.";
      saved.hidden = false;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
}

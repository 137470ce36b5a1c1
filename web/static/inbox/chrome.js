// What every signed-in page has: log out, the shortcuts dialog, panel toggles, the time zone.

import { api } from "./api.js";

export function installChrome() {
  // The server renders times in the agent's zone once it knows it (UTC until then).
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split("; ").includes("tz=" + encodeURIComponent(zone))) {
    document.cookie = `tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; samesite=lax`;
  }
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try {
        await api("POST", "/api/v1/auth/logout");
      } finally {
        window.location.assign("/login");
      }
    });
  }
  // Only available agents receive conversations automatically; away returns them to the queue.
  const availability = document.getElementById("availability");
  if (availability) {
    availability.addEventListener("change", async () => {
      const label = availability.closest("label");
      try {
        await api("PUT", "/api/v1/agents/me/availability", { status: availability.value });
        label.className = `availability availability-${availability.value}`;
      } catch (error) {
        window.location.reload();
      }
    });
  }
  const dialog = document.getElementById("shortcuts");
  const help = document.getElementById("shortcuts-button");
  if (dialog && help) help.addEventListener("click", () => dialog.showModal());
  // Panels shown on demand on small screens (views, actions, contact) and the filter panel.
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-toggle]");
    if (!toggle) return;
    let open;
    if (toggle.dataset.toggle === "filters") {
      const panel = document.getElementById(toggle.getAttribute("aria-controls"));
      panel.hidden = !panel.hidden;
      open = !panel.hidden;
    } else {
      open = document.body.classList.toggle(`show-${toggle.dataset.toggle}`);
    }
    toggle.setAttribute("aria-expanded", String(open));
  });
  // Filters apply as soon as a choice is made; the Apply button stays for keyboards and no-JS.
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });
}

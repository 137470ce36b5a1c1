// SLA badges count down to their deadline every second, and turn amber at the warning time and
// red at the deadline, without waiting for the server (which re-renders them on every change).

function span(seconds) {
  let s = Math.floor(Math.abs(seconds));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  const secs = s - minutes * 60;
  if (days) return `${days}d ${hours}h`;
  if (hours) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  if (minutes) return `${minutes}m`;
  return `${secs}s`;
}

// The server's clock may differ from the browser's (and tests move the server's): the page
// carries the server time it was rendered at, and the countdown keeps that offset.
const rendered = Number(document.body.dataset.serverNow || 0);
const skew = rendered ? rendered - Date.now() : 0;

export function tick(root = document) {
  const now = Date.now() + skew;
  for (const badge of root.querySelectorAll(".sla-badge[data-sla-due]")) {
    const due = Date.parse(badge.dataset.slaDue);
    if (Number.isNaN(due)) continue;
    const warn = badge.dataset.slaWarn ? Date.parse(badge.dataset.slaWarn) : NaN;
    const left = (due - now) / 1000;
    const state = left <= 0 ? "breached" : !Number.isNaN(warn) && warn <= now ? "warning" : "ok";
    badge.classList.remove("sla-ok", "sla-warning", "sla-breached");
    badge.classList.add(`sla-${state}`);
    const text = badge.querySelector(".sla-text");
    if (text) text.textContent = left > 0 ? `${span(left)} left` : `overdue ${span(left)}`;
  }
}

export function installCountdown() {
  tick();
  setInterval(tick, 1000);
}

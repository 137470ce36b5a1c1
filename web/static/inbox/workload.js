// The workload page: the figures are fetched again (debounced) whenever a live event may have
// changed them: an agent's availability, a conversation created, assigned, resolved or moved.

import { toLogin, toast } from "./api.js";
import { installChrome } from "./chrome.js";
import { Live } from "./live.js";

installChrome();

const DEBOUNCE_MS = 400;
let timer = 0;
let running = false;
let again = false;

async function refresh() {
  if (running) {
    again = true; // one more after this one: the event may have come after its query
    return;
  }
  running = true;
  try {
    const response = await fetch("/inbox/workload/figures", {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    });
    if (response.status === 401) {
      toLogin();
      return;
    }
    if (!response.ok) {
      toast(`Could not refresh the workload (${response.status}).`);
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = await response.text(); // rendered and escaped by the server
    const fresh = template.content.getElementById("workload-figures");
    const current = document.getElementById("workload-figures");
    if (fresh && current) current.replaceWith(fresh);
    document.body.dataset.workloadRefreshes = String(Number(document.body.dataset.workloadRefreshes || 0) + 1);
  } catch {
    toast("Could not refresh the workload.");
  } finally {
    running = false;
    if (again) {
      again = false;
      schedule();
    }
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, DEBOUNCE_MS);
}

function onEvent(event) {
  if (event.type === "agent.updated" || event.type.startsWith("conversation.")) schedule();
}

new Live({ after: Number(document.body.dataset.lastEventId || 0), onEvent }).start();

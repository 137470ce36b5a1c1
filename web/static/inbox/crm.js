// The CRM customer card beside the open conversation: re-rendered by the server when the
// socket says the customer changed (crm.updated), and after the agent links, unlinks or merges.

import { api, toast } from "./api.js";

export class CrmCard {
  constructor(aside, conversationId) {
    this.aside = aside;
    this.conversationId = conversationId;
    this.timer = 0;
    aside.addEventListener("click", (event) => this.click(event));
  }

  card() {
    return document.getElementById("crm-card");
  }

  contactId() {
    const card = this.card();
    return card ? Number(card.dataset.contactId) : null;
  }

  // A burst of changes (a sync page) re-renders once.
  scheduleRefresh() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 150);
  }

  async refresh() {
    const card = this.card();
    if (!card) return;
    await htmx.ajax("GET", `/inbox/conversations/${this.conversationId}/crm`, { target: card, swap: "outerHTML" });
  }

  async act(method, url, body) {
    try {
      await api(method, url, body);
    } catch (error) {
      toast(error.message);
      return;
    }
    await this.refresh();
  }

  click(event) {
    const button = event.target.closest("button");
    if (!button || !this.card() || !this.card().contains(button)) return;
    const contact = this.contactId();
    if (button.dataset.crmLink) {
      this.act("POST", `/api/v1/contacts/${contact}/crm-links`, { customer_id: Number(button.dataset.crmLink) });
    } else if (button.dataset.crmUnlink) {
      this.act("DELETE", `/api/v1/contacts/${contact}/crm-links/${button.dataset.crmUnlink}`);
    } else if (button.dataset.crmMerge) {
      this.act("POST", `/api/v1/contacts/${contact}/merge`, { other_id: Number(button.dataset.crmMerge) });
    }
  }
}

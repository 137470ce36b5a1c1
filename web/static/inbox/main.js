// The inbox pages: wires the list, the open conversation, the composer, the shortcuts and the
// live connection together.

import { installChrome } from "./chrome.js";
import { Composer } from "./composer.js";
import { OpenConversation } from "./conversation.js";
import { CrmCard } from "./crm.js";
import { installShortcuts } from "./keys.js";
import { ConversationList } from "./list.js";
import { Live } from "./live.js";
import { Merging } from "./merge.js";
import { Bell } from "./notifications.js";
import { installCountdown } from "./sla.js";

installChrome();
installCountdown();

const body = document.body;
const main = document.querySelector("main[data-conversation-id]");
const openId = main ? Number(main.dataset.conversationId) : null;
const list = new ConversationList(document.getElementById("rows"), {
  query: body.dataset.listQuery,
  openId,
});
const conversation = main ? new OpenConversation(main, { list, agentId: Number(body.dataset.agentId) }) : null;
const composerForm = document.getElementById("composer");
const composer = conversation && composerForm ? new Composer(composerForm, { conversation, list }) : null;

const contactAside = document.getElementById("contact");
const crmCard = conversation && contactAside ? new CrmCard(contactAside, conversation.id) : null;

const merging = new Merging({ list, conversation });
installShortcuts({ list, conversation, composer, merging });

const bellRoot = document.getElementById("bell-root");
const bell = bellRoot ? new Bell(bellRoot) : null;
if (bell) bell.load();

function onEvent(event) {
  if (event.type.startsWith("notification.")) {
    if (bell) bell.onEvent(event);
    return;
  }
  const here = conversation && event.conversation_id === conversation.id;
  if (!here) {
    if (event.type.startsWith("conversation.") || event.type === "message.created") list.scheduleRefresh();
    return;
  }
  if (event.type === "message.created") {
    conversation.append();
    if (event.data && event.data.direction === "in" && document.visibilityState === "visible") {
      // Seen as it arrives: clear the unread count before the list is re-rendered.
      conversation.markRead().finally(() => list.scheduleRefresh());
    } else {
      list.scheduleRefresh();
    }
  } else if (event.type === "crm.updated") {
    if (crmCard) crmCard.scheduleRefresh();
  } else if (event.type === "message.updated") {
    conversation.refreshMessage(event.data.id);
  } else if (event.type === "conversation.updated" || event.type === "conversation.created") {
    const changed = (event.data && event.data.changed) || {};
    if (changed.merged_into) {
      // Merged away while open here: its messages are in the target now.
      window.location.assign(`/inbox/conversations/${changed.merged_into}`);
      return;
    }
    if ("merged_from" in changed || "unmerged" in changed || "split_into" in changed || "adopted" in changed) {
      conversation.reloadTimeline();
    }
    conversation.scheduleHeaderRefresh();
    list.scheduleRefresh();
    // A merge or unmerge moved this conversation to another contact: another customer, maybe.
    if (crmCard && event.data && event.data.changed && "contact_id" in event.data.changed) crmCard.scheduleRefresh();
  }
}

new Live({ after: Number(body.dataset.lastEventId || 0), onEvent }).start();

if (conversation) {
  conversation.scrollToEnd();
  conversation.markRead();
}

// The composer: reply or private note, Ctrl+Enter to send, attachments, the channel's limits
// shown before sending, and the draft kept per conversation in localStorage (it survives a
// reload and a session that ended mid-sentence).

import { api, toast } from "./api.js";
import { MacroPicker } from "./macros.js";
import { Mentions } from "./mentions.js";

const SAVE_DELAY_MS = 200;

export class Composer {
  constructor(form, { conversation, list }) {
    this.form = form;
    this.conversation = conversation;
    this.list = list;
    this.text = form.querySelector("textarea");
    this.files = form.querySelector("input[type=file]");
    this.fileList = document.getElementById("composer-file-list");
    this.counter = document.getElementById("composer-count");
    this.error = document.getElementById("composer-error");
    this.send_ = document.getElementById("composer-send");
    this.maxLength = Number(form.dataset.maxLength || 0);
    this.supportsAttachments = form.dataset.supportsAttachments === "true";
    this.maxAttachmentBytes = Number(form.dataset.maxAttachmentBytes || 0);
    this.key = `hub:draft:${form.dataset.conversationId}`;
    this.saveTimer = 0;
    this.sending = false;
    this.replyPlaceholder = this.text.placeholder;
    // Approved templates (WhatsApp): the only message a channel with a closed window accepts.
    const picker = document.getElementById("composer-template-picker");
    this.templates = picker ? JSON.parse(picker.dataset.templates || "[]") : [];
    this.templateSelect = document.getElementById("composer-template");
    this.templateFields = document.getElementById("composer-template-fields");
    this.mentions = new Mentions(form, this.text, { isNote: () => this.mode === "note" });
    this.macros = new MacroPicker(this.text, {
      conversationId: Number(form.dataset.conversationId),
      isReply: () => this.mode === "reply" && !this.template,
      onChange: () => this.update(),
    });
    this.restore();
    this.install();
    this.renderTemplateFields();
    this.update();
  }

  get template() {
    const name = this.templateSelect ? this.templateSelect.value : "";
    return this.mode === "reply" ? this.templates.find((t) => t.name === name) || null : null;
  }

  templateValues() {
    return [...(this.templateFields ? this.templateFields.querySelectorAll("input") : [])].map((i) => i.value.trim());
  }

  renderTemplateFields() {
    if (!this.templateFields) return;
    this.templateFields.replaceChildren();
    const template = this.template;
    (template ? template.variables || [] : []).forEach((name, index) => {
      const input = document.createElement("input");
      input.placeholder = `${name} {{${index + 1}}}`;
      input.setAttribute("aria-label", name);
      input.addEventListener("input", () => this.update());
      this.templateFields.append(input);
    });
  }

  templateText(template, values) {
    // What the customer will read, kept as the message's text in the timeline.
    const body = template.body || `[template ${template.name}]`;
    return body.replace(/\{\{(\d+)\}\}/g, (match, n) => values[Number(n) - 1] || match);
  }

  get mode() {
    const checked = this.form.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "reply";
  }

  setMode(mode) {
    const radio = this.form.querySelector(`input[name=mode][value=${mode}]`);
    if (radio) radio.checked = true;
    this.update();
  }

  focus(mode) {
    this.setMode(mode);
    this.text.focus();
  }

  restore() {
    try {
      const draft = JSON.parse(localStorage.getItem(this.key) || "null");
      if (draft && typeof draft.text === "string") {
        this.text.value = draft.text;
        this.setMode(draft.mode === "note" ? "note" : "reply");
      }
    } catch {
      localStorage.removeItem(this.key);
    }
  }

  save() {
    clearTimeout(this.saveTimer);
    if (this.text.value) {
      localStorage.setItem(this.key, JSON.stringify({ text: this.text.value, mode: this.mode, at: Date.now() }));
    } else {
      localStorage.removeItem(this.key);
    }
  }

  install() {
    this.text.addEventListener("input", () => {
      this.update();
      clearTimeout(this.saveTimer);
      this.saveTimer = setTimeout(() => this.save(), SAVE_DELAY_MS);
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.send();
      }
    });
    this.form.addEventListener("change", (event) => {
      if (event.target.name === "mode") {
        this.update();
        this.save();
      }
      if (event.target === this.files) this.update();
      if (event.target === this.templateSelect) {
        this.renderTemplateFields();
        this.update();
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    // Keystrokes typed in the last moments before leaving (or a redirect to login) are kept.
    window.addEventListener("pagehide", () => this.save());
  }

  problems() {
    const length = this.text.value.trim().length;
    const files = [...this.files.files];
    if (this.mode === "reply") {
      if (this.template) {
        if (files.length) return "A template is sent as approved: remove the attachments.";
        if (this.templateValues().some((v) => !v)) return "Fill in every template variable.";
        return "";
      }
      if (this.maxLength && length > this.maxLength) {
        return `This channel accepts at most ${this.maxLength.toLocaleString()} characters (${length.toLocaleString()} now).`;
      }
      if (files.length && !this.supportsAttachments) return "This channel cannot send attachments.";
      const big = files.find((file) => this.maxAttachmentBytes && file.size > this.maxAttachmentBytes);
      if (big) return `${big.name} is larger than this channel accepts.`;
    }
    return "";
  }

  update() {
    const note = this.mode === "note";
    this.form.classList.toggle("is-note", note);
    this.text.placeholder = note ? "Private note: only agents see it… (Ctrl+Enter to add)" : this.replyPlaceholder;
    this.send_.textContent = note ? "Add note" : "Send";
    const length = this.text.value.trim().length;
    this.counter.textContent = this.maxLength && !note ? `${length.toLocaleString()} / ${this.maxLength.toLocaleString()}` : `${length.toLocaleString()}`;
    const problem = this.problems();
    this.counter.classList.toggle("over", Boolean(problem));
    this.send_.disabled = this.sending || Boolean(problem);
    this.fileList.textContent = [...this.files.files].map((file) => file.name).join(", ");
    this.showError(problem);
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  async send() {
    if (this.sending) return;
    const text = this.text.value.trim();
    const files = [...this.files.files];
    const problem = this.problems();
    if (problem) return this.showError(problem);
    const template = this.template;
    if (!text && !files.length && !template && !this.macros.current()) return this.showError("Write something first.");
    this.save();
    this.sending = true;
    this.update();
    try {
      const uploads = [];
      for (const file of files) {
        const data = new FormData();
        data.append("data", file, file.name);
        const uploaded = await api("POST", "/api/v1/attachments", data);
        uploads.push({ upload: uploaded.upload });
      }
      const values = template ? this.templateValues() : [];
      const macro = !template && !uploads.length ? this.macros.current() : null;
      if (macro) {
        // The macro's reply, as the agent left the preview, and its actions.
        await api("POST", `/api/v1/conversations/${this.conversation.id}/macros/${macro}`, { text });
      } else {
        await api("POST", `/api/v1/conversations/${this.conversation.id}/messages`, {
          text: template ? this.templateText(template, values) : text,
          private: this.mode === "note",
          ...(this.mode === "note" ? { mentions: this.mentions.current() } : {}),
          attachments: uploads,
          ...(template ? { template: { name: template.name, variables: values } } : {}),
        });
      }
      this.text.value = "";
      this.mentions.reset();
      this.macros.forget();
      this.files.value = "";
      if (this.templateSelect) this.templateSelect.value = "";
      this.renderTemplateFields();
      localStorage.removeItem(this.key);
      this.showError("");
      await this.conversation.append();
      this.conversation.scrollToEnd();
      this.list.scheduleRefresh();
    } catch (error) {
      if (error.status !== 401) {
        this.showError(error.message);
        toast(error.message);
      }
    } finally {
      this.sending = false;
      this.update();
    }
  }
}

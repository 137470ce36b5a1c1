/* Hub chat widget. Plain JavaScript, no framework, no build step.
 * Embed: <script src="https://HUB/widget.js" data-inbox="PUBLIC_INBOX_TOKEN" async></script>
 * Optional: data-identifier + data-identifier-hash (a logged-in user), data-name, data-email,
 * or window.HubChatSettings = {identifier, identifier_hash, name, email} before the script.
 * Drawn inside a shadow root, so the page's CSS cannot change it and its CSS cannot leak out.
 * Messages wait in an outbox (kept in localStorage) until the hub acknowledges them; each has a
 * client id, so a resend after a lost answer is stored once. The socket resumes from the last
 * event id it saw, so a dropped connection loses nothing. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-inbox]");
  if (!script || window.HubChat) return;
  var inbox = script.getAttribute("data-inbox") || "";
  var src = new URL(script.src, location.href);
  var API = src.origin + src.pathname.replace(/\/widget\.js$/, "");
  var WS = API.replace(/^http/, "ws") + "/ws/widget";
  var opts = Object.assign({}, window.HubChatSettings || {});
  ["identifier", "identifier_hash", "name", "email", "resume", "open"].forEach(function (k) {
    var v = script.getAttribute("data-" + k.replace("_", "-"));
    if (v !== null) opts[k] = v;
  });

  var L = {
    en: ["Write a message…", "Send", "Sending…", "Sent", "Seen", "is typing…", "We're away right now.", "We're back", "Leave your email and we'll answer there if you have gone.", "you@example.com", "Save", "Thanks! We'll email you.", "Your name", "Your email", "Start chat", "Attach a file", "Reconnecting…", "Close", "Open chat", "The file is too large or of a type we cannot take.", "Not sent:", "Add a comment (optional)", "Thanks for your feedback!"],
    de: ["Nachricht schreiben…", "Senden", "Wird gesendet…", "Gesendet", "Gelesen", "schreibt…", "Wir sind gerade nicht da.", "Wir sind zurück", "Hinterlassen Sie Ihre E-Mail, dann antworten wir dort.", "sie@beispiel.de", "Speichern", "Danke! Wir schreiben Ihnen.", "Ihr Name", "Ihre E-Mail", "Chat starten", "Datei anhängen", "Verbindung wird wiederhergestellt…", "Schließen", "Chat öffnen", "Die Datei ist zu groß oder hat einen nicht erlaubten Typ.", "Nicht gesendet:", "Kommentar (optional)", "Danke für Ihr Feedback!"],
    fr: ["Écrivez un message…", "Envoyer", "Envoi…", "Envoyé", "Lu", "écrit…", "Nous sommes absents.", "Retour", "Laissez votre e-mail, nous y répondrons.", "vous@exemple.fr", "Enregistrer", "Merci ! Nous vous écrirons.", "Votre nom", "Votre e-mail", "Démarrer", "Joindre un fichier", "Reconnexion…", "Fermer", "Ouvrir le chat", "Fichier trop volumineux ou type refusé.", "Non envoyé :", "Un commentaire ? (facultatif)", "Merci pour votre avis !"],
    es: ["Escribe un mensaje…", "Enviar", "Enviando…", "Enviado", "Visto", "está escribiendo…", "Ahora no estamos.", "Volvemos", "Déjanos tu email y te responderemos allí.", "tu@ejemplo.es", "Guardar", "¡Gracias! Te escribiremos.", "Tu nombre", "Tu email", "Empezar", "Adjuntar archivo", "Reconectando…", "Cerrar", "Abrir chat", "Archivo demasiado grande o de tipo no admitido.", "No enviado:", "Añade un comentario (opcional)", "¡Gracias por tu opinión!"],
    da: ["Skriv en besked…", "Send", "Sender…", "Sendt", "Set", "skriver…", "Vi er ikke her lige nu.", "Vi er tilbage", "Skriv din e-mail, så svarer vi dér.", "dig@eksempel.dk", "Gem", "Tak! Vi skriver til dig.", "Dit navn", "Din e-mail", "Start chat", "Vedhæft fil", "Genopretter forbindelse…", "Luk", "Åbn chat", "Filen er for stor eller af en type, vi ikke tager imod.", "Ikke sendt:", "Tilføj en kommentar (valgfrit)", "Tak for din feedback!"]
  };
  var T = L.en;

  var KEY = "hubchat:" + inbox;
  var memory = {};
  function load(k) {
    try { return JSON.parse(localStorage.getItem(k) || "null"); } catch (e) { return memory[k] || null; }
  }
  function save(k, v) {
    memory[k] = v;
    try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* storage blocked: memory only */ }
  }
  var stored = load(KEY) || {};
  // Another (or no) logged-in user on this browser: never show the previous user's chat.
  if (stored.token && (stored.identifier || "") !== (opts.identifier || "")) stored = {};
  var outbox = load(KEY + ":out") || [];

  var cfg = null, ws = null, opened = false, lastEvent = 0, retry = 0, timer = 0, pollTimer = 0;
  var unread = 0, typingAt = 0, typingStop = 0, typingHide = 0, sessionPromise = null;
  var seen = false, lastAgentId = 0;
  var items = {}; // "c:<client id>" for the visitor's messages, "m:<id>" for the others

  // --- DOM -------------------------------------------------------------------------------------
  function h(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text) el.textContent = text;
    return el;
  }
  var host = document.createElement("hub-chat");
  var root = host.attachShadow({ mode: "open" });
  var css = ":host{all:initial!important}" +
    ".w{all:initial;position:fixed;bottom:20px;right:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;--c:#2563eb}" +
    ".w.l{right:auto;left:20px}.w *{box-sizing:border-box;font:inherit;color:inherit;margin:0;padding:0;border:0;background:none;letter-spacing:normal;text-transform:none}" +
    ".lb{width:56px;height:56px;border-radius:50%;background:var(--c);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative}" +
    ".lb svg{width:28px;height:28px;fill:#fff}.bd{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d1242f;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px}" +
    ".p{position:absolute;bottom:70px;right:0;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}" +
    ".l .p{right:auto;left:0}.hd{background:var(--c);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}.hd .t{flex:1;font-weight:600;font-size:15px}" +
    ".hd .s{font-size:12px;opacity:.85;font-weight:400}.x{cursor:pointer;color:#fff;font-size:20px;line-height:1;padding:2px 6px}" +
    ".ls{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f6f8fa}" +
    ".m{max-width:80%;align-self:flex-start}.m.me{align-self:flex-end}.b{padding:8px 11px;border-radius:12px;background:#fff;border:1px solid #e1e4e8;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".me .b{background:var(--c);color:#fff;border-color:transparent}.n{font-size:11px;color:#57606a;margin:0 4px 2px}.st{font-size:11px;color:#57606a;text-align:right;margin:2px 4px 0}" +
    ".me.pending .b{opacity:.65}.me.failed .st{color:#d1242f}.a{display:block;text-decoration:underline;cursor:pointer;margin-top:4px}" +
    ".ty{font-size:12px;color:#57606a;padding:0 14px 4px;min-height:18px;background:#f6f8fa}" +
    ".bn{padding:10px 14px;background:#fff8c5;font-size:13px;border-bottom:1px solid #eee}.f{display:flex;gap:6px;margin-top:6px;flex-wrap:wrap}" +
    ".in{flex:1;min-width:0;border:1px solid #d0d7de;border-radius:8px;padding:8px 10px;background:#fff;color:#1f2328}" +
    ".bt{background:var(--c);color:#fff;border-radius:8px;padding:8px 12px;cursor:pointer;font-weight:600}.bt:disabled{opacity:.5;cursor:default}" +
    ".ft{display:flex;gap:6px;padding:10px;border-top:1px solid #e1e4e8;align-items:flex-end;background:#fff}" +
    ".ft textarea{flex:1;resize:none;height:40px;max-height:120px;border:1px solid #d0d7de;border-radius:8px;padding:9px 10px;background:#fff;color:#1f2328}" +
    ".at{cursor:pointer;font-size:18px;padding:8px 4px;color:#57606a}.pf{padding:16px;display:flex;flex-direction:column;gap:8px;flex:1;background:#fff}" +
    ".cs{margin-top:8px;display:flex;flex-direction:column;gap:6px}.cr{display:flex;gap:4px}" +
    ".cb{flex:1;border:1px solid #d0d7de;border-radius:8px;padding:6px 0;cursor:pointer;background:#fff;font-weight:600}.cb.on{background:var(--c);color:#fff;border-color:transparent}" +
    ".hide{display:none!important}";
  root.appendChild(h("style", "", css));
  var w = h("div", "w");
  var launcher = h("button", "lb hide");
  launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  var badge = h("span", "bd hide");
  launcher.appendChild(badge);
  var panel = h("div", "p hide");
  panel.setAttribute("role", "dialog");
  var head = h("div", "hd"), titleBox = h("div", "t"), title = h("div", "", ""), status = h("div", "s");
  var closeBtn = h("button", "x", "×");
  titleBox.appendChild(title);
  titleBox.appendChild(status);
  head.appendChild(titleBox);
  head.appendChild(closeBtn);
  var banner = h("div", "bn hide");
  var list = h("div", "ls");
  list.setAttribute("aria-live", "polite");
  var typingLine = h("div", "ty");
  var prechat = h("form", "pf hide");
  var footer = h("div", "ft");
  var input = h("textarea");
  var attach = h("button", "at", "📎");
  var file = h("input", "hide");
  file.type = "file";
  var sendBtn = h("button", "bt");
  footer.appendChild(attach);
  footer.appendChild(file);
  footer.appendChild(input);
  footer.appendChild(sendBtn);
  [head, banner, prechat, list, typingLine, footer].forEach(function (el) { panel.appendChild(el); });
  w.appendChild(panel);
  w.appendChild(launcher);
  root.appendChild(w);

  // --- HTTP ------------------------------------------------------------------------------------
  function call(method, path, body, form) {
    var headers = {};
    if (stored.token) headers["X-Visitor-Token"] = stored.token;
    if (body && !form) headers["Content-Type"] = "application/json";
    return fetch(API + path, { method: method, headers: headers, body: form ? body : body && JSON.stringify(body) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) return j;
          var err = new Error((j.error && j.error.message) || r.status);
          err.status = r.status;
          err.code = j.error && j.error.code;
          if (r.status === 401 && stored.token && path.indexOf("/sessions") < 0) forget();
          throw err;
        });
      });
  }
  function forget() {
    // The token is no longer valid (identity required now, contact removed): start over.
    stored = {};
    save(KEY, stored);
    sessionPromise = null;
    if (ws) ws.close();
  }

  // --- Session ---------------------------------------------------------------------------------
  function needsForm() {
    return cfg && cfg.inbox.pre_chat_form !== "off" && !stored.token && !opts.identifier && !opts.resume && !opts.email;
  }
  function session(extra) {
    if (stored.token) return Promise.resolve();
    if (sessionPromise) return sessionPromise;
    var body = { inbox_token: inbox };
    ["identifier", "identifier_hash", "name", "email", "resume"].forEach(function (k) { if (opts[k]) body[k] = opts[k]; });
    Object.assign(body, extra || {});
    sessionPromise = call("POST", "/api/v1/widget/sessions", body).then(function (s) {
      stored = { token: s.visitor_token, identifier: opts.identifier || "", email_known: s.email_known };
      save(KEY, stored);
      configure(s);
      return history().then(connect);
    }, function (e) { sessionPromise = null; throw e; });
    return sessionPromise;
  }
  function history() {
    return call("GET", "/api/v1/widget/messages?limit=50").then(function (page) {
      page.items.forEach(upsert);
      lastEvent = Math.max(lastEvent, page.last_event_id);
      if (opened) read();
    });
  }

  // --- Socket ----------------------------------------------------------------------------------
  function connect() {
    if (ws || !stored.token || navigator.onLine === false) return;
    var wasOpen = false;
    var sock = ws = new WebSocket(WS + "?token=" + encodeURIComponent(stored.token) + "&after=" + lastEvent);
    sock.onopen = function () {
      wasOpen = true;
      retry = 0;
      clearInterval(pollTimer);
      setStatus("");
      flush();
    };
    sock.onmessage = function (e) {
      try { handle(JSON.parse(e.data)); } catch (err) { /* a frame we do not know: ignore */ }
    };
    sock.onclose = function () {
      if (ws === sock) ws = null;
      if (!stored.token) return;
      setStatus(T[16]);
      retry++;
      // A refused handshake looks like any other close in a browser: ask over HTTP whether the
      // token is still good (a 401 starts over) and keep messages flowing while the socket is down.
      if (!wasOpen && retry > 1) {
        history().catch(function () {});
        if (retry === 3) pollTimer = setInterval(function () { history().catch(function () {}); flush(); }, 10000);
      }
      clearTimeout(timer);
      timer = setTimeout(connect, Math.min(30000, 500 * Math.pow(2, retry)) * (0.7 + Math.random() * 0.6));
    };
  }
  function wsSend(obj) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  }
  function handle(ev) {
    if (ev.id) lastEvent = Math.max(lastEvent, ev.id);
    var t = ev.type;
    if (t === "message.created" || t === "message.updated") upsert(ev.data);
    else if (t === "conversation.created" || t === "conversation.updated") { seen = ev.data.seen; refreshSeen(); }
    else if (t === "typing") showTyping(ev.typing, ev.name);
    else if (t === "ack") { done(ev.client_id); upsert(ev.message); }
    else if (t === "error") failed(ev);
  }

  // --- Messages --------------------------------------------------------------------------------
  function upsert(m) {
    var mine = m.direction === "in";
    var key = mine && m.client_id ? "c:" + m.client_id : "m:" + m.id;
    var it = items[key];
    if (!it) {
      it = items[key] = { el: h("div", "m" + (mine ? " me" : " ag")) };
      if (!mine) {
        it.el.appendChild(h("div", "n", m.author && m.author.name));
        if (m.id > lastAgentId) {
          lastAgentId = m.id;
          showTyping(false);
          if (opened && !document.hidden) read(); else if (m.id > (stored.read || 0)) setUnread(unread + 1);
        }
      }
      it.body = h("div", "b");
      it.el.appendChild(it.body);
      if (mine) { it.st = h("div", "st"); it.el.appendChild(it.st); }
      list.appendChild(it.el);
      list.scrollTop = list.scrollHeight;
    }
    it.data = m;
    // A redraw (a delivery update of the survey message) must not lose a comment being typed.
    var typing = it.body.querySelector(".cs .in");
    var draft = typing ? { value: typing.value, focused: typing.getRootNode().activeElement === typing } : null;
    it.body.textContent = m.text || "";
    (m.attachments || []).forEach(function (a) {
      var link = h("a", "a", "📎 " + (a.filename || "file"));
      if (a.url) link.onclick = function () { download(a); };
      it.body.appendChild(link);
    });
    if (m.csat && !mine) drawSurvey(it.body, m, draft);
    if (mine) {
      it.el.className = "m me " + (m.status === "pending" ? "pending" : m.status === "failed" ? "failed" : "");
      it.st.textContent = m.status === "pending" ? T[2] : m.status === "failed" ? T[20] + " " + (m.error || "") : seen ? T[4] : T[3];
    }
  }
  // A CSAT survey (hub.csat): five buttons and an optional comment; the answer comes back on
  // the survey message (message.updated), so the card shows it here and after a reload.
  function drawSurvey(body, m, draft) {
    var card = h("div", "cs"), row = h("div", "cr"), note = h("input", "in");
    note.placeholder = T[21];
    note.maxLength = 2000;
    if (draft) note.value = draft.value;
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = h("button", "cb" + (m.csat.rating === n ? " on" : ""), String(n));
      b.type = "button";
      b.setAttribute("aria-label", n + " / 5");
      b.setAttribute("aria-pressed", m.csat.rating === n ? "true" : "false");
      b.onclick = function () { rate(m, n, note.value); };
      row.appendChild(b);
    });
    card.appendChild(row);
    card.appendChild(note);
    if (m.csat.rating) card.appendChild(h("div", "n", T[22]));
    body.appendChild(card);
    if (draft && draft.focused) note.focus();
  }
  function rate(m, n, comment) {
    call("POST", "/api/v1/widget/csat", { survey_id: m.csat.survey_id, rating: n, comment: comment || null })
      .then(function () { m.csat.rating = n; upsert(m); }, function (e) { setStatus(e.message); });
  }
  function refreshSeen() {
    Object.keys(items).forEach(function (k) { if (k[0] === "c" && items[k].data.status === "sent") upsert(items[k].data); });
  }
  function rid() {
    return (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)).replace(/[^\w-]/g, "");
  }
  function send(text, uploads, names) {
    var m = { client_id: rid(), text: text, attachments: uploads || [], names: names || [] };
    outbox.push(m);
    save(KEY + ":out", outbox);
    pendingView(m);
    session().then(flush, function () {});
  }
  function pendingView(m) {
    var it = items["c:" + m.client_id];
    if (it && it.data.status !== "pending") return; // already acknowledged (its answer was lost)
    seen = false;
    upsert({ client_id: m.client_id, direction: "in", text: m.text, status: "pending", attachments: m.names.map(function (n) { return { filename: n }; }) });
  }
  function flush() {
    if (!stored.token) return;
    outbox.forEach(function (m) {
      var now = Date.now();
      if (m.at && now - m.at < 8000) return; // in flight: wait for its answer before resending
      m.at = now;
      var msg = { type: "message", client_id: m.client_id, text: m.text, attachments: m.attachments };
      if (wsSend(msg)) return;
      // REST fallback when the socket is down (the client id makes a double send harmless).
      call("POST", "/api/v1/widget/messages", { client_id: m.client_id, text: m.text, attachments: m.attachments })
        .then(function (v) { done(m.client_id); upsert(v); }, function (e) { if (e.status && e.status !== 429 && e.status < 500) failed({ client_id: m.client_id, message: e.message }); });
    });
  }
  function done(clientId) {
    outbox = outbox.filter(function (m) { return m.client_id !== clientId; });
    save(KEY + ":out", outbox);
  }
  function failed(ev) {
    if (ev.code === "rate_limited") { setTimeout(flush, (ev.retry_after || 5) * 1000); return; }
    var it = items["c:" + ev.client_id];
    done(ev.client_id);
    if (it) upsert(Object.assign({}, it.data, { status: "failed", error: ev.message }));
  }
  setInterval(flush, 5000);

  function read() {
    setUnread(0);
    if (!stored.token || lastAgentId <= (stored.read || 0)) return;
    stored.read = lastAgentId;
    save(KEY, stored);
    if (!wsSend({ type: "read", message_id: lastAgentId })) call("POST", "/api/v1/widget/read", { message_id: lastAgentId }).catch(function () {});
  }
  function setUnread(n) {
    unread = n;
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.classList.toggle("hide", !n);
  }
  function showTyping(on, name) {
    clearTimeout(typingHide);
    typingLine.textContent = on ? (name || "") + " " + T[5] : "";
    if (on) typingHide = setTimeout(showTyping, 6000);
  }
  function typing() {
    var now = Date.now();
    if (now - typingAt > 3000 && wsSend({ type: "typing", typing: true })) typingAt = now;
    clearTimeout(typingStop);
    typingStop = setTimeout(function () { typingAt = 0; wsSend({ type: "typing", typing: false }); }, 4000);
  }
  function download(a) {
    fetch(API + a.url, { headers: { "X-Visitor-Token": stored.token } }).then(function (r) { return r.blob(); }).then(function (b) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(b);
      link.download = a.filename || "file";
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    });
  }
  function upload(f) {
    var limits = cfg.inbox.attachments;
    var okType = limits.types.some(function (t) { return f.type === t || (t.slice(-2) === "/*" && f.type.indexOf(t.slice(0, -1)) === 0); });
    if (f.size > limits.max_bytes || !okType) { setStatus(T[19]); return; }
    session().then(function () {
      var form = new FormData();
      form.append("data", f, f.name);
      return call("POST", "/api/v1/widget/attachments", form, true);
    }).then(function (u) { send("", [u.upload], [u.filename]); }, function (e) { setStatus(e.message); });
  }

  // --- Panel -----------------------------------------------------------------------------------
  function setStatus(text) { status.textContent = text || ""; }
  function configure(c) {
    cfg = c;
    var i = c.inbox;
    T = L[i.language] || L.en;
    w.style.setProperty("--c", i.colour);
    w.classList.toggle("l", i.position === "left");
    title.textContent = i.title;
    input.placeholder = T[0];
    sendBtn.textContent = T[1];
    attach.title = T[15];
    attach.classList.toggle("hide", !i.attachments.types.length);
    closeBtn.setAttribute("aria-label", T[17]);
    launcher.setAttribute("aria-label", T[18]);
    launcher.classList.remove("hide");
    if (i.greeting && !items.greeting) {
      items.greeting = { el: h("div", "m") };
      var b = h("div", "b", i.greeting);
      items.greeting.el.appendChild(b);
      list.insertBefore(items.greeting.el, list.firstChild);
    }
    drawBanner();
  }
  function drawBanner() {
    var a = cfg.availability;
    banner.textContent = "";
    banner.classList.toggle("hide", a.open);
    if (a.open) return;
    var text = a.offline_message || T[6];
    if (a.next_open_at) {
      var when = new Date(a.next_open_at).toLocaleString(cfg.inbox.language, { weekday: "long", hour: "2-digit", minute: "2-digit" });
      text += " " + T[7] + ": " + when + ".";
    }
    banner.appendChild(h("div", "", text));
    if (stored.email_known) return;
    var f = h("form", "f"), email = h("input", "in"), ok = h("button", "bt", T[10]);
    email.type = "email";
    email.required = true;
    email.placeholder = T[9];
    banner.appendChild(h("div", "", T[8]));
    f.appendChild(email);
    f.appendChild(ok);
    f.onsubmit = function (e) {
      e.preventDefault();
      session().then(function () { return call("POST", "/api/v1/widget/profile", { email: email.value }); }).then(function () {
        stored.email_known = true;
        save(KEY, stored);
        f.replaceWith(h("div", "", T[11]));
      }, function (err) { setStatus(err.message); });
    };
    banner.appendChild(f);
  }
  function drawForm() {
    prechat.textContent = "";
    var name = h("input", "in"), email = h("input", "in"), go = h("button", "bt", T[14]);
    name.placeholder = T[12];
    email.placeholder = T[13];
    email.type = "email";
    email.required = cfg.inbox.pre_chat_form === "required";
    [name, email, go].forEach(function (el) { prechat.appendChild(el); });
    prechat.onsubmit = function (e) {
      e.preventDefault();
      go.disabled = true;
      session({ name: name.value, email: email.value || undefined }).then(showChat, function (err) { go.disabled = false; setStatus(err.message); });
    };
  }
  function showChat() {
    prechat.classList.add("hide");
    list.classList.remove("hide");
    footer.classList.remove("hide");
  }
  function open() {
    if (!cfg) { opts.open = "true"; return; }
    opened = true;
    panel.classList.remove("hide");
    if (needsForm()) {
      drawForm();
      prechat.classList.remove("hide");
      list.classList.add("hide");
      footer.classList.add("hide");
    } else {
      showChat();
      session().catch(function (e) { setStatus(e.message); });
      input.focus();
    }
    read();
  }
  function close() {
    opened = false;
    panel.classList.add("hide");
  }
  function submit() {
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  }

  launcher.onclick = function () { if (opened) close(); else open(); };
  closeBtn.onclick = close;
  sendBtn.onclick = submit;
  attach.onclick = function () { file.click(); };
  file.onchange = function () { if (file.files[0]) upload(file.files[0]); file.value = ""; };
  input.onkeydown = function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
    else if (e.key === "Escape") close();
  };
  input.oninput = typing;
  window.addEventListener("offline", function () { setStatus(T[16]); if (ws) ws.close(); });
  window.addEventListener("online", function () { retry = 0; clearTimeout(timer); connect(); flush(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && opened) read(); });

  function start() {
    document.body.appendChild(host);
    call("GET", "/api/v1/widget/config?inbox_token=" + encodeURIComponent(inbox)).then(function (c) {
      configure(c);
      if (opts.resume) return session().then(open);
      // History first, then what is still waiting in the outbox, then live from where it ended.
      var ready = stored.token ? history() : Promise.resolve();
      ready.catch(function () {}).then(function () { outbox.forEach(pendingView); connect(); flush(); });
      if (opts.open) open();
    }, function () { /* unknown inbox or site not allowed: stay invisible */ });
  }
  window.HubChat = {
    open: open,
    close: close,
    reset: function () { forget(); save(KEY + ":out", (outbox = [])); list.textContent = ""; items = {}; }
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();

/*! Concierge chat widget. Add it to a page with one tag:
 *   <script src="https://YOUR-CONCIERGE/widget.js" defer
 *           data-shop-name="Your Shop" data-color="#1f6f5c"></script>
 * Optional: data-api (the service's address, default: where this script came from),
 * data-lang (default: <html lang>), data-channel (default "web").
 * No framework, no cookies: the conversation id and transcript live in localStorage.
 * Everything shoppers write and everything the service answers is put in the page as text
 * (textContent), never as HTML. */
(function () {
  "use strict";
  if (window.__conciergeWidget) return;
  window.__conciergeWidget = true;

  var script = document.currentScript;
  var ds = (script && script.dataset) || {};
  var api = (ds.api || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, "");
  var shopName = ds.shopName || document.title || "Shop";
  var channel = ds.channel || "web";
  var color = ds.color && window.CSS && CSS.supports("color", ds.color) ? ds.color : "#2f5d8a";
  var pageLang = (ds.lang || document.documentElement.lang || navigator.language || "en").toLowerCase();
  var lang = pageLang.split("-")[0];

  var STRINGS = {
    en: {
      open: "Chat with us", close: "Close chat", assistant: "assistant", placeholder: "Ask a question…",
      label: "Your message", send: "Send", human: "Talk to a person", humanText: "I want to talk to a person",
      helpful: "This answer helped", notHelpful: "This answer did not help", thanks: "Thanks for your feedback!",
      readMore: "Read: ", didYouMean: "Did you mean:", typing: "Assistant is typing", you: "You",
      bot: "Assistant", error: "Sorry, something went wrong. Please try again.",
      busy: "Too many messages at once. Please wait a moment.", hello: "Hi! Ask me anything about orders, delivery, returns or our products.",
      restart: "New conversation",
      agent: "Agent", agentTyping: "{name} is typing…", joined: "{name} joined the conversation",
      resolved: "{name} handed you back to the assistant", rate: "How did {name} help you?", rated: "Thanks for your rating!",
      star: "{n} of 5", openNow: "Chat open now: a person can join", away: "We are away now: leave a message and we will reply by e-mail", leave: "Leave a message"
    },
    es: {
      open: "Chatea con nosotros", close: "Cerrar chat", assistant: "asistente", placeholder: "Escribe tu pregunta…",
      label: "Tu mensaje", send: "Enviar", human: "Hablar con una persona", humanText: "Quiero hablar con una persona",
      helpful: "Esta respuesta me ayudó", notHelpful: "Esta respuesta no me ayudó", thanks: "¡Gracias por tu opinión!",
      readMore: "Leer: ", didYouMean: "¿Quisiste decir?", typing: "El asistente está escribiendo", you: "Tú",
      bot: "Asistente", error: "Lo sentimos, algo salió mal. Inténtalo de nuevo.",
      busy: "Demasiados mensajes a la vez. Espera un momento.", hello: "¡Hola! Pregúntame sobre pedidos, envíos, devoluciones o productos.",
      restart: "Nueva conversación",
      agent: "Agente", agentTyping: "{name} está escribiendo…", joined: "{name} se unió a la conversación",
      resolved: "{name} te devolvió al asistente", rate: "¿Cómo te ayudó {name}?", rated: "¡Gracias por tu valoración!",
      star: "{n} de 5", openNow: "Chat abierto: una persona puede unirse", away: "Ahora no estamos: deja un mensaje y te responderemos por e-mail", leave: "Dejar un mensaje"
    },
    pt: {
      open: "Fale connosco", close: "Fechar chat", assistant: "assistente", placeholder: "Escreva a sua pergunta…",
      label: "A sua mensagem", send: "Enviar", human: "Falar com uma pessoa", humanText: "Quero falar com uma pessoa",
      helpful: "Esta resposta ajudou", notHelpful: "Esta resposta não ajudou", thanks: "Obrigado pela sua opinião!",
      readMore: "Ler: ", didYouMean: "Queria dizer:", typing: "O assistente está a escrever", you: "Você",
      bot: "Assistente", error: "Desculpe, algo correu mal. Tente de novo.",
      busy: "Demasiadas mensagens de uma vez. Aguarde um momento.", hello: "Olá! Pergunte-me sobre encomendas, envios, devoluções ou produtos.",
      restart: "Nova conversa",
      agent: "Agente", agentTyping: "{name} está a escrever…", joined: "{name} entrou na conversa",
      resolved: "{name} devolveu-o ao assistente", rate: "Como é que {name} o ajudou?", rated: "Obrigado pela sua avaliação!",
      star: "{n} de 5", openNow: "Chat aberto: uma pessoa pode juntar-se", away: "Agora não estamos: deixe uma mensagem e respondemos por e-mail", leave: "Deixar uma mensagem"
    },
    nl: {
      open: "Chat met ons", close: "Chat sluiten", assistant: "assistent", placeholder: "Stel je vraag…",
      label: "Je bericht", send: "Versturen", human: "Praat met een medewerker", humanText: "Ik wil met een medewerker praten",
      helpful: "Dit antwoord hielp", notHelpful: "Dit antwoord hielp niet", thanks: "Bedankt voor je feedback!",
      readMore: "Lees: ", didYouMean: "Bedoelde je:", typing: "De assistent typt", you: "Jij",
      bot: "Assistent", error: "Sorry, er ging iets mis. Probeer het opnieuw.",
      busy: "Te veel berichten tegelijk. Wacht even.", hello: "Hoi! Vraag me alles over bestellingen, verzending, retouren of producten.",
      restart: "Nieuw gesprek",
      agent: "Medewerker", agentTyping: "{name} typt…", joined: "{name} neemt deel aan het gesprek",
      resolved: "{name} heeft je teruggegeven aan de assistent", rate: "Hoe heeft {name} je geholpen?", rated: "Bedankt voor je beoordeling!",
      star: "{n} van 5", openNow: "Chat is open: een medewerker kan meedoen", away: "We zijn er nu niet: laat een bericht achter, we antwoorden per e-mail", leave: "Laat een bericht achter"
    }
  };
  var t = STRINGS[lang] || STRINGS.en;

  // ---- memory across page loads ----
  var KEY = "concierge:" + api;
  var MAX_KEPT = 60;
  function loadState() {
    try {
      var s = JSON.parse(localStorage.getItem(KEY) || "null");
      if (s && Array.isArray(s.messages)) return s;
    } catch (e) { /* private mode or corrupt: start over */ }
    return { conversation_id: null, messages: [], open: false };
  }
  var state = loadState();
  function save() {
    state.messages = state.messages.slice(-MAX_KEPT);
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* full or denied */ }
  }

  // ---- colours ----
  function readableOn(c) {
    // Black or white text on the shop's colour, whichever contrasts more.
    var probe = document.createElement("span");
    probe.style.color = c;
    document.body.appendChild(probe);
    var rgb = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || [0, 0, 0];
    probe.remove();
    var lum = rgb.slice(0, 3).map(function (v) {
      v = v / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return l > 0.4 ? "#111" : "#fff";
  }

  var CSS_TEXT = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;background:var(--cc);color:var(--on);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    "button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}",
    ".panel{position:fixed;right:16px;bottom:84px;z-index:2147483001;width:370px;max-width:calc(100vw - 32px);height:560px;max-height:calc(100vh - 110px);background:#fff;color:#1b1b1b;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;font-size:15px;line-height:1.4}",
    ".panel[hidden]{display:none}",
    "header{background:var(--cc);color:var(--on);padding:12px 14px;display:flex;align-items:center;gap:8px}",
    "header h2{font-size:16px;margin:0;flex:1;font-weight:600}",
    "header button{background:transparent;border:0;color:inherit;font-size:14px;cursor:pointer;padding:6px;border-radius:6px}",
    ".notices{background:#fff4ce;color:#3d2e00;border-bottom:1px solid #e8d48a;padding:8px 12px;font-size:14px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".hours{padding:6px 12px;font-size:13px;border-bottom:1px solid #e1e4e8;background:#f1f8f4;color:#1e4620}",
    ".hours.away{background:#f6f7f9;color:#3c4043}.hours[hidden]{display:none}",
    ".notices[hidden]{display:none}.notices p{margin:0}.notices p+p{margin-top:6px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}",
    ".msg{max-width:85%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".user{align-self:flex-end;background:var(--cc);color:var(--on);border-bottom-right-radius:4px}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e1e4e8;border-bottom-left-radius:4px}",
    ".bot.error{border-color:#d93025;color:#a50e0e}",
    ".bot a{display:inline-block;margin-top:6px;color:#0b57d0;font-weight:600}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".choices{display:flex;flex-direction:column;gap:6px;margin-top:8px}",
    ".choices p{margin:0;font-size:13px;color:#555}",
    ".choice{text-align:left;background:#fff;border:1px solid var(--cc);color:#1b1b1b;border-radius:8px;padding:7px 10px;cursor:pointer;font-size:14px}",
    ".choice:hover{background:#eef2f7}",
    ".fb{display:flex;gap:6px;margin-top:8px;align-items:center;font-size:13px;color:#555}",
    ".fb button{border:1px solid #d0d5db;background:#fff;border-radius:6px;cursor:pointer;font-size:15px;padding:2px 8px;min-width:36px;min-height:30px}",
    ".fb button{display:inline-flex;align-items:center;justify-content:center;color:#4a525c}",
    ".fb svg{width:16px;height:16px;fill:currentColor}.fb .down svg{transform:rotate(180deg)}",
    ".fb button[aria-pressed=true]{background:var(--cc);color:var(--on);border-color:var(--cc)}",
    ".fb button:disabled{cursor:default}",
    ".typing{align-self:flex-start;background:#fff;border:1px solid #e1e4e8;border-radius:12px;padding:10px 14px;display:flex;gap:4px}",
    ".typing span{width:7px;height:7px;border-radius:50%;background:#8a9099;animation:b 1.2s infinite}",
    ".typing span:nth-child(2){animation-delay:.2s}.typing span:nth-child(3){animation-delay:.4s}",
    "@keyframes b{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}",
    "@media (prefers-reduced-motion:reduce){.typing span{animation:none}}",
    ".agent{align-self:flex-start;background:#e8f0fe;border:1px solid #c6dafc;border-bottom-left-radius:4px}",
    ".who{display:block;font-size:12px;font-weight:600;color:#3c4043;margin-bottom:2px}",
    ".system{align-self:center;font-size:13px;color:#555;text-align:center;max-width:90%}",
    ".csat{align-self:stretch;background:#fff;border:1px solid #e1e4e8;border-radius:12px;padding:9px 12px}",
    ".csat div{display:flex;gap:6px;margin-top:6px}.csat button{flex:1;min-height:34px;border:1px solid #d0d5db;background:#fff;border-radius:6px;cursor:pointer;font-size:15px;color:#1b1b1b}",
    ".csat button[aria-pressed=true]{background:var(--cc);color:var(--on);border-color:var(--cc)}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e1e4e8;background:#fff}",
    "input{flex:1;min-width:0;border:1px solid #c4c9d0;border-radius:8px;padding:9px 10px;font-size:15px;color:#1b1b1b;background:#fff}",
    ".send{background:var(--cc);color:var(--on);border:0;border-radius:8px;padding:0 14px;font-size:15px;cursor:pointer}",
    ".human{margin:0 10px 10px;background:#fff;border:1px solid #c4c9d0;border-radius:8px;padding:7px;cursor:pointer;font-size:14px;color:#1b1b1b}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}.open .launcher{display:none}}"
  ].join("\n");

  // ---- DOM ----
  var host = document.createElement("div");
  host.id = "concierge-widget";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = CSS_TEXT;
  root.appendChild(style);
  var wrap = el("div", "wrap");
  wrap.style.setProperty("--cc", color);
  wrap.style.setProperty("--on", readableOn(color));
  root.appendChild(wrap);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", t.open + " (" + shopName + ")");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "cc-panel");
  var svgNS = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4 4V5a2 2 0 0 1 2-2z");
  svg.appendChild(path);
  launcher.appendChild(svg);

  var panel = el("section", "panel");
  panel.id = "cc-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", shopName + " " + t.assistant);
  var header = el("header");
  var title = el("h2", null, shopName);
  var restart = el("button", "restart", t.restart);
  restart.type = "button";
  var close = el("button", "close", "✕");
  close.type = "button";
  close.setAttribute("aria-label", t.close);
  header.append(title, restart, close);

  // The editors' notices active now ("parcels to Spain are delayed"), above the messages.
  var notices = el("div", "notices");
  notices.setAttribute("role", "status");
  notices.hidden = true;

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-relevant", "additions");
  log.setAttribute("aria-label", shopName);

  var form = el("form");
  var label = el("label", "sr", t.label);
  label.htmlFor = "cc-input";
  var input = el("input");
  input.id = "cc-input";
  input.type = "text";
  input.autocomplete = "off";
  input.maxLength = 2000;
  input.placeholder = t.placeholder;
  var send = el("button", "send", t.send);
  send.type = "submit";
  form.append(label, input, send);
  var human = el("button", "human", t.human);
  human.type = "button";
  // Business hours (GET /v1/availability): whether a person can join now.
  var hours = el("div", "hours");
  hours.setAttribute("role", "status");
  hours.hidden = true;
  panel.append(header, hours, notices, log, form, human);
  wrap.append(panel, launcher);

  // ---- rendering (text only) ----
  function safeUrl(u) {
    try {
      var url = new URL(u, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }

  function named(text, name) { return text.replace("{name}", name || t.agent); }

  function renderMessage(m, index) {
    if (m.from === "agent") {
      var g = el("div", "msg agent");
      g.appendChild(el("span", "who", m.agent || t.agent));
      g.appendChild(document.createTextNode(m.text));
      return g;
    }
    if (m.from === "system") return el("div", "system", m.text);
    if (m.from === "csat") return renderCsat(m, index);
    if (m.from === "user") {
      var u = el("div", "msg user");
      u.appendChild(el("span", "sr", t.you + ": "));
      u.appendChild(document.createTextNode(m.text));
      return u;
    }
    var b = el("div", "msg bot" + (m.error ? " error" : ""));
    b.appendChild(el("span", "sr", t.bot + ": "));
    var clarify = m.outcome === "clarify" && m.suggestions && m.suggestions.length;
    // The choices become buttons below: drop the bulleted copy of them from the text.
    var text = clarify ? m.text.split("\n").filter(function (l) { return !/^\s*[•*-]\s/.test(l); }).join("\n") : m.text;
    b.appendChild(document.createTextNode(text));
    var href = m.link && safeUrl(m.link.url);
    if (href) {
      b.appendChild(document.createElement("br"));
      var a = el("a", "link", t.readMore + m.link.title);
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      b.appendChild(a);
    }
    if (clarify) {
      var choices = el("div", "choices");
      choices.setAttribute("role", "group");
      choices.setAttribute("aria-label", t.didYouMean);
      m.suggestions.forEach(function (s) {
        var c = el("button", "choice", s.title);
        c.type = "button";
        c.addEventListener("click", function () { ask(s.title); });
        choices.appendChild(c);
      });
      b.appendChild(choices);
    }
    if (m.quick_replies && m.quick_replies.length) {
      // A flow's choice: each button sends its label as the shopper's answer.
      var quick = el("div", "choices quick");
      quick.setAttribute("role", "group");
      quick.setAttribute("aria-label", text);
      m.quick_replies.forEach(function (label) {
        var q = el("button", "choice", label);
        q.type = "button";
        q.addEventListener("click", function () { ask(label); });
        quick.appendChild(q);
      });
      b.appendChild(quick);
    }
    if (m.message_id && m.outcome === "answer") b.appendChild(renderFeedback(m, index));
    return b;
  }

  // A thumb drawn in SVG: emoji fonts are missing on some systems.
  var THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  function thumb() {
    var s = document.createElementNS(svgNS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(svgNS, "path");
    p.setAttribute("d", THUMB);
    s.appendChild(p);
    return s;
  }

  function renderFeedback(m, index) {
    var fb = el("div", "fb");
    var up = el("button", "up");
    var down = el("button", "down");
    up.appendChild(thumb());
    down.appendChild(thumb());
    [[up, true, t.helpful], [down, false, t.notHelpful]].forEach(function (x) {
      var btn = x[0];
      btn.type = "button";
      btn.setAttribute("aria-label", x[2]);
      btn.setAttribute("aria-pressed", String(m.helpful === x[1]));
      btn.disabled = m.helpful != null;
      btn.addEventListener("click", function () { feedback(index, x[1], fb); });
      fb.appendChild(btn);
    });
    if (m.helpful != null) fb.appendChild(el("span", "thanks", t.thanks));
    return fb;
  }

  function renderAll() {
    log.textContent = "";
    log.appendChild(renderMessage({ from: "bot", text: t.hello }, -1));
    state.messages.forEach(function (m, i) { log.appendChild(renderMessage(m, i)); });
    scrollDown();
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function push(m) {
    state.messages.push(m);
    var dropped = state.messages.length > MAX_KEPT;
    save();
    if (dropped) renderAll();
    else { log.appendChild(renderMessage(m, state.messages.length - 1)); scrollDown(); }
  }

  var typing = null;
  function showTyping(on) {
    if (on && !typing) {
      typing = el("div", "typing");
      typing.setAttribute("role", "status");
      typing.setAttribute("aria-label", t.typing);
      typing.append(el("span"), el("span"), el("span"));
      log.appendChild(typing);
      scrollDown();
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  // ---- talking to the service ----
  function post(pathname, body) {
    return fetch(api + pathname, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }

  // A fresh id per message, sent again with its retries: the service answers a retry of a
  // message it already stored with that turn instead of storing it twice (docs/conversations.md).
  function newMessageId() {
    var c = window.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    if (c && c.getRandomValues) {
      var b = c.getRandomValues(new Uint8Array(16));
      return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  // Sends a message; in a conversation, retries it once (same body, same id) when the network
  // failed or a proxy answered 502/503/504. A first message is not retried: its retry would
  // start a second conversation.
  function postMessage(body, retries) {
    function again() {
      return new Promise(function (ok) { setTimeout(ok, 1000); })
        .then(function () { return postMessage(body, retries - 1); });
    }
    var retry = retries > 0 && !!body.conversation_id;
    return post("/v1/messages", body).then(function (r) {
      return retry && (r.status === 502 || r.status === 503 || r.status === 504) ? again() : r;
    }, function (e) {
      if (retry) return again();
      throw e;
    });
  }

  var busy = false;
  function ask(text) {
    text = String(text || "").trim();
    if (!text || busy) return;
    busy = true;
    send.disabled = true;
    push({ from: "user", text: text });
    showTyping(true);
    var body = { text: text, channel: channel, locale: pageLang, client_message_id: newMessageId() };
    if (state.conversation_id) body.conversation_id = state.conversation_id;
    postMessage(body, 1)
      .then(function (r) {
        if (r.status === 404 && body.conversation_id) {
          // The service forgot the conversation (restarted): start a new one, with the same
          // message and its id.
          delete body.conversation_id;
          state.conversation_id = null;
          return postMessage(body, 0);
        }
        return r;
      })
      .then(function (r) {
        showTyping(false);
        if (r.status !== 200) {
          push({ from: "bot", text: r.status === 429 ? t.busy : t.error, error: true });
          return;
        }
        var j = r.body;
        state.conversation_id = j.conversation_id;
        if (j.conversation_token) { state.token = j.conversation_token; state.cursor = 0; }
        if (j.handoff && j.handoff.stage === "handed_over") startLive();
        if (!j.text) { save(); return; } // an agent has the conversation: the bot is silent
        push({
          from: "bot", text: j.text, outcome: j.outcome, link: j.link,
          suggestions: (j.suggestions || []).map(function (s) { return { title: s.title }; }),
          quick_replies: (j.quick_replies || []).map(function (q) { return String(q.label); }),
          message_id: j.message_id, language: j.language
        });
      })
      .catch(function () {
        showTyping(false);
        push({ from: "bot", text: t.error, error: true });
      })
      .then(function () {
        busy = false;
        send.disabled = false;
      });
  }

  function feedback(index, helpful, fb) {
    var m = state.messages[index];
    if (!m || m.helpful != null || !state.conversation_id) return;
    m.helpful = helpful;
    save();
    fb.replaceWith(renderFeedback(m, index));
    post("/v1/feedback", { conversation_id: state.conversation_id, message_id: m.message_id, helpful: helpful })
      .catch(function () { /* feedback is best effort */ });
  }

  // ---- people in the conversation (docs/handover.md): live events, typing, rating ----
  var source = null, polling = false, agentTyping = null, typingTimer = null;
  function conversationPath(rest) {
    return api + "/v1/conversations/" + encodeURIComponent(state.conversation_id) + rest;
  }
  function startLive() {
    if (!state.token || !state.conversation_id) return;
    if (!state.live) { state.live = true; save(); }
    if (source || polling) return;
    var after = state.cursor || 0;
    if (!window.EventSource) { poll(); return; }
    var failures = 0;
    source = new EventSource(conversationPath("/events?after=" + after + "&token=" + encodeURIComponent(state.token)));
    source.onmessage = function (e) { failures = 0; try { onLive(JSON.parse(e.data)); } catch (x) { /* ignore */ } };
    source.onerror = function () {
      // Three failures in a row: the long-poll fallback (a proxy that buffers streams).
      if (++failures >= 3 && source) { source.close(); source = null; poll(); }
    };
  }
  function stopLive() {
    if (source) { source.close(); source = null; }
    polling = false;
    state.live = false;
    save();
  }
  function poll() {
    if (polling || !state.live) return;
    polling = true;
    (function next() {
      if (!polling) return;
      fetch(conversationPath("/events/poll?after=" + (state.cursor || 0)), {
        headers: { Authorization: "Bearer " + state.token }, credentials: "omit"
      }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (j) { (j.events || []).forEach(onLive); next(); })
        .catch(function () { setTimeout(next, 3000); });
    })();
  }
  function showAgentTyping(name) {
    if (!agentTyping) {
      agentTyping = el("div", "system");
      agentTyping.setAttribute("role", "status");
      log.appendChild(agentTyping);
    }
    agentTyping.textContent = named(t.agentTyping, name);
    scrollDown();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideAgentTyping, 6000);
  }
  function hideAgentTyping() {
    if (agentTyping) { agentTyping.remove(); agentTyping = null; }
  }
  function onLive(ev) {
    if (ev.n) {
      if (ev.n <= (state.cursor || 0)) return; // seen before this page load
      state.cursor = ev.n;
    }
    if (ev.type === "typing") { showAgentTyping(ev.agent); return; }
    hideAgentTyping();
    if (ev.type === "message") push({ from: "agent", agent: ev.agent, text: ev.text || "" });
    else if (ev.type === "joined") push({ from: "system", text: named(t.joined, ev.agent) });
    else if (ev.type === "resolved") {
      push({ from: "system", text: named(t.resolved, ev.agent) });
      stopLive();
      push({ from: "csat", agent: ev.agent, rating: null });
    } else save();
  }
  function renderCsat(m, index) {
    var box = el("div", "csat");
    box.appendChild(el("span", null, m.rating ? t.rated : named(t.rate, m.agent)));
    var row = el("div");
    row.setAttribute("role", "group");
    for (var n = 1; n <= 5; n++) {
      (function (n) {
        var b = el("button", null, String(n));
        b.type = "button";
        b.setAttribute("aria-label", t.star.replace("{n}", n));
        b.setAttribute("aria-pressed", String(m.rating === n));
        b.disabled = m.rating != null;
        b.addEventListener("click", function () { rate(index, n, box); });
        row.appendChild(b);
      })(n);
    }
    box.appendChild(row);
    return box;
  }
  function rate(index, n, box) {
    var m = state.messages[index];
    if (!m || m.rating != null || !state.token) return;
    m.rating = n;
    save();
    box.replaceWith(renderCsat(m, index));
    fetch(conversationPath("/rating"), {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + state.token },
      body: JSON.stringify({ rating: n })
    }).catch(function () { /* best effort */ });
  }

  function loadAvailability() {
    fetch(api + "/v1/availability", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (j) {
        hours.textContent = j.open ? t.openNow : t.away;
        hours.classList.toggle("away", !j.open);
        hours.hidden = false;
        human.textContent = j.open ? t.human : t.leave;
      })
      .catch(function () { hours.hidden = true; });
  }

  // ---- notices (GET /v1/notices): fetched when the panel opens, text only ----
  function loadNotices() {
    fetch(api + "/v1/notices?locale=" + encodeURIComponent(pageLang), { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { notices: [] }; })
      .then(function (j) {
        notices.textContent = "";
        (j.notices || []).forEach(function (n) { notices.appendChild(el("p", null, n.text)); });
        notices.hidden = !notices.firstChild;
      })
      .catch(function () { notices.hidden = true; });
  }

  // ---- opening and closing ----
  function setOpen(open, focus) {
    state.open = open;
    save();
    panel.hidden = !open;
    wrap.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      loadNotices();
      loadAvailability();
      renderAll();
      if (focus) input.focus();
    } else if (focus) {
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  close.addEventListener("click", function () { setOpen(false, true); });
  restart.addEventListener("click", function () {
    stopLive();
    state = { conversation_id: null, messages: [], open: true };
    save();
    renderAll();
    input.focus();
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") setOpen(false, true);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    input.value = "";
    ask(text);
  });
  human.addEventListener("click", function () { ask(t.humanText); });

  setOpen(!!state.open, false);
  if (state.live) startLive();
})();

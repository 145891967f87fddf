/* The popup page: one card per call of this CRM user, fed by the notifier's SSE stream.
 * The token comes in the address (?token=) from the CRM; it is moved to sessionStorage and
 * dropped from the address bar so that it survives a reload but is not left on screen. */
"use strict";

(function () {
  const STREAM = "/v1/popups/stream";
  const CALLS = "/v1/calls";
  const NOTICE_MS = 10000;         // a refusal stays this long
  const CALLING_MS = 45000;        // "Звоним…" until the call's card comes, at most this long
  const RECENT_MAX = 10;
  const CLOSED_LINGER_MS = 4000;   // a finished call stays a moment, then fades out
  const LEAVE_MS = 650;
  const RANK = { ringing: 1, in_call: 2, closed: 3 };
  const LABEL = { ringing: "Входящий звонок", in_call: "В разговоре", closed: "Звонок завершён" };
  const LABEL_OUT = { ringing: "Исходящий звонок", in_call: "В разговоре", closed: "Звонок завершён" };

  const cardsEl = document.getElementById("cards");
  const emptyEl = document.getElementById("empty");
  const deniedEl = document.getElementById("denied");
  const connEl = document.getElementById("conn");
  const connText = document.getElementById("conn-text");
  const tpl = document.getElementById("card-tpl");
  const noticesEl = document.getElementById("notices");
  const recentEl = document.getElementById("recent");
  const recentList = document.getElementById("recent-list");
  const dialForm = document.getElementById("dial");
  const dialInput = document.getElementById("dial-number");

  const popups = new Map(); // popup_id -> { msg, el, seen:Set, closeTimer }
  let source = null;
  let lastId = "";
  let retryMs = 1000;
  let stopped = false;
  let authToken = "";
  const notices = new Map(); // request id (or a local id until the answer) -> notice
  const early = new Map();   // outcomes that came on the stream before POST's answer
  let localSeq = 0;

  function takeToken() {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get("token");
    if (fromUrl) {
      try { sessionStorage.setItem("popup_token", fromUrl); } catch (e) { /* private mode */ }
      url.searchParams.delete("token");
      history.replaceState(null, "", url.pathname + (url.search || "") + url.hash);
      return fromUrl;
    }
    try { return sessionStorage.getItem("popup_token") || ""; } catch (e) { return ""; }
  }

  function setConn(state, text) {
    connEl.className = "conn conn-" + state;
    connText.textContent = text;
  }

  function text(el, value) {
    el.textContent = value == null ? "" : String(value);
  }

  function fmtDuration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const m = Math.floor(s / 60);
    const h = Math.floor(m / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? h + ":" + pad(m % 60) + ":" + pad(s % 60) : pad(m) + ":" + pad(s % 60);
  }

  function fmtNumber(n) {
    if (!n) return null;
    return n.formatted || n.number || null;
  }

  function updateEmpty() {
    const any = popups.size > 0;
    emptyEl.hidden = any || !deniedEl.hidden;
    const ringing = [...popups.values()].filter((p) => p.msg.state === "ringing").length;
    document.title = ringing > 0 ? "(" + ringing + ") Входящий звонок" : "Звонки";
  }

  function render(p) {
    const m = p.msg;
    const el = p.el;
    el.className = "card s-" + m.state;
    el.dataset.state = m.state;
    el.dataset.popupId = m.popup_id;
    text(el.querySelector(".badge-text"), (m.direction === "out" ? LABEL_OUT : LABEL)[m.state] || m.state);
    text(el.querySelector(".caller"), fmtNumber(m.caller) || "Скрытый номер");
    const name = el.querySelector(".name");
    if (m.counterparty && m.counterparty.name) {
      text(name, m.counterparty.name);
      name.classList.remove("new");
    } else {
      text(name, "Новый клиент");
      name.classList.add("new");
    }
    const fact = (cls, value) => {
      const f = el.querySelector(cls);
      f.hidden = !value;
      text(f.querySelector("dd"), value || "");
    };
    fact(".fact-line", fmtNumber(m.virtual_number));
    fact(".fact-resp", m.responsible && m.responsible.name);
    fact(".fact-deal", m.deal && m.deal.title);
    fact(".fact-answered", m.state !== "ringing" && m.answered_by && m.answered_by.name);
    const actions = el.querySelector(".card-actions");
    actions.hidden = !(m.state === "closed" && m.caller && m.caller.number);
    actions.querySelector(".callback").onclick = (ev) =>
      placeCall(m.caller.number, m.counterparty && m.counterparty.id, ev.currentTarget);
    tickOne(p, Date.now());
  }

  function tickOne(p, now) {
    const m = p.msg;
    const timer = p.el.querySelector(".timer");
    const since = m.state === "in_call" ? m.answered_at || m.ringing_at : m.ringing_at;
    if (m.state === "closed") {
      const a = Date.parse(m.answered_at || "");
      const b = Date.parse(m.ended_at || "");
      text(timer, a && b && b > a ? fmtDuration(b - a) : "");
    } else {
      const t = Date.parse(since || "");
      text(timer, t ? fmtDuration(now - t) : "");
    }
  }

  function remove(id) {
    const p = popups.get(id);
    if (!p) return;
    clearTimeout(p.closeTimer);
    popups.delete(id);
    if (p.msg.state === "closed") addRecent(p.msg);
    p.el.classList.add("leaving");
    setTimeout(() => p.el.remove(), LEAVE_MS);
    updateEmpty();
  }

  /* A popup only moves forward (ringing -> in_call -> closed); a repeat is ignored. */
  function apply(m) {
    if (m && m.kind === "call_request") {
      callOutcome(m);
      return;
    }
    if (!m || !m.popup_id || !RANK[m.state]) return;
    callReached(m.call_id);
    let p = popups.get(m.popup_id);
    const key = m.action + ":" + m.state;
    if (p) {
      if (p.seen.has(key) || RANK[m.state] < RANK[p.msg.state]) return;
      p.seen.add(key);
      p.msg = m;
    } else {
      if (m.state === "closed") return; // nothing on screen to close
      const el = tpl.content.firstElementChild.cloneNode(true);
      p = { msg: m, el: el, seen: new Set([key]), closeTimer: 0 };
      popups.set(m.popup_id, p);
      cardsEl.prepend(el);
    }
    render(p);
    if (m.state === "closed" && !p.closeTimer) {
      p.closeTimer = setTimeout(() => remove(m.popup_id), CLOSED_LINGER_MS);
    }
    updateEmpty();
  }

  /* The state of open popups, after a first connection or a gap too long to replay. */
  function snapshot(list) {
    const open = new Set(list.map((m) => m.popup_id));
    for (const id of [...popups.keys()]) {
      if (!open.has(id) && popups.get(id).msg.state !== "closed") remove(id);
    }
    for (const m of list) {
      const p = popups.get(m.popup_id);
      if (p && RANK[m.state] < RANK[p.msg.state]) continue;
      if (p) { p.msg = m; p.seen.add(m.action + ":" + m.state); render(p); } else apply(m);
    }
    updateEmpty();
  }

  /* ---- click-to-call: POST /v1/calls, its outcome on the stream, the call's card ---- */

  function dropNotice(id) {
    const n = notices.get(id);
    if (!n) return;
    clearTimeout(n.timer);
    notices.delete(id);
    n.el.remove();
  }

  /* Show (or update) the notice of request id: status "sending", "calling", "failed",
   * "unknown" or "refused", what the manager reads, and the number. */
  function showNotice(id, status, message, number, ms) {
    let n = notices.get(id);
    if (!n) {
      const el = document.createElement("div");
      el.className = "notice";
      el.innerHTML = '<span class="notice-text"></span><span class="notice-number"></span>';
      noticesEl.prepend(el);
      n = { el: el, timer: 0, callId: null };
      notices.set(id, n);
    }
    n.el.dataset.status = status;
    n.el.dataset.requestId = id;
    text(n.el.querySelector(".notice-text"), message);
    text(n.el.querySelector(".notice-number"), number || "");
    clearTimeout(n.timer);
    if (ms) n.timer = setTimeout(() => dropNotice(id), ms);
    return n;
  }

  /* A call request's outcome (crm.popups.v1 kind call_request). */
  function callOutcome(m) {
    if (!m.request_id) return;
    if (!notices.has(m.request_id)) {
      // Asked from another tab, or the answer to POST is still on its way.
      early.set(m.request_id, m);
      if (early.size > 20) early.delete(early.keys().next().value);
    }
    const n = showNotice(m.request_id, m.status, m.message, fmtNumber(m.phone),
                         m.status === "calling" ? CALLING_MS : NOTICE_MS);
    n.callId = m.status === "calling" ? m.call_id : null;
    if (n.callId) {
      for (const p of popups.values()) if (p.msg.call_id === n.callId) callReached(n.callId);
    }
  }

  /* The call a request started has its own card now: the "Звоним…" notice has done its job. */
  function callReached(callId) {
    if (!callId) return;
    for (const [id, n] of notices) if (n.callId === callId) dropNotice(id);
  }

  const REFUSED = {
    number_not_callable: "На этот номер нельзя позвонить",
    too_many_calls: "Дождитесь ответа на предыдущие звонки",
    not_linked: "Сотрудник не привязан к UIS",
    no_uis_key: "Для компании не введён ключ API UIS: обратитесь к администратору",
    unauthorized: "Нет доступа: откройте окно звонков из CRM ещё раз",
  };

  async function placeCall(number, counterpartyId, button) {
    const local = "local-" + ++localSeq;
    const body = { phone: number };
    if (counterpartyId) body.counterparty_id = counterpartyId;
    if (button) button.disabled = true;
    showNotice(local, "sending", "Соединяем…", number);
    try {
      const r = await fetch(CALLS, {
        method: "POST",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + authToken },
        body: JSON.stringify(body),
      });
      const d = await r.json().catch(() => ({}));
      if (r.status === 202 && d.request_id) {
        const n = notices.get(local);
        notices.delete(local);
        notices.set(d.request_id, n);
        n.el.dataset.requestId = d.request_id;
        const m = early.get(d.request_id);
        if (m) {
          early.delete(d.request_id);
          callOutcome(m);
        }
      } else {
        showNotice(local, "refused", REFUSED[d.error] || "Не удалось позвонить: попробуйте ещё раз",
                   number, NOTICE_MS);
      }
    } catch (e) {
      showNotice(local, "refused", "Нет связи с сервером: попробуйте ещё раз", number, NOTICE_MS);
    } finally {
      if (button) button.disabled = false;
    }
  }

  /* An ended call joins the recent list, with its "Перезвонить" button. */
  function addRecent(m) {
    if (!m.caller || !m.caller.number) return;
    const li = document.createElement("li");
    li.className = "recent-item" + (m.answered_at ? "" : " missed");
    li.innerHTML = '<span><span class="recent-who"></span> <span class="recent-what"></span></span>' +
      '<button class="btn btn-call callback" type="button">Перезвонить</button>';
    const who = [fmtNumber(m.caller), m.counterparty && m.counterparty.name].filter(Boolean);
    text(li.querySelector(".recent-who"), who.join(" · "));
    text(li.querySelector(".recent-what"), m.answered_at ? "завершён" : "пропущенный");
    li.dataset.callId = m.call_id || "";
    li.querySelector("button").onclick = (ev) =>
      placeCall(m.caller.number, m.counterparty && m.counterparty.id, ev.currentTarget);
    recentList.prepend(li);
    while (recentList.children.length > RECENT_MAX) recentList.lastElementChild.remove();
    recentEl.hidden = false;
  }

  dialForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = dialInput.value.trim();
    if (!number) return;
    placeCall(number, null, document.getElementById("dial-go"));
    dialInput.value = "";
  });

  function parse(ev) {
    try { return JSON.parse(ev.data); } catch (e) { return null; }
  }

  function streamUrl(token) {
    const q = new URLSearchParams({ token: token });
    if (lastId) q.set("lastEventId", lastId);
    return STREAM + "?" + q.toString();
  }

  /* EventSource retries by itself after a dropped stream; it gives up for good on an HTTP
   * error, so then we look at the status: 401 means the link expired, anything else is
   * retried here with a growing delay. */
  async function diagnose(token) {
    try {
      const ctl = new AbortController();
      const r = await fetch(streamUrl(token), { signal: ctl.signal, cache: "no-store" });
      ctl.abort();
      return r.status;
    } catch (e) {
      return 0;
    }
  }

  function connect(token) {
    if (stopped) return;
    setConn("connecting", "Подключение…");
    source = new EventSource(streamUrl(token));
    source.onopen = () => {
      retryMs = 1000;
      setConn("online", "На связи");
    };
    source.addEventListener("snapshot", (ev) => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      const d = parse(ev);
      if (d && Array.isArray(d.popups)) snapshot(d.popups);
    });
    source.addEventListener("popup", (ev) => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      apply(parse(ev));
    });
    source.onerror = async () => {
      if (source.readyState === EventSource.CONNECTING) {
        setConn("connecting", "Переподключение…");
        return;
      }
      source.close();
      const status = await diagnose(token);
      if (status === 401) {
        stop("Нет доступа");
        return;
      }
      setConn("connecting", "Переподключение…");
      setTimeout(() => connect(token), retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  function stop(why) {
    stopped = true;
    if (source) source.close();
    setConn("denied", why);
    deniedEl.hidden = false;
    updateEmpty();
  }

  setInterval(() => {
    const now = Date.now();
    for (const p of popups.values()) tickOne(p, now);
  }, 1000);

  const token = takeToken();
  authToken = token;
  updateEmpty();
  if (!token) stop("Нет доступа");
  else connect(token);
})();

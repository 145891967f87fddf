/* The popup page: one card per call of this CRM user, fed by the notifier's SSE stream.
 * The token comes in the address (?token=) from the CRM; it is moved to sessionStorage and
 * dropped from the address bar so that it survives a reload but is not left on screen. */
"use strict";

(function () {
  const STREAM = "/v1/popups/stream";
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

  const popups = new Map(); // popup_id -> { msg, el, seen:Set, closeTimer }
  let source = null;
  let lastId = "";
  let retryMs = 1000;
  let stopped = false;

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
    p.el.classList.add("leaving");
    setTimeout(() => p.el.remove(), LEAVE_MS);
    updateEmpty();
  }

  /* A popup only moves forward (ringing -> in_call -> closed); a repeat is ignored. */
  function apply(m) {
    if (!m || !m.popup_id || !RANK[m.state]) return;
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
  updateEmpty();
  if (!token) stop("Нет доступа");
  else connect(token);
})();

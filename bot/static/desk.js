// The counselor desk: sign in, the partner's queue, one open case, the partner's closed cases.
// Polls every 2 s; every text from the server is shown with textContent (never as HTML).
// A case that arrives or a person who writes is announced by the tab's title ("(2) …"), a short
// sound and, once the counselor allows it, a browser notification.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const TITLE = document.title;
  let me = null, current = null, mode = "open", lastId = 0, timer = null, busy = false, transferKey = "";
  let seen = null;  // case id -> last person message id, as last shown (null before the first poll)
  let unseen = 0, audio = null;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function notice(text) {
    $("notice").textContent = text || "";
    $("notice").hidden = !text;
  }

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      if (me) headers["X-CSRF-Token"] = me.csrf;
    }
    const res = await fetch("/desk/api/" + path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    if (res.status === 401 && path !== "signin") signedOut();
    return { status: res.status, data };
  }

  // -- telling the counselor something happened ------------------------------------------------

  function looking() { return document.visibilityState === "visible" && document.hasFocus(); }

  function badge() { document.title = unseen ? `(${unseen}) ${TITLE}` : TITLE; }

  function beep() {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound here: the title and the notification still say it */ }
  }

  function alertCounselor(title, body, caseId) {
    $("announce").textContent = `${title} ${body}`;
    if (looking()) {  // the counselor is at the page: a sound for what is not in front of them, no badge
      if (caseId !== current) beep();
      return;
    }
    unseen += 1;
    badge();
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      const shown = new Notification(title, { body, tag: `tsunagu-${caseId}` });
      shown.onclick = () => { window.focus(); open(caseId); shown.close(); };
    }
  }

  function noticeChanges(queued, active) {
    const now = new Map();
    for (const c of [...queued, ...active]) now.set(c.id, c.last_person_id || 0);
    if (seen !== null) {
      for (const c of queued) {
        if (!seen.has(c.id)) alertCounselor("新しい相談 / New case", `${c.label} — ${c.topics}`, c.id);
      }
      for (const c of [...queued, ...active]) {
        if (seen.has(c.id) && (c.last_person_id || 0) > seen.get(c.id)) {
          alertCounselor("メッセージ / New message", `${c.label} さんが書きました / ${c.label} wrote`, c.id);
        }
      }
    }
    seen = now;
  }

  // -- on duty -----------------------------------------------------------------------------------

  function showDuty(duty) {
    if (!me || !duty) return;
    me.duty = duty;
    const b = $("duty");
    b.hidden = false;
    b.setAttribute("aria-checked", duty.on ? "true" : "false");
    $("duty-label").textContent = duty.on ? "対応中 / On duty" : "休止中 / Off duty";
    $("off-duty").hidden = duty.on;
  }

  async function toggleDuty() {
    if (!me) return;
    const r = await api("POST", "duty", { on: !(me.duty && me.duty.on) });
    if (r.status === 200) showDuty(r.data.duty);
    else if (r.data.message) notice(r.data.message);
  }

  function notifyButton() {
    const b = $("notify");
    b.hidden = !me || !("Notification" in window) || Notification.permission !== "default";
  }

  // -- signing in and out ------------------------------------------------------------------------

  function signedOut() {
    me = null; current = null; seen = null;
    if (timer) clearInterval(timer);
    timer = null;
    $("desk-view").hidden = true; $("signout").hidden = true; $("who").hidden = true;
    $("duty").hidden = true; $("off-duty").hidden = true;
    $("signin-view").hidden = false;
    notifyButton();
  }

  function signedIn(data) {
    me = data;
    $("signin-view").hidden = true;
    $("desk-view").hidden = false;
    $("signout").hidden = false;
    $("who").hidden = false;
    $("who").textContent = `${data.name} — ${data.org_name}`;
    showDuty(data.duty);
    notice("");
    notifyButton();
    refresh();
    if (!timer) timer = setInterval(refresh, POLL_MS);
  }

  // -- the lists ---------------------------------------------------------------------------------

  function caseButton(c, onClick) {
    const li = el("li");
    const b = el("button");
    b.type = "button";
    b.dataset.caseId = String(c.id);
    if (current === c.id) b.setAttribute("aria-current", "true");
    b.append(el("strong", "", c.label));
    if (c.urgent) b.append(el("span", "tag urgent", "緊急 / urgent"));
    if (c.risk_words.length) b.append(el("span", "tag risk", "⚠ " + c.risk_words.join("、")));
    b.append(el("br"));
    let line;
    if (c.status === "closed") {
      line = `${c.topics} — ${day(c.closed_at)} ${c.outcome || ""}`;
    } else if (c.status === "active") {
      line = `${c.topics} — ${c.counselor} さん / with ${c.counselor}`;
    } else {
      line = `${c.topics} — ${c.waited_minutes}分待ち / waiting ${c.waited_minutes} min`;
    }
    b.append(el("span", "", line));
    b.addEventListener("click", onClick);
    li.append(b);
    return li;
  }

  function day(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString("ja-JP", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit",
                                       hour: "2-digit", minute: "2-digit" });
  }

  function fillList(node, cases, onClick) {
    node.replaceChildren();
    if (!cases.length) node.append(el("li", "empty", "なし / none"));
    for (const c of cases) node.append(caseButton(c, () => onClick(c.id)));
  }

  async function refresh() {
    if (!me || busy) return;
    busy = true;
    try {
      const q = await api("GET", "cases");
      if (q.status !== 200) return;
      showDuty(q.data.duty);
      noticeChanges(q.data.queued, q.data.active);
      fillList($("queued"), q.data.queued, open);
      fillList($("active"), q.data.active, open);
      if (current !== null) await loadCase();
    } catch (e) {
      notice("サーバーに接続できません / Cannot reach the server");
    } finally {
      busy = false;
    }
  }

  function show(id, how) {
    if (current !== id || mode !== how) {
      current = id; mode = how; lastId = 0; transferKey = "";
      $("log").replaceChildren();
      $("close-confirm").hidden = true;
    }
    notice("");
  }

  function open(id) {
    show(id, "open");
    busy = false;
    refresh();
  }

  function openClosed(id) {
    show(id, "closed");
    loadCase();
  }

  function row(dl, label, value) {
    dl.append(el("dt", "", label), el("dd", "", value));
  }

  // -- one case ----------------------------------------------------------------------------------

  async function loadCase() {
    const id = current, how = mode;
    const r = await api("GET", (how === "closed" ? "history/" : "cases/") + id);
    if (id !== current || how !== mode) return;  // another case was opened meanwhile
    if (r.status !== 200) {
      current = null;
      $("case").hidden = true;
      return;
    }
    const c = r.data.case;
    const closed = c.status === "closed";
    $("case").hidden = false;
    $("case-title").textContent = c.label;
    const mine = c.status === "active" && c.counselor === me.name;
    if (closed) {
      $("case-status").textContent = `終了 ${day(c.closed_at)}（${c.outcome || "—"}） / Closed`;
    } else if (c.status === "queued") {
      $("case-status").textContent = `対応待ち（${c.waited_minutes}分） / Waiting (${c.waited_minutes} min)`;
    } else {
      $("case-status").textContent = `${c.counselor} さんが対応中 / In conversation with ${c.counselor}`;
    }
    const dl = $("summary");
    dl.replaceChildren();
    row(dl, "テーマ / Topics", c.topics);
    row(dl, "緊急度 / Urgency", c.urgent ? "緊急 / urgent" : "通常 / normal");
    row(dl, "リスク語 / Risk words", c.risk_words.length ? c.risk_words.join("、") : "—");
    if (closed && c.counselor) row(dl, "担当 / Counselor", c.counselor);
    if (c.full) for (const [k, v] of c.answers) row(dl, k, v);
    else row(dl, "受付の回答 / Intake", "共有の同意がないため、テーマのみ / Topics only: no consent to share");
    $("actions").hidden = closed;
    $("compose").hidden = closed;
    $("accept").hidden = c.status !== "queued";
    $("release").hidden = !mine;
    $("close").hidden = !mine;
    const targets = r.data.transfer_to || [];
    $("transfer").hidden = !mine || !targets.length;
    $("send").disabled = c.status !== "active";
    if ($("outcome").options.length === 0 && r.data.outcomes) {
      for (const o of r.data.outcomes) {
        const opt = el("option", "", o.label);
        opt.value = o.id;
        $("outcome").append(opt);
      }
    }
    const key = targets.map((t) => t.id).join(",");
    if (key !== transferKey) {
      transferKey = key;
      $("to").replaceChildren(...targets.map((t) => {
        const opt = el("option", "", t.name);
        opt.value = t.id;
        return opt;
      }));
    }
    for (const m of r.data.messages) {
      if (m.id <= lastId) continue;
      lastId = m.id;
      const li = el("li", m.from);
      const label = { person: c.label, counselor: "相談員 / Counselor", note: "内部メモ / Internal note" }[m.from] || m.from;
      li.append(el("span", "who", label), el("span", "text", m.text));
      $("log").append(li);
      $("log").scrollTop = $("log").scrollHeight;
    }
  }

  async function act(action, body) {
    if (current === null) return;
    const r = await api("POST", `cases/${current}/${action}`, body || {});
    if (r.status !== 200) notice(r.data.message || `エラー / Error ${r.status}`);
    else notice("");
    if (action === "close" && r.status === 200) { current = null; $("case").hidden = true; }
    busy = false;
    await refresh();
    return r.status === 200;
  }

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function write(kind) {
    const text = $("text").value.trim();
    if (!text) return;
    if (await act(kind, { text, id: newId() })) $("text").value = "";
  }

  // -- the partner's closed cases ----------------------------------------------------------------

  async function search(event) {
    if (event) event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, id] of [["handle", "find-handle"], ["topic", "find-topic"], ["from", "find-from"], ["to", "find-to"]]) {
      const value = $(id).value.trim();
      if (value) params.set(name, value);
    }
    const r = await api("GET", "history?" + params.toString());
    if (r.status !== 200) { notice(r.data.message || `エラー / Error ${r.status}`); return; }
    notice("");
    if ($("find-topic").options.length === 1) {
      for (const t of r.data.topics) {
        const opt = el("option", "", t.label);
        opt.value = t.id;
        $("find-topic").append(opt);
      }
      $("find-topic").value = params.get("topic") || "";
    }
    $("found-count").hidden = false;
    $("found-count").textContent = `${r.data.cases.length}件 / ${r.data.cases.length} found`;
    fillList($("found"), r.data.cases, openClosed);
  }

  // -- controls ----------------------------------------------------------------------------------

  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { org: $("org").value.trim(), name: $("name").value.trim(), password: $("password").value };
    const r = await api("POST", "signin", body);
    $("password").value = "";
    if (r.status === 200) signedIn(r.data);
    else notice(r.data.message || `エラー / Error ${r.status}`);
  });
  $("signout").addEventListener("click", async () => { await api("POST", "signout", {}); signedOut(); });
  $("duty").addEventListener("click", toggleDuty);
  $("notify").addEventListener("click", async () => {
    beep();  // a click lets the page play sounds from now on
    try { await Notification.requestPermission(); } catch (e) { /* the browser said no */ }
    notifyButton();
  });
  $("accept").addEventListener("click", () => act("accept"));
  $("release").addEventListener("click", () => act("release"));
  $("compose").addEventListener("submit", (event) => { event.preventDefault(); write("say"); });
  $("note").addEventListener("click", () => write("note"));
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); write("say"); }
  });
  $("close").addEventListener("submit", (event) => {
    event.preventDefault();
    $("close-confirm").hidden = false;  // closing ends the conversation for the person: ask first
    $("close-yes").focus();
  });
  $("close-no").addEventListener("click", () => { $("close-confirm").hidden = true; $("close-button").focus(); });
  $("close-yes").addEventListener("click", () => {
    $("close-confirm").hidden = true;
    act("close", { outcome: $("outcome").value, followup_days: Number($("followup").value) });
  });
  $("transfer").addEventListener("submit", (event) => { event.preventDefault(); act("transfer", { to: $("to").value }); });
  $("search").addEventListener("submit", search);
  const seenNow = () => { if (looking()) { unseen = 0; badge(); } };
  document.addEventListener("visibilitychange", seenNow);
  window.addEventListener("focus", seenNow);

  api("GET", "me").then((r) => (r.status === 200 ? signedIn(r.data) : signedOut()))
    .catch(() => notice("サーバーに接続できません / Cannot reach the server"));
})();

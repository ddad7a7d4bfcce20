// The counselor desk: sign in, the partner's queue, one open case. Polls every 2 s; every text
// from the server is shown with textContent (never as HTML).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  let me = null, current = null, lastId = 0, timer = null, busy = false, transferKey = "";

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

  function signedOut() {
    me = null; current = null;
    if (timer) clearInterval(timer);
    timer = null;
    $("desk-view").hidden = true; $("signout").hidden = true; $("who").hidden = true;
    $("signin-view").hidden = false;
  }

  function signedIn(data) {
    me = data;
    $("signin-view").hidden = true;
    $("desk-view").hidden = false;
    $("signout").hidden = false;
    $("who").hidden = false;
    $("who").textContent = `${data.name} — ${data.org_name}`;
    notice("");
    refresh();
    if (!timer) timer = setInterval(refresh, POLL_MS);
  }

  function caseButton(c) {
    const li = el("li");
    const b = el("button");
    b.type = "button";
    b.dataset.caseId = String(c.id);
    if (current === c.id) b.setAttribute("aria-current", "true");
    b.append(el("strong", "", c.label));
    if (c.urgent) b.append(el("span", "tag urgent", "緊急 / urgent"));
    if (c.risk_words.length) b.append(el("span", "tag risk", "⚠ " + c.risk_words.join("、")));
    b.append(el("br"));
    const line = c.status === "active"
      ? `${c.topics} — ${c.counselor} さん / with ${c.counselor}`
      : `${c.topics} — ${c.waited_minutes}分待ち / waiting ${c.waited_minutes} min`;
    b.append(el("span", "", line));
    b.addEventListener("click", () => open(c.id));
    li.append(b);
    return li;
  }

  function fillList(node, cases) {
    node.replaceChildren();
    if (!cases.length) node.append(el("li", "empty", "なし / none"));
    for (const c of cases) node.append(caseButton(c));
  }

  async function refresh() {
    if (!me || busy) return;
    busy = true;
    try {
      const q = await api("GET", "cases");
      if (q.status !== 200) return;
      fillList($("queued"), q.data.queued);
      fillList($("active"), q.data.active);
      if (current !== null) await loadCase();
    } catch (e) {
      notice("サーバーに接続できません / Cannot reach the server");
    } finally {
      busy = false;
    }
  }

  function open(id) {
    if (current !== id) {
      current = id; lastId = 0; transferKey = "";
      $("log").replaceChildren();
    }
    notice("");
    busy = false;
    refresh();
  }

  function row(dl, label, value) {
    dl.append(el("dt", "", label), el("dd", "", value));
  }

  async function loadCase() {
    const id = current;
    const r = await api("GET", "cases/" + id);
    if (id !== current) return;  // another case was opened meanwhile
    if (r.status !== 200) {
      current = null;
      $("case").hidden = true;
      return;
    }
    const c = r.data.case;
    $("case").hidden = false;
    $("case-title").textContent = c.label;
    const mine = c.status === "active" && c.counselor === me.name;
    $("case-status").textContent = c.status === "queued"
      ? `対応待ち（${c.waited_minutes}分） / Waiting (${c.waited_minutes} min)`
      : `${c.counselor} さんが対応中 / In conversation with ${c.counselor}`;
    const dl = $("summary");
    dl.replaceChildren();
    row(dl, "テーマ / Topics", c.topics);
    row(dl, "緊急度 / Urgency", c.urgent ? "緊急 / urgent" : "通常 / normal");
    row(dl, "リスク語 / Risk words", c.risk_words.length ? c.risk_words.join("、") : "—");
    if (c.full) for (const [k, v] of c.answers) row(dl, k, v);
    else row(dl, "受付の回答 / Intake", "共有の同意がないため、テーマのみ / Topics only: no consent to share");
    $("accept").hidden = c.status !== "queued";
    $("release").hidden = !mine;
    $("close").hidden = !mine;
    $("transfer").hidden = !mine || !r.data.transfer_to.length;
    $("send").disabled = c.status !== "active";
    if ($("outcome").options.length === 0) {
      for (const o of r.data.outcomes) {
        const opt = el("option", "", o.label);
        opt.value = o.id;
        $("outcome").append(opt);
      }
    }
    const key = r.data.transfer_to.map((t) => t.id).join(",");
    if (key !== transferKey) {
      transferKey = key;
      $("to").replaceChildren(...r.data.transfer_to.map((t) => {
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

  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { org: $("org").value.trim(), name: $("name").value.trim(), password: $("password").value };
    const r = await api("POST", "signin", body);
    $("password").value = "";
    if (r.status === 200) signedIn(r.data);
    else notice(r.data.message || `エラー / Error ${r.status}`);
  });
  $("signout").addEventListener("click", async () => { await api("POST", "signout", {}); signedOut(); });
  $("accept").addEventListener("click", () => act("accept"));
  $("release").addEventListener("click", () => act("release"));
  $("compose").addEventListener("submit", (event) => { event.preventDefault(); write("say"); });
  $("note").addEventListener("click", () => write("note"));
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); write("say"); }
  });
  $("close").addEventListener("submit", (event) => {
    event.preventDefault();
    act("close", { outcome: $("outcome").value, followup_days: Number($("followup").value) });
  });
  $("transfer").addEventListener("submit", (event) => { event.preventDefault(); act("transfer", { to: $("to").value }); });

  api("GET", "me").then((r) => (r.status === 200 ? signedIn(r.data) : signedOut()))
    .catch(() => notice("サーバーに接続できません / Cannot reach the server"));
})();

/* Tsunagu web chat. Plain JavaScript, no libraries, no requests to anyone but this server.
 *
 * The browser keeps one thing: a random token in localStorage (made with crypto.getRandomValues).
 * Every text is shown with textContent, never as HTML. Messages the person sends are kept in
 * memory until the server acknowledges them (it stores them first) and are sent again after a
 * reconnect; the server numbers every line of the conversation, and on (re)connect the page says
 * the last number it has and receives everything after it.
 *
 * One language at a time: the page starts in ?lang=, else the browser's language; the greeting of a
 * new conversation follows it (the hello frame says it), and a reloaded page takes the language the
 * conversation is in (the welcome frame says it). Phone numbers in what the service says are
 * tap-to-call links that never break across lines.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'tsunagu.chat.token';
  var MAX_FRAME_BYTES = 4096;
  var TEXTS = {
    ja: {
      title: 'つなぐ 相談チャット', skip: '入力欄へ移動', other: 'English', otherLang: 'en',
      emergency: '命の危険があるときは、すぐに 110（警察）・119（救急）へ電話してください。',
      connecting: '接続しています…', online: 'つながっています', offline: '接続が切れました。自動でつなぎ直します…',
      log: '会話', choices: '選択肢', send: '送信',
      label: 'メッセージ（自分の言葉でも答えられます）', hint: 'Enterで送信、Shift+Enterで改行',
      forget: 'この端末から会話を消す', privacy: '名前は聞きません。この端末に残るのは、ランダムな番号ひとつだけです。',
      forgetConfirm: 'この端末から会話を消して、新しく始めますか？\nサービス側の記録は、この操作では消えません。記録の種類ごとの保存期間が過ぎると消えます（「記録と保存期間」を参照）。すぐにすべて消すには「データを削除」を使ってください。',
      erase: 'データを削除', kept: '記録と保存期間', eraseWord: '削除',
      bot: 'つなぐ：', me: 'あなた：', sending: '送信中…', sent: '送信済み', failed: '送れませんでした（長すぎるか空です）',
      tooLong: '長すぎます。短く分けて送ってください。', switchWord: '日本語',
      slowDown: '続けて送られています。少し待ってから自動で送ります。',
      busy: 'ただいま混み合っています。しばらくしてから自動でつなぎ直します。'
    },
    en: {
      title: 'Tsunagu chat', skip: 'Skip to the message box', other: '日本語', otherLang: 'ja',
      emergency: 'If a life is in danger, call 110 (police) or 119 (ambulance) now.',
      connecting: 'Connecting…', online: 'Connected', offline: 'Connection lost. Reconnecting…',
      log: 'Conversation', choices: 'Choices', send: 'Send',
      label: 'Message (or answer in your own words)', hint: 'Enter sends, Shift+Enter adds a line',
      forget: 'Erase this conversation from this device', privacy: 'We never ask your name. This device keeps only one random number.',
      forgetConfirm: 'Erase this conversation from this device and start again?\nThis does not erase what the service keeps: each kind of record is deleted when its retention period ends (see "What we keep"). To erase everything now, use "Delete my data".',
      erase: 'Delete my data', kept: 'What we keep', eraseWord: '削除',
      bot: 'Tsunagu: ', me: 'You: ', sending: 'Sending…', sent: 'Sent', failed: 'Not sent (too long or empty)',
      tooLong: 'Too long. Please send it in shorter parts.', switchWord: 'English',
      slowDown: 'Many messages in a row: this one is sent by itself in a moment.',
      busy: 'Busy right now. Reconnecting by itself in a little while.'
    }
  };

  var lang = pageLanguage();
  var scroller = document.getElementById('scroll');
  var log = document.getElementById('log');
  var choices = document.getElementById('choices');
  var statusEl = document.getElementById('status');
  var form = document.getElementById('compose');
  var input = document.getElementById('text');
  var langButton = document.getElementById('lang');
  var forgetButton = document.getElementById('forget');
  var eraseButton = document.getElementById('erase');

  var memoryToken = null;  // when localStorage is unavailable (some private modes, blocked iframes)
  var ws = null;
  var lastSeq = 0;
  var pending = [];  // [{id, text, el}] in the order typed, until acknowledged
  var attempt = 0;
  var reconnectTimer = null;
  var state = 'connecting';

  function t(key) { return TEXTS[lang][key]; }

  function pageLanguage() {
    var asked = new URLSearchParams(location.search).get('lang');
    if (asked && TEXTS[asked]) { return asked; }
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ''];
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || '').toLowerCase().split('-')[0];
      if (TEXTS[code]) { return code; }
    }
    return 'ja';
  }

  // -- phone numbers: tel: links that never break -------------------------------------------------

  var PHONE = /#\d{4}|0\d{1,4}(?:-\d{1,5}){1,3}|\d+/g;
  var SHORT_LINES = { '110': 1, '119': 1, '189': 1, '188': 1 };

  function isPhone(token) {
    if (token.charAt(0) === '#') { return true; }  // #8008, #8891, ...
    if (token.indexOf('-') > 0) {  // 0120-279-338: ten or eleven digits, so a date like 01-05 is not one
      var digits = token.replace(/-/g, '').length;
      return digits >= 10 && digits <= 11;
    }
    return SHORT_LINES[token] === 1;  // 110, 119, 189, 188
  }

  // Fills `el` with `text`, the phone numbers in it as links (text nodes only: never HTML).
  function fillWithPhones(el, text) {
    while (el.firstChild) { el.removeChild(el.firstChild); }
    var at = 0;
    var match;
    PHONE.lastIndex = 0;
    while ((match = PHONE.exec(text)) !== null) {
      var token = match[0];
      if (!isPhone(token)) { continue; }
      if (match.index > at) { el.appendChild(document.createTextNode(text.slice(at, match.index))); }
      var a = document.createElement('a');
      a.className = 'tel';
      a.href = 'tel:' + token.replace(/-/g, '').replace('#', '%23');
      a.textContent = token;
      el.appendChild(a);
      at = match.index + token.length;
    }
    if (at < text.length) { el.appendChild(document.createTextNode(text.slice(at))); }
  }

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function token() {
    var value = null;
    try { value = localStorage.getItem(TOKEN_KEY); } catch (e) { value = memoryToken; }
    if (!value || !/^[A-Za-z0-9_-]{32,128}$/.test(value)) {
      value = randomHex(32);
      try { localStorage.setItem(TOKEN_KEY, value); } catch (e) { memoryToken = value; }
    }
    return value;
  }

  // -- the page's own words ---------------------------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (el) {
      var key = el.getAttribute('data-i18n');
      if (el.id === 'status') { key = state; }
      if (el.id === 'emergency') { fillWithPhones(el, t(key)); } else { el.textContent = t(key); }
    });
    langButton.textContent = t('other');
    langButton.setAttribute('lang', t('otherLang'));
  }

  function setStatus(next) {
    state = next;
    statusEl.setAttribute('data-state', next);
    statusEl.textContent = t(next);
  }

  // -- the log ----------------------------------------------------------------------------------

  function bubble(kind, text) {
    var li = document.createElement('li');
    li.className = 'msg ' + kind;
    var who = document.createElement('span');
    who.className = 'sr-only';
    who.textContent = kind === 'bot' ? t('bot') : t('me');
    var body = document.createElement('span');
    body.className = 'text';
    if (kind === 'bot') { fillWithPhones(body, text); } else { body.textContent = text; }  // never innerHTML
    li.appendChild(who);
    li.appendChild(body);
    log.appendChild(li);
    scrollDown();
    return li;
  }

  function scrollDown() { scroller.scrollTop = scroller.scrollHeight; }

  function mark(el, key) {
    var s = el.querySelector('.state');
    if (!s) {
      s = document.createElement('span');
      s.className = 'state';
      el.appendChild(s);
    }
    el.classList.toggle('failed', key === 'failed');
    el.setAttribute('data-state', key);
    s.textContent = t(key);
  }

  function ownBubble(id) {
    return log.querySelector('li[data-id="' + id + '"]');
  }

  function showChoices(list) {
    Array.prototype.slice.call(choices.querySelectorAll('button')).forEach(function (b) { b.remove(); });
    choices.hidden = !list.length;
    list.forEach(function (c) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'choice';
      b.textContent = c.label;
      b.addEventListener('click', function () { say(c.label); input.focus(); });
      choices.appendChild(b);
    });
    scrollDown();
  }

  function showLine(line) {
    if (line.from === 'person') {
      var text = (line.messages[0] || {}).text || '';
      var el = line.id && ownBubble(line.id);
      if (!el) {
        el = bubble('person', text);
        if (line.id) { el.setAttribute('data-id', line.id); }
      }
      if (!pending.some(function (p) { return p.id === line.id; })) { mark(el, 'sent'); }
      showChoices([]);
      return;
    }
    var offered = [];
    (line.messages || []).forEach(function (m) {
      bubble('bot', m.text || '');
      offered = m.choices || [];
    });
    showChoices(offered);
  }

  // -- sending ----------------------------------------------------------------------------------

  function frameOf(p) { return JSON.stringify({ type: 'say', id: p.id, text: p.text }); }

  function transmit(p) {
    if (ws && ws.readyState === WebSocket.OPEN && state === 'online') { ws.send(frameOf(p)); }
  }

  function say(text) {
    text = text.replace(/\s+$/, '');
    if (!text.trim()) { return false; }
    var p = { id: randomHex(16), text: text };
    if (new TextEncoder().encode(frameOf(p)).length > MAX_FRAME_BYTES || text.length > 1000) {
      setHint(t('tooLong'));
      return false;
    }
    p.el = bubble('person', text);
    p.el.setAttribute('data-id', p.id);
    mark(p.el, 'sending');
    pending.push(p);
    showChoices([]);
    transmit(p);
    return true;
  }

  function setHint(text) { document.getElementById('hint').textContent = text; }

  function settle(id, key) {
    pending = pending.filter(function (p) {
      if (p.id !== id) { return true; }
      mark(p.el, key);
      return false;
    });
  }

  // -- the connection ---------------------------------------------------------------------------

  function connect() {
    clearTimeout(reconnectTimer);
    if (ws && ws.readyState <= WebSocket.OPEN) { return; }
    setStatus(attempt ? 'offline' : 'connecting');
    var url = new URL('chat/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = '';
    var socket = new WebSocket(url.href);
    ws = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: 'hello', token: token(), last_seq: lastSeq, lang: lang }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === 'welcome') {
        if (frame.last_seq < lastSeq) { lastSeq = frame.last_seq; }
        if (frame.lang && TEXTS[frame.lang] && frame.lang !== lang) {  // the conversation's language wins
          lang = frame.lang;
          relabel();
        }
        attempt = 0;
        setStatus('online');
        pending.forEach(transmit);  // anything not yet acknowledged, in order
      } else if (frame.type === 'line') {
        if (frame.seq <= lastSeq) { return; }
        lastSeq = frame.seq;
        showLine(frame);
      } else if (frame.type === 'ack') {
        settle(frame.id, 'sent');
      } else if (frame.type === 'error' && !frame.id) {
        setHint(t('busy'));  // a limit: the server closes this socket (4429) and we try later
        if (frame.code !== 'unavailable') { attempt = Math.max(attempt, 4); }
      } else if (frame.type === 'error' && frame.id) {
        if (frame.code === 'slow-down') {
          setHint(t('slowDown'));
          setTimeout(function () {
            pending.filter(function (p) { return p.id === frame.id; }).forEach(transmit);
          }, 1000 * Math.max(1, frame.retry_after || 5));
        } else if (frame.code === 'unavailable') {
          setTimeout(function () {
            pending.filter(function (p) { return p.id === frame.id; }).forEach(transmit);
          }, 2000);
        } else {
          settle(frame.id, 'failed');
        }
      }
    };
    socket.onclose = function () {
      if (ws !== socket) { return; }
      ws = null;
      setStatus('offline');
      var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.8 + Math.random() * 0.4);
      attempt += 1;
      reconnectTimer = setTimeout(connect, delay);
    };
  }

  window.addEventListener('online', function () { attempt = Math.min(attempt, 1); connect(); });
  window.addEventListener('offline', function () {
    setStatus('offline');
    if (ws) { ws.close(); }
  });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && !ws) { connect(); }
  });

  // -- controls ---------------------------------------------------------------------------------

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (say(input.value)) {
      input.value = '';
      setHint(t('hint'));
    }
    input.focus();
  });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  function relabel() {
    applyLanguage();
    Array.prototype.forEach.call(log.querySelectorAll('li[data-state]'), function (li) {
      mark(li, li.getAttribute('data-state'));
    });
  }

  langButton.addEventListener('click', function () {
    lang = lang === 'ja' ? 'en' : 'ja';
    relabel();
    if (lastSeq > 0) { say(t('switchWord')); }  // the flow's own command: the bot follows too
  });
  // The same as typing 「削除」: the bot says what will be erased and asks, with buttons.
  eraseButton.addEventListener('click', function () { say(t('eraseWord')); });
  forgetButton.addEventListener('click', function () {
    if (!window.confirm(t('forgetConfirm'))) { return; }
    try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
    memoryToken = null;
    pending = [];
    lastSeq = 0;
    while (log.firstChild) { log.removeChild(log.firstChild); }
    showChoices([]);
    var old = ws;
    ws = null;
    if (old) { old.close(); }
    attempt = 0;
    connect();
  });

  applyLanguage();
  connect();
}());

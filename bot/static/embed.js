/* Tsunagu embed: a button that opens the web chat in a panel (an iframe) or a new window.
 *
 *   <script src="https://tsunagu.example.org/static/embed.js" data-tsunagu defer></script>
 *
 * Options on the script tag: data-mode="window" (open a new window instead of a panel),
 * data-lang="en", data-label="相談する" (the button's text). Nothing is loaded from the chat
 * server until the button is pressed, and nothing is read from or written to the host page.
 */
(function () {
  'use strict';
  var script = document.currentScript || document.querySelector('script[data-tsunagu]');
  if (!script || !script.hasAttribute('data-tsunagu')) { return; }
  var lang = script.getAttribute('data-lang') === 'en' ? 'en' : 'ja';
  var chat = new URL('../chat', script.src);
  if (lang === 'en') { chat.searchParams.set('lang', 'en'); }
  var label = script.getAttribute('data-label') || (lang === 'en' ? 'Talk to us' : '相談する（匿名・無料）');
  var closeLabel = lang === 'en' ? 'Close the chat' : 'チャットを閉じる';

  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.setAttribute('aria-haspopup', 'dialog');
  style(button, {
    position: 'fixed', right: '16px', bottom: '16px', zIndex: '2147483000', padding: '12px 18px',
    minHeight: '44px', border: '0', borderRadius: '24px', background: '#0b6e4f', color: '#fff',
    font: '16px/1.4 system-ui, sans-serif', boxShadow: '0 2px 8px rgba(0,0,0,.3)', cursor: 'pointer'
  });

  var panel = null;
  button.addEventListener('click', function () {
    if (script.getAttribute('data-mode') === 'window') {
      window.open(chat.href, '_blank', 'noopener');
      return;
    }
    if (panel) { close(); return; }
    panel = document.createElement('div');
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', label);
    style(panel, {
      position: 'fixed', right: '8px', bottom: '72px', width: 'min(400px, calc(100vw - 16px))',
      height: 'min(640px, calc(100vh - 88px))', zIndex: '2147483000', background: '#fff',
      borderRadius: '12px', boxShadow: '0 4px 24px rgba(0,0,0,.35)', overflow: 'hidden',
      display: 'flex', flexDirection: 'column'
    });
    var shut = document.createElement('button');
    shut.type = 'button';
    shut.textContent = '×';
    shut.setAttribute('aria-label', closeLabel);
    style(shut, { alignSelf: 'flex-end', minWidth: '44px', minHeight: '44px', border: '0', background: 'transparent',
                  font: '24px/1 system-ui, sans-serif', cursor: 'pointer' });
    shut.addEventListener('click', close);
    var frame = document.createElement('iframe');
    frame.src = chat.href;
    frame.title = label;
    frame.setAttribute('referrerpolicy', 'no-referrer');
    style(frame, { border: '0', width: '100%', flex: '1' });
    panel.appendChild(shut);
    panel.appendChild(frame);
    document.body.appendChild(panel);
    button.setAttribute('aria-expanded', 'true');
    frame.focus();
  });

  function close() {
    if (panel) { panel.remove(); panel = null; }
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  }

  function style(el, values) {
    Object.keys(values).forEach(function (k) { el.style[k] = values[k]; });
  }

  if (document.body) { document.body.appendChild(button); }
  else { document.addEventListener('DOMContentLoaded', function () { document.body.appendChild(button); }); }
}());

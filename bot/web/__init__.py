"""The web chat for people: GET /chat (a static page), GET /chat/ws (a WebSocket), and the "web"
sender that keeps a durable per-person mailbox. No cookies, no third-party requests: the browser
holds one random token, and the person's pseudonym is derived from it like any platform id.

translate.py is the protocol (pure functions), socket.py the WebSocket handler, sender.py the
outbox side, mount.py puts them on the app.
"""

"""The web chat protocol: small JSON frames both ways, parsed and built by pure functions.

Browser -> server:
    {"type": "hello", "token": "<random, 32-128 of [A-Za-z0-9_-]>", "last_seq": 0, "lang": "ja"}   first
                                                       frame; lang (optional): the page's language
    {"type": "say", "id": "<client-made id, 8-64 of [A-Za-z0-9_-]>", "text": "..."}
    {"type": "ping"}
Server -> browser:
    {"type": "welcome", "last_seq": n, "lang": "en"}   after hello; n is the newest line stored, lang
                                                       the conversation's language (absent: none yet)
    {"type": "line", "seq": n, "from": "bot"|"person", "messages": [{"text", "choices"}],
     "id": "<client id, person lines only>", "at": "<UTC ISO time>"}
    {"type": "ack", "id": "<client id>"}               the message is stored: it will not be lost
    {"type": "error", "code": "...", "id": "..."}      e.g. "unavailable": not stored, send again;
                                                       "slow-down" (with "retry_after" seconds):
                                                       over the per-minute limit, send it then;
                                                       without an id, "too-many-chats", "busy" or
                                                       "too-many-sockets" just before a 4429 close
    {"type": "pong"}

Like slack-bolt's adapters, nothing here touches aiohttp: the handler hands text in and out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from storage.codec import decode_messages

from ..events import Inbound

CHANNEL = "web"
MAX_FRAME_BYTES = 4096  # a frame over this is refused and the socket closed (1009)
MAX_TEXT_CHARS = 1000
BATCH = 5  # flow messages per mailbox line, as on LINE
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # JSON can carry a lone one; UTF-8 cannot


class ProtocolError(ValueError):
    """A frame the chat page would never send; the code is safe to log and to send back."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Hello:
    token: str
    last_seq: int
    lang: str | None = None  # the page's language; a new conversation greets in it


@dataclass(frozen=True)
class Say:
    id: str
    text: str


@dataclass(frozen=True)
class Ping:
    pass


Frame = Hello | Say | Ping


def parse(raw: str) -> Frame:
    """One browser frame, checked; raises ProtocolError with a short code otherwise."""
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError("too-large")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise ProtocolError("not-json") from None
    if not isinstance(data, dict):
        raise ProtocolError("not-an-object")
    kind = data.get("type")
    if kind == "hello":
        token, last = data.get("token"), data.get("last_seq", 0)
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise ProtocolError("bad-token")
        if not isinstance(last, int) or isinstance(last, bool) or last < 0:
            raise ProtocolError("bad-last-seq")
        lang = data.get("lang")  # a page's hint: an odd one is ignored, never refused
        return Hello(token=token, last_seq=last, lang=lang if isinstance(lang, str) and _LANG.fullmatch(lang) else None)
    if kind == "say":
        client_id, text = data.get("id"), data.get("text")
        if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
            raise ProtocolError("bad-id")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError("bad-text")
        if len(text) > MAX_TEXT_CHARS:
            raise ProtocolError("too-long")
        return Say(id=client_id, text=_SURROGATE.sub("\ufffd", text))
    if kind == "ping":
        return Ping()
    raise ProtocolError("unknown-type")


def client_id_of(raw: str) -> str | None:
    """The client id of a frame refused for its text, if it carries a well-formed one."""
    try:
        value = json.loads(raw).get("id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and _CLIENT_ID.fullmatch(value) else None


def event_id(pseudonym: str, client_id: str) -> str:
    """The inbox event id of a person's message: their client id, prefixed with part of their
    pseudonym so that one browser cannot make another person's message look like a resend."""
    return f"{pseudonym[:24]}.{client_id}"


def start_event_id(pseudonym: str) -> str:
    """The one "follow" a new token gets (the greeting comes before the person types)."""
    return f"{pseudonym[:24]}.start"


def to_inbound(pseudonym: str, say: Say | None, *, now: datetime, language: str | None = None) -> Inbound:
    """A person's message (or, with `say` None, the opening of a new chat in the page's `language`)
    as an Inbound.

    The address is the pseudonym itself: the web has no platform id to deliver to, and the
    sender finds the person's sockets by pseudonym.
    """
    if say is None:
        return Inbound(channel=CHANNEL, event_id=start_event_id(pseudonym), kind="follow", source="user",
                       address=pseudonym, occurred_at=now, language=language)
    return Inbound(channel=CHANNEL, event_id=event_id(pseudonym, say.id), kind="message", source="user",
                   address=pseudonym, occurred_at=now, text=say.text)


def person_line(say: Say, *, now: datetime) -> bytes:
    """What the mailbox keeps of the person's own message (shown again after a reload)."""
    return _dumps({"from": "person", "id": say.id, "messages": [{"text": say.text, "choices": []}],
                   "at": now.isoformat()})


def bot_line(outbox_payload: bytes, *, now: datetime) -> bytes:
    """What the mailbox keeps of an outbox row: the flow or desk messages, as stored."""
    messages = [{"text": m.text, "choices": [{"label": c.label, "value": c.value} for c in m.choices]}
                for m in decode_messages(outbox_payload)]
    return _dumps({"from": "bot", "messages": messages, "at": now.isoformat()})


def line_frame(seq: int, payload: bytes) -> str:
    return json.dumps({"type": "line", "seq": seq, **json.loads(payload)}, ensure_ascii=False)


def welcome_frame(last_seq: int, language: str | None = None) -> str:
    return json.dumps({"type": "welcome", "last_seq": last_seq, **({"lang": language} if language else {})})


def ack_frame(client_id: str) -> str:
    return json.dumps({"type": "ack", "id": client_id})


def error_frame(code: str, client_id: str | None = None, *, retry_after: float | None = None) -> str:
    extra: dict[str, object] = {"id": client_id} if client_id else {}
    if retry_after is not None:
        extra["retry_after"] = round(retry_after)
    return json.dumps({"type": "error", "code": code, **extra})


PONG = json.dumps({"type": "pong"})


def _dumps(data: dict[str, object]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()

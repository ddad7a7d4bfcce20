"""Slack event payloads to Tsunagu values, as pure functions (the core never sees a Slack type).

A direct message to the bot is a person seeking help (channel "slack", whoever sends it, even a
counselor). A reply in a card's thread in a desk channel, and a button press, are desk events
(channel "slack-desk"), stored in the inbox like any event and handled by the desk.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from ..events import Inbound

PERSON = "slack"
DESK = "slack-desk"
_RELAYED_SUBTYPES = (None, "file_share", "thread_broadcast")
MAX_ID = 100  # Slack's ids, ts values and event ids are far shorter; inbox columns hold 128 and 64
MAX_TEXT = 40_000  # Slack's own limit for a message
_ID = re.compile(r"[A-Za-z0-9._:^-]{1,100}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """Lone surrogates (JSON can carry them, UTF-8 cannot) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _ok_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def check_body(raw: bytes, content_type: str) -> str | None:
    """Why a signed request is not one Slack sends (a reason safe to log), or None.

    Checked before slack-bolt sees the body: bolt's own middleware assumes Slack's shapes (an
    `event` that is an object, ...) and would fail on others with an error, not an answer.
    """
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = parse_qs(raw.decode("utf-8"), strict_parsing=False)
            if "payload" not in form:
                return None  # a slash command or ssl_check: bolt's to judge
            body = json.loads(form["payload"][0])
        else:
            body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return "not-json"
    if not isinstance(body, dict):
        return "not-an-object"
    for key in ("event", "user", "channel", "team", "container", "message", "authorizations"):
        if key in body and not isinstance(body[key], dict | list if key == "authorizations" else dict):
            return f"bad-{key}"
    if body.get("type") == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _ok_id(body.get("event_id")):
            return "bad-event"
        for key in ("type", "channel", "channel_type", "user", "ts", "thread_ts", "subtype", "team", "bot_id"):
            if event.get(key) is not None and not (_ok_id(event[key]) or key == "type" and isinstance(event[key], str)):
                return f"bad-event-{key}"
        if event.get("text") is not None and (not isinstance(event["text"], str) or len(event["text"]) > MAX_TEXT):
            return "bad-text"
        if not isinstance(event.get("files", []), list) or not all(isinstance(f, dict) for f in event.get("files", [])):
            return "bad-files"
    if "actions" in body:
        actions = body["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            return "bad-actions"
        for action in actions:
            for key in ("action_id", "action_ts", "block_id"):
                if action.get(key) is not None and not _ok_id(action[key]):
                    return f"bad-action-{key}"
            value = action.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > 2000 or not value.isprintable()):
                return "bad-action-value"  # our buttons' values are ids and codes: never a lone surrogate
        if not _ok_id((body.get("user") or {}).get("id")):
            return "bad-user"
        if body.get("trigger_id") is not None and not _ok_id(body["trigger_id"]):
            return "bad-trigger"
    return None


def _media(event: dict[str, Any]) -> str | None:
    files = event.get("files") or []
    if not files:
        return None
    return "image" if any(str(f.get("mimetype", "")).startswith("image/") for f in files) else "file"


def _at(value: Any, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        return fallback


def is_from_a_person(event: dict[str, Any]) -> bool:
    return (event.get("type") == "message" and event.get("subtype") in _RELAYED_SUBTYPES
            and not event.get("bot_id") and bool(event.get("user")))


def dm_inbound(body: dict[str, Any], event: dict[str, Any], *, now: datetime) -> Inbound | None:
    """A direct message as an `Inbound`; None for anything else."""
    if event.get("channel_type") != "im" or not is_from_a_person(event):
        return None
    return Inbound(channel=PERSON, event_id=str(body.get("event_id") or event.get("client_msg_id") or event["ts"]),
                   kind="message", source="user", address=str(event["channel"]),
                   occurred_at=_at(event.get("ts"), now), text=clean(event.get("text") or "") or None,
                   media=_media(event))


def person_key(body: dict[str, Any], event: dict[str, Any]) -> str:
    """What the pseudonym is made of: team and user, so the same user id in two workspaces differs."""
    team = event.get("team") or body.get("team_id") or ""
    return f"{team}:{event['user']}"


def thread_event(body: dict[str, Any], event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(event id, order key, payload) of a counselor's reply in a thread of a channel."""
    thread = event.get("thread_ts")
    if event.get("channel_type") == "im" or not thread or thread == event.get("ts") or not is_from_a_person(event):
        return None
    text = clean(event.get("text") or "")
    if not text and _media(event):
        text = "「画像」" if _media(event) == "image" else "「ファイル」"
    payload = {"kind": "thread", "channel": event["channel"], "thread_ts": thread, "user": event["user"], "text": text}
    return str(body.get("event_id") or event["ts"]), f"slack:{event['channel']}:{thread}", payload


def action_event(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(event id, order key, payload) of a button press on a card or a desk prompt."""
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    value = str(action.get("value") or "")
    card = value.split("|", 1)[0]
    user = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    event_id = f"action:{user}:{action.get('action_ts') or body.get('trigger_id')}"
    payload = {"kind": "action", "action_id": action.get("action_id"), "value": value, "user": user,
               "channel": channel}
    return event_id, f"slack-card:{card}", payload


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()  # ASCII with escapes: any string encodes

"""Slack event payloads to Tsunagu values, as pure functions (the core never sees a Slack type).

A direct message to the bot is a person seeking help (channel "slack", whoever sends it, even a
counselor). A reply in a card's thread in a desk channel, and a button press, are desk events
(channel "slack-desk"), stored in the inbox like any event and handled by the desk.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..events import Inbound

PERSON = "slack"
DESK = "slack-desk"
_RELAYED_SUBTYPES = (None, "file_share", "thread_broadcast")


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
                   occurred_at=_at(event.get("ts"), now), text=event.get("text") or None, media=_media(event))


def person_key(body: dict[str, Any], event: dict[str, Any]) -> str:
    """What the pseudonym is made of: team and user, so the same user id in two workspaces differs."""
    team = event.get("team") or body.get("team_id") or ""
    return f"{team}:{event['user']}"


def thread_event(body: dict[str, Any], event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(event id, order key, payload) of a counselor's reply in a thread of a channel."""
    thread = event.get("thread_ts")
    if event.get("channel_type") == "im" or not thread or thread == event.get("ts") or not is_from_a_person(event):
        return None
    text = event.get("text") or ""
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
    return json.dumps(payload, ensure_ascii=False).encode()

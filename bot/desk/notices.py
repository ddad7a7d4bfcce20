"""What the desk tells the front ends about a card, as outbox rows on the "desk" channel.

The desk does not know how a front end shows a card. It says three things, each about one card:
the card is new (`opened`), the case behind it changed (`changed`), or a line belongs in the
card's log (`said`: a person's message, "accepted by ...", risk words). The Slack front end posts,
updates and writes in the card's thread; the web desk reads the case tables itself and takes no
notices. Rows are written in the same transaction as the change they announce (CaseStore), so
none is lost while Slack is down and none is sent for a change that did not happen.

Rows written by the previous release used Slack's words (post_card, update_card, thread): they
still decode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from storage.cases import DESK_CHANNEL, LEGACY_DESK_CHANNEL, NEW_CARD

__all__ = ["CHANNEL", "LEGACY_CHANNEL", "NEW_CARD", "Notice", "changed", "decode", "opened", "said"]

CHANNEL = DESK_CHANNEL
LEGACY_CHANNEL = LEGACY_DESK_CHANNEL  # outbox rows of the previous release
Kind = Literal["opened", "changed", "said"]
_KINDS: dict[str, Kind] = {"opened": "opened", "changed": "changed", "said": "said",
                           "post_card": "opened", "update_card": "changed", "thread": "said"}


@dataclass(frozen=True)
class Notice:
    kind: Kind
    card_id: int
    text: str | None = None


def opened() -> dict[str, Any]:
    """The card this change creates is new (its id is filled in by CaseStore)."""
    return {"op": "opened", "card_id": NEW_CARD}


def changed(card_id: int | str) -> dict[str, Any]:
    return {"op": "changed", "card_id": card_id}


def said(card_id: int | str, text: str) -> dict[str, Any]:
    return {"op": "said", "card_id": card_id, "text": text}


def decode(payload: bytes) -> Notice | None:
    """The notice in an outbox row; None for a row no front end can read."""
    try:
        data = json.loads(payload)
        kind = _KINDS.get(str(data.get("op")))
        card_id = int(data.get("card_id") or 0)
    except (ValueError, TypeError, AttributeError):
        return None
    if kind is None or card_id <= 0:
        return None
    text = data.get("text")
    return Notice(kind=kind, card_id=card_id, text=str(text) if text is not None else None)

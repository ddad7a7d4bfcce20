"""Channel-neutral values that cross from the adapters into the dispatcher.

An adapter turns a platform event into an `Inbound`; the inbox stores it (encrypted, since it
holds the platform id and the text) and the dispatcher reads it back. Nothing here imports a
platform SDK.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

Kind = Literal["message", "follow", "unfollow", "join", "other"]
SourceKind = Literal["user", "group", "room"]


@dataclass(frozen=True)
class Inbound:
    channel: str  # "line", "slack", "web"
    event_id: str
    kind: Kind
    source: SourceKind
    address: str  # where replies go (user id, group id, DM channel); only ever stored encrypted
    occurred_at: datetime
    text: str | None = None
    media: str | None = None  # "sticker", "image", ... (content never fetched)
    reply_token: str | None = None
    standby: bool = False
    redelivery: bool = False
    language: str | None = None  # the language the person's page or app is in, when the channel says

    def to_bytes(self) -> bytes:
        # Every field is a plain value: a shallow dict (asdict deep-copies each one, a tenth of the
        # webhook's time under load, bench/webhook.py with py-spy).
        data = {name: getattr(self, name) for name in _FIELDS}
        data["occurred_at"] = self.occurred_at.isoformat()
        return json.dumps(data, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Inbound:
        data = json.loads(raw)
        data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
        return cls(**data)


_FIELDS = tuple(f.name for f in fields(Inbound))

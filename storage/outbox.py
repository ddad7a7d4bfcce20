"""The outbox row format: the one writer of a row's values, and its one reader.

A row's payload and reply token are encrypted with associated data naming the row by its
person and retry key (`outbox|<pseudonym>|<retry key>`, `reply|<pseudonym>|<retry key>`), so a
value copied into another row does not decrypt. `Store.commit_turn` (a flow's replies) and
`CaseStore` (what a change of a case sends) both write rows through `outbox_values`; the
senders read them through `Store.due_outbox`, which uses `outbox_item`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from storage.keys import Keyring
from storage.values import OutboxItem


def _aad(purpose: str, pseudonym: str, retry_key: str) -> bytes:
    # "|" never occurs in a pseudonym, a "desk:<id>" queue name or a UUID.
    return f"{purpose}|{pseudonym}|{retry_key}".encode()


def outbox_values(keyring: Keyring, *, pseudonym: str, channel: str, payload: bytes, now: datetime,
                  reply_token: str | None = None,
                  reply_token_expires_at: datetime | None = None,
                  person: str | None | bool = True) -> dict[str, Any]:
    """The values of one new, pending outbox row, due at once; ready for an INSERT.

    Encrypted under the data key of `person`: by default the row's own pseudonym; a desk row
    (`desk:<case id>`) names the case's person, or None (nothing of a person in it)."""
    retry_key = str(uuid.uuid4())
    owner = pseudonym if person is True else (person or None)
    return {
        "pseudonym": pseudonym,
        "channel": channel,
        "payload_enc": keyring.encrypt(payload, aad=_aad("outbox", pseudonym, retry_key), person=owner),
        "reply_token_enc": None if reply_token is None else keyring.encrypt(
            reply_token.encode(), aad=_aad("reply", pseudonym, retry_key), person=owner),
        "reply_token_expires_at": reply_token_expires_at,
        "retry_key": retry_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def outbox_item(keyring: Keyring, row: Any) -> OutboxItem:
    """A stored row (with every column of the outbox table), decrypted."""
    token = None
    if row.reply_token_enc is not None:
        token = keyring.decrypt(row.reply_token_enc, aad=_aad("reply", row.pseudonym, row.retry_key)).decode()
    return OutboxItem(
        id=row.id, pseudonym=row.pseudonym, channel=row.channel,
        payload=keyring.decrypt(row.payload_enc, aad=_aad("outbox", row.pseudonym, row.retry_key)),
        reply_token=token, reply_token_expires_at=row.reply_token_expires_at,
        retry_key=row.retry_key, attempts=row.attempts, reply_tried=bool(row.reply_tried))

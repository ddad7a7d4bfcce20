"""A database as the release before migrations left it: its schema (the baseline's frozen copy)
and a row in every table, written as that release wrote them — the same encryption, associated
data and formats — by plain inserts, so that later changes to the stores never change it.

The migration tests adopt and upgrade it and then read every row back through today's stores:
a revision that forgets old rows, or a store that can no longer read what was written, fails.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from flows.messages import Message
from storage import Database, Keyring, encode_messages, migrate
from storage.desk_users import _token_hash, hash_password

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
P1, P2 = "a" * 64, "b" * 64
TOKEN = "old-release-desk-session-token"
PASSWORD = "correct horse battery"


def _aad(*parts: str) -> bytes:
    return "|".join(parts).encode()


async def make(db: Database, keyring: Keyring) -> None:
    """Replace whatever `db` holds with the previous release's schema and rows."""
    baseline = migrate._baseline()
    sqlite = db.dialect == "sqlite"

    def t(moment: datetime) -> datetime:  # SQLite kept naive UTC text, PostgreSQL timestamptz
        return moment.replace(tzinfo=None) if sqlite else moment

    def enc(value: bytes, *aad: str) -> str:
        return keyring.encrypt(value, aad=_aad(*aad))

    def js(value: Any, *aad: str) -> str:
        return enc(json.dumps(value, ensure_ascii=False).encode(), *aad)

    rows: dict[str, list[dict[str, Any]]] = {
        "inbox": [
            {"id": 1, "channel": "line", "event_id": "e1", "pseudonym": P1, "status": "done",
             "payload_enc": enc(b'{"text": "first"}', "inbox", "line", "e1", P1), "received_at": t(T0),
             "finished_at": t(T0), "error": None},
            {"id": 2, "channel": "line", "event_id": "e2", "pseudonym": P1, "status": "pending",
             "payload_enc": enc(b'{"text": "second"}', "inbox", "line", "e2", P1), "received_at": t(T0),
             "finished_at": None, "error": None},
        ],
        "addresses": [{"pseudonym": P1, "channel": "line", "updated_at": t(T0),
                       "platform_user_id_enc": enc(b"U-alice", "address", "line", P1)}],
        "sessions": [{"pseudonym": P1, "version": 1, "wake_at": t(T0), "updated_at": t(T0),
                      "state_enc": js({"node": "ask", "answers": {"a": 1}}, "session", P1)}],
        "outbox": [
            {"id": 1, "pseudonym": P1, "channel": "line", "retry_key": "00000000-0000-4000-8000-000000000001",
             "payload_enc": enc(encode_messages([Message("hi")]), "outbox", P1,
                                "00000000-0000-4000-8000-000000000001"),
             "reply_token_enc": enc(b"tok", "reply", P1, "00000000-0000-4000-8000-000000000001"),
             "reply_token_expires_at": t(T0), "status": "pending", "attempts": 0, "next_attempt_at": t(T0),
             "created_at": t(T0), "finished_at": None, "error": None},
            {"id": 2, "pseudonym": "desk:1", "channel": "slack-desk",
             "retry_key": "00000000-0000-4000-8000-000000000002",
             "payload_enc": enc(b'{"op": "post_card", "card_id": 1}', "outbox", "desk:1",
                                "00000000-0000-4000-8000-000000000002"),
             "reply_token_enc": None, "reply_token_expires_at": None, "status": "sent", "attempts": 1,
             "next_attempt_at": t(T0), "created_at": t(T0), "finished_at": t(T0), "error": None},
        ],
        "flow_versions": [{"flow_id": "intake", "version": "v1", "source": "id: intake",
                           "first_published_at": t(T0), "published_at": t(T0), "current": True}],
        "web_mailbox": [{"pseudonym": P1, "seq": 1, "key": "k1", "created_at": t(T0),
                         "payload_enc": enc(b'{"line": 1}', "web_mailbox", P1, "k1")}],
        "cases": [{
            "id": 1, "pseudonym": P1, "channel": "line", "handle": "K7-3F", "status": "queued", "org_id": "alpha",
            "candidates": '["alpha"]', "tried": "[]", "priority": 100, "urgent": True, "language": "ja",
            "share_consent": True, "answers_enc": js({"topics": ["family"]}, "case", "1", "answers"),
            "risk_enc": js(["w"], "case", "1", "risk"), "counselor_id": None, "counselor_name": None,
            "outcome": None, "told_position": 1, "lines_sent": False, "version": 1, "created_at": t(T0),
            "queued_at": t(T0), "offered_at": t(T0), "accepted_at": None, "closed_at": None}],
        "case_cards": [{"id": 1, "case_id": 1, "org_id": "alpha", "slack_channel": "C1", "ts": "1.0",
                        "state": "open", "via": "route", "created_at": t(T0)}],
        "case_messages": [{"id": 1, "case_id": 1, "direction": "person", "source_key": "e1", "created_at": t(T0),
                           "body_enc": js("help me", "case_message", "1", "e1")}],
        "desk_orgs": [{"org_id": "alpha"}],
        "risk_marks": [{"pseudonym": P2, "score": 5, "words_enc": js(["word"], "risk", P2), "lines_sent_at": t(T0),
                        "updated_at": t(T0)}],
        "follow_ups": [{"id": 1, "case_id": 1, "pseudonym": P1, "org_id": "alpha", "days": 3, "status": "scheduled",
                        "due_at": t(T0 + timedelta(days=3)), "created_at": t(T0)}],
        "desk_users": [{"id": 1, "org_id": "alpha", "name": "Aki", "created_at": t(T0),
                        "password_hash": hash_password(PASSWORD, n=2**10)}],
        "desk_sessions": [{"token_hash": _token_hash(TOKEN), "user_id": 1, "created_at": t(T0),
                           "expires_at": t(T0 + timedelta(days=3650))}],
        "desk_signin_failures": [{"id": 1, "key": "addr:a1", "at": t(T0)}],
    }
    assert set(rows) == set(baseline.tables), "a row for every table of the previous release"
    async with db.engine.begin() as conn:
        await conn.run_sync(_drop_everything)
        await conn.run_sync(baseline.create_all)
        for name, values in rows.items():
            await conn.execute(baseline.tables[name].insert(), values)
        if not sqlite:  # ids were given explicitly: move the sequences past them, as the release had
            for name in ("inbox", "outbox", "cases", "case_cards", "case_messages", "follow_ups", "desk_users",
                         "desk_signin_failures"):
                await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 10)"))


def _drop_everything(connection: sa.Connection) -> None:
    found = sa.MetaData()
    found.reflect(connection)
    found.drop_all(connection)

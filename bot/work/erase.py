"""「削除」: a person erases their data, on every channel, through the worker like any message.

The words below (or the web chat's button, which sends 「削除」) ask first: what will be erased,
with a quick reply yes / no. The question is kept in the session (`{"erase_asked": ...}`, with the
state it interrupted, restored on no or after `ASK_FOR`). On yes, in the batch's one transaction:
everything linked to the pseudonym is erased (storage/erasure.py: address, inbox, outbox, web
chat lines, the cases' answers, messages and notes), an open case is closed and its counselor told
(the desk's `erased`), and the person's data key is destroyed once the batch committed (so an
older copy of the database no longer reads). The goodbye itself needs their address a little
longer: it is kept under a new key, with the session `{"erased_at": ...}`, and erased in turn
by the timer `LINGER` later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flows.matching import normalize
from flows.messages import Choice, Message
from storage import StoredSession
from storage.work import Claimed

from .. import texts
from ..desk.port import DeskPort
from ..events import Inbound

WORDS = ("削除", "データを消して", "データを削除", "データを削除して", "データを消す", "delete my data",
         "erase my data", "delete", "erase")
YES_LABEL = "削除する / Erase"
NO_LABEL = "削除しない / Keep"
YES = ("削除する", "はい", "yes", "erase", "y", "ok", YES_LABEL)
ASK_FOR = timedelta(minutes=10)  # an unanswered question lapses: the conversation goes on as before
LINGER = timedelta(minutes=10)  # the goodbye's address and lines, then erased too
ASKED = "erase_asked"
ERASED_AT = "erased_at"

_WORDS = {normalize(w) for w in WORDS}
_YES = {normalize(w) for w in YES}


def wants(inbound: Inbound) -> bool:
    return inbound.kind == "message" and bool(inbound.text) and normalize(inbound.text or "") in _WORDS


def asked(stored: StoredSession | None) -> dict[str, Any] | None:
    value = stored.state.get(ASKED) if stored is not None else None
    return value if isinstance(value, dict) else None


def lingering(stored: StoredSession | None) -> bool:
    return stored is not None and ERASED_AT in stored.state


def said(key: str, language: str | None) -> str:
    """In the conversation's language; both, Japanese first, when it is not known."""
    return texts.text(key, language if language in ("ja", "en") else "both")


def language_of(stored: StoredSession | None, inbound: Inbound) -> str | None:
    """The conversation's language (the session's), else what the person's page or app says."""
    language = stored.state.get("language") if stored is not None and isinstance(stored.state, dict) else None
    return language if language in ("ja", "en") else inbound.language


def question(language: str | None = None) -> Message:
    return Message(said("erase_ask", language), choices=(Choice(YES_LABEL, "yes"), Choice(NO_LABEL, "no")))


def ask_state(stored: StoredSession | None, now: datetime, language: str | None = None) -> dict[str, Any]:
    """The session while the question waits: what it interrupts, to restore on no."""
    resume = None if stored is None or lingering(stored) else stored.state
    wake = stored.wake_at.isoformat() if stored is not None and stored.wake_at and resume else None
    return {ASKED: {"at": now.isoformat(), "resume": resume, "resume_wake": wake, "language": language}}


def resumed(question_state: dict[str, Any]) -> tuple[dict[str, Any] | None, datetime | None]:
    wake = question_state.get("resume_wake")
    return question_state.get("resume"), datetime.fromisoformat(wake) if wake else None


def said_yes(inbound: Inbound) -> bool:
    return inbound.kind == "message" and normalize(inbound.text or "") in _YES


async def erase(work: Claimed, desk: DeskPort, pseudonym: str, *, channel: str, now: datetime) -> None:
    """Everything of the person but the session (the caller writes it with the goodbye)."""
    closed = await work.erase(pseudonym, now=now)
    await desk.erased(case_ids=closed, channel=channel, now=now)

"""The session: everything the engine needs to continue a conversation, as a value the host keeps.

Like goflow, the engine keeps no state of its own: the host loads a `Session`, passes it to the
engine and stores the one that comes back. It is frozen all the way down (answers included), so
a host can hold on to the old one, compare it with the new one or retry with it, and nothing it
passes in ever changes. The host stores it as JSON (encrypted): `to_json` writes the same keys the
engine has always written, and `from_json` reads every session stored since the first release and
refuses a malformed one with a `FlowError` at once, instead of a KeyError deep inside a turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal, TypeAlias, TypeVar, get_args

from .errors import FlowError

Status = Literal["active", "handoff", "ended"]
EndReason = Literal["completed", "stopped", "expired"]
# An answer as the engine keeps it: JSON data with lists as tuples and maps read-only.
Answer: TypeAlias = "str | int | float | bool | None | tuple[Answer, ...] | Mapping[str, Answer]"
Json: TypeAlias = "str | int | float | bool | None | list[Json] | dict[str, Json]"

STATUSES: tuple[Status, ...] = get_args(Status)
END_REASONS: tuple[EndReason, ...] = get_args(EndReason)
_Word = TypeVar("_Word", bound=str)


@dataclass(frozen=True)
class Pending:
    """Progress inside a question with buttons: the keys picked so far (multiple choice) and the
    page of buttons shown (long lists)."""

    picked: tuple[str, ...] = ()
    page: int = 0


@dataclass(frozen=True)
class Session:
    """One person's conversation on one flow version (the version it started on, to the end).

    `wake_at` is when the host should call `engine.tick` (a reminder or expiry is due); None once
    the session is no longer active. `end_reason` says why an ended session ended.
    """

    flow_id: str
    version: str
    step: str
    language: str
    status: Status
    started_at: datetime
    last_activity: datetime
    answers: Mapping[str, Answer] = field(default_factory=dict)
    reminded: bool = False
    pending: Pending | None = None
    wake_at: datetime | None = None
    end_reason: EndReason | None = None

    def __post_init__(self) -> None:
        # Frozen all the way down: a read-only view of a private copy, whatever the caller passed.
        object.__setattr__(self, "answers", MappingProxyType({k: freeze(v) for k, v in self.answers.items()}))

    def ended(self, reason: EndReason) -> Session:
        """This session, over: for a host that ends a conversation outside the engine (the person
        stopped while waiting for a counselor, the desk let them go). Nothing is due any more."""
        return replace(self, status="ended", end_reason=reason, pending=None, wake_at=None)

    def answers_json(self) -> dict[str, Json]:
        """The answers as plain JSON data (a new copy), e.g. for the desk at a handoff."""
        return {key: thaw(value) for key, value in self.answers.items()}

    def to_json(self) -> dict[str, Json]:
        """The session as JSON data, with the keys the engine has always stored."""
        data: dict[str, Json] = {
            "flow_id": self.flow_id,
            "version": self.version,
            "step": self.step,
            "answers": self.answers_json(),
            "language": self.language,
            "status": self.status,
            "started_at": _iso(self.started_at),
            "last_activity": _iso(self.last_activity),
            "reminded": self.reminded,
            "pending": None if self.pending is None else {"picked": list(self.pending.picked),
                                                          "page": self.pending.page},
            "wake_at": None if self.wake_at is None else _iso(self.wake_at),
        }
        if self.end_reason is not None:
            data["end_reason"] = self.end_reason
        return data

    @classmethod
    def from_json(cls, data: object) -> Session:
        """Read a stored session; `FlowError` if it is not one (a missing key, a wrong type)."""
        if not isinstance(data, Mapping):
            raise FlowError(f"a session must be a JSON object, not {type(data).__name__}")
        read = _Reader(data)
        pending = data.get("pending")
        if pending is not None and not isinstance(pending, Mapping):
            raise FlowError("the session's 'pending' must be an object or null")
        picked = pending.get("picked", []) if pending is not None else []
        if not isinstance(picked, list) or not all(isinstance(k, str) for k in picked):
            raise FlowError("the session's 'pending.picked' must be a list of texts")
        page = pending.get("page", 0) if pending is not None else 0
        if not isinstance(page, int) or isinstance(page, bool):
            raise FlowError("the session's 'pending.page' must be a whole number")
        answers = data.get("answers")
        if not isinstance(answers, Mapping) or not all(isinstance(k, str) for k in answers):
            raise FlowError("the session's 'answers' must be an object")
        return cls(
            flow_id=read.text("flow_id"),
            version=read.text("version"),
            step=read.text("step"),
            language=read.text("language"),
            status=read.choice("status", STATUSES),
            started_at=read.time("started_at"),
            last_activity=read.time("last_activity"),
            answers={key: _answer(value, key) for key, value in answers.items()},
            reminded=read.flag("reminded"),
            pending=None if pending is None else Pending(picked=tuple(picked), page=page),
            wake_at=read.time("wake_at") if data.get("wake_at") is not None else None,
            end_reason=read.choice("end_reason", END_REASONS) if data.get("end_reason") is not None else None,
        )


def freeze(value: object) -> Answer:
    """JSON-like data as an Answer: lists become tuples and maps read-only, all the way down."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    raise FlowError(f"an answer must be JSON data, not {type(value).__name__}")


def thaw(value: Answer) -> Json:
    """An Answer as plain JSON data: the inverse of `freeze`."""
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    return value


def _answer(value: object, key: str) -> Answer:
    try:
        return freeze(value)
    except FlowError:
        raise FlowError(f"the session's answer '{key}' is not JSON data") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class _Reader:
    """Typed reads of one stored session's keys, each failure a FlowError naming the key."""

    def __init__(self, data: Mapping[object, object]) -> None:
        self.data = data

    def _get(self, key: str) -> object:
        if key not in self.data:
            raise FlowError(f"the session has no '{key}'")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise FlowError(f"the session's '{key}' must be a text")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)  # sessions may lack 'reminded', as the engine always allowed
        if not isinstance(value, bool):
            raise FlowError(f"the session's '{key}' must be true or false")
        return value

    def time(self, key: str) -> datetime:
        text = self.text(key)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FlowError(f"the session's '{key}' is not a time: {text!r}") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise FlowError(f"the session's '{key}' has no time zone: {text!r}")
        return moment

    def choice(self, key: str, allowed: tuple[_Word, ...]) -> _Word:
        value = self.text(key)
        for word in allowed:
            if value == word:
                return word
        raise FlowError(f"the session's '{key}' must be one of {', '.join(allowed)}, not {value!r}")

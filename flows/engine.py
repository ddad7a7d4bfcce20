"""The pure flow engine: (flow, session, input, now) -> (new session, messages, effects).

Like goflow, the engine keeps no state of its own: the session is plain JSON-able data that the
host stores and passes back, pinned to the flow version it started on. No I/O and no clock reads,
so every behaviour (including reminders and expiry) is testable with injected times.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from . import model as m
from .errors import FlowError, SessionClosed, SessionMismatch
from .matching import as_number, normalize

MEDIA_KINDS = (
    "sticker",
    "image",
    "video",
    "audio",
    "file",
    "location",
    "other",
)  # other: a kind the channel cannot name
MAX_BUTTONS = 13
DONE = "__done__"
MORE = "__more__"
SKIP = "__skip__"


@dataclass(frozen=True)
class Input:
    """What the person sent: text, or the kind of media (its content never reaches the engine)."""

    text: str | None = None
    media: str | None = None

    def __post_init__(self) -> None:
        if self.media is not None and self.media not in MEDIA_KINDS:
            raise ValueError(f"media must be one of {', '.join(MEDIA_KINDS)}, not {self.media!r}")


@dataclass(frozen=True)
class Choice:
    """A quick-reply button; the adapter sends `label` back as text when it is tapped."""

    label: str
    value: str


@dataclass(frozen=True)
class Message:
    """One chat message, already in the session's language; choices go on the last one."""

    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Handoff:
    """The intake is done: connect the person to a counselor with these answers."""

    answers: Mapping[str, object]
    urgent: bool
    language: str


@dataclass(frozen=True)
class Ended:
    """The conversation is over: "completed", "stopped" or "expired"."""

    reason: str


@dataclass(frozen=True)
class Urgent:
    """A danger answer was just given: mark the case urgent now, before the intake ends."""


Effect = Handoff | Ended | Urgent


@dataclass(frozen=True)
class Turn:
    session: dict
    messages: tuple[Message, ...]
    effects: tuple[Effect, ...]

    @property
    def wake_at(self) -> datetime | None:
        """When the host should call `tick` next (reminder or expiry); None once closed."""
        value = self.session.get("wake_at")
        return datetime.fromisoformat(value) if value else None


# -- public entry points ---------------------------------------------------------------------

def start(flow: m.Flow, *, now: datetime, language: str | None = None) -> Turn:
    """Begin a conversation on this flow version; `language` is a hint, used if the flow has it."""
    _aware(now)
    session = {
        "flow_id": flow.id,
        "version": flow.version,
        "step": flow.first_step.id,
        "answers": {},
        "language": language if language in flow.languages else flow.default_language,
        "status": "active",
        "started_at": _iso(now),
        "last_activity": _iso(now),
        "reminded": False,
        "pending": None,
        "wake_at": None,
    }
    out = _Out()
    _run(flow, session, flow.first_step.id, out)
    return out.turn(flow, session)


def resume(flow: m.Flow, session: dict, inp: Input, *, now: datetime) -> Turn:
    """Apply one input from the person to an active session."""
    _aware(now)
    s = _open(flow, session)
    if s["status"] != "active":
        raise SessionClosed(f"the session is {s['status']}, not active")
    s["last_activity"] = _iso(now)
    s["reminded"] = False
    out = _Out()
    step = flow.step(s["step"])
    if inp.media is not None:
        out.say(_msg(flow, s, "media"))
        out.add(_question(flow, s, step))
    else:
        text = inp.text or ""
        command = _command(flow, text)
        if command is not None and command.action == "language" and isinstance(step, m.Ask):
            if _find_hit(flow, s, step, text) is not None:
                command = None  # a choice with the same words wins over a language switch
        if command is not None:
            _apply_command(flow, s, step, command, out)
        elif isinstance(step, m.Ask):
            _answer_choice(flow, s, step, text, out)
        elif isinstance(step, m.AskText):
            _answer_text(flow, s, step, text, out)
        else:  # pragma: no cover - an active session always waits at a question
            raise FlowError(f"the session waits at step '{step.id}', which is not a question")
    return out.turn(flow, s)


def tick(flow: m.Flow, session: dict, *, now: datetime) -> Turn:
    """Time passes: remind once after `reminder_after` of silence, close after `expire_after`."""
    _aware(now)
    s = _open(flow, session)
    out = _Out()
    if s["status"] != "active":
        return Turn(s, (), ())
    last = datetime.fromisoformat(s["last_activity"])
    if now >= last + flow.expire_after:
        out.say(_msg(flow, s, "goodbye"))
        s["status"] = "ended"
        s["pending"] = None
        out.effects.append(Ended("expired"))
    elif not s["reminded"] and now >= last + flow.reminder_after:
        step = flow.step(s["step"])
        question = _question(flow, s, step)
        out.add(Message(_msg(flow, s, "reminder"), question.choices))
        s["reminded"] = True
    return out.turn(flow, s)


# -- plumbing ------------------------------------------------------------------------------

class _Out:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.effects: list[Effect] = []

    def say(self, text: str) -> None:
        self.messages.append(Message(text))

    def add(self, message: Message) -> None:
        self.messages.append(message)

    def turn(self, flow: m.Flow, s: dict) -> Turn:
        s["wake_at"] = _wake(flow, s)
        return Turn(s, tuple(self.messages), tuple(self.effects))


def _aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def _iso(now: datetime) -> str:
    return now.astimezone(UTC).isoformat()


def _wake(flow: m.Flow, s: dict) -> str | None:
    if s["status"] != "active":
        return None
    last = datetime.fromisoformat(s["last_activity"])
    return _iso(last + (flow.expire_after if s["reminded"] else flow.reminder_after))


def _open(flow: m.Flow, session: dict) -> dict:
    """A private copy of the session, after checking it belongs to this flow version."""
    try:
        if session["flow_id"] != flow.id or session["version"] != flow.version:
            raise SessionMismatch(
                f"the session runs flow {session['flow_id']!r} version {session['version']}, "
                f"not {flow.id!r} version {flow.version}; pass the version it started on"
            )
        s = copy.deepcopy(dict(session))
        if s["status"] == "active":
            flow.step(s["step"])
        s.setdefault("reminded", False)
        s.setdefault("pending", None)
        s["answers"], s["language"], s["last_activity"]  # noqa: B018 - presence check
    except KeyError as exc:
        raise FlowError(f"the session does not fit this flow (missing or unknown {exc})") from None
    return s


def _lang(flow: m.Flow, s: dict) -> str:
    return s["language"] if s["language"] in flow.languages else flow.default_language


def _t(flow: m.Flow, s: dict, text: m.Text) -> str:
    return text.get(_lang(flow, s), flow.default_language)


def _msg(flow: m.Flow, s: dict, name: str) -> str:
    return _t(flow, s, flow.message(name))


def _run(flow: m.Flow, s: dict, step_id: str | None, out: _Out) -> None:
    """Walk the steps that need no answer until a question, a handoff or an end."""
    for _ in range(10 * len(flow.steps) + 10):
        if step_id is None:  # pragma: no cover - the loader rejects dead ends
            raise FlowError(f"step '{s['step']}' leads nowhere")
        step = flow.step(step_id)
        s["step"] = step.id
        if isinstance(step, m.Say):
            out.say(_t(flow, s, step.text))
            step_id = step.next
        elif isinstance(step, m.SetValues):
            for var, value in step.values:
                if var == "urgent" and value is True:
                    _mark_urgent(s, out)
                s["answers"][var] = copy.deepcopy(value)
            step_id = step.next
        elif isinstance(step, m.Branch):
            step_id = next((c.next for c in step.cases if _case_holds(s["answers"], c)), step.next)
        elif isinstance(step, (m.Ask, m.AskText)):
            s["pending"] = {"picked": [], "page": 0} if isinstance(step, m.Ask) else None
            out.add(_question(flow, s, step))
            return
        elif isinstance(step, m.Handoff):
            if step.text is not None:
                out.say(_t(flow, s, step.text))
            answers = copy.deepcopy(s["answers"])
            out.effects.append(Handoff(answers=answers, urgent=bool(answers.get("urgent")), language=_lang(flow, s)))
            s["status"] = "handoff"
            s["pending"] = None
            return
        elif isinstance(step, m.End):
            if step.text is not None:
                out.say(_t(flow, s, step.text))
            out.effects.append(Ended(step.reason))
            s["status"] = "ended"
            s["pending"] = None
            return
    raise FlowError("the flow went round without asking anything")  # pragma: no cover


def _mark_urgent(s: dict, out: _Out) -> None:
    if s["answers"].get("urgent") is not True:
        out.effects.append(Urgent())
    s["answers"]["urgent"] = True


def _same(a: object, b: object) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _case_holds(answers: dict, case: m.Case) -> bool:
    for var, expected in case.when:
        options = expected if isinstance(expected, tuple) else (expected,)
        actual = answers.get(var)
        values = actual if isinstance(actual, list) else [actual]
        if not any(_same(v, o) for v in values for o in options):
            return False
    return True


# -- questions and buttons -------------------------------------------------------------------

def _buttons(flow: m.Flow, s: dict, step: m.Ask) -> list[tuple[str, m.ChoiceDef | None, str]]:
    """The buttons shown now: (kind, choice, label), at most 13, paged when the step has 'more'."""
    pending = s.get("pending") or {}
    picked = set(pending.get("picked", [])) if step.multiple else set()
    remaining = [c for c in step.choices if c.key not in picked]
    nav = 1 if step.multiple else 0
    items, paged = remaining, False
    if step.more is not None and len(remaining) + nav > MAX_BUTTONS:
        per = MAX_BUTTONS - 1 - nav
        pages = [remaining[i:i + per] for i in range(0, len(remaining), per)]
        items, paged = pages[pending.get("page", 0) % len(pages)], True
    lang = _lang(flow, s)
    buttons: list[tuple[str, m.ChoiceDef | None, str]] = [
        ("choice", c, c.label.get(lang, flow.default_language)) for c in items
    ]
    if step.multiple and picked:
        buttons.append(("done", None, _t(flow, s, step.done or flow.message("done"))))
    if paged:
        buttons.append(("more", None, _t(flow, s, step.more)))
    return buttons


def _question(flow: m.Flow, s: dict, step: m.Step) -> Message:
    if isinstance(step, m.Ask):
        buttons = _buttons(flow, s, step)
        choices = tuple(Choice(label, c.key if c else {"done": DONE, "more": MORE}[kind]) for kind, c, label in buttons)
        picked = (s.get("pending") or {}).get("picked") or []
        if step.multiple and picked:
            return Message(_picked_text(flow, s, step, picked), choices)
        return Message(_t(flow, s, step.text), choices)
    if isinstance(step, m.AskText):
        choices = (Choice(_t(flow, s, step.skip), SKIP),) if step.skip is not None else ()
        return Message(_t(flow, s, step.text), choices)
    raise FlowError(f"step '{step.id}' is not a question")  # pragma: no cover


def _picked_text(flow: m.Flow, s: dict, step: m.Ask, picked: list[str]) -> str:
    by_key = {c.key: c for c in step.choices}
    names = _msg(flow, s, "list_separator").join(_t(flow, s, by_key[k].label) for k in picked if k in by_key)
    done = _t(flow, s, step.done or flow.message("done"))
    return _msg(flow, s, "picked").replace("{picked}", names).replace("{done}", done)


def _reprompt(flow: m.Flow, s: dict, step: m.Ask, lead: str) -> Message:
    """A short re-prompt that repeats the choices as a numbered list (some LINE clients hide buttons)."""
    question = _question(flow, s, step)
    lines = [lead] + [f"{i}. {c.label}" for i, c in enumerate(question.choices, 1)]
    return Message("\n".join(lines), question.choices)


def command_for(flow: m.Flow, text: str | None) -> str | None:
    """The action ("stop", "restart", "language") a typed text asks for, if it is a global command.

    For hosts that must honour the commands outside a question, e.g. while a person waits for
    a counselor after the intake.
    """
    command = _command(flow, text) if text else None
    return command.action if command else None


def _command(flow: m.Flow, text: str) -> m.Command | None:
    norm = normalize(text)
    for command in flow.commands:
        if any(normalize(word) == norm for word in command.words):
            return command
    return None


def _apply_command(flow: m.Flow, s: dict, step: m.Step, command: m.Command, out: _Out) -> None:
    if command.action == "stop":
        out.say(_t(flow, s, command.text) if command.text else _msg(flow, s, "stopped"))
        s["status"] = "ended"
        s["pending"] = None
        out.effects.append(Ended("stopped"))
    elif command.action == "restart":
        out.say(_t(flow, s, command.text) if command.text else _msg(flow, s, "restarted"))
        # Starting over forgets the answers, but not that the person said their life is in danger.
        s["answers"] = {"urgent": True} if s["answers"].get("urgent") is True else {}
        _run(flow, s, flow.first_step.id, out)
    else:
        s["language"] = command.language
        if command.text:
            out.say(_t(flow, s, command.text))
        out.add(_question(flow, s, step))


def _find_hit(flow: m.Flow, s: dict, step: m.Ask, text: str) -> tuple[str, m.ChoiceDef | None] | None:
    """The button or choice a typed answer means: label or value first, then the number shown."""
    buttons = _buttons(flow, s, step)
    norm = normalize(text)
    hit: tuple[str, m.ChoiceDef | None] | None = None
    for choice in step.choices:
        if norm and norm in {normalize(label) for label in choice.label.all()} | {normalize(choice.key)}:
            hit = ("choice", choice)
            break
    if hit is None and step.multiple:
        if norm in {normalize(t) for t in (step.done or flow.message("done")).all()}:
            hit = ("done", None)
    if hit is None and step.more is not None and norm in {normalize(t) for t in step.more.all()}:
        hit = ("more", None)
    if hit is None:
        number = as_number(text)
        if number is not None and 1 <= number <= len(buttons):
            kind, choice, _ = buttons[number - 1]
            hit = (kind, choice)
    return hit


def _answer_choice(flow: m.Flow, s: dict, step: m.Ask, text: str, out: _Out) -> None:
    hit = _find_hit(flow, s, step, text)
    if hit is None:
        out.add(_reprompt(flow, s, step, _msg(flow, s, "not_understood")))
        return
    kind, choice = hit
    pending = s["pending"] = s.get("pending") or {"picked": [], "page": 0}
    if kind == "more":
        pending["page"] = pending.get("page", 0) + 1
        out.add(_question(flow, s, step))
        return
    if kind == "done":
        if not pending["picked"]:
            out.add(_reprompt(flow, s, step, _msg(flow, s, "pick_one")))
            return
        _finish_multiple(flow, s, step, out)
        return
    assert choice is not None
    if choice.urgent and step.multiple:
        _mark_urgent(s, out)
    if step.multiple:
        if choice.key not in pending["picked"]:
            pending["picked"].append(choice.key)
        if len(pending["picked"]) == len(step.choices):
            _finish_multiple(flow, s, step, out)
            return
        out.add(_question(flow, s, step))
        return
    if step.save_as:
        s["answers"][step.save_as] = choice.value
    if choice.urgent:
        _mark_urgent(s, out)
    if step.sets_language and choice.key in flow.languages:
        s["language"] = choice.key
    _run(flow, s, choice.next or step.next, out)


def _finish_multiple(flow: m.Flow, s: dict, step: m.Ask, out: _Out) -> None:
    by_key = {c.key: c for c in step.choices}
    if step.save_as:
        s["answers"][step.save_as] = [by_key[k].value for k in s["pending"]["picked"]]
    _run(flow, s, step.next, out)


def _answer_text(flow: m.Flow, s: dict, step: m.AskText, text: str, out: _Out) -> None:
    answer = text.strip()
    if step.skip is not None and normalize(answer) in {normalize(t) for t in step.skip.all()}:
        s["answers"][step.save_as] = None
        _run(flow, s, step.next, out)
        return
    problem = None
    if not answer:
        problem = _msg(flow, s, "empty_text")
    elif step.max_length is not None and len(answer) > step.max_length:
        problem = _msg(flow, s, "too_long").replace("{max}", str(step.max_length))
    elif step.pattern is not None and not re.fullmatch(step.pattern, unicodedata.normalize("NFKC", answer)):
        problem = _t(flow, s, step.invalid) if step.invalid else _msg(flow, s, "invalid_text")
    if problem is not None:
        out.say(problem)
        out.add(_question(flow, s, step))
        return
    s["answers"][step.save_as] = answer
    _run(flow, s, step.next, out)

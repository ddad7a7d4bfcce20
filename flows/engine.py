"""The pure flow engine: (flow, session, input, now) -> (new session, messages, effects).

Like goflow, the engine keeps no state of its own: the session (`flows.session.Session`) is a
frozen value that the host stores as JSON and passes back, pinned to the flow version it started
on. Each turn returns a new session and never changes the one passed in. No I/O and no clock
reads, so every behaviour (including reminders and expiry) is testable with injected times.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from . import model as m
from .errors import FlowError, SessionClosed, SessionMismatch
from .matching import amount, as_number, normalize, search
from .messages import Choice, Message
from .session import Answer, Pending, Session, freeze
from .texts import DONE_WORDS

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
class Handoff:
    """The intake is done: connect the person to a counselor with these answers."""

    answers: Mapping[str, object]
    urgent: bool
    language: str


# The only effect: what the host must do that the session cannot say. That a conversation ended
# (and why) is the session's status and end_reason; that it is urgent is answers["urgent"], which
# the Handoff carries to the desk.
Effect = Handoff


@dataclass(frozen=True)
class Turn:
    session: Session
    messages: tuple[Message, ...]
    effects: tuple[Effect, ...]

    @property
    def wake_at(self) -> datetime | None:
        """When the host should call `tick` next (reminder or expiry); None once closed."""
        return self.session.wake_at


# -- public entry points ---------------------------------------------------------------------

def start(flow: m.Flow, *, now: datetime, language: str | None = None) -> Turn:
    """Begin a conversation on this flow version; `language` is a hint, used if the flow has it."""
    _aware(now)
    session = Session(
        flow_id=flow.id,
        version=flow.version,
        step=flow.first_step.id,
        language=language if language is not None and language in flow.languages else flow.default_language,
        status="active",
        started_at=now.astimezone(UTC),
        last_activity=now.astimezone(UTC),
    )
    out = _Out()
    return out.turn(flow, _run(flow, session, flow.first_step.id, out))


def resume(flow: m.Flow, session: Session, inp: Input, *, now: datetime) -> Turn:
    """Apply one input from the person to an active session."""
    _aware(now)
    s = _open(flow, session)
    if s.status != "active":
        raise SessionClosed(f"the session is {s.status}, not active")
    s = replace(s, last_activity=now.astimezone(UTC), reminded=False)
    out = _Out()
    step = flow.step(s.step)
    if inp.media is not None:
        out.say(_msg(flow, s, "media"))
        out.add(_question(flow, s, step))
    else:
        text = inp.text or ""
        command = _command(flow, text)
        if command is not None and command.action == "language" and isinstance(step, m.Ask):
            hit = _find_hit(flow, s, step, text)
            if hit is not None and hit.exact:
                command = None  # a choice with the same words wins over a language switch
        if command is not None:
            s = _apply_command(flow, s, step, command, out)
        elif isinstance(step, m.Ask):
            s = _answer_choice(flow, s, step, text, out)
        elif isinstance(step, m.AskText):
            s = _answer_text(flow, s, step, text, out)
        else:  # pragma: no cover - an active session always waits at a question
            raise FlowError(f"the session waits at step '{step.id}', which is not a question")
    return out.turn(flow, s)


def tick(flow: m.Flow, session: Session, *, now: datetime) -> Turn:
    """Time passes: remind once after `reminder_after` of silence, close after `expire_after`."""
    _aware(now)
    s = _open(flow, session)
    out = _Out()
    if s.status != "active":
        return Turn(s, (), ())
    if now >= s.last_activity + flow.expire_after:
        out.say(_msg(flow, s, "goodbye"))
        s = s.ended("expired")
    elif not s.reminded and now >= s.last_activity + flow.reminder_after:
        question = _question(flow, s, flow.step(s.step))
        out.add(Message(_msg(flow, s, "reminder"), question.choices))
        s = replace(s, reminded=True)
    return out.turn(flow, s)


def with_notice(turn: Turn, notice: Sequence[Message]) -> Turn:
    """`turn` with messages the host adds to it (the emergency lines when risk words are found).

    While the conversation waits at a question, the turn ends with that question and its buttons,
    and they must stay last: a notice goes just before it, so the person can always go on. A turn
    that asks nothing (a handoff, an end) gets the notice at the end.
    """
    if not notice:
        return turn
    if turn.session.status == "active" and turn.messages:
        *said, question = turn.messages
        return replace(turn, messages=(*said, *notice, question))
    return replace(turn, messages=(*turn.messages, *notice))


def current_question(flow: m.Flow, session: Session) -> Message | None:
    """The question an active session waits at, with its buttons as they are shown now (for a
    host that must ask it again); None once the session handed off or ended."""
    if session.status != "active":
        return None
    s = _open(flow, session)
    return _question(flow, s, flow.step(s.step))


# -- plumbing ------------------------------------------------------------------------------

class _Out:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.effects: list[Effect] = []

    def say(self, text: str) -> None:
        self.messages.append(Message(text))

    def add(self, message: Message) -> None:
        self.messages.append(message)

    def turn(self, flow: m.Flow, s: Session) -> Turn:
        return Turn(replace(s, wake_at=_wake(flow, s)), tuple(self.messages), tuple(self.effects))


def _aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def _wake(flow: m.Flow, s: Session) -> datetime | None:
    if s.status != "active":
        return None
    return s.last_activity + (flow.expire_after if s.reminded else flow.reminder_after)


def _open(flow: m.Flow, session: Session) -> Session:
    """The session, after checking it belongs to this flow version and waits at a step it has."""
    if session.flow_id != flow.id or session.version != flow.version:
        raise SessionMismatch(
            f"the session runs flow {session.flow_id!r} version {session.version}, "
            f"not {flow.id!r} version {flow.version}; pass the version it started on"
        )
    if session.status == "active" and not flow.has_step(session.step):
        raise FlowError(f"the session does not fit this flow (unknown step '{session.step}')")
    return session


def _lang(flow: m.Flow, s: Session) -> str:
    return s.language if s.language in flow.languages else flow.default_language


def _t(flow: m.Flow, s: Session, text: m.Text) -> str:
    return text.get(_lang(flow, s), flow.default_language)


def _msg(flow: m.Flow, s: Session, name: str) -> str:
    return _t(flow, s, flow.message(name))


def _answer(s: Session, name: str, value: Answer) -> Session:
    """The session with one more (or one changed) answer; an answer keeps its first place."""
    return replace(s, answers={**s.answers, name: value})


def _run(flow: m.Flow, s: Session, step_id: str | None, out: _Out) -> Session:
    """Walk the steps that need no answer until a question, a handoff or an end."""
    for _ in range(10 * len(flow.steps) + 10):
        if step_id is None:  # pragma: no cover - the loader rejects dead ends
            raise FlowError(f"step '{s.step}' leads nowhere")
        step = flow.step(step_id)
        s = replace(s, step=step.id)
        if isinstance(step, m.Say):
            out.say(_t(flow, s, step.text))
            step_id = step.next
        elif isinstance(step, m.SetValues):
            for var, value in step.values:
                if var == "urgent" and value is True:
                    s = _mark_urgent(s)
                s = _answer(s, var, freeze(value))
            step_id = step.next
        elif isinstance(step, m.Branch):
            step_id = next((c.next for c in step.cases if _case_holds(s.answers, c)), step.next)
        elif isinstance(step, (m.Ask, m.AskText)):
            s = replace(s, pending=Pending() if isinstance(step, m.Ask) else None)
            out.add(_question(flow, s, step))
            return s
        elif isinstance(step, m.Handoff):
            if step.text is not None:
                out.say(_t(flow, s, step.text))
            answers = s.answers_json()
            out.effects.append(Handoff(answers=answers, urgent=bool(answers.get("urgent")), language=_lang(flow, s)))
            return replace(s, status="handoff", pending=None)
        elif isinstance(step, m.End):
            if step.text is not None:
                out.say(_t(flow, s, step.text))
            return s.ended(step.reason)
    raise FlowError("the flow went round without asking anything")  # pragma: no cover


def _mark_urgent(s: Session) -> Session:
    return _answer(s, "urgent", True)


def _same(a: object, b: object) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _case_holds(answers: Mapping[str, Answer], case: m.Case) -> bool:
    for var, expected in case.when:
        options = expected if isinstance(expected, tuple) else (expected,)
        actual = answers.get(var)
        values = actual if isinstance(actual, tuple) else (actual,)
        if not any(_same(v, o) for v in values for o in options):
            return False
    return True


# -- questions and buttons -------------------------------------------------------------------

def _picked(s: Session) -> tuple[str, ...]:
    return s.pending.picked if s.pending is not None else ()


def _buttons(flow: m.Flow, s: Session, step: m.Ask) -> list[tuple[str, m.ChoiceDef | None, str]]:
    """The buttons shown now: (kind, choice, label), at most 13, paged when the step has 'more'."""
    picked = set(_picked(s)) if step.multiple else set()
    remaining = [c for c in step.choices if c.key not in picked]
    nav = 1 if step.multiple else 0
    items, paged = remaining, False
    if step.more is not None and len(remaining) + nav > MAX_BUTTONS:
        per = MAX_BUTTONS - 1 - nav
        pages = [remaining[i:i + per] for i in range(0, len(remaining), per)]
        page = s.pending.page if s.pending is not None else 0
        items, paged = pages[page % len(pages)], True
    lang = _lang(flow, s)
    buttons: list[tuple[str, m.ChoiceDef | None, str]] = [
        ("choice", c, c.label.get(lang, flow.default_language)) for c in items
    ]
    if step.multiple and picked:
        buttons.append(("done", None, _t(flow, s, step.done or flow.message("done"))))
    if paged and step.more is not None:
        buttons.append(("more", None, _t(flow, s, step.more)))
    return buttons


def _question(flow: m.Flow, s: Session, step: m.Step) -> Message:
    if isinstance(step, m.Ask):
        buttons = _buttons(flow, s, step)
        choices = tuple(Choice(label, c.key if c else {"done": DONE, "more": MORE}[kind]) for kind, c, label in buttons)
        picked = _picked(s)
        if step.multiple and picked:
            return Message(_picked_text(flow, s, step, picked), choices)
        return Message(_t(flow, s, step.text), choices)
    if isinstance(step, m.AskText):
        choices = (Choice(_t(flow, s, step.skip), SKIP),) if step.skip is not None else ()
        return Message(_t(flow, s, step.text), choices)
    raise FlowError(f"step '{step.id}' is not a question")  # pragma: no cover


def _picked_text(flow: m.Flow, s: Session, step: m.Ask, picked: Sequence[str]) -> str:
    by_key = {c.key: c for c in step.choices}
    names = _msg(flow, s, "list_separator").join(_t(flow, s, by_key[k].label) for k in picked if k in by_key)
    done = _t(flow, s, step.done or flow.message("done"))
    return _msg(flow, s, "picked").replace("{picked}", names).replace("{done}", done)


def _reprompt(flow: m.Flow, s: Session, step: m.Ask, lead: str) -> Message:
    """A short re-prompt that repeats the choices as a numbered list (some LINE clients hide buttons)."""
    question = _question(flow, s, step)
    if step.takes_amounts:  # a typed number is an amount here, so the list is not numbered
        lines = [lead] + [f"・{c.label}" for c in question.choices]
    else:
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


def _apply_command(flow: m.Flow, s: Session, step: m.Step, command: m.Command, out: _Out) -> Session:
    if command.action == "stop":
        out.say(_t(flow, s, command.text) if command.text else _msg(flow, s, "stopped"))
        return s.ended("stopped")
    if command.action == "restart":
        out.say(_t(flow, s, command.text) if command.text else _msg(flow, s, "restarted"))
        # Starting over forgets the answers, but not that the person said their life is in danger.
        s = replace(s, answers={"urgent": True} if s.answers.get("urgent") is True else {})
        return _run(flow, s, flow.first_step.id, out)
    s = replace(s, language=command.language or s.language)  # the loader gives every language command one
    if command.text:
        out.say(_t(flow, s, command.text))
    out.add(_question(flow, s, step))
    return s


@dataclass(frozen=True)
class _Hit:
    """What a typed answer names at a question: choices (one, or several the words all name),
    the done or more button; `exact` when it is a label, value or synonym as a whole."""

    kind: str  # "choice" | "done" | "more"
    choices: tuple[m.ChoiceDef, ...] = ()
    exact: bool = False


def _find_hit(flow: m.Flow, s: Session, step: m.Ask, text: str) -> _Hit | None:
    """What a typed answer means, tried in this order: a label, value or synonym as the whole
    answer; the done and more buttons; a number (a button's, or an amount for a question whose
    choices are ranges); the choices' patterns anywhere in the answer."""
    norm = normalize(text)
    if not norm:
        return None
    exact = tuple(c for c in step.choices if norm in _names(c))
    if exact:
        return _Hit("choice", exact[:1], exact=True)
    done_words = (*(step.done or flow.message("done")).all(), *DONE_WORDS)
    if step.multiple and norm in {normalize(t) for t in done_words}:
        return _Hit("done", exact=True)
    if step.more is not None and norm in {normalize(t) for t in step.more.all()}:
        return _Hit("more", exact=True)
    if step.takes_amounts:
        stated = amount(text)
        if stated is not None:
            low, high = stated
            ranged = tuple(c for c in step.choices if c.range is not None and c.range[0] <= high and low <= c.range[1])
            if ranged:
                return _Hit("choice", ranged)
    else:
        number = as_number(text)
        buttons = _buttons(flow, s, step)
        if number is not None and 1 <= number <= len(buttons):
            kind, shown, _ = buttons[number - 1]
            return _Hit(kind, (shown,) if shown is not None else ())
    found: list[tuple[int, int, m.ChoiceDef]] = []
    for order, choice in enumerate(step.choices):
        places = [p for p in (search(pattern, norm) for pattern in choice.patterns) if p is not None]
        if places:
            found.append((min(places), order, choice))
    if found:
        return _Hit("choice", tuple(c for _, _, c in sorted(found, key=lambda f: (f[0], f[1]))))
    return None


def _names(choice: m.ChoiceDef) -> set[str]:
    """Every whole answer that names a choice: its labels, its value and its synonyms."""
    return {normalize(t) for t in (*choice.label.all(), choice.key, *choice.synonyms)}


def _which_one(flow: m.Flow, s: Session, choices: Sequence[m.ChoiceDef]) -> Message:
    """The answer named several choices: ask which one, with just those as buttons (never a guess)."""
    labels = [_t(flow, s, c.label) for c in choices]
    text = "\n".join([_msg(flow, s, "which_one"), *(f"・{label}" for label in labels)])
    return Message(text, tuple(Choice(label, c.key) for label, c in zip(labels, choices, strict=True)))


def _answer_choice(flow: m.Flow, s: Session, step: m.Ask, text: str, out: _Out) -> Session:
    hit = _find_hit(flow, s, step, text)
    if hit is None:
        out.add(_reprompt(flow, s, step, _not_understood(flow, s, step)))
        return s
    pending = s.pending or Pending()
    s = replace(s, pending=pending)
    if hit.kind == "more":
        s = replace(s, pending=replace(pending, page=pending.page + 1))
        out.add(_question(flow, s, step))
        return s
    if hit.kind == "done":
        if not pending.picked:
            out.add(_reprompt(flow, s, step, _msg(flow, s, "pick_one")))
            return s
        return _finish_multiple(flow, s, step, out)
    if step.multiple:
        # Several answers are wanted, so every choice the words name is picked, first named first.
        for choice in hit.choices:
            if choice.urgent:
                s = _mark_urgent(s)
            picked = _picked(s)
            if choice.key not in picked:
                s = replace(s, pending=replace(s.pending or Pending(), picked=(*picked, choice.key)))
        if len(_picked(s)) == len(step.choices):
            return _finish_multiple(flow, s, step, out)
        out.add(_question(flow, s, step))
        return s
    if len(hit.choices) > 1:
        out.add(_which_one(flow, s, hit.choices))
        return s
    choice = hit.choices[0]
    if step.save_as:
        s = _answer(s, step.save_as, choice.value)
    if choice.urgent:
        s = _mark_urgent(s)
    if step.sets_language and choice.key in flow.languages:
        s = replace(s, language=choice.key)
    return _run(flow, s, choice.next or step.next, out)


def _not_understood(flow: m.Flow, s: Session, step: m.Ask) -> str:
    if step.invalid is not None:
        return _t(flow, s, step.invalid)
    return _msg(flow, s, "not_understood_words" if step.takes_amounts else "not_understood")


def _finish_multiple(flow: m.Flow, s: Session, step: m.Ask, out: _Out) -> Session:
    by_key = {c.key: c for c in step.choices}
    if step.save_as:
        s = _answer(s, step.save_as, tuple(by_key[k].value for k in _picked(s)))
    return _run(flow, s, step.next, out)


def _answer_text(flow: m.Flow, s: Session, step: m.AskText, text: str, out: _Out) -> Session:
    answer = text.strip()
    if step.skip is not None and normalize(answer) in {normalize(t) for t in step.skip.all()}:
        return _run(flow, _answer(s, step.save_as, None), step.next, out)
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
        return s
    return _run(flow, _answer(s, step.save_as, answer), step.next, out)

"""Run a flow from a list of inputs and render what happens as plain text.

Shared by `tsunagu flows simulate` and the golden transcript tests, so that what a coordinator
sees in the terminal is exactly what the tests pin down.

Answer files: one input per line. Blank lines and lines starting with '#' are skipped.
`[sticker]`, `[image]`, `[video]`, `[audio]`, `[file]`, `[location]` send media instead of text;
`[wait 40m]` lets that much silent time pass (reminders and expiry).

Besides what the person reads (`bot:`), a transcript shows what the host is told: `effect:`
lines for the handoff and its answers, and `session:` lines when the session becomes urgent or
ends (and why). A person never sees those lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .build import parse_duration
from .engine import MEDIA_KINDS, Handoff, Input, Turn, resume, start, tick
from .errors import FlowError, SessionClosed
from .model import Flow
from .session import Session

DEFAULT_START = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)
STEP_TIME = timedelta(minutes=1)


@dataclass(frozen=True)
class Action:
    kind: str  # "text" | "media" | "wait"
    text: str | None = None
    media: str | None = None
    wait: timedelta | None = None


def parse_line(line: str, *, where: str = "input") -> Action | None:
    """One answer-file line as an action, or None for blank and comment lines."""
    stripped = line.rstrip("\r\n")
    if not stripped.strip() or stripped.lstrip().startswith("#"):
        return None
    token = stripped.strip()
    if token.startswith("[") and token.endswith("]"):
        inner = token[1:-1].strip()
        if inner in MEDIA_KINDS:
            return Action("media", media=inner)
        if inner.startswith("wait "):
            wait = parse_duration(inner[5:])
            if wait is None:
                raise FlowError(f"{where}: '{token}' needs a time like [wait 40m] or [wait 2h]")
            return Action("wait", wait=wait)
        raise FlowError(f"{where}: unknown '{token}'; use [wait 40m] or one of "
                        + ", ".join(f"[{kind}]" for kind in MEDIA_KINDS))
    return Action("text", text=stripped)


def render_turn(turn: Turn, *, before: Session | None) -> list[str]:
    """The messages of one turn, then what changed for the host since `before` (None: the start)."""
    lines: list[str] = []
    for message in turn.messages:
        body = message.text.split("\n")
        lines.append(f"bot: {body[0]}")
        lines.extend(f"     {part}" for part in body[1:])
        if message.choices:
            lines.append("     " + "  ".join(f"[{i}] {c.label}" for i, c in enumerate(message.choices, 1)))
    after = turn.session
    if _urgent(after) and (before is None or not _urgent(before)):
        lines.append("session: urgent (the handoff will say so)")
    for effect in turn.effects:
        lines.extend(render_effect(effect))
    if after.status == "ended" and (before is None or before.status != "ended"):
        lines.append(f"session: ended ({after.end_reason})")
    return lines


def _urgent(session: Session) -> bool:
    return session.answers.get("urgent") is True


def render_effect(effect: Handoff) -> list[str]:
    return [
        f"effect: handoff (urgent: {'yes' if effect.urgent else 'no'}, language: {effect.language})",
        "        answers: " + json.dumps(dict(effect.answers), ensure_ascii=False),
    ]


def run_script(flow: Flow, lines: Iterable[str], *, language: str | None = None,
               start_at: datetime = DEFAULT_START, where: str = "answers") -> str:
    """The transcript of a whole scripted conversation, as text ending in a newline."""
    now = start_at
    out = [f"# flow {flow.id}, language {language or flow.default_language}"]
    turn = start(flow, now=now, language=language)
    out += render_turn(turn, before=None)
    for number, line in enumerate(lines, 1):
        action = parse_line(line, where=f"{where}:{number}")
        if action is None:
            continue
        if action.kind == "wait":
            assert action.wait is not None
            now += action.wait
            out.append(f"(wait {line.strip()[6:-1].strip()})")
            before, turn = turn.session, tick(flow, turn.session, now=now)
            out += render_turn(turn, before=before)
            continue
        now += STEP_TIME
        out.append(f"you: {action.text}" if action.kind == "text" else f"you: [{action.media}]")
        before = turn.session
        try:
            turn = resume(flow, before, Input(text=action.text, media=action.media), now=now)
        except SessionClosed:
            out.append("(the conversation is over; this input is not used)")
            continue
        out += render_turn(turn, before=before)
    return "\n".join(out) + "\n"

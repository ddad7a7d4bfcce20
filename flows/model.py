"""The flow as values: what the loader builds and the engine, checks and graph read.

Every value keeps the line and column it came from, so that checks which run after parsing
(reachability, read-before-set, ...) can still point a coordinator at the exact place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from .errors import Problem

Scalar = str | int | float | bool | None

STEP_KINDS = ("say", "ask", "ask_text", "branch", "set", "handoff", "end")
END_REASONS = ("completed", "stopped")
COMMAND_ACTIONS = ("stop", "restart", "language")


@dataclass(frozen=True)
class Pos:
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Text:
    """A text a person reads, in each of the flow's languages."""

    by_lang: tuple[tuple[str, str], ...]
    pos: Pos = Pos()

    def get(self, language: str, default_language: str) -> str:
        texts = dict(self.by_lang)
        if language in texts:
            return texts[language]
        return texts.get(default_language, next(iter(texts.values()), ""))

    def all(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.by_lang)

    @classmethod
    def of(cls, **by_lang: str) -> Text:
        return cls(tuple(by_lang.items()))


@dataclass(frozen=True)
class ChoiceDef:
    value: Scalar
    label: Text
    next: str | None = None
    urgent: bool = False
    pos: Pos = Pos()
    next_pos: Pos | None = None
    synonyms: tuple[str, ...] = ()  # other whole answers that name this choice
    patterns: tuple[str, ...] = ()  # words (regular expressions) that name it anywhere in an answer
    range: tuple[int, int] | None = None  # the amounts (an age, ...) it stands for, both ends included

    @property
    def key(self) -> str:
        """The value as the text a person could type (and as `Choice.value` in messages)."""
        return value_key(self.value)


def value_key(value: object) -> str:
    """A value as the text a person could type: YAML's spelling of null, true and false."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    pos: Pos
    next: str | None = None
    next_pos: Pos | None = None


@dataclass(frozen=True)
class Say(Step):
    text: Text = Text(())


@dataclass(frozen=True)
class Ask(Step):
    text: Text = Text(())
    choices: tuple[ChoiceDef, ...] = ()
    save_as: str | None = None
    multiple: bool = False
    sets_language: bool = False
    more: Text | None = None
    done: Text | None = None
    invalid: Text | None = None  # said before the choices when an answer names none of them

    @property
    def takes_amounts(self) -> bool:
        """Typed numbers are amounts (an age) matched to the choices' ranges, not button numbers."""
        return any(c.range is not None for c in self.choices)


@dataclass(frozen=True)
class AskText(Step):
    text: Text = Text(())
    save_as: str = ""
    max_length: int | None = None
    pattern: str | None = None
    invalid: Text | None = None
    skip: Text | None = None


@dataclass(frozen=True)
class Case:
    when: tuple[tuple[str, Scalar | tuple[Scalar, ...]], ...]
    next: str
    pos: Pos = Pos()
    next_pos: Pos | None = None


@dataclass(frozen=True)
class Branch(Step):
    cases: tuple[Case, ...] = ()


@dataclass(frozen=True)
class SetValues(Step):
    values: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Handoff(Step):
    text: Text | None = None


@dataclass(frozen=True)
class End(Step):
    text: Text | None = None
    reason: Literal["completed", "stopped"] = "completed"


@dataclass(frozen=True)
class Command:
    """A word a person can type at any question (stop, restart, switch language)."""

    name: str
    action: Literal["stop", "restart", "language"]
    words: tuple[str, ...]
    text: Text | None = None
    language: str | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Flow:
    """A validated flow. `version` is the content hash, so several versions can live side by side."""

    id: str
    version: str
    schema_version: int
    languages: tuple[str, ...]
    steps: tuple[Step, ...]
    commands: tuple[Command, ...]
    reminder_after: timedelta
    expire_after: timedelta
    warnings: tuple[Problem, ...] = ()
    messages: tuple[tuple[str, Text], ...] = ()
    source: str = ""
    title: Text | None = None
    _index: dict[str, Step] = field(default_factory=dict, compare=False, repr=False)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def first_step(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        if not self._index:
            self._index.update({s.id: s for s in self.steps})
        return self._index[step_id]

    def has_step(self, step_id: str) -> bool:
        return any(s.id == step_id for s in self.steps)

    def message(self, name: str) -> Text:
        return dict(self.messages)[name]

    def successors(self, step: Step) -> list[tuple[str, str | None]]:
        """(target step id, edge label key) for every way out of a step, in file order."""
        out: list[tuple[str, str | None]] = []
        if isinstance(step, Ask):
            for c in step.choices:
                target = c.next or step.next
                if target is not None and not step.multiple:
                    out.append((target, c.key))
            if step.multiple and step.next is not None:
                out.append((step.next, None))
        elif isinstance(step, Branch):
            for case in step.cases:
                out.append((case.next, "when"))
            if step.next is not None:
                out.append((step.next, "otherwise"))
        elif isinstance(step, (Handoff, End)):
            pass
        elif step.next is not None:
            out.append((step.next, None))
        return out

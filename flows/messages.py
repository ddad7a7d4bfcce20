"""What the engine says to a person: messages with their buttons, as plain values.

Kept apart from the engine so that storage and the channels, which carry messages, depend on
these two types only.
"""

from __future__ import annotations

from dataclasses import dataclass


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

"""The desk's root exception (a subclass of the bot's)."""

from __future__ import annotations

from .. import BotError


class DeskError(BotError):
    """The desk cannot work as configured (unreadable risk words, bad directory)."""

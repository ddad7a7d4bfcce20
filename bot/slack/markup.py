"""Slack's message markup, both ways.

Into Slack: a person's words are text, never markup. Slack reads `<!channel>` as a notification
to the whole channel and `<https://x|text>` as a masked link, so `&`, `<` and `>` are escaped as
Slack's formatting rules require (https://api.slack.com/reference/surfaces/formatting#escaping).

Out of Slack: a counselor's reply arrives as Slack markup. The person sees plain text: a mention
becomes the counselor's nickname (never a Slack member id), a channel link its name, a link its
text and address, and special mentions (`<!here>`) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

_ENTITY = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def plain(text: str, *, name_of: Callable[[str], Awaitable[str]]) -> str:
    """A counselor's Slack message as the text a person on another channel should read."""
    users = {m.group(1)[1:].split("|", 1)[0] for m in _ENTITY.finditer(text) if m.group(1).startswith("@")}
    names = {user: await name_of(user) for user in users}

    def entity(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):  # <@U123> or <@U123|name>: the nickname, never the id
            return "@" + names.get(target[1:], label or "")
        if target.startswith("#"):  # <#C123|general>
            return "#" + label if label else ""
        if target.startswith("!"):  # <!here>, <!channel>, <!subteam^ID|@team>, <!date^...|fallback>
            return label if target.startswith("!date") else ""
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:  # <https://x|text>: the person sees where a link goes
            return f"{label} ({target})"
        return target

    return _unescape(_ENTITY.sub(entity, text))

"""What counselors do in Slack, handled on the work side: replies in a card's thread and button
presses, translated into calls on the desk with an `Actor`.

Slack's own conventions live here, not in the desk: a thread reply starting with `//` is an
internal note, anything else is said to the person; the organization a counselor acts for is the
partner whose desk channel the thread or button is in.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage import InboxItem, Store

from ..desk import FOLLOWUP_DAYS, ActionResult, Actor, Desk
from ..desk.texts import counselor as counselor_text
from . import cards

log = logging.getLogger(__name__)

DEFAULT_NICKNAME = "相談員"
NOTE_PREFIX = "//"
ACTIONS = re.compile(r"^tsunagu_(accept|close|transfer|release|takeover)$")


class SlackDeskEvents:
    def __init__(self, *, client: AsyncWebClient, desk: Desk, store: Store, clock: Callable[[], datetime],
                 nickname: str | None = None) -> None:
        self.client = client
        self.desk = desk
        self.store = store
        self.clock = clock
        self.nickname_setting = nickname
        self._names: dict[str, str] = {}

    async def handle_item(self, item: InboxItem) -> str:
        """Handle one stored desk event; returns an outcome for the metrics."""
        data = json.loads(item.payload)
        now = self.clock()
        try:
            if data.get("kind") == "thread":
                outcome = await self._thread(data, source_key=f"slack:{item.event_id}", now=now)
            elif data.get("kind") == "action":
                outcome = await self._action(data, now)
            else:
                outcome = "ignored"
        finally:
            await self.store.mark_event_done(item.id, now=now)
        return outcome

    async def actor(self, user: str, channel: str) -> Actor | None:
        """The counselor `user` acting for the partner whose desk channel `channel` is."""
        org = next((o for o in self.desk.directory.organizations if o.desk.slack_channel == channel), None)
        if org is None:
            return None
        supervisor = user in org.desk.supervisors
        return Actor(id=user, name=await self.nickname(user), org_id=org.id, front="slack", supervisor=supervisor)

    async def _thread(self, data: dict[str, Any], *, source_key: str, now: datetime) -> str:
        card = await self.desk.cases.card_at(data["channel"], data["thread_ts"])
        if card is None:
            return "ignored"  # a thread that is not a card: not ours
        actor = await self.actor(data["user"], data["channel"])
        if actor is None:
            return "ignored"
        text = str(data.get("text", ""))
        if text.lstrip().startswith(NOTE_PREFIX):
            result = await self.desk.note(card.id, actor=actor, text=text, source_key=source_key, now=now)
        else:
            result = await self.desk.say(card.id, actor=actor, text=text, source_key=source_key, now=now)
        if result.notice:
            await self._ephemeral(data["channel"], data["user"], result.notice, thread_ts=data["thread_ts"])
        return "relayed" if result.ok else "refused"

    async def _action(self, data: dict[str, Any], now: datetime) -> str:
        action, user, channel = data["action_id"], data["user"], data["channel"]
        parts = str(data["value"]).split("|")
        try:
            card_id = int(parts[0])
        except ValueError:
            return "ignored"
        actor = await self.actor(user, channel)
        if actor is None:
            return "ignored"
        result: ActionResult | None = None
        blocks = None
        if action == cards.ACCEPT:
            result = await self.desk.accept(card_id, actor=actor, now=now)
        elif action == cards.RELEASE:
            result = await self.desk.release(card_id, actor=actor, now=now)
        elif action == cards.TAKE_OVER:
            result = await self.desk.take_over(card_id, actor=actor, now=now)
        elif action == cards.CLOSE and len(parts) == 1:
            blocks = cards.outcome_buttons(card_id)
        elif action == cards.CLOSE and len(parts) == 2:
            blocks = cards.followup_buttons(card_id, parts[1], FOLLOWUP_DAYS)
        elif action == cards.CLOSE:
            days = int(parts[2]) if parts[2].isdigit() else 0
            result = await self.desk.close(card_id, actor=actor, outcome=parts[1], followup_days=days, now=now)
        elif action == cards.TRANSFER and len(parts) == 1:
            options = await self.desk.transfer_options(card_id, actor=actor, now=now)
            if not options:
                await self._ephemeral(channel, user, counselor_text("no_transfer"))
                return "prompt"
            blocks = cards.transfer_buttons(card_id, options)
        elif action == cards.TRANSFER:
            result = await self.desk.transfer(card_id, actor=actor, to_org=parts[1], now=now)
        else:
            return "ignored"
        if blocks is not None:
            await self._ephemeral(channel, user, "選んでください / Choose", blocks=blocks)
            return "prompt"
        if result is not None and result.notice:
            await self._ephemeral(channel, user, result.notice)
        return str(action).removeprefix("tsunagu_") if result and result.ok else "refused"

    async def nickname(self, user: str) -> str:
        """The counselor's chosen name in Slack (display name), else the setting, else 相談員."""
        if user in self._names:
            return self._names[user]
        name = ""
        try:
            response = await self.client.users_info(user=user)
            profile = (response.get("user") or {}).get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or ""
        except SlackApiError as exc:
            log.warning("users.info failed: %s", exc.response.get("error"))
        except Exception as exc:
            log.warning("users.info failed: %s", type(exc).__name__)
        name = (name or self.nickname_setting or DEFAULT_NICKNAME)[:40]
        self._names[user] = name
        return name

    async def _ephemeral(self, channel: str, user: str, text: str, *, blocks: list[Any] | None = None,
                         thread_ts: str | None = None) -> None:
        """A notice to one counselor; best effort (it is not a message anyone depends on)."""
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        try:
            await self.client.chat_postEphemeral(**kwargs)
        except Exception as exc:
            log.warning("ephemeral notice failed: %s", type(exc).__name__)

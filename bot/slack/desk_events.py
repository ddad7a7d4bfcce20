"""What counselors do in Slack, handled on the work side: replies in a card's thread and button
presses, translated into calls on the desk with an `Actor`.

Slack's own conventions live here, not in the desk: a thread reply starting with `//` is an
internal note, anything else is said to the person; the organization a counselor acts for is the
partner whose desk channel the thread or button is in. Each event runs inside a claimed batch
(bot/work/worker.py), with the desk on the batch's transaction; the counselor's own notices
(refusals, choices) go to Slack only after the batch has committed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from storage import InboxItem
from storage.work import Claimed

from ..desk import FOLLOWUP_DAYS, ActionResult, Actor, Desk
from ..desk.texts import counselor as counselor_text
from . import cards
from .nicknames import DEFAULT_NICKNAME

log = logging.getLogger(__name__)

NOTE_PREFIX = "//"
ACTIONS = re.compile(r"^tsunagu_(accept|close|transfer|release|takeover)$")


class SlackDeskEvents:
    def __init__(self, *, client: AsyncWebClient, desk: Desk, clock: Callable[[], datetime],
                 nickname: str | None = None) -> None:
        self.client = client
        self.desk = desk
        self.clock = clock
        self.fallback = nickname or DEFAULT_NICKNAME

    async def handle_item(self, item: InboxItem, work: Claimed) -> str:
        """Handle one stored desk event in `work`'s batch; returns an outcome for the metrics."""
        data = json.loads(item.payload)
        now = self.clock()
        bound = self.desk.on(work.cases)
        notices: list[Callable[[], Awaitable[object]]] = []
        if data.get("kind") == "thread":
            outcome = await self._thread(bound, data, notices, source_key=f"slack:{item.event_id}", now=now)
        elif data.get("kind") == "action":
            outcome = await self._action(bound, data, notices, now)
        else:
            outcome = "ignored"
        work.done(item.id, now=now)
        work.after_commit.extend(notices)
        return outcome

    def actor(self, desk: Desk, data: dict[str, Any]) -> Actor | None:
        """The counselor acting for the partner whose desk channel the event is in."""
        user, channel = str(data.get("user", "")), str(data.get("channel", ""))
        org = next((o for o in desk.directory.organizations if o.desk.slack_channel == channel), None)
        if org is None or not user:
            return None
        name = str(data.get("name") or self.fallback)[:40]
        return Actor(id=user, name=name, org_id=org.id, front="slack", supervisor=user in org.desk.supervisors)

    async def _thread(self, desk: Desk, data: dict[str, Any], notices: list[Callable[[], Awaitable[object]]], *,
                      source_key: str, now: datetime) -> str:
        card = await desk.cases.card_at(data["channel"], data["thread_ts"])
        actor = self.actor(desk, data)
        if card is None or actor is None:
            return "ignored"  # a thread that is not a card: not ours
        text = str(data.get("text", ""))  # Slack's markup already made plain when it was received
        if text.lstrip().startswith(NOTE_PREFIX):
            result = await desk.note(card.id, actor=actor, text=text, source_key=source_key, now=now)
        else:
            result = await desk.say(card.id, actor=actor, text=text, source_key=source_key, now=now)
        if result.notice:
            notices.append(self._ephemeral(data["channel"], data["user"], result.notice, thread_ts=data["thread_ts"]))
        return "relayed" if result.ok else "refused"

    async def _action(self, desk: Desk, data: dict[str, Any], notices: list[Callable[[], Awaitable[object]]],
                      now: datetime) -> str:
        action, user, channel = data["action_id"], data["user"], data["channel"]
        parts = str(data["value"]).split("|")
        try:
            card_id = int(parts[0])
        except ValueError:
            return "ignored"
        if not 0 < card_id < 2**63:  # no card has it, and the database's integers stop there
            return "ignored"
        actor = self.actor(desk, data)
        if actor is None:
            return "ignored"
        result: ActionResult | None = None
        blocks = None
        if action == cards.ACCEPT:
            result = await desk.accept(card_id, actor=actor, now=now)
        elif action == cards.RELEASE:
            result = await desk.release(card_id, actor=actor, now=now)
        elif action == cards.TAKE_OVER:
            result = await desk.take_over(card_id, actor=actor, now=now)
        elif action == cards.CLOSE and len(parts) == 1:
            blocks = cards.outcome_buttons(card_id)
        elif action == cards.CLOSE and len(parts) == 2:
            blocks = cards.followup_buttons(card_id, parts[1], FOLLOWUP_DAYS)
        elif action == cards.CLOSE:
            days = int(parts[2]) if parts[2].isdigit() else 0
            result = await desk.close(card_id, actor=actor, outcome=parts[1], followup_days=days, now=now)
        elif action == cards.TRANSFER and len(parts) == 1:
            options = await desk.transfer_options(card_id, actor=actor, now=now)
            if not options:
                notices.append(self._ephemeral(channel, user, counselor_text("no_transfer")))
                return "prompt"
            blocks = cards.transfer_buttons(card_id, options)
        elif action == cards.TRANSFER:
            result = await desk.transfer(card_id, actor=actor, to_org=parts[1], now=now)
        else:
            return "ignored"
        if blocks is not None:
            notices.append(self._ephemeral(channel, user, "選んでください / Choose", blocks=blocks))
            return "prompt"
        if result is not None and result.notice:
            notices.append(self._ephemeral(channel, user, result.notice))
        return str(action).removeprefix("tsunagu_") if result and result.ok else "refused"

    def _ephemeral(self, channel: str, user: str, text: str, *, blocks: list[Any] | None = None,
                   thread_ts: str | None = None) -> Callable[[], Awaitable[None]]:
        """A notice to one counselor, to send once the batch is committed; best effort (it is not a
        message anyone depends on)."""
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts

        async def send() -> None:
            try:
                await self.client.chat_postEphemeral(**kwargs)
            except Exception as exc:
                log.warning("ephemeral notice failed: %s", type(exc).__name__)

        return send

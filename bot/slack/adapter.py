"""POST /slack/events: slack-bolt's AsyncApp behind two translation functions, and the desk's
handling of what counselors do in Slack.

Every event and button press is written to the inbox before Slack gets its answer (a few ms, well
under Slack's 3 s), and handled afterwards by the dispatcher's per-key queues. Slack's retries
(X-Slack-Retry-Num) carry the same event_id, which the inbox stores once, so they are handled once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage import InboxItem, Keyring, NewEvent, Store

from ..desk import Desk
from ..desk.desk import FOLLOWUP_DAYS
from ..metrics import Metrics
from . import cards
from .translate import DESK, PERSON, action_event, dm_inbound, encode, person_key, thread_event

log = logging.getLogger(__name__)

DEFAULT_NICKNAME = "相談員"


class SlackAdapter:
    def __init__(
        self, *, client: AsyncWebClient, signing_secret: str, store: Store, keyring: Keyring, desk: Desk,
        metrics: Metrics, clock: Callable[[], datetime], submit: Callable[[list], None],
        nickname: str | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.keyring = keyring
        self.desk = desk
        self.metrics = metrics
        self.clock = clock
        self.submit = submit
        self.nickname_setting = nickname
        self._names: dict[str, str] = {}
        self.bolt = AsyncApp(client=client, signing_secret=signing_secret, request_verification_enabled=True,
                             process_before_response=True, raise_error_for_unhandled_request=False)
        self.bolt.event("message")(self._on_message)
        self.bolt.action(re.compile(r"^tsunagu_(accept|close|transfer|release)$"))(self._on_action)

    async def handle(self, request: web.Request) -> web.Response:
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        if bolt_response.status == 401:
            self.metrics.events_rejected.labels(PERSON, "bad-signature").inc()
        return await to_aiohttp_response(bolt_response)

    # -- receiving: store first, answer, handle behind ---------------------------------------------

    async def _store(self, events: list[NewEvent]) -> None:
        stored = await self.store.accept_events(events)
        for e in events:
            self.metrics.events_received.labels(e.channel).inc(sum(1 for s in stored if s.event_id == e.event_id))
        self.metrics.events_duplicate.labels(DESK).inc(len(events) - len(stored))
        self.submit(stored)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        now = self.clock()
        inbound = dm_inbound(body, event, now=now)
        if inbound is not None:
            pseudonym = self.keyring.pseudonym(PERSON, person_key(body, event))
            await self._store([NewEvent(channel=PERSON, event_id=inbound.event_id, pseudonym=pseudonym,
                                        payload=inbound.to_bytes(), received_at=now)])
            return
        found = thread_event(body, event)
        if found is not None:
            event_id, key, payload = found
            await self._store([NewEvent(channel=DESK, event_id=event_id, pseudonym=key, payload=encode(payload),
                                        received_at=now)])

    async def _on_action(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        found = action_event(body)
        if found is not None:
            event_id, key, payload = found
            await self._store([NewEvent(channel=DESK, event_id=event_id, pseudonym=key, payload=encode(payload),
                                        received_at=self.clock())])

    # -- handling desk events (called by the dispatcher) -------------------------------------------

    async def handle_item(self, item: InboxItem) -> str:
        data = json.loads(item.payload)
        now = self.clock()
        try:
            if data.get("kind") == "thread":
                result = await self.desk.from_counselor(
                    data["channel"], data["thread_ts"], counselor_id=data["user"], text=data.get("text", ""),
                    source_key=f"slack:{item.event_id}", now=now)
                if result.notice:
                    await self._ephemeral(data["channel"], data["user"], result.notice, thread_ts=data["thread_ts"])
                outcome = "relayed" if result.ok else "refused"
            elif data.get("kind") == "action":
                outcome = await self._action(data, now)
            else:
                outcome = "ignored"
        finally:
            await self.store.mark_event_done(item.id, now=now)
        return outcome

    async def _action(self, data: dict[str, Any], now: datetime) -> str:
        action, user, channel = data["action_id"], data["user"], data["channel"]
        parts = data["value"].split("|")
        try:
            card_id = int(parts[0])
        except ValueError:
            return "ignored"
        name = await self.nickname(user)
        blocks = None
        if action == cards.ACCEPT:
            result = await self.desk.accept(card_id, counselor_id=user, counselor_name=name, now=now)
        elif action == cards.RELEASE:
            result = await self.desk.release(card_id, counselor_id=user, counselor_name=name, now=now)
        elif action == cards.CLOSE and len(parts) == 1:
            result, blocks = None, cards.outcome_buttons(card_id)
        elif action == cards.CLOSE and len(parts) == 2:
            result, blocks = None, cards.followup_buttons(card_id, parts[1], FOLLOWUP_DAYS)
        elif action == cards.CLOSE:
            days = int(parts[2]) if parts[2].isdigit() else 0
            result = await self.desk.close(card_id, counselor_id=user, counselor_name=name, outcome=parts[1],
                                           followup_days=days, now=now)
        elif action == cards.TRANSFER and len(parts) == 1:
            options = await self.desk.transfer_options(card_id, now=now)
            if not options:
                await self._ephemeral(
                    channel, user, "引継ぎ先の候補がありません。 / No partner can take a transfer now."
                )
                return "prompt"
            result, blocks = None, cards.transfer_buttons(card_id, options)
        elif action == cards.TRANSFER:
            result = await self.desk.transfer(card_id, counselor_id=user, counselor_name=name, to_org=parts[1], now=now)
        else:
            return "ignored"
        if blocks is not None:
            await self._ephemeral(channel, user, "選んでください / Choose", blocks=blocks)
            return "prompt"
        if result is not None and result.notice:
            await self._ephemeral(channel, user, result.notice)
        return action.removeprefix("tsunagu_") if result and result.ok else "refused"

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

    async def _ephemeral(self, channel: str, user: str, text: str, *, blocks: list | None = None,
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

"""POST /slack/events: slack-bolt's AsyncApp behind its two translation functions.

Every event and button press is stored in the inbox through the one receive path before Slack
gets its answer (a few ms, well under Slack's 3 s; the first event of a counselor also looks up
their name, nicknames.py), and handled afterwards on the work side (desk_events.py). Slack's
retries (X-Slack-Retry-Num) carry the same event_id, which the inbox stores once, so they are
handled once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from storage import InvalidEvent, Keyring, NewEvent

from ..metrics import Metrics
from ..receive import Receiver
from .desk_events import ACTIONS
from .duty import COMMAND, SlackDuty
from .markup import plain
from .nicknames import Nicknames
from .translate import DESK, PERSON, action_event, check_body, dm_inbound, encode, person_key, thread_event

log = logging.getLogger(__name__)


class SlackAdapter:
    def __init__(
        self, *, client: AsyncWebClient, signing_secret: str, receiver: Receiver, keyring: Keyring,
        metrics: Metrics, clock: Callable[[], datetime], nickname: str | None = None,
        duty: SlackDuty | None = None,
    ) -> None:
        self.receiver = receiver
        self.keyring = keyring
        self.metrics = metrics
        self.clock = clock
        self.verifier = SignatureVerifier(signing_secret)
        self.bolt = AsyncApp(client=client, signing_secret=signing_secret, request_verification_enabled=True,
                             process_before_response=True, raise_error_for_unhandled_request=False,
                             # Bolt would give its own logger the root's level (DEBUG logs whole
                             # requests); this one inherits "slack_bolt", kept at WARNING (bot/logs.py).
                             logger=logging.getLogger("slack_bolt.tsunagu"))
        self.nicknames = Nicknames(client, fallback=nickname)
        self.bolt.event("message")(self._on_message)
        self.bolt.action(ACTIONS)(self._on_action)
        self.duty = duty
        if duty is not None:
            self.bolt.command(COMMAND)(self._on_command)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.verifier.is_valid_request(raw, dict(request.headers)):
            reason = check_body(raw, request.content_type)
            if reason is not None:  # signed, but no shape Slack sends: skipped, and no retry asked for
                self.metrics.events_rejected.labels(PERSON, "bad-event").inc()
                log.warning("skipped a Slack request that Slack would not send: %s", reason)
                return web.Response(text="")
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        if bolt_response.status == 401:
            self.metrics.events_rejected.labels(PERSON, "bad-signature").inc()
        return await to_aiohttp_response(bolt_response)

    async def _receive(self, event: NewEvent) -> None:
        """Store one event; one the inbox cannot hold is skipped and counted (never a 500)."""
        try:
            await self.receiver.receive([event])
        except InvalidEvent as exc:
            self.metrics.events_rejected.labels(event.channel, "bad-event").inc()
            log.warning("skipped a Slack event the inbox cannot hold: %s", exc)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        now = self.clock()
        inbound = dm_inbound(body, event, now=now)
        if inbound is not None:
            pseudonym = self.keyring.pseudonym(PERSON, person_key(body, event))
            await self._receive(NewEvent(channel=PERSON, event_id=inbound.event_id, pseudonym=pseudonym,
                                         payload=inbound.to_bytes(), received_at=now))
            return
        found = thread_event(body, event)
        if found is not None:
            event_id, key, payload = found
            payload["name"] = await self.nicknames.of(payload["user"])
            # What the person will read: mentions as nicknames, links as text (address), no markup.
            payload["text"] = await plain(str(payload.get("text", "")), name_of=self.nicknames.of)
            await self._receive(NewEvent(channel=DESK, event_id=event_id, pseudonym=key,
                                         payload=encode(payload), received_at=now))

    async def _on_command(self, ack: Any, command: dict[str, Any]) -> None:
        """`/tsunagu on|off`: answered at once, seen only by the counselor who typed it."""
        assert self.duty is not None
        await ack(text=await self.duty.handle(command), response_type="ephemeral")

    async def _on_action(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        found = action_event(body)
        if found is not None:
            event_id, key, payload = found
            payload["name"] = await self.nicknames.of(payload["user"])
            await self._receive(NewEvent(channel=DESK, event_id=event_id, pseudonym=key,
                                         payload=encode(payload), received_at=self.clock()))

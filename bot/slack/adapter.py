"""POST /slack/events: slack-bolt's AsyncApp behind its two translation functions.

Every event and button press is stored in the inbox through the one receive path before Slack
gets its answer (a few ms, well under Slack's 3 s), and handled afterwards on the work side
(desk_events.py). Slack's retries (X-Slack-Retry-Num) carry the same event_id, which the inbox
stores once, so they are handled once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from storage import Keyring, NewEvent

from ..metrics import Metrics
from ..receive import Receiver
from .desk_events import ACTIONS
from .translate import DESK, PERSON, action_event, dm_inbound, encode, person_key, thread_event


class SlackAdapter:
    def __init__(
        self, *, client: AsyncWebClient, signing_secret: str, receiver: Receiver, keyring: Keyring,
        metrics: Metrics, clock: Callable[[], datetime],
    ) -> None:
        self.receiver = receiver
        self.keyring = keyring
        self.metrics = metrics
        self.clock = clock
        self.bolt = AsyncApp(client=client, signing_secret=signing_secret, request_verification_enabled=True,
                             process_before_response=True, raise_error_for_unhandled_request=False)
        self.bolt.event("message")(self._on_message)
        self.bolt.action(ACTIONS)(self._on_action)

    async def handle(self, request: web.Request) -> web.Response:
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        if bolt_response.status == 401:
            self.metrics.events_rejected.labels(PERSON, "bad-signature").inc()
        return await to_aiohttp_response(bolt_response)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        now = self.clock()
        inbound = dm_inbound(body, event, now=now)
        if inbound is not None:
            pseudonym = self.keyring.pseudonym(PERSON, person_key(body, event))
            await self.receiver.receive([NewEvent(channel=PERSON, event_id=inbound.event_id, pseudonym=pseudonym,
                                                  payload=inbound.to_bytes(), received_at=now)])
            return
        found = thread_event(body, event)
        if found is not None:
            event_id, key, payload = found
            await self.receiver.receive([NewEvent(channel=DESK, event_id=event_id, pseudonym=key,
                                                  payload=encode(payload), received_at=now)])

    async def _on_action(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        found = action_event(body)
        if found is not None:
            event_id, key, payload = found
            await self.receiver.receive([NewEvent(channel=DESK, event_id=event_id, pseudonym=key,
                                                  payload=encode(payload), received_at=self.clock())])

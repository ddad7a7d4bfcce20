"""POST /webhooks/line: verify, store durably, answer at once; processing happens behind.

The request is answered only after its events are in the inbox (one transaction), so an
acknowledged event is never lost; the inbox is unique on the webhook event id, so a redelivered
event is stored once and processed once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from linebot.v3.models.events import UnknownEvent  # what WebhookParser yields for untyped events
from linebot.v3.webhooks import Event

from storage import Keyring, NewEvent

from ..events import Inbound
from ..metrics import Metrics
from ..receive import Receiver
from .translate import CHANNEL, BadEvent, NotAWebhookEvent, check_event, to_inbound, unparsed_message

log = logging.getLogger(__name__)


def signed(channel_secret: str, body: bytes, signature: str) -> bool:
    """LINE's X-Line-Signature: base64 of HMAC-SHA256 over the raw body, under the channel secret."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("ascii", "replace"))


@dataclass(frozen=True)
class LineWebhook:
    channel_secret: str
    receiver: Receiver
    keyring: Keyring
    metrics: Metrics
    clock: Callable[[], datetime]
    max_body_bytes: int = 1024 * 1024

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return self._reject(413, "too-large")
        signature = request.headers.get("X-Line-Signature")
        if not signature:
            return self._reject(401, "no-signature")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(413, "too-large")
        if not signed(self.channel_secret, body, signature):
            return self._reject(401, "bad-signature")
        try:
            raw_events = self._events_of(body)
        except NotAWebhookEvent:
            return self._reject(400, "not-a-webhook")
        inbound, bad = self._translate(raw_events)
        if bad and not inbound:  # nothing in it LINE would send: say so, store nothing
            return self._reject(400, "bad-events")
        received = self.clock()
        events = [self._new_event(i, received) for i in inbound]
        try:
            await self.receiver.receive(events)
        except Exception as exc:  # not stored, so not acknowledged: LINE redelivers later
            log.error("inbox write failed: %s", type(exc).__name__)
            return self._reject(503, "storage-unavailable")
        return web.Response(text="OK")

    @staticmethod
    def _events_of(body: bytes) -> list[object]:
        """The body's events, unchecked; NotAWebhookEvent if the body is not a webhook at all."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser
            raise NotAWebhookEvent("body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise NotAWebhookEvent("body is not a LINE webhook")
        events: list[object] = data["events"]
        return events

    def _translate(self, raw_events: list[object]) -> tuple[list[Inbound], int]:
        """Each event checked and translated on its own: (the good ones, how many were bad).

        A bad event is counted and logged by reason only (never its content) and skipped, so one
        bad event never makes LINE redeliver, or lose, the other people's events beside it.
        """
        inbound: list[Inbound] = []
        bad = 0
        for raw in raw_events:
            try:
                item = self._one(check_event(raw))
            except BadEvent as exc:
                reason = exc.reason
            except Exception as exc:  # the SDK or a translation refused it: still only this event
                reason = f"unreadable-{type(exc).__name__}"[:60]
            else:
                if item is not None:
                    inbound.append(item)
                continue
            bad += 1
            self.metrics.events_rejected.labels(CHANNEL, "bad-event").inc()
            log.warning("skipped a LINE event that LINE would not send: %s", reason)
        return inbound, bad

    @staticmethod
    def _one(raw: dict[str, object]) -> Inbound | None:
        try:
            event: object = Event.from_dict(raw)
        except ValueError:  # a type or field the SDK does not know (pydantic's errors are ValueErrors)
            event = UnknownEvent.new_from_json_dict(raw)  # as the SDK's own WebhookParser does
        item = unparsed_message(raw) if isinstance(event, UnknownEvent) else None
        return item if item is not None else to_inbound(event)

    def _new_event(self, inbound: Inbound, received: datetime) -> NewEvent:
        namespace = CHANNEL if inbound.source == "user" else f"{CHANNEL}-{inbound.source}"
        pseudonym = self.keyring.pseudonym(namespace, inbound.address) if inbound.address else None
        return NewEvent(
            channel=CHANNEL,
            event_id=inbound.event_id,
            pseudonym=pseudonym,
            payload=inbound.to_bytes(),
            received_at=received,
        )

    def _reject(self, status: int, reason: str) -> web.Response:
        self.metrics.events_rejected.labels(CHANNEL, reason).inc()
        return web.Response(status=status, text=reason)

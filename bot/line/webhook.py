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
from linebot.v3 import WebhookParser
from linebot.v3.models.events import UnknownEvent  # what WebhookParser yields for untyped events

from storage import Keyring, NewEvent

from ..events import Inbound
from ..metrics import Metrics
from ..receive import Receiver
from .translate import CHANNEL, NotAWebhookEvent, to_inbound, unparsed_message

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
            inbound = self._parse(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._reject(400, "not-a-webhook")
        received = self.clock()
        events = [self._new_event(i, received) for i in inbound]
        try:
            await self.receiver.receive(events)
        except Exception as exc:  # not stored, so not acknowledged: LINE redelivers later
            log.error("inbox write failed: %s", type(exc).__name__)
            return self._reject(503, "storage-unavailable")
        return web.Response(text="OK")

    def _parse(self, body: bytes) -> list[Inbound]:
        text = body.decode("utf-8")
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise NotAWebhookEvent("body is not a LINE webhook")
        if not all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in data["events"]):
            raise NotAWebhookEvent("event without a type")
        # Signature already checked over the raw bytes above; the SDK parses into typed events.
        parser = WebhookParser(self.channel_secret, skip_signature_verification=lambda: True)
        parsed = parser.parse(text, "")
        inbound = []
        for raw, event in zip(data["events"], parsed, strict=True):
            item = unparsed_message(raw) if isinstance(event, UnknownEvent) else to_inbound(event)
            if item is None:
                item = to_inbound(event)
            inbound.append(item)
        return [i for i in inbound if i is not None]

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

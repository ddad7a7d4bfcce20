"""Delivers outbox rows to LINE with the SDK's async client: reply while the token is fresh, else push.

A push carries the row's retry key (X-Line-Retry-Key, a UUID per row), so a push retried after a
timeout or a crash is not delivered twice; LINE answers 409 to a key it has already accepted,
which counts as sent.

A reply has no such key, so the attempt is recorded before it is made (Store.claim_outbox sets
`reply_tried`). When LINE refuses a still-fresh token that an earlier attempt already handed over,
that earlier attempt delivered it (a crash came between LINE's answer and our record): done, and
nothing is pushed. A token refused on its first use, or expired, falls back to a push, because a
lost answer is worse than a repeated one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from linebot.v3.messaging import AsyncMessagingApi, PushMessageRequest, ReplyMessageRequest
from linebot.v3.messaging.exceptions import ApiException

from storage import OutboxItem
from storage.codec import decode_messages

from ..work.sending import Refused, Result, Retry, Sent
from .translate import to_line_messages

SEND_TIMEOUT = 10  # seconds: well inside the outbox lease, so a delivery never outlives its claim


class LineSender:
    def __init__(self, api: AsyncMessagingApi, *, clock: Callable[[], datetime]) -> None:
        self.api = api
        self.clock = clock

    async def send(self, item: OutboxItem, address: str | None) -> Result:
        messages = to_line_messages(decode_messages(item.payload))
        token_fresh = (
            item.reply_token is not None
            and item.reply_token_expires_at is not None
            and self.clock() < item.reply_token_expires_at
        )
        if token_fresh:
            try:
                await self.api.reply_message(ReplyMessageRequest(replyToken=item.reply_token, messages=messages),
                                             _request_timeout=SEND_TIMEOUT)
                return Sent("reply")
            except ApiException as exc:
                if exc.status == 400 and item.reply_tried:  # used by our earlier attempt: delivered then
                    return Sent("reply-earlier")
                if exc.status == 400:  # token used or expired: push instead, at once
                    return Retry("reply-token-invalid", reply_token_spent=True, after=timedelta(0))
                return _classify(exc)
            except (TimeoutError, aiohttp.ClientError):
                return Retry("network")
        if not address:
            return Refused("no-address")
        try:
            await self.api.push_message(
                PushMessageRequest(to=address, messages=messages), x_line_retry_key=item.retry_key,
                _request_timeout=SEND_TIMEOUT,
            )
            return Sent("push")
        except ApiException as exc:
            if exc.status == 409:  # this retry key was already accepted: delivered before
                return Sent("push")
            return _classify(exc)
        except (TimeoutError, aiohttp.ClientError):
            return Retry("network")


def _classify(exc: ApiException) -> Result:
    status = int(exc.status or 0)
    if status == 429:
        return Retry("http-429", after=_retry_after(exc))
    if status >= 500 or status == 0:
        return Retry(f"http-{status}")
    return Refused(f"http-{status}")


def _retry_after(exc: ApiException) -> timedelta | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return timedelta(seconds=float(value)) if value is not None else None
    except ValueError:
        return None

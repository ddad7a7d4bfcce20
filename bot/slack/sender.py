"""Outbox senders for Slack: the desk's cards and thread posts (the "desk" channel's notices about
cards that have a Slack channel), and people who use Slack as their channel ("slack", by DM).

A card is rendered when it is sent, from the stored case, so it shows the state of that moment.
A post_card whose card already has a ts is not posted again (a retry after Slack took it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.messages import Message
from storage import OutboxItem
from storage.cases import CaseStore
from storage.codec import decode_messages

from ..desk import notices
from ..work.sending import Refused, Result, Retry, Sent
from . import cards
from .markup import escape


def _classify(exc: SlackApiError) -> Result:
    status = exc.response.status_code
    if status == 429:
        try:
            after = timedelta(seconds=float(exc.response.headers.get("Retry-After", "")))
        except (TypeError, ValueError):
            after = None
        return Retry("http-429", after=after)
    if status >= 500:
        return Retry(f"http-{status}")
    error = str((exc.response.data or {}).get("error", "error")) if isinstance(exc.response.data, dict) else "error"
    if error in ("ratelimited", "internal_error", "service_unavailable", "request_timeout", "fatal_error"):
        return Retry(f"slack-{error}")
    return Refused(f"slack-{error}"[:60])


async def _call(call: Awaitable[object]) -> Result | None:
    try:
        await call
    except SlackApiError as exc:
        return _classify(exc)
    except (TimeoutError, aiohttp.ClientError):
        return Retry("network")
    return None


class SlackDeskSender:
    """Shows the desk's notices about a card in the card's Slack channel (see bot/desk/notices.py)."""

    def __init__(self, client: AsyncWebClient, cases: CaseStore, *, clock: Callable[[], datetime]) -> None:
        self.client = client
        self.cases = cases
        self.clock = clock

    async def send(self, item: OutboxItem, address: str | None) -> Result:
        notice = notices.decode(item.payload)
        card = await self.cases.card(notice.card_id) if notice else None
        if notice is None or card is None:
            return Refused("no-card")
        if notice.kind == "opened":
            if card.ts:
                return Sent("post")  # a retry after Slack took the post
            case = await self.cases.case(card.case_id)
            if case is None:
                return Refused("no-case")
            text, blocks = cards.render(case, card, now=self.clock())
            try:
                response = await self.client.chat_postMessage(channel=card.slack_channel, text=text, blocks=blocks)
            except SlackApiError as exc:
                return _classify(exc)
            except (TimeoutError, aiohttp.ClientError):
                return Retry("network")
            await self.cases.set_card_ts(card.id, str(response["ts"]))
            return Sent("post")
        if not card.ts:
            return Refused("card-not-posted")
        if notice.kind == "changed":
            case = await self.cases.case(card.case_id)
            if case is None:
                return Refused("no-case")
            text, blocks = cards.render(case, card, now=self.clock())
            failed = await _call(
                self.client.chat_update(channel=card.slack_channel, ts=card.ts, text=text, blocks=blocks)
            )
            return failed or Sent("update")
        failed = await _call(self.client.chat_postMessage(  # a person's words: text, never markup
            channel=card.slack_channel, thread_ts=card.ts, text=escape(notice.text or "")))
        return failed or Sent("thread")


def person_text(messages: Sequence[Message]) -> str:
    """One Slack message for one outbox row: texts, and choices as numbered options to type."""
    parts = []
    for message in messages:
        text = escape(message.text)
        if message.choices:
            text += "\n" + "  ".join(f"[{i}] {escape(c.label)}" for i, c in enumerate(message.choices, 1))
        parts.append(text)
    return "\n\n".join(parts)


class SlackPersonSender:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, item: OutboxItem, address: str | None) -> Result:
        if not address:
            return Refused("no-address")
        text = person_text(decode_messages(item.payload))
        failed = await _call(self.client.chat_postMessage(channel=address, text=text))
        return failed or Sent("post")

"""The sender of the "desk" outbox channel: each notice about a card goes to that card's front end.

A card with a Slack channel is shown in Slack (the Slack desk sender posts, updates and writes in
its thread); a web-desk card needs no delivery, since the web desk reads the case tables when a
counselor looks, so its notices are done at once. Which front end a card has is the only thing
decided here.
"""

from __future__ import annotations

from collections.abc import Mapping

from storage import CaseStore, OutboxItem

from ..desk import notices
from .sending import ChannelSender, Refused, Result, Retry, Sent


class DeskNoticeSender:
    def __init__(self, cases: CaseStore, *, slack: ChannelSender | None = None) -> None:
        self.cases = cases
        self.fronts: Mapping[str, ChannelSender] = {"slack": slack} if slack is not None else {}

    async def send(self, item: OutboxItem, address: str | None) -> Result:
        notice = notices.decode(item.payload)
        if notice is None:
            return Refused("bad-notice")
        card = await self.cases.card(notice.card_id)
        if card is None:
            return Refused("no-card")
        if not card.slack_channel:
            return Sent("web")
        front = self.fronts.get("slack")
        if front is None:
            return Retry("channel-not-mounted")
        return await front.send(item, address)

"""The desk's view of the partner directory: who can take a case now, and in what order.

Routing (routing/) decides from topics, region, language, hours, counselors on duty and load;
here only partners that have a desk (a Slack channel, the web desk, or both) count, since a case
must be seen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from routing import Decision, Directory, Hotlines, Organization, RequestError, RouteRequest, is_open, route
from storage.cases import CaseStore, NewCard
from storage.presence import Presence

DEFAULT_RESPONSE_MINUTES = 10


def has_desk(org: Organization | None) -> bool:
    """A partner takes cases on Slack, on the web desk, or both."""
    return bool(org is not None and (org.desk.slack_channel or org.desk.web))


def request_for(answers: Mapping[str, Any], *, urgent: bool, language: str | None) -> RouteRequest:
    """The routing request an intake's answers make (a malformed answer routes as "other")."""
    topics = tuple(answers.get("topics") or ()) or ("other",)
    lang = language if language in ("ja", "en") else "ja"
    for municipality in (answers.get("municipality"), None):  # an unknown municipality: the prefecture still counts
        try:
            return RouteRequest(topics=topics, prefecture=answers.get("prefecture"), language=lang, urgent=urgent,
                                avoid_own_area=bool(answers.get("avoid_own_area")), municipality=municipality)
        except RequestError:
            continue
    return RouteRequest(topics=("other",), prefecture=None, language=lang, urgent=urgent)


class Partners:
    def __init__(self, *, directory: Directory, hotlines: Hotlines, cases: CaseStore,
                 web_accounts: Callable[[], Awaitable[frozenset[str]]] | None = None,
                 presence: Presence | None = None) -> None:
        self.directory = directory
        self.hotlines = hotlines
        self.cases = cases
        self.web_accounts = web_accounts  # the partners with a web desk account (None: not known)
        self.presence = presence  # counselors on duty (None: not known)

    async def on_duty(self, now: datetime) -> dict[str, int] | None:
        """Counselors on duty per partner, or None where presence is not known."""
        return await self.presence.counts(now) if self.presence is not None else None

    async def usable(self, ids: Sequence[str], now: datetime) -> list[str]:
        """Of these partners, those whose desk someone uses now: with presence known, somebody on
        duty; else a Slack channel, or the web desk with at least one counselor account (a web-only
        partner nobody can sign in to would take a case nobody sees)."""
        on_duty = await self.on_duty(now)
        accounts = await self.web_accounts() if self.web_accounts is not None and on_duty is None else None
        out = []
        for org_id in ids:
            org = self.get(org_id)
            if org is None or not has_desk(org):
                continue
            if on_duty is not None:
                if on_duty.get(org_id, 0) > 0:
                    out.append(org_id)
            elif org.desk.slack_channel or (org.desk.web and (accounts is None or org_id in accounts)):
                out.append(org_id)
        return out

    def get(self, org_id: str | None) -> Organization | None:
        return self.directory.get(org_id) if org_id else None

    def name(self, org_id: str) -> str:
        org = self.get(org_id)
        return org.name if org else org_id

    async def candidates(self, request: RouteRequest, now: datetime, *,
                         skip: Sequence[str] = ()) -> tuple[list[str], Decision]:
        """Partner ids with a desk that could take the request now, best first, and the decision."""
        decision = route(request, self.directory, await self.cases.loads(), now, hotlines=self.hotlines,
                         on_duty=await self.on_duty(now))
        ids = [c.org.id for c in decision.candidates if has_desk(c.org) and c.org.id not in skip]
        return ids, decision

    def open_now(self, org_id: str, now: datetime) -> bool:
        org = self.get(org_id)
        return has_desk(org) and org is not None and is_open(org, now) and not org.paused

    def card(self, org_id: str, via: str) -> NewCard:
        org = self.get(org_id)
        if org is None or not has_desk(org):
            raise ValueError(f"partner {org_id!r} has no desk")
        return NewCard(org_id=org_id, slack_channel=org.desk.slack_channel or "", via=via)

    def response_minutes(self, org_id: str | None) -> int:
        org = self.get(org_id)
        return org.response_minutes if org else DEFAULT_RESPONSE_MINUTES

    def capacity(self, org_id: str) -> int:
        org = self.get(org_id)
        return org.capacity if org else 0

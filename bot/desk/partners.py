"""The desk's view of the partner directory: who can take a case now, and in what order.

Routing (routing/) decides from topics, region, language, hours and load; here only partners
that have a desk (a Slack channel, the web desk, or both) count, since a case must be seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from routing import Decision, Directory, Hotlines, Organization, RequestError, RouteRequest, is_open, route
from storage.cases import CaseStore, NewCard

DEFAULT_RESPONSE_MINUTES = 10


def has_desk(org: Organization | None) -> bool:
    """A partner takes cases on Slack, on the web desk, or both."""
    return bool(org is not None and (org.desk.slack_channel or org.desk.web))


def request_for(answers: Mapping[str, Any], *, urgent: bool, language: str | None) -> RouteRequest:
    """The routing request an intake's answers make (a malformed answer routes as "other")."""
    topics = tuple(answers.get("topics") or ()) or ("other",)
    lang = language if language in ("ja", "en") else "ja"
    try:
        return RouteRequest(topics=topics, prefecture=answers.get("prefecture"), language=lang, urgent=urgent,
                            avoid_own_area=bool(answers.get("avoid_own_area")))
    except RequestError:
        return RouteRequest(topics=("other",), prefecture=None, language=lang, urgent=urgent)


class Partners:
    def __init__(self, *, directory: Directory, hotlines: Hotlines, cases: CaseStore) -> None:
        self.directory = directory
        self.hotlines = hotlines
        self.cases = cases

    def get(self, org_id: str | None) -> Organization | None:
        return self.directory.get(org_id) if org_id else None

    def name(self, org_id: str) -> str:
        org = self.get(org_id)
        return org.name if org else org_id

    async def candidates(self, request: RouteRequest, now: datetime, *,
                         skip: Sequence[str] = ()) -> tuple[list[str], Decision]:
        """Partner ids with a desk that could take the request now, best first, and the decision."""
        decision = route(request, self.directory, await self.cases.loads(), now, hotlines=self.hotlines)
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

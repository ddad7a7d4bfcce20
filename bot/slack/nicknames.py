"""Counselors' names as the person is told them: the Slack display name, else the setting, else
相談員. Looked up (users.info) when a counselor's event is received, before it is stored, so that
the work side never waits for Slack while it holds a batch's transaction."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

DEFAULT_NICKNAME = "相談員"
LOOKUP_SECONDS = 1.5  # well inside Slack's 3 s for an answer to the event


class Nicknames:
    def __init__(self, client: AsyncWebClient, *, fallback: str | None = None) -> None:
        self.client = client
        self.fallback = fallback or DEFAULT_NICKNAME
        self._names: dict[str, str] = {}

    async def of(self, user: str) -> str:
        if user in self._names:
            return self._names[user]
        name = ""
        try:
            async with asyncio.timeout(LOOKUP_SECONDS):
                response = await self.client.users_info(user=user)
            profile = (response.get("user") or {}).get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or ""
        except SlackApiError as exc:
            log.warning("users.info failed: %s", exc.response.get("error"))
        except Exception as exc:
            log.warning("users.info failed: %s", type(exc).__name__)
        name = (name or self.fallback)[:40]
        self._names[user] = name
        return name

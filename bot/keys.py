"""The app's typed keys (a leaf module: it imports only the types it names)."""

from __future__ import annotations

from aiohttp import web

from .services import Services
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)

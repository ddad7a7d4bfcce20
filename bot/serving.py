"""Serving the app: aiohttp's runner with two guards that must act before any HTTP is parsed.

- Open connections per client address (TSUNAGU_CONNECTIONS_PER_ADDRESS): a connection past the
  limit is closed as it is accepted, before a byte of it is read. A flood of thousands of sockets
  from one machine then costs an accept and a close each, not a request each, and everyone else
  is still served. Connections from a trusted proxy (TSUNAGU_TRUSTED_PROXIES) are not counted
  here (they carry everyone's requests); the proxy limits its clients (see deploy/README.md).
- A request's headers must arrive within TSUNAGU_HEADER_TIMEOUT: aiohttp closes a connection that
  has not completed its request within its keep-alive timeout, from the moment it is accepted.
  (Bodies have their own limit, in the middleware of bot/app.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from aiohttp.web_server import Server

from . import SettingsError
from .logs import AccessLog
from .settings import Settings
from .web.limits import address_key


def trusted_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TSUNAGU_TRUSTED_PROXIES: addresses or networks, comma or space separated."""
    nets = []
    for item in text.replace(",", " ").split():
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"TSUNAGU_TRUSTED_PROXIES: {item!r} is not an address or network") from None
    return tuple(nets)


def is_trusted(peer: str | None, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    if not peer or not nets:
        return False
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(ip in net for net in nets)


class ConnectionGuard:
    """Open connections per address, counted as they are accepted and closed."""

    def __init__(self, *, per_address: int, trusted: str = "") -> None:
        self.per_address = per_address
        self.trusted = trusted_networks(trusted)
        self._open: dict[str, int] = {}
        self.refused = 0

    def admit(self, peer: str | None) -> str | None:
        """The key the connection is counted under, or None if it is refused."""
        if is_trusted(peer, self.trusted):
            return ""
        key = address_key(peer)
        if self._open.get(key, 0) >= self.per_address:
            self.refused += 1
            return None
        self._open[key] = self._open.get(key, 0) + 1
        return key

    def release(self, key: str) -> None:
        if not key:
            return
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)


class _Gatekeeper(asyncio.Protocol):
    """Stands in front of aiohttp's protocol for one connection: admits it or closes it at once."""

    def __init__(self, guard: ConnectionGuard, make: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._make = make
        self._inner: asyncio.Protocol | None = None
        self._key = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        key = self._guard.admit(peer[0] if isinstance(peer, tuple) and peer else None)
        if key is None:
            cast(asyncio.Transport, transport).abort()
            return
        self._key = key
        self._inner = self._make()
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        self._guard.release(self._key)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class _GuardedServer:
    """aiohttp's Server (the protocol factory) with each connection behind a _Gatekeeper."""

    def __init__(self, server: Server, guard: ConnectionGuard) -> None:
        self._server = server
        self._guard = guard

    def __call__(self) -> asyncio.Protocol:
        return _Gatekeeper(self._guard, self._server)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class GuardedRunner(web.AppRunner):
    def __init__(self, app: web.Application, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.guard = guard

    async def _make_server(self) -> Server:
        return cast(Server, _GuardedServer(await super()._make_server(), self.guard))


# The access log identifies no one: no address, user agent or query string (bot/logs.py).
RUNNER_OPTIONS: dict[str, Any] = {"access_log_class": AccessLog}


def runner(app: web.Application, settings: Settings, **kwargs: Any) -> GuardedRunner:
    """The runner `tsunagu serve` uses (and tests of the guards): both guards from the settings."""
    guard = ConnectionGuard(per_address=settings.connections_per_address, trusted=settings.trusted_proxies)
    return GuardedRunner(app, guard=guard, keepalive_timeout=settings.header_timeout_seconds, **RUNNER_OPTIONS,
                         **kwargs)


def fresh_database_refusal(settings: Settings) -> str | None:
    """Why `serve` must not start: a key file with data keys exists but the SQLite file it belongs
    with does not, so starting would silently create an empty database (desk accounts and cases
    gone). None when starting is fine; `--init` overrides."""
    url = settings.database_url
    if not url.startswith("sqlite") or ":memory:" in url or not settings.key_file.exists():
        return None
    from storage.urls import database_url, is_memory

    parsed = database_url(url)
    if is_memory(parsed) or Path(str(parsed.database)).exists():
        return None
    return (f"the key file {settings.key_file} exists but the database {parsed.database} does not: "
            "restore the database from a backup, or start with --init to create an empty one")


def run(app: web.Application, settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then close gracefully (as web.run_app does); also on
    TSUNAGU_METRICS_LISTEN when set (metrics and health details, no token needed there)."""

    async def main() -> None:
        served = runner(app, settings, handle_signals=True)
        await served.setup()
        try:
            await web.TCPSite(served, host, port).start()
            if settings.metrics_listen:
                metrics_host, _, metrics_port = settings.metrics_listen.rpartition(":")
                await web.TCPSite(served, metrics_host.strip("[]") or "127.0.0.1", int(metrics_port)).start()
            await asyncio.Event().wait()
        finally:
            await served.cleanup()

    with contextlib.suppress(web.GracefulExit, KeyboardInterrupt):
        asyncio.run(main())

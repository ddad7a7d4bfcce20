"""The web chat's limits: who may open a socket, how many, how many new chats, how fast.

The chat needs no account, so anyone can open sockets and start chats; these limits keep one
address (one machine, or one IPv6 /64) from taking the service away from everyone else:

- a browser's Origin must be the service's own (TSUNAGU_PUBLIC_URL, else the request's host) or
  one of the embedding sites (TSUNAGU_CHAT_ORIGINS); a client that sends no Origin is not a
  browser, so no visitor's browser is being used against us, and is let through;
- open sockets per address, and open sockets in total;
- new chats (new tokens) per address per hour;
- messages per socket per minute: the page is told to slow down, nothing is dropped silently.

Counters live in this process (several processes each count their own) and are cheap: nothing
here touches the database, so a flood is refused before it costs a query.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..settings import Settings

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
_MAX_TRACKED = 100_000  # addresses remembered for the hourly count; the oldest are forgotten


@dataclass(frozen=True)
class ChatLimits:
    origins: frozenset[str] = frozenset()  # allowed Origins besides the service's own
    public_origin: str | None = None  # scheme://host[:port] of TSUNAGU_PUBLIC_URL
    per_address: int = 20
    new_chats_per_hour: int = 30
    messages_per_minute: int = 20
    max_sockets: int = 5000


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, as browsers send it in Origin."""
    scheme, _, rest = url.strip().partition("://")
    host = rest.split("/", 1)[0]
    default = {"http": ":80", "https": ":443"}.get(scheme.lower())
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme.lower()}://{host.lower()}"


def parse_origins(text: str) -> frozenset[str]:
    return frozenset(origin_of(item) for item in text.replace(" ", ",").split(",") if item.strip())


def address_key(remote: str | None) -> str:
    """The unit a limit counts: an IPv4 address, or the /64 of an IPv6 one (one household's)."""
    if not remote:
        return "-"
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class Gate:
    """Open sockets per address and in total, and new chats per address per hour."""

    limits: ChatLimits
    _open: dict[str, int] = field(default_factory=dict)
    _total: int = 0
    _new: dict[str, deque[datetime]] = field(default_factory=dict)

    def origin_ok(self, origin: str | None, own: str) -> bool:
        if origin is None:
            return True
        allowed = {self.limits.public_origin or origin_of(own), *self.limits.origins}
        return origin_of(origin) in allowed

    def enter(self, key: str) -> str | None:
        """Count a socket in; the reason it is refused, or None."""
        if self._total >= self.limits.max_sockets:
            return "busy"
        if self._open.get(key, 0) >= self.limits.per_address:
            return "too-many-sockets"
        self._open[key] = self._open.get(key, 0) + 1
        self._total += 1
        return None

    def leave(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)
        self._total = max(0, self._total - 1)

    @property
    def total(self) -> int:
        return self._total

    def new_chat(self, key: str, now: datetime) -> bool:
        """Count a new chat from `key`; False once it has started its hourly allowance."""
        times = self._new.get(key)
        if times is None:
            if len(self._new) >= _MAX_TRACKED:
                self._forget(now)
            times = self._new[key] = deque()
        _trim(times, now - HOUR)
        if len(times) >= self.limits.new_chats_per_hour:
            return False
        times.append(now)
        return True

    def _forget(self, now: datetime) -> None:
        for key in [k for k, t in self._new.items() if not t or t[-1] <= now - HOUR]:
            del self._new[key]
        while len(self._new) >= _MAX_TRACKED:  # still full: forget the first-tracked
            del self._new[next(iter(self._new))]


@dataclass
class Pace:
    """Messages of one socket within the last minute."""

    per_minute: int
    _times: deque[datetime] = field(default_factory=deque)

    def allow(self, now: datetime) -> float | None:
        """None if one more message may go now; else seconds until it may."""
        _trim(self._times, now - MINUTE)
        if len(self._times) >= self.per_minute:
            return max(1.0, (self._times[0] + MINUTE - now).total_seconds())
        self._times.append(now)
        return None


def _trim(times: deque[datetime], before: datetime) -> None:
    while times and times[0] <= before:
        times.popleft()


def chat_limits(settings: Settings) -> ChatLimits:
    """The limits the settings ask for (TSUNAGU_CHAT_*, TSUNAGU_PUBLIC_URL)."""
    return ChatLimits(origins=parse_origins(settings.chat_origins),
                      public_origin=origin_of(settings.public_url) if settings.public_url else None,
                      per_address=settings.chat_sockets_per_address,
                      new_chats_per_hour=settings.chat_new_chats_per_hour,
                      messages_per_minute=settings.chat_messages_per_minute,
                      max_sockets=settings.chat_max_sockets)

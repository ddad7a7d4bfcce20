"""Behind a reverse proxy: believe X-Forwarded-For and X-Forwarded-Proto only from trusted proxies.

The proxy (nginx, Caddy, a load balancer) is the TCP peer of every request, so without this the
sign-in limits and the web chat's per-address limits would count everyone as one address, and
the desk would think it is served over http. aiohttp-remotes' XForwardedFiltered does the parsing
(the client is the right-most address in X-Forwarded-For that is not a trusted proxy, the scheme
comes with it); it trusts the headers from any peer, so this middleware hands it only requests
whose TCP peer is a trusted proxy. From any other peer the headers are ignored.

Only X-Forwarded-* is read (what nginx, Caddy and most load balancers send); RFC 7239 `Forwarded`
is not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_remotes import XForwardedFiltered

from .serving import is_trusted, trusted_networks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def peer_of(request: web.Request) -> str | None:
    """The TCP peer's address (not what any header says)."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return peer[0] if isinstance(peer, tuple) and peer else None


def forwarded_middleware(trusted: str) -> Middleware | None:
    """The middleware for TSUNAGU_TRUSTED_PROXIES, or None when no proxy is trusted."""
    nets = trusted_networks(trusted)
    if not nets:
        return None
    filtered = XForwardedFiltered({str(net) for net in nets})

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_trusted(peer_of(request), nets):
            return await filtered.middleware(request, handler)
        return await handler(request)

    return forwarded

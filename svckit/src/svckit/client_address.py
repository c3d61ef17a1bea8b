"""The caller's address: X-Forwarded-For read only from our proxies (FORWARDED_ALLOW_IPS), as
uvicorn's proxy-headers middleware reads it; `svckit.edge` applies it, so uvicorn's own layer
is off (`svckit.serve`)."""

from starlette.requests import Request
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import _TrustedHosts

# As uvicorn: any of these is taken as the scheme.
_SCHEMES = frozenset({"http", "https", "ws", "wss"})


class TrustedProxies:
    """The peers whose X-Forwarded-For and X-Forwarded-Proto we believe (`Forwarded` is never
    read): uvicorn's rule and its parser of the setting, so the meaning cannot drift."""

    def __init__(self, allow_ips: str | list[str]) -> None:
        self._trusted = _TrustedHosts(allow_ips)

    def rewrite(self, scope: Scope, forwarded_for: list[bytes], proto: bytes | None) -> None:
        """Make the scope's client and scheme the ones the proxy names, if the peer is ours."""
        client = scope.get("client")
        if client is None or client[0] not in self._trusted:
            return
        if proto is not None and (scheme := proto.decode("latin-1").strip()) in _SCHEMES:
            scope["scheme"] = scheme
        if forwarded_for:
            chain = b", ".join(forwarded_for).decode("latin-1")
            host, port = self._trusted.get_trusted_client_address(chain)
            if host:  # an empty header names nobody
                scope["client"] = (host, port)


def client_address(request: Request) -> str:
    """The peer's address, or the one X-Forwarded-For names when the peer is one of our
    proxies (FORWARDED_ALLOW_IPS): the edge resolved it before the request reached us."""
    return request.client.host if request.client else "unknown"

"""The caller's address as a handler reads it."""

from starlette.requests import Request


def client_address(request: Request) -> str:
    """The peer's address, or the one X-Forwarded-For names when the peer is one of our
    proxies (FORWARDED_ALLOW_IPS): uvicorn resolved it before the request reached us."""
    return request.client.host if request.client else "unknown"

"""Errors a person can act on: every failure leaves as the envelope, never as a stack trace.

A public message names what failed (a service, the database) and never an internal address,
URL or exception text; what an operator needs goes in `detail`, which is logged, not sent.
"""

import json
import logging
import os
import ssl
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from svckit.envelope import reply

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An expected failure: the status and message the caller sees, and a detail for the log."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.detail = detail


class DownstreamUnavailable(ServiceError):
    """A service we depend on refused the connection or answered garbage: 502.

    `reason` is public (it says what went wrong, in words a caller may read); `detail` is the
    operator's (where, which exception) and goes to the log only.
    """

    def __init__(self, service: str, reason: str = "", *, detail: str = "") -> None:
        message = f"{service} is unavailable" + (f": {reason}" if reason else "")
        super().__init__(502, message, detail=detail)


class DownstreamTimeout(ServiceError):
    """A service we depend on did not answer within its deadline: 504."""

    def __init__(self, service: str, seconds: float) -> None:
        super().__init__(504, f"{service} did not answer within {seconds:g} s")


class CannotConnect(DownstreamUnavailable):
    """502 `<service> is unavailable`: refused, unknown, or no connection within the connect
    deadline. Its `cause` and the address go to the log only."""

    def __init__(self, service: str, where: str, cause: str) -> None:
        super().__init__(service, detail=f"{cause} ({where})")
        self.cause = cause

    @classmethod
    def from_os_error(cls, service: str, where: str, exc: OSError) -> "CannotConnect":
        # errno's own words (asyncio's strerror repeats the address); a resolver's negative
        # numbers and TLS's codes are not errno's, so their own words stand.
        if exc.errno and exc.errno > 0 and not isinstance(exc, ssl.SSLError):
            cause = os.strerror(exc.errno)
        else:
            cause = exc.strerror or str(exc) or type(exc).__name__
        return cls(service, where, cause)


# The one rule for a connect that failed, for callers that are not classes' users.
cannot_connect = CannotConnect.from_os_error


class ConnectionLost(DownstreamUnavailable):
    """502: the connection broke before the answer was read whole; `cause` says how."""

    def __init__(self, service: str, where: str, exc: BaseException) -> None:
        super().__init__(service, "the connection was lost", detail=f"{exc!r} ({where})")
        self.cause = str(exc) or type(exc).__name__


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One sentence naming each bad field, e.g. `log.name: Input should be a valid string`."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        kind = err.get("type", "")
        if kind == "json_invalid":
            ctx = err.get("ctx") or {}
            return f"malformed JSON: {ctx.get('error', 'cannot parse the body')}"
        if kind in ("model_attributes_type", "dict_type") and not loc:
            return "the body must be a JSON object"
        if kind == "missing" and not loc:
            return "the body must be a JSON object"
        field = ".".join(loc) or "body"
        parts.append(f"{field}: {err.get('msg', 'is not valid')}")
    return "; ".join(parts) or "the request is not valid"


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.status >= 500:
        log.warning(
            "answered %d: %s%s", exc.status, exc.message, f" ({exc.detail})" if exc.detail else ""
        )
    return reply(exc.status, exc.message, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return reply(400, describe_validation_errors(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return reply(exc.status_code, message, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves on this path: Starlette names only the first route's,
    and `/ping` has two (GET in the schema, HEAD beside it)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(request.url.path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

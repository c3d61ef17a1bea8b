"""CORS for `svckit.edge`: Starlette's `CORSMiddleware` rules (the broker used it as a layer),
applied in the edge's one pass: a preflight answered there, the other answers given their
headers as they leave."""

from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Header = tuple[bytes, bytes]
_VARY = b"vary"
_ALLOW_ORIGIN = b"access-control-allow-origin"


async def _unused(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the edge serves the app; CORS only decides headers")


class Cors:
    """Exact origins only (no wildcard, no credentials, no origin pattern): the broker's."""

    def __init__(
        self,
        allow_origins: Collection[str],
        allow_methods: Collection[str],
        allow_headers: Collection[str],
        expose_headers: Collection[str],
        max_age: int,
    ) -> None:
        # Starlette's middleware for its preflight answer (rare: once per page and max_age).
        self._rules = CORSMiddleware(
            _unused,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
            max_age=max_age,
        )
        self._origins = frozenset(o.encode("latin-1") for o in allow_origins)
        self._simple = [
            (name.lower().encode(), value.encode("latin-1"))
            for name, value in self._rules.simple_headers.items()
        ]

    def preflight(self, scope: Scope) -> Response:
        """The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method)."""
        return self._rules.preflight_response(request_headers=Headers(scope=scope))

    def headers(self, origin: bytes | None) -> list[Header]:
        """What an answer to a request from `origin` (None: not a browser's) gains."""
        if origin is None:
            return [(_VARY, b"Origin")]
        if origin in self._origins:
            return [*self._simple, (_ALLOW_ORIGIN, origin), (_VARY, b"Origin")]
        return [*self._simple, (_VARY, b"Origin")]


def with_headers(headers: list[Header], extra: list[Header]) -> list[Header]:
    """`headers` and `extra`, a `Vary` of both merged into one (as Starlette's middleware)."""
    if not any(name == _VARY for name, _ in headers):
        return [*headers, *extra]
    varies = [value for name, value in headers if name == _VARY]
    kept = [h for h in headers if h[0] != _VARY]
    added = [h for h in extra if h[0] != _VARY]
    extra_vary = [value for name, value in extra if name == _VARY]
    return [*kept, (_VARY, b", ".join(varies + extra_vary)), *added]

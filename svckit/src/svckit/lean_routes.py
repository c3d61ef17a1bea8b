"""Lean routes: a hot route served without FastAPI's per-request machinery, to the same effect.

A route whose endpoint takes at most a JSON body model and the `Request`, and answers with a
`Response` of its own (the broker's `POST /`, `/handle`, `/log-*`, the logger's `POST /log` and
`POST /logs`, mail's `POST /send`), needs none of what FastAPI does per request beyond reading
and validating that body: no dependency to solve, no query to parse, no answer to serialize.
Walking the router (included routers are searched route by route), the request handler's exit
stack and its dependency solver cost more CPU than such a route's own work (`bench_cpu`).

`LeanRoutes` finds such a route by method and path in one dict and does that work itself, with
FastAPI's own pieces where they decide something a caller sees: the body field's `validate`
(the same model, the same errors with the same `loc`), the errors of an empty or malformed
body as FastAPI words them, and the app's exception handlers (the envelope). The route stays
FastAPI's for everything else: the OpenAPI schema, and any request another route would match.
"""

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, get_type_hints

from fastapi import params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from opentelemetry import trace
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from svckit import tracing

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
Handlers = dict[Any, Handler]


class LeanRoute:
    """One route's lean path: read the body, validate it, call the endpoint, answer."""

    __slots__ = ("_body", "_call", "_handlers", "_request_name", "route")

    def __init__(self, route: APIRoute, handlers: Handlers) -> None:
        self.route = route
        dependant = route.dependant
        self._call: Callable[..., Awaitable[Response]] = route.endpoint
        self._body = dependant.body_params[0] if dependant.body_params else None
        self._request_name = dependant.request_param_name
        self._handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # What the router would have set: the edge labels metrics and the access line by it.
        scope["route"] = self.route
        scope["endpoint"] = self.route.endpoint
        scope["path_params"] = {}
        _name_span(scope["method"], self.route.path)
        request = Request(scope, receive)
        try:
            arguments: dict[str, Any] = {}
            if self._body is not None:
                arguments[self._body.name] = await self._validated(request)
            if self._request_name is not None:
                arguments[self._request_name] = request
            response = await self._call(**arguments)
        except Exception as exc:
            handler = _handler_for(self._handlers, exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    async def _validated(self, request: Request) -> Any:
        """The body as FastAPI gives it to the endpoint, or RequestValidationError as FastAPI
        raises it (`fastapi.routing.get_request_handler`, `request_body_to_args`)."""
        assert self._body is not None
        loc = ("body",)
        try:
            raw = await request.body()
            # The standard library's parser, as FastAPI's: it takes lone surrogate escapes,
            # which `go_json` turns into U+FFFD as Go does (orjson refuses them).
            value = json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", exc.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": exc.msg},
                    }
                ],
                body=exc.doc,
            ) from None
        except HTTPException:
            raise  # the body limit's 413
        except Exception as exc:
            # Not UTF-8, nested past the parser's depth, the client gone: FastAPI's answer.
            raise HTTPException(400, "There was an error parsing the body") from exc
        if not raw:
            raise RequestValidationError(
                [{"type": "missing", "loc": loc, "msg": "Field required", "input": None}]
            )
        validated, errors = self._body.validate(value, {}, loc=loc)
        if errors:
            raise RequestValidationError(errors, body=value)
        return validated


def lean_route(route: BaseRoute, handlers: Handlers) -> LeanRoute | None:
    """`route`'s lean path, or None when FastAPI must serve it (it has dependencies, query,
    path, header or cookie parameters, a form or several body fields, is not a coroutine,
    or does not answer with a `Response` of its own)."""
    if not isinstance(route, APIRoute) or "{" in route.path:
        return None
    d = route.dependant
    if (
        d.dependencies
        or d.path_params
        or d.query_params
        or d.header_params
        or d.cookie_params
        or len(d.body_params) > 1
        or d.websocket_param_name
        or d.http_connection_param_name
        or d.response_param_name
        or d.background_tasks_param_name
        or d.security_scopes_param_name
        or not inspect.iscoroutinefunction(route.endpoint)
    ):
        return None
    if d.body_params:
        info = d.body_params[0].field_info
        if isinstance(info, params.Form) or getattr(info, "embed", None):
            return None
    answer = get_type_hints(route.endpoint).get("return")
    if not (inspect.isclass(answer) and issubclass(answer, Response)):
        return None
    return LeanRoute(route, handlers)


class LeanRoutes:
    """The app's layer (inside the edge) that serves lean routes by `(method, path)` and
    passes every other request on to FastAPI's."""

    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], LeanRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            lean = self.routes.get((scope["method"], scope["path"]))
            if lean is not None:
                await lean(scope, receive, send)
                return
        await self.app(scope, receive, send)


def add_lean_routes(
    found: dict[tuple[str, str], LeanRoute],
    earlier: list[BaseRoute],
    routes: list[BaseRoute],
    prefix: str,
    handlers: Handlers,
) -> None:
    """Each of `routes` (mounted at `prefix`) that can go lean, by method and path, unless a
    route of `earlier` (which the router tries first) or an earlier lean one takes it."""
    for i, route in enumerate(routes):
        lean = lean_route(route, handlers)
        if lean is None:
            continue
        path = prefix + lean.route.path
        before = [*earlier, *routes[:i]]
        for method in lean.route.methods or ():
            probe = {"type": "http", "method": method, "path": path, "root_path": ""}
            if (method, path) in found or any(r.matches(probe)[0] is Match.FULL for r in before):
                continue
            found[(method, path)] = lean


def _handler_for(handlers: Handlers, exc: Exception) -> Handler | None:
    """The app's handler for `exc`, by its class's MRO as Starlette looks it up."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


def _name_span(method: str, route: str) -> None:
    """Where spans are recorded, the server span's name and route, as FastAPI's own telemetry
    sets them when its router selects a route (otherwise there is no span to look up)."""
    if tracing.mode() is not tracing.Mode.SPANS:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("http.route", route)
        span.update_name(f"{method} {route}")

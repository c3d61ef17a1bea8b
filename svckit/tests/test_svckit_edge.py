"""The edge's folded-in layers do what the layers they replace did: CORS as Starlette's
middleware, X-Forwarded-For as uvicorn's, the body limit's guard, and the app's stack holding
nothing the edge already does."""

import itertools
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import Message, Scope
from svckit.app import create_app
from svckit.body_limit import BodyGuard, BodyTooLarge
from svckit.client_address import TrustedProxies
from svckit.cors import Cors
from svckit.edge import Edge
from svckit.lean_routes import LeanRoutes
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

PAGE = "http://page.test:8082"
CORS_OPTIONS = {
    "allow_origins": [PAGE],
    "allow_methods": ["GET", "POST", "OPTIONS"],
    "allow_headers": ["Content-Type", "traceparent"],
    "expose_headers": ["X-Trace-Id"],
    "max_age": 300,
}


def add_routes(app: FastAPI) -> FastAPI:
    @app.post("/hit")
    async def hit() -> JSONResponse:
        return JSONResponse({"error": False})

    @app.get("/varies")
    async def varies() -> PlainTextResponse:
        return PlainTextResponse(".", headers={"Vary": "Accept-Encoding"})

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-") or name == "vary"
    }


PREFLIGHT = {"Access-Control-Request-Method": "POST"}
REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("POST", "/hit", {}),
    ("POST", "/hit", {"Origin": PAGE}),
    ("GET", "/varies", {}),
    ("GET", "/varies", {"Origin": PAGE}),
    ("GET", "/varies", {"Origin": "http://other.test"}),
    ("OPTIONS", "/hit", {"Origin": PAGE, **PREFLIGHT}),
    ("OPTIONS", "/hit", {"Origin": "http://other.test", **PREFLIGHT}),
    ("OPTIONS", "/hit", {"Origin": PAGE, "Access-Control-Request-Method": "DELETE"}),
    ("OPTIONS", "/hit", {"Origin": PAGE, **PREFLIGHT, "Access-Control-Request-Headers": "X-No"}),
    (
        "OPTIONS",
        "/hit",
        {"Origin": PAGE, **PREFLIGHT, "Access-Control-Request-Headers": "content-type"},
    ),
]


@pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
async def test_cors_answers_as_starlettes_middleware(
    method: str, path: str, headers: dict[str, str]
) -> None:
    cors = Cors(**CORS_OPTIONS)  # type: ignore[arg-type]
    # As the broker: the page's origin may also send unsafe requests.
    ours = add_routes(create_app("edge-test", cors=cors, trusted_origins=[PAGE]))
    theirs = add_routes(FastAPI())
    theirs.add_middleware(CORSMiddleware, **CORS_OPTIONS)  # type: ignore[arg-type]
    async with client(ours) as a, client(theirs) as b:
        mine = await a.request(method, path, headers=headers)
        reference = await b.request(method, path, headers=headers)
    assert (mine.status_code, cors_headers(mine)) == (
        reference.status_code,
        cors_headers(reference),
    )
    if mine.status_code in (200, 400) and method == "OPTIONS":
        assert mine.text == reference.text


def scopes() -> Iterator[Scope]:
    peers = ["127.0.0.1", "10.0.0.9"]
    forwarded = [[], [b"203.0.113.7"], [b"203.0.113.7, 127.0.0.1"], [b"1.2.3.4", b"5.6.7.8"], [b""]]
    protos = [None, b"https", b"gopher"]
    for peer, chain, proto in itertools.product(peers, forwarded, protos):
        headers = [(b"x-forwarded-for", value) for value in chain]
        if proto is not None:
            headers.append((b"x-forwarded-proto", proto))
        yield {"type": "http", "client": (peer, 5555), "scheme": "http", "headers": headers}


@pytest.mark.parametrize("allow", ["127.0.0.1", "127.0.0.0/8,10.0.0.9", "*"])
async def test_forwarded_for_is_read_as_uvicorns_middleware_reads_it(allow: str) -> None:
    proxies = TrustedProxies(allow)
    seen: list[Scope] = []

    async def record(scope: Scope, receive: object, send: object) -> None:
        seen.append(scope)

    reference = ProxyHeadersMiddleware(record, trusted_hosts=allow)  # type: ignore[arg-type]
    for scope in scopes():
        ours = dict(scope)
        forwarded_for = [v for n, v in scope["headers"] if n == b"x-forwarded-for"]
        proto = next((v for n, v in scope["headers"] if n == b"x-forwarded-proto"), None)
        proxies.rewrite(ours, forwarded_for, proto)
        await reference(dict(scope), None, None)  # type: ignore[arg-type]
        theirs = seen.pop()
        assert (ours["client"], ours["scheme"]) == (theirs["client"], theirs["scheme"]), scope


def body(*chunks: bytes) -> list[Message]:
    last = len(chunks) - 1
    return [
        {"type": "http.request", "body": chunk, "more_body": i < last}
        for i, chunk in enumerate(chunks)
    ]


class Wire:
    """A request's messages as the server hands them out, and what was answered."""

    def __init__(self, messages: list[Message]) -> None:
        self.pending = list(messages)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return self.pending.pop(0) if self.pending else {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def test_a_chunked_body_over_the_limit_is_refused_mid_read_and_the_rest_drained() -> None:
    wire = Wire(body(b"x" * 6, b"x" * 6, b"x" * 6))
    guard = BodyGuard(wire.receive, max_body=10, declared=None)
    await guard.app_receive()
    with pytest.raises(BodyTooLarge):
        await guard.app_receive()
    await guard.refuse(wire.send)
    assert wire.pending == []  # read to the end, so the client sees the answer
    assert wire.sent[0]["status"] == 413


async def test_a_chunked_body_within_the_limit_reaches_the_app_unchanged() -> None:
    messages = body(b"12345", b"678")
    wire = Wire(messages)
    guard = BodyGuard(wire.receive, max_body=10, declared=None)
    assert [await guard.app_receive(), await guard.app_receive()] == messages
    assert (guard.seen, guard.done) == (8, True)


async def test_a_declared_length_is_not_counted_and_over_the_limit_is_refused_unread() -> None:
    within = BodyGuard(Wire([]).receive, max_body=10, declared=10)
    assert not within.too_large
    wire = Wire(body(b"x" * 20))
    guard = BodyGuard(wire.receive, max_body=10, declared=20)
    assert guard.app_receive == wire.receive  # no wrapper: the server enforces the length
    assert guard.too_large
    await guard.refuse(wire.send)
    assert wire.pending == []


async def test_a_client_waiting_for_100_continue_is_refused_without_reading() -> None:
    wire = Wire(body(b"x" * 20))
    guard = BodyGuard(wire.receive, max_body=10, declared=20)
    await guard.refuse(wire.send, client_waits=True)
    assert len(wire.pending) == 1
    assert wire.sent[0]["status"] == 413


async def test_an_answer_before_the_whole_refused_body_drains_it_first() -> None:
    wire = Wire(body(b"x" * 11, b"y", b"z"))
    guard = BodyGuard(wire.receive, max_body=10, declared=None)
    with pytest.raises(BodyTooLarge):
        await guard.app_receive()
    await guard.before_answer()
    assert wire.pending == []
    assert guard.done


def test_the_apps_stack_is_the_edge_lean_routes_the_exception_handlers_and_the_router() -> None:
    app = create_app("edge-test")
    stack, layers = app.build_middleware_stack(), []
    while stack is not app.router:
        layers.append(type(stack))
        stack = stack.app  # type: ignore[attr-defined]
    assert layers == [Edge, LeanRoutes, ExceptionMiddleware, AsyncExitStackMiddleware]


async def test_an_exception_handler_added_by_a_service_still_answers() -> None:
    app = create_app("edge-test")

    async def teapot(_: object, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": True, "message": str(exc)}, status_code=418)

    app.add_exception_handler(Exception, teapot)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("handled")

    async with client(app) as c:
        r = await c.get("/boom")
    assert (r.status_code, r.json()) == (418, {"error": True, "message": "handled"})

"""Lean routes answer every request exactly as FastAPI's own request handling would: each
request here goes to the same app twice, once with its lean routes and once with none."""

import logging
from typing import Annotated, Literal

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from svckit.app import App, create_app
from svckit.envelope import reply
from svckit.errors import ServiceError
from svckit.go_json import GoModel


class Entry(GoModel):
    name: Annotated[str, Field(max_length=8)]
    data: str
    level: Literal["info", "error"] = "info"


async def parts() -> str:
    return "parts"


def make_app() -> App:
    router = APIRouter()

    @router.post("/log")
    async def log(entry: Entry, request: Request) -> JSONResponse:
        if entry.name == "teapot":
            raise ServiceError(418, "short and stout", headers={"X-Pot": "1"})
        if entry.name == "boom":
            raise RuntimeError("secret internals")
        return reply(202, "logged", {"name": entry.name, "ip": request.client is not None})

    @router.post("/hit")
    async def hit() -> JSONResponse:
        return reply(200, "hit")

    @router.post("/with-dependency")
    async def with_dependency(entry: Entry, got: Annotated[str, Depends(parts)]) -> JSONResponse:
        return reply(200, got)

    @router.post("/with-query")
    async def with_query(entry: Entry, n: Annotated[int, Query()] = 1) -> JSONResponse:
        return reply(200, str(n))

    @router.post("/plain")
    async def plain(entry: Entry) -> dict[str, str]:
        return {"name": entry.name}

    app = create_app("lean-test")
    assert isinstance(app, App)
    app.include_router(router)
    return app


def test_only_routes_that_need_nothing_but_their_body_go_lean() -> None:
    app = make_app()
    assert set(app.lean_routes) == {("POST", "/log"), ("POST", "/hit")}


def test_a_route_the_router_would_match_first_keeps_its_requests() -> None:
    app = create_app("lean-test")

    @app.post("/log")
    async def first() -> JSONResponse:
        return reply(200, "first")

    router = APIRouter()

    @router.post("/log")
    async def second() -> JSONResponse:
        return reply(200, "second")

    app.include_router(router)
    assert isinstance(app, App)
    assert app.lean_routes == {}


BODIES = [
    b'{"name":"a","data":"b"}',
    b'{"Name":"a","DATA":"b","level":"error"}',  # Go's case-insensitive keys
    b'{"name":"\\ud800","data":"b"}',  # a lone surrogate: U+FFFD, as Go
    b"",
    b"null",
    b"[1,2]",
    b'"text"',
    b"{",
    b'{"name":"a"',
    b'{"name":1,"data":"b"}',
    b'{"name":"far too long","data":"b"}',
    b'{"data":"b"}',
    b'{"name":"a","data":"b","level":"debug"}',
    b'{"name":"teapot","data":"b"}',
    b'{"name":"boom","data":"b"}',
    b"\xff\xfe{",  # not UTF-8
    b"[" * 100_000,  # past the parser's depth
    b'{"name":"a","data":"' + b"x" * (1024 * 1024) + b'"}',  # over the body limit
]


async def _answers(lean: bool, path: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    app = make_app()
    if not lean:
        app.lean_routes.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.post(path, content=body, headers={"Content-Type": "text/plain"})
    headers = {k: v for k, v in answer.headers.items() if k not in ("x-trace-id",)}
    return answer.status_code, answer.content, headers


@pytest.mark.parametrize("body", BODIES, ids=lambda b: repr(b[:40]))
async def test_a_lean_route_answers_as_fastapi_does(body: bytes) -> None:
    assert await _answers(True, "/log", body) == await _answers(False, "/log", body)


async def test_a_route_without_a_body_answers_as_fastapi_does() -> None:
    lean = await _answers(True, "/hit", b"anything at all")
    assert lean == await _answers(False, "/hit", b"anything at all")
    assert lean[0] == 200


async def test_a_lean_route_is_counted_and_logged_under_its_route(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: FastAPI = make_app()
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.INFO, logger="access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answer = await http.post("/log", json={"name": "a", "data": "b"})
            refused = await http.post("/log", content=b"{")
    assert answer.status_code == 202
    assert answer.json() == {"error": False, "message": "logged", "data": {"name": "a", "ip": True}}
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("malformed JSON")
    lines = [r.getMessage() for r in caplog.records]
    # The route's template labels the line (and the metrics), as when the router matched it.
    assert [line.rsplit(" ", 2)[0] for line in lines] == ["POST /log 202", "POST /log 400"]

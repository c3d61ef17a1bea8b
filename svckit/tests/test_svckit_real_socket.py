"""Over a real socket: a too-large body reads the 413, not a reset; an unexpected error is one
500 envelope and one log line with its traceback, not two."""

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from devkit.net import free_port
from devkit.wait import await_for
from pydantic import BaseModel
from svckit.app import create_app


class Entry(BaseModel):
    data: str


@pytest.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    app = create_app("socket-test")

    @app.post("/log", status_code=202)
    async def log(entry: Entry) -> dict[str, int]:
        return {"size": len(entry.data)}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await await_for(started, 10, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.mark.parametrize("chunked", [False, True])
async def test_two_mib_body_gets_413_envelope(base_url: str, chunked: bool) -> None:
    body = b'{"data":"' + b"x" * (2 * 1024 * 1024) + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{base_url}/log",
            content=stream() if chunked else body,
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 413
    assert r.json() == {"error": True, "message": "request body is larger than 1048576 bytes"}


async def test_body_under_the_limit_is_served(base_url: str) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{base_url}/log", json={"data": "x" * 1000})
    assert (r.status_code, r.json()) == (202, {"size": 1000})


async def test_expect_100_continue_gets_413_without_sending_the_body(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /log HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")


async def test_an_unexpected_error_is_one_500_and_logged_once(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{base_url}/boom")
    assert (r.status_code, r.json()) == (500, {"error": True, "message": "internal error"})
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert [rec.name for rec in tracebacks] == ["svckit.edge"]
    assert "GET /boom" in tracebacks[0].getMessage()
    assert "secret internals" not in r.text

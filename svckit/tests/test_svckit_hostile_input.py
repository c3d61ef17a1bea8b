"""Hostile clients against a real uvicorn server on a real socket, configured as `serve.run`
configures every service: slow or huge headers, a trickled body and idle connections are cut
off without holding the door; another site's page cannot make its visitors' browsers do work
here; /metrics answers only the networks it is told to."""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

import httpx
import pytest
import uvicorn
from devkit.net import free_port
from devkit.wait import await_for
from fastapi import FastAPI
from pydantic import BaseModel
from svckit.app import create_app
from svckit.serve import config
from svckit.settings import ServiceSettings

PAGE = "http://page.example:8082"
# Short deadlines, so a test waits seconds, not the defaults' tens of seconds.
LIMITS: dict[str, Any] = {"header_timeout": 1.0, "body_timeout": 1.0, "keep_alive_timeout": 1}


class Entry(BaseModel):
    name: str


def make_app(settings: ServiceSettings, done: list[str]) -> FastAPI:
    app = create_app("hostile-test", settings=settings, trusted_origins=[PAGE])

    @app.post("/log", status_code=202)
    async def log(entry: Entry) -> dict[str, str]:
        done.append(entry.name)
        return {"name": entry.name}

    return app


Serve = Callable[..., AbstractAsyncContextManager[int]]


@pytest.fixture
def serve() -> Serve:
    """`async with serve(**settings) as port`: a real server whose app records in `done`."""

    @asynccontextmanager
    async def running(done: list[str] | None = None, **settings: Any) -> AsyncIterator[int]:
        port = free_port()
        service = ServiceSettings(host="127.0.0.1", port=port, **(LIMITS | settings))
        app = make_app(service, [] if done is None else done)
        server = uvicorn.Server(config(app, service, lifespan="off"))
        task = asyncio.create_task(server.serve())

        async def started() -> bool:
            return server.started

        await await_for(started, 10, what="uvicorn to start")
        try:
            yield port
        finally:
            server.should_exit = True
            await task

    return running


async def read_all(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """What the server sends until it closes the connection (a reset counts as closed)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except ConnectionError:
        return b""


# --- slow and big requests ---------------------------------------------------------------------


async def test_slowloris_does_not_hold_the_door_and_is_cut_off_at_the_header_timeout(
    serve: Serve,
) -> None:
    async with serve() as port:
        slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(200)]
        opened = time.monotonic()

        async def trickle(writer: asyncio.StreamWriter) -> None:
            # A header line that never ends, a byte at a time, for as long as the server listens.
            writer.write(b"POST /log HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            with suppress(ConnectionError):
                while not writer.is_closing():
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.2)

        tricklers = [asyncio.create_task(trickle(w)) for _, w in slow]
        try:
            await asyncio.sleep(0.3)  # every slow connection is mid-header now
            async with httpx.AsyncClient(timeout=5) as client:
                started = time.monotonic()
                r = await client.get(f"http://127.0.0.1:{port}/ping")
                answered_in = time.monotonic() - started
            assert (r.status_code, r.text) == (200, ".")
            assert answered_in < 1.0

            closed = await asyncio.gather(*(read_all(reader, 10) for reader, _ in slow))
            held = time.monotonic() - opened
            # Closed without an answer, though each was still sending, at the header deadline.
            assert closed == [b""] * len(slow)
            assert 0.9 <= held < 8
        finally:
            for task in tricklers:
                task.cancel()
            for _, writer in slow:
                writer.close()


async def test_headers_over_the_limit_get_431(serve: Serve) -> None:
    async with serve(max_header_bytes=64 * 1024) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: " + b"x" * 100_000 + b"\r\n\r\n")
        answer = await read_all(reader, 10)
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body) == {
        "error": True,
        "message": "request headers are larger than 65536 bytes",
    }


async def test_ten_megabytes_of_headers_are_refused_not_served(serve: Serve) -> None:
    async with serve() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: ")
        chunk = b"x" * 65536
        with suppress(ConnectionError):
            for _ in range(160):  # 10 MiB
                writer.write(chunk)
                await writer.drain()
            writer.write(b"\r\n\r\n")
            await writer.drain()
        answer = await read_all(reader, 10)
        writer.close()
    # Served, it would be `200 .`; refused, it is the 431 or, where the kernel reset the
    # connection under what was still arriving, nothing at all.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")


async def test_a_trickled_body_gets_408_at_the_body_timeout_and_nothing_is_done(
    serve: Serve,
) -> None:
    done: list[str] = []
    async with serve(done) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        writer.write(b"POST /log HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        answer = await read_all(reader, 10)
        took = time.monotonic() - started
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["message"] == "request body not received within 1 s"
    assert 0.9 <= took < 8
    assert done == []


async def test_a_body_trickled_a_byte_a_read_does_not_extend_its_deadline(serve: Serve) -> None:
    # Each read leaves the request incomplete: the deadline armed at the first runs on.
    done: list[str] = []
    async with serve(done) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        writer.write(b"POST /log HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")

        async def trickle() -> None:
            with suppress(ConnectionError):
                while not writer.is_closing():
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(0.2)

        trickler = asyncio.create_task(trickle())
        try:
            answer = await read_all(reader, 10)
        finally:
            trickler.cancel()
        took = time.monotonic() - started
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 0.9 <= took < 8
    assert done == []


async def test_a_kept_alive_connections_next_request_is_held_to_the_header_deadline(
    serve: Serve,
) -> None:
    async with serve() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # The first request arrives whole (no deadline needed), the second stops mid-header.
        writer.write(b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n."), 10)
        assert first.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        writer.write(b"GET /ping HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        rest = await read_all(reader, 10)
        held = time.monotonic() - started
        writer.close()
    assert rest == b""
    assert 0.9 <= held < 8


async def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    serve: Serve,
) -> None:
    async with serve() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert first.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        rest = await read_all(reader, 10)
        idle = time.monotonic() - started
        writer.close()
    assert rest == b"."  # the body, then the close
    assert 0.5 <= idle < 8


async def test_requests_beyond_the_concurrency_limit_get_503(serve: Serve) -> None:
    async with serve(limit_concurrency=5, header_timeout=30.0) as port:
        # Idle connections count: five of them fill the door.
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                r = await client.get(f"http://127.0.0.1:{port}/ping")
            assert r.status_code == 503
        finally:
            for _, writer in idle:
                writer.close()

        async def served() -> bool:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(f"http://127.0.0.1:{port}/ping")).status_code == 200

        await await_for(served, 10, what="the door to take requests again")


# --- cross-origin browser requests -------------------------------------------------------------


async def post(port: int, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"http://127.0.0.1:{port}/log",
            content=b'{"name":"n"}',
            headers={"Content-Type": "text/plain", **headers},
        )


async def test_a_cross_site_text_plain_post_is_403_and_nothing_is_done(serve: Serve) -> None:
    done: list[str] = []
    async with serve(done) as port:
        r = await post(port, {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.json() == {
        "error": True,
        "message": "cross-origin request refused: Sec-Fetch-Site is not same-origin",
    }
    assert done == []


async def test_an_old_browsers_foreign_origin_is_403(serve: Serve) -> None:
    done: list[str] = []
    async with serve(done) as port:
        r = await post(port, {"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.json()["message"] == "cross-origin request refused: Origin does not match Host"
    assert done == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="curl or a service: neither header"),
        pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": PAGE}, id="the trusted page"),
        pytest.param({"Sec-Fetch-Site": "same-site", "Origin": PAGE}, id="the page, same site"),
        pytest.param({"Origin": PAGE}, id="the trusted page, old browser"),
        pytest.param({"Sec-Fetch-Site": "same-origin"}, id="same origin"),
        pytest.param({"Sec-Fetch-Site": "none"}, id="typed by the user"),
        pytest.param({"Origin": "http://127.0.0.1:{port}"}, id="Origin matches Host"),
    ],
)
async def test_requests_that_are_not_another_sites_pass(
    serve: Serve, headers: dict[str, str]
) -> None:
    done: list[str] = []
    async with serve(done) as port:
        r = await post(port, {k: v.format(port=port) for k, v in headers.items()})
    assert (r.status_code, r.json()) == (202, {"name": "n"})
    assert done == ["n"]


async def test_safe_methods_pass_from_any_site(serve: Serve) -> None:
    async with serve() as port, httpx.AsyncClient(timeout=10) as client:
        r = await client.get(
            f"http://127.0.0.1:{port}/ping",
            headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        )
    assert r.status_code == 200


# --- /metrics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "client", "status"),
    [
        pytest.param(None, "127.0.0.1", 200, id="default: loopback"),
        pytest.param(None, "10.1.2.3", 200, id="default: a private network"),
        pytest.param(None, "203.0.113.7", 403, id="default: not the internet"),
        pytest.param("172.28.0.20", "172.28.0.20", 200, id="the one Prometheus"),
        pytest.param("172.28.0.20", "172.28.0.21", 403, id="anyone else"),
        pytest.param("*", "203.0.113.7", 200, id="anyone"),
        pytest.param("", "127.0.0.1", 404, id="off"),
    ],
)
async def test_metrics_answer_only_the_networks_allowed(
    allow: str | None, client: str, status: int
) -> None:
    settings = ServiceSettings() if allow is None else ServiceSettings(metrics_allow_ips=allow)
    app = make_app(settings, [])
    transport = httpx.ASGITransport(app=app, client=(client, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/metrics")
    assert r.status_code == status
    if status == 200:
        assert "http_server_requests_total" in r.text


def test_metrics_allow_ips_refuses_what_is_not_an_address() -> None:
    with pytest.raises(ValueError, match="metrics_allow_ips"):
        ServiceSettings(metrics_allow_ips="prometheus")


# --- trace sampling ----------------------------------------------------------------------------

SAMPLED_BY_CALLER = """
from opentelemetry import propagate, trace
from svckit.tracing import configure_tracing

configure_tracing("sampling-test")
for flags in ("00", "01"):
    carrier = {"traceparent": f"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"}
    context = propagate.extract(carrier)
    with trace.get_tracer("t").start_as_current_span("s", context=context) as span:
        assert format(span.get_span_context().trace_id, "032x").startswith("4bf92f35")
        print(int(span.is_recording()), end="")
"""


@pytest.mark.parametrize(
    ("sampler", "ratio", "recorded"),
    [
        # Our default: every request recorded, whatever the caller's flag says.
        pytest.param(None, None, "11", id="default: our own sampler"),
        pytest.param("parentbased_always_on", None, "01", id="parent-based: the caller's flag"),
        # By trace id alone: this trace is dropped at ratio 0, whatever the caller claims.
        pytest.param("traceidratio", "0", "00", id="ratio: the caller cannot force it"),
    ],
)
def test_the_callers_sampled_flag_counts_only_when_asked(
    sampler: str | None, ratio: str | None, recorded: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    # An exporter that is never reached: nothing is recorded before the spans end.
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    env["OTEL_BSP_SCHEDULE_DELAY"] = "600000"
    if sampler:
        env["OTEL_TRACES_SAMPLER"] = sampler
    if ratio:
        env["OTEL_TRACES_SAMPLER_ARG"] = ratio
    result = subprocess.run(
        [sys.executable, "-c", SAMPLED_BY_CALLER],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == recorded

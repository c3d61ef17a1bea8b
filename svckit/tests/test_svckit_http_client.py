"""The kit's HTTP client against a real HTTP server: the caller's trace goes along, an answer
is read up to the cap and no further, and each failure is named for what it was.

(The envelope mapping every caller sees is checked through the broker's use of it, in
broker-service/tests/test_broker_http_client.py.)"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from devkit.net import free_port, serving
from opentelemetry.sdk.trace import TracerProvider
from svckit.errors import CannotConnect, ConnectionLost
from svckit.http_client import Downstream, HttpClient

CAP = 1000


class Server:
    """Answers on cue and remembers the headers of the last request."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.url = ""

    async def echo(self, request: web.Request) -> web.Response:
        self.headers = dict(request.headers)
        return web.json_response({"error": False, "message": "ok"}, status=202)

    async def long(self, request: web.Request) -> web.StreamResponse:
        # Chunked, so the size is known only by reading.
        resp = web.StreamResponse(status=200)
        await resp.prepare(request)
        for _ in range(5):
            await resp.write(b"x" * 400)
        await resp.write_eof()
        return resp

    async def cut(self, request: web.Request) -> web.StreamResponse:
        # Promises 100 bytes, sends 10 and hangs up.
        resp = web.StreamResponse(status=200, headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b"0123456789")
        assert request.transport is not None
        request.transport.close()
        return resp

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["status"]), text=".")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    s = Server()
    app = web.Application()
    app.router.add_post("/echo", s.echo)
    app.router.add_get("/long", s.long)
    app.router.add_get("/cut", s.cut)
    app.router.add_get("/{status}/ping", s.status)
    async with serving(app, shutdown_timeout=0.1) as url:
        s.url = url
        yield s


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = HttpClient(4, answer_max=CAP)
    yield c
    await c.close()


async def test_a_call_carries_the_callers_trace_context(client: HttpClient, server: Server) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("caller") as span:
        reply = await Downstream(client, "echo", server.url, 2).send("POST", "/echo", json_body={})
    assert reply.status == 202
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert server.headers["traceparent"].split("-")[1] == trace_id


async def test_an_answer_over_the_cap_is_read_up_to_it_and_said_to_be_cut(
    client: HttpClient, server: Server
) -> None:
    reply = await Downstream(client, "long", server.url, 2).send("GET", "/long")
    assert (reply.status, reply.whole, reply.body) == (200, False, b"x" * CAP)


async def test_a_connection_dropped_mid_answer_is_lost_not_late(
    client: HttpClient, server: Server
) -> None:
    with pytest.raises(ConnectionLost) as err:
        await Downstream(client, "cutter", server.url, 2).send("GET", "/cut")
    assert (err.value.status, err.value.message) == (
        502,
        "cutter is unavailable: the connection was lost",
    )
    assert err.value.cause
    assert server.url not in err.value.message


async def test_nothing_listening_cannot_connect_and_says_why_to_the_log_only(
    client: HttpClient,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CannotConnect) as err:
        await Downstream(client, "nobody", url, 2).send("GET", "/")
    assert (err.value.status, err.value.message) == (502, "nobody is unavailable")
    assert err.value.cause == "Connection refused"
    assert err.value.detail == f"Connection refused ({url})"


@pytest.mark.parametrize(("status", "answers"), [(200, True), (500, False), (404, False)])
async def test_ping_answers_only_with_a_200(
    client: HttpClient, server: Server, status: int, answers: bool
) -> None:
    downstream = Downstream(client, "pinged", f"{server.url}/{status}", 2)
    assert await downstream.answers_ping(1.0) is answers


async def test_a_downstream_that_is_gone_does_not_answer_ping(client: HttpClient) -> None:
    downstream = Downstream(client, "gone", f"http://127.0.0.1:{free_port()}", 2)
    assert await asyncio.wait_for(downstream.answers_ping(1.0), 2) is False

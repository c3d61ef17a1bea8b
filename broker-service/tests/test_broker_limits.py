"""The one cap on a log entry at the gateway, the fate of an over-size entry that reaches
RabbitMQ some other way, and how much of a downstream's answer the broker reads."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from aiohttp import web
from broker_service.grpc_client import GrpcLogger
from broker_service.http_clients import Downstream, HttpPool
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.system import RabbitNames
from devkit.wait import await_for
from pymongo.collection import Collection
from svckit.amqp import REASON_HEADER
from svckit.errors import DownstreamUnavailable

Doc = dict[str, Any]
NAME_MAX, DATA_MAX = 256, 64 * 1024
ROUTES = ["/handle", "/log-http", "/log-rpc", "/log-grpc", "/log-rabbit"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("field", "size"), [("name", NAME_MAX + 1), ("data", DATA_MAX + 1)], ids=["name", "data"]
)
async def test_an_over_size_entry_is_400_naming_the_field_on_every_log_route(
    broker: httpx.AsyncClient,
    logs: Collection[Doc],
    probe: aio_pika.abc.AbstractQueue,
    route: str,
    field: str,
    size: int,
) -> None:
    marker = f"over-{uuid.uuid4().hex[:8]}"
    entry = {"name": marker, "data": marker, field: "x" * size}
    resp = await broker.post(route, json={"action": "log", "log": entry})
    limit = NAME_MAX if field == "name" else DATA_MAX
    assert resp.status_code == 400
    assert resp.json()["message"] == f"log.{field}: String should have at most {limit} characters"
    # Nothing was published: the next message on the exchange is the one sent after it.
    after = {"name": marker, "data": "after"}
    assert (await broker.post("/log-rabbit", json={"log": after})).status_code == 202
    message = await probe.get(timeout=5)
    await message.ack()
    assert json.loads(message.body) == after
    await await_for(
        lambda: asyncio.to_thread(logs.find_one, {"name": marker}), 10, what="the later entry"
    )
    assert (
        await asyncio.to_thread(
            logs.count_documents,
            {
                "data": {"$ne": "after"},
                "$or": [
                    {"name": marker},
                    {"data": marker},
                ],
            },
        )
        == 0
    )


async def test_an_entry_at_the_cap_goes_through_every_log_route(
    broker: httpx.AsyncClient, logs: Collection[Doc]
) -> None:
    name = f"cap-{uuid.uuid4().hex[:8]}"
    for route in ROUTES:
        entry = {"name": name, "data": "é" * (DATA_MAX - len(route)) + route}
        resp = await broker.post(route, json={"action": "log", "log": entry})
        assert resp.status_code == 202, (route, resp.text)

    async def all_stored() -> bool:
        return await asyncio.to_thread(logs.count_documents, {"name": name}) == len(ROUTES)

    await await_for(all_stored, 15, what="every route's entry")


async def test_an_over_size_entry_published_around_the_broker_is_dead_lettered(
    rabbit_url: str,
    rabbit_names: RabbitNames,
    logs: Collection[Doc],
    listener_proc: ServiceProcess,
) -> None:
    """The listener forwards it, the logger answers 400 naming `data`, the listener dead-letters
    it with that reason, and nothing is stored."""
    name, message_id = f"sneak-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    body = {"name": name, "data": "x" * (DATA_MAX + 1)}
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(rabbit_names.exchange, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(body).encode(),
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            "log.INFO",
        )
        dead = await channel.get_queue(rabbit_names.dead_queue, ensure=False)

        async def ours() -> aio_pika.abc.AbstractIncomingMessage | None:
            while (message := await dead.get(fail=False, timeout=5)) is not None:
                await message.ack()
                if message.message_id == message_id:
                    return message
            return None

        found = await await_for(ours, 30, interval=0.2, what="the dead letter")
    assert json.loads(found.body) == body
    reason = str(found.headers[REASON_HEADER])
    assert f"data: String should have at most {DATA_MAX} characters" in reason
    assert await asyncio.to_thread(logs.count_documents, {"name": name}) == 0


async def test_logs_through_the_broker_stop_within_the_logger_s_budget(
    broker: httpx.AsyncClient, logs: Collection[Doc]
) -> None:
    name = f"many-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC)
    await asyncio.to_thread(
        logs.insert_many,
        [
            {
                "name": name,
                "data": "x" * (32 * 1024),
                "created_at": start + timedelta(milliseconds=i),
                "updated_at": start + timedelta(milliseconds=i),
            }
            for i in range(500)
        ],
    )
    resp = await broker.get("/logs", params={"name": name, "limit": 500})
    assert resp.status_code == 200, resp.text[:200]
    assert len(resp.content) <= 1024 * 1024
    assert "more match" in resp.json()["message"]
    assert 20 < len(resp.json()["data"]) < 500


async def huge(_: web.Request) -> web.Response:
    return web.json_response({"error": False, "message": "big", "data": "x" * 10_000})


async def huge_streamed(request: web.Request) -> web.StreamResponse:
    # No Content-Length: the size shows only as the body is read.
    resp = web.StreamResponse()
    resp.content_type = "application/json"
    await resp.prepare(request)
    await resp.write(b'{"error":false,"message":"big","data":"')
    for _ in range(100):
        await resp.write(b"x" * 1000)
    await resp.write(b'"}')
    return resp


@pytest.fixture
async def big_server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/huge", huge)
    app.router.add_get("/streamed", huge_streamed)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("path", ["/huge", "/streamed"])
async def test_an_answer_over_the_cap_is_502_naming_the_service(big_server: str, path: str) -> None:
    pool = HttpPool(max_connections=4, answer_max=5000)
    await pool.start()
    try:
        downstream = Downstream(pool, "logger-service", big_server, 5)
        with pytest.raises(DownstreamUnavailable) as err:
            await downstream.get(path, {})
        assert (err.value.status, err.value.message) == (
            502,
            "logger-service is unavailable: its answer is over 5000 bytes",
        )
        # Under the cap the same answer is read whole.
        roomy = HttpPool(max_connections=4, answer_max=200_000)
        await roomy.start()
        try:
            answer = await Downstream(roomy, "logger-service", big_server, 5).get(path, {})
            assert answer.message == "big"
        finally:
            await roomy.close()
    finally:
        await pool.close()


async def test_a_grpc_answer_over_the_cap_is_502_naming_the_logger(
    logger_proc: ServiceProcess,
) -> None:
    # `LogResponse{result: "logged!"}` is 9 bytes: a cap of 4 refuses it.
    client = GrpcLogger(f"127.0.0.1:{logger_proc.env['GRPC_PORT']}", timeout=5, answer_max=4)
    client.start()
    try:
        with pytest.raises(DownstreamUnavailable) as err:
            await client.write_log("capped", "x")
        assert err.value.status == 502
        assert err.value.message.startswith("logger-grpc is unavailable: RESOURCE_EXHAUSTED")
    finally:
        await client.close()

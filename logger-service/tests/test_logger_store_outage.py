"""MongoDB away: every door fails fast with its own error, and all recover when it returns.

The logger reaches SecantusDB through a TCP proxy of ours that the test opens and cuts.
"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from devkit.grpc_health import health_status
from devkit.mongo import SecantusProcess
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import await_for
from grpc_health.v1 import health_pb2
from launcher.proxy import TcpProxy
from logs_proto import logs_pb2, logs_pb2_grpc
from pymongo.collection import Collection

DEADLINE = 4.0  # the logger's store deadline is 2 s; a few seconds at most, whatever the door
# What a cut store can be said to be (logger-service/README.md): the request that meets the
# pooled connection dropped sees it fail; once the driver's monitor has seen the server go, the
# next finds none within the deadline. Which comes first is a race, so either holds.
CUT = {
    f"the log store (MongoDB) is unavailable: {reason}"
    for reason in ("the connection failed", "no server reachable within 2 s")
}


@pytest.fixture(scope="module")
def proxy(secantus: SecantusProcess) -> Iterator[TcpProxy]:
    """Between the logger and the run's SecantusDB, not yet listening."""
    proxy = TcpProxy("127.0.0.1", secantus.port)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
async def logger_via_proxy(
    proxy: TcpProxy, mongo_database: str, logs_dir: Path
) -> AsyncIterator[ServiceProcess]:
    svc = ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true",
            "MONGO_DATABASE": mongo_database,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
            "HEALTH_INTERVAL": "0.2",
        },
        log_dir=logs_dir,
        name="logger-via-proxy",
    )
    # Not waiting for /ready: the store is away until a test opens the proxy.
    await asyncio.to_thread(svc.start, False)
    await asyncio.to_thread(svc.wait_ready, 60, "/ping")
    yield svc
    assert await asyncio.to_thread(svc.stop) in (0, -15), svc.output()


@pytest.fixture
async def http(logger_via_proxy: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=logger_via_proxy.url, timeout=10) as client:
        yield client


@pytest.fixture
async def channel(logger_via_proxy: ServiceProcess) -> AsyncIterator[grpc.aio.Channel]:
    target = f"127.0.0.1:{logger_via_proxy.env['GRPC_PORT']}"
    async with grpc.aio.insecure_channel(target) as ch:
        yield ch


async def rpc_call(svc: ServiceProcess, name: str) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(svc.env["RPC_PORT"]))
    try:
        request = {"method": "RPCServer.LogInfo", "params": [{"Name": name}], "id": 1}
        writer.write(json.dumps(request).encode())
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(reader.readline(), 10))
        return reply
    finally:
        writer.close()


async def health(channel: grpc.aio.Channel) -> int:
    return await health_status(channel, "logs.LogService")


async def grpc_write(channel: grpc.aio.Channel, name: str) -> str:
    stub = logs_pb2_grpc.LogServiceStub(channel)
    request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name=name, data="d"))
    response = await stub.WriteLog(request, timeout=10)
    result: str = response.result
    return result


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_starts_without_mongodb_then_serves_once_it_appears(
    proxy: TcpProxy, http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    assert (await http.get("/ping")).status_code == 200
    ready = await http.get("/ready")
    assert ready.status_code == 503
    assert "mongodb" in ready.json()["message"]

    name = unique("early")
    started = time.monotonic()
    answers = await asyncio.gather(
        *(http.post("/log", json={"name": name, "data": "d"}) for _ in range(8))
    )
    # Concurrent writes share the deadline; none waits behind another's.
    assert time.monotonic() - started < DEADLINE
    assert {r.status_code for r in answers} == {503}
    assert answers[0].json()["message"].startswith("the log store (MongoDB) is unavailable")

    proxy.open()

    async def ready_now() -> bool:
        return (await http.get("/ready")).status_code == 200

    await await_for(ready_now, 15, what="/ready once MongoDB answers")
    assert (await http.post("/log", json={"name": name, "data": "d"})).status_code == 202
    assert logs.count_documents({"name": name}) == 1


async def test_an_outage_fails_every_door_fast_and_each_recovers_by_itself(
    proxy: TcpProxy,
    logger_via_proxy: ServiceProcess,
    http: httpx.AsyncClient,
    channel: grpc.aio.Channel,
    logs: Collection[dict[str, Any]],
) -> None:
    proxy.cut()
    proxy.open()
    assert (await http.post("/log", json={"name": unique("warm"), "data": "d"})).status_code == 202
    await await_for(
        lambda: _is(health(channel), health_pb2.HealthCheckResponse.SERVING), 10, what="SERVING"
    )

    proxy.cut()

    # Each door says what is away, never where: the driver's text (with the address) is logged.
    where = f"127.0.0.1:{proxy.port}"
    started = time.monotonic()
    r = await http.post("/log", json={"name": unique("down"), "data": "d"})
    assert r.status_code == 503
    assert r.json()["message"] in CUT
    assert time.monotonic() - started < DEADLINE

    started = time.monotonic()
    batch = [{"name": unique("down"), "data": "d"}, {"name": 1, "data": "refused"}]
    r = await http.post("/logs", json=batch)
    assert r.status_code == 503
    assert r.json()["message"] in CUT
    assert time.monotonic() - started < DEADLINE

    started = time.monotonic()
    reply = await rpc_call(logger_via_proxy, unique("down"))
    assert reply["result"] is None
    assert reply["error"] in CUT
    assert time.monotonic() - started < DEADLINE

    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await grpc_write(channel, unique("down"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details() in CUT
    assert time.monotonic() - started < DEADLINE
    assert f"MongoDB: {where}" in logger_via_proxy.output()

    await await_for(
        lambda: _is(health(channel), health_pb2.HealthCheckResponse.NOT_SERVING),
        10,
        what="NOT_SERVING",
    )
    assert (await http.get("/ready")).status_code == 503

    proxy.open()
    name = unique("back")

    async def http_back() -> bool:
        return (await http.post("/log", json={"name": name, "data": "d"})).status_code == 202

    await await_for(http_back, 15, what="HTTP door back")
    assert (await rpc_call(logger_via_proxy, name))["error"] is None
    assert await grpc_write(channel, name) == "logged!"
    await await_for(
        lambda: _is(health(channel), health_pb2.HealthCheckResponse.SERVING), 10, what="SERVING"
    )
    assert logs.count_documents({"name": name}) == 3


async def _is(value: Any, expected: Any) -> bool:
    return bool(await value == expected)

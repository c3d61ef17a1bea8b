"""A broker in front of the original Go logger: gob on the RPC door, gRPC without health.

A second broker process shares the session's auth, mail, logger HTTP door and RabbitMQ, but
its `LOGGER_RPC_ADDR` is the Go net/rpc server (`LOGGER_RPC_CODEC=gob`) and its
`LOGGER_GRPC_ADDR` a gRPC server that registers only the LogService, as the original had.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from broker_fixtures import TIMEOUTS, GrpcStandIn
from devkit.golang import GoServer
from devkit.process import ServiceProcess
from devkit.system import RabbitNames
from devkit.wait import await_for, http_status


@pytest.fixture(scope="module")
async def original_broker(
    services: dict[str, ServiceProcess],
    go_logger: GoServer,
    grpc_without_health: GrpcStandIn,
    rabbit_url: str,
    rabbit_names: RabbitNames,
    logs_dir: Path,
) -> AsyncIterator[ServiceProcess]:
    broker = ServiceProcess(
        "broker_service",
        {
            "AUTH_URL": services["auth"].url,
            "MAIL_URL": services["mail"].url,
            "LOGGER_URL": services["logger"].url,
            "LOGGER_RPC_ADDR": go_logger.addr,
            "LOGGER_RPC_CODEC": "gob",
            "LOGGER_GRPC_ADDR": grpc_without_health.target,
            "RABBIT_URL": rabbit_url,
            "EXCHANGE": rabbit_names.exchange,
            **TIMEOUTS,
        },
        log_dir=logs_dir,
        name="broker-before-go-logger",
    ).start(wait=False)

    async def ready() -> bool:
        # Polled from the event loop: the gRPC stand-in answers the broker from this loop.
        assert broker.proc is not None
        assert broker.proc.poll() is None, broker.output()
        return await asyncio.to_thread(http_status, broker.url + "/ready") == 200

    try:
        await await_for(ready, 60, what="the broker in front of the Go logger ready")
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def client(original_broker: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=original_broker.url, timeout=15) as c:
        yield c


async def test_ready_in_front_of_the_original_logger(client: httpx.AsyncClient) -> None:
    resp = await client.get("/ready")
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["logger-rpc"] == "ok"
    assert resp.json()["data"]["logger-grpc"] == "ok"


async def test_the_log_action_reaches_the_go_logger_over_gob(
    client: httpx.AsyncClient, go_logger: GoServer
) -> None:
    resp = await client.post(
        "/handle", json={"action": "log", "log": {"name": "go-gob", "data": "é über gob"}}
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["message"] == "Processed payload via RPC:go-gob"
    go_logger.has_received({"name": "go-gob", "data": "é über gob"})


async def test_go_style_keys_and_pipelined_calls_all_arrive(
    client: httpx.AsyncClient, go_logger: GoServer
) -> None:
    bodies = [{"Action": "log", "Log": {"Name": f"go-pipe-{i}", "Data": str(i)}} for i in range(30)]
    replies = await asyncio.gather(*(client.post("/handle", json=b) for b in bodies))
    assert [r.status_code for r in replies] == [202] * 30
    assert [r.json()["message"] for r in replies] == [
        f"Processed payload via RPC:go-pipe-{i}" for i in range(30)
    ]
    go_logger.has_received(*({"name": f"go-pipe-{i}", "data": str(i)} for i in range(30)))


async def test_an_error_from_the_go_logger_is_502_with_its_message(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post("/log-rpc", json={"log": {"name": "go-fails", "data": "fail"}})
    assert resp.status_code == 502
    assert resp.json() == {"error": True, "message": "logger-rpc is unavailable: the insert failed"}
    again = await client.post("/log-rpc", json={"log": {"name": "go-after", "data": "ok"}})
    assert again.status_code == 202, again.text


async def test_log_grpc_reaches_a_server_without_health(
    client: httpx.AsyncClient, grpc_without_health: GrpcStandIn
) -> None:
    resp = await client.post("/log-grpc", json={"log": {"name": "no-health", "data": "grpc"}})
    assert resp.status_code == 202, resp.text
    assert ("no-health", "grpc") in grpc_without_health.service.received

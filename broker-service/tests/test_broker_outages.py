"""Each downstream stopped, frozen or cut in turn: the broker answers 502/504 within its deadline,
names the service, reports it on `/ready`, and recovers on its own once the service is back.

A stopped process refuses connections (502); a SIGSTOPped one accepts and never answers (504).
"""

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from broker_fixtures import internals_in
from devkit.process import ServiceProcess
from devkit.wait import await_for
from launcher.proxy import TcpProxy
from pymongo.collection import Collection

Doc = dict[str, Any]

pytestmark = pytest.mark.usefixtures("broker_ready")

AUTH = {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}}


def log_body(data: str) -> dict[str, Any]:
    return {"action": "log", "log": {"name": "outage", "data": data}}


def deadline(broker_proc: ServiceProcess, setting: str) -> float:
    return float(broker_proc.env[setting])


@contextmanager
def frozen(svc: ServiceProcess) -> Iterator[None]:
    """The process keeps its sockets (connections are accepted) but answers nothing."""
    assert svc.proc is not None
    os.kill(svc.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(svc.proc.pid, signal.SIGCONT)


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    resp: httpx.Response = await call
    return resp, time.monotonic() - started


async def ready_report(broker: httpx.AsyncClient) -> dict[str, str]:
    resp = await broker.get("/ready")
    assert internals_in(resp.text) == [], resp.text
    report: dict[str, str] = resp.json()["data"]
    return report


def public(resp: httpx.Response) -> httpx.Response:
    """`resp`, having checked it names no internal address (the edge gives none away)."""
    assert internals_in(resp.text) == [], resp.text
    return resp


async def until_accepted(broker: httpx.AsyncClient, route: str, body: dict[str, Any]) -> None:
    async def accepted() -> bool:
        return (await broker.post(route, json=body)).status_code == 202

    await await_for(accepted, 20, interval=0.2, what=f"{route} answering 202 again")


async def test_auth_stopped_is_502_naming_it_but_not_its_address_then_recovers(
    broker: httpx.AsyncClient, auth_proc: ServiceProcess, broker_proc: ServiceProcess
) -> None:
    auth_proc.stop()
    try:
        resp, took = await timed(broker.post("/handle", json=AUTH))
        assert public(resp).status_code == 502
        assert resp.json()["message"] == "authentication-service is unavailable"
        assert took < 1
        report = await ready_report(broker)
        assert report["authentication-service"] != "ok"
        assert report["logger-service"] == "ok"
    finally:
        auth_proc.start()
    # Auth answers /ping before its database pool is up, and says so (502) meanwhile.
    await until_accepted(broker, "/handle", AUTH)


async def test_auth_frozen_is_504_at_its_deadline(
    broker: httpx.AsyncClient, auth_proc: ServiceProcess, broker_proc: ServiceProcess
) -> None:
    limit = deadline(broker_proc, "AUTH_TIMEOUT")
    with frozen(auth_proc):
        resp, took = await timed(broker.post("/handle", json=AUTH))
    assert resp.status_code == 504
    assert resp.json()["message"] == f"authentication-service did not answer within {limit:g} s"
    assert limit - 0.1 < took < limit + 1.5
    await until_accepted(broker, "/handle", AUTH)


async def test_logger_frozen_is_504_on_every_door_within_the_deadline(
    broker: httpx.AsyncClient, logger_proc: ServiceProcess, broker_proc: ServiceProcess
) -> None:
    limit = deadline(broker_proc, "LOGGER_TIMEOUT")
    doors = {"/log-http": "logger-service", "/log-rpc": "logger-rpc", "/log-grpc": "logger-grpc"}
    with frozen(logger_proc):
        answers = await asyncio.gather(
            *(timed(broker.post(route, json=log_body("frozen"))) for route in doors)
        )
    for (resp, took), service in zip(answers, doors.values(), strict=True):
        assert resp.status_code == 504, resp.text
        assert resp.json()["message"] == f"{service} did not answer within {limit:g} s"
        assert limit - 0.1 < took < limit + 1.5
    for route in doors:
        await until_accepted(broker, route, log_body("thawed"))


async def test_logger_killed_is_502_on_every_door_then_each_recovers(
    broker: httpx.AsyncClient, logger_proc: ServiceProcess, logs: Collection[Doc]
) -> None:
    doors = {"/log-http": "logger-service", "/log-rpc": "logger-rpc", "/log-grpc": "logger-grpc"}
    logger_proc.kill()
    try:
        answers = await asyncio.gather(
            *(timed(broker.post(route, json=log_body("killed"))) for route in doors)
        )
        for (resp, took), service in zip(answers, doors.values(), strict=True):
            assert public(resp).status_code == 502, resp.text
            assert resp.json()["message"].startswith(f"{service} is unavailable")
            assert "127.0.0.1" not in resp.json()["message"]
            assert took < 1.5
        report = await ready_report(broker)
        assert {k: v != "ok" for k, v in report.items() if k.startswith("logger")} == {
            "logger-service": True,
            "logger-rpc": True,
            "logger-grpc": True,
        }
    finally:
        logger_proc.start()
    # The RPC pool redials and the gRPC channel reconnects by themselves.
    for route in doors:
        data = f"back {route} {uuid.uuid4()}"
        await until_accepted(broker, route, log_body(data))
        assert await asyncio.to_thread(logs.find_one, {"name": "outage", "data": data})


async def test_mail_stopped_is_502_then_recovers(
    broker: httpx.AsyncClient, mail_proc: ServiceProcess
) -> None:
    mail = {
        "action": "mail",
        "mail": {
            "from": "me@example.com",
            "to": "outage@there.com",
            "subject": "s",
            "message": "m",
        },
    }
    mail_proc.stop()
    try:
        resp, took = await timed(broker.post("/handle", json=mail))
        assert public(resp).status_code == 502
        assert resp.json()["message"] == "mail-service is unavailable"
        assert took < 1
    finally:
        mail_proc.start()
    await until_accepted(broker, "/handle", mail)


async def test_rabbitmq_cut_is_refused_quickly_then_publishing_resumes(
    broker: httpx.AsyncClient,
    rabbit_proxy: TcpProxy,
    broker_proc: ServiceProcess,
    logs: Collection[Doc],
) -> None:
    limit = deadline(broker_proc, "RABBIT_TIMEOUT")
    rabbit_proxy.cut()
    try:

        async def rabbit_down() -> bool:
            return (await ready_report(broker))["rabbitmq"] != "ok"

        await await_for(rabbit_down, 10, what="the broker to notice RabbitMQ is gone")
        resp, took = await timed(broker.post("/log-rabbit", json=log_body("cut")))
        assert public(resp).status_code == 502
        assert resp.json()["message"].startswith("rabbitmq is unavailable")
        assert took < limit
    finally:
        rabbit_proxy.open()
    data = f"after the cut {uuid.uuid4()}"
    await until_accepted(broker, "/log-rabbit", log_body(data))
    await await_for(
        lambda: asyncio.to_thread(logs.find_one, {"data": data}), 15, what="the entry stored"
    )


async def test_a_message_published_while_the_listener_is_down_is_stored_when_it_returns(
    broker: httpx.AsyncClient, listener_proc: ServiceProcess, logs: Collection[Doc]
) -> None:
    data = f"while the listener was away {uuid.uuid4()}"
    listener_proc.stop()
    try:
        resp = await broker.post("/log-rabbit", json=log_body(data))
        assert resp.status_code == 202, resp.text
    finally:
        listener_proc.start()
    await await_for(
        lambda: asyncio.to_thread(logs.find_one, {"data": data}), 20, what="the queued entry"
    )

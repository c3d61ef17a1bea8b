"""One click, one trace: each of the page's calls is one connected tree of spans across every
service it crosses, over HTTP, net/rpc (gob, the broker's default), gRPC and RabbitMQ.

Every service of the broker's world exports its spans by OTLP/HTTP to the session's receiver
(devkit.otlp, real OTLP protobuf); each test reads the trace id from the broker's answer.
"""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from devkit.otlp import OtlpReceiver, Trace
from devkit.process import ServiceProcess

BROKER, AUTH, LOGGER = "broker-service", "authentication-service", "logger-service"
LISTENER, MAIL = "listener-service", "mailer-service"


def log_body(data: str) -> dict[str, Any]:
    return {"action": "log", "log": {"name": "traced", "data": data}}


PATHS: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "auth": (
        "/handle",
        {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}},
        {BROKER, AUTH, LOGGER},
    ),
    "log action (net/rpc)": ("/handle", log_body("rpc action"), {BROKER, LOGGER}),
    "log-rpc": ("/log-rpc", log_body("rpc"), {BROKER, LOGGER}),
    "log-http": ("/log-http", log_body("http"), {BROKER, LOGGER}),
    "log-grpc": ("/log-grpc", log_body("grpc"), {BROKER, LOGGER}),
    "log-rabbit": ("/log-rabbit", log_body("rabbit"), {BROKER, LISTENER, LOGGER}),
    "mail": (
        "/handle",
        {
            "action": "mail",
            "mail": {
                "from": "me@example.com",
                "to": f"traced-{uuid.uuid4().hex[:8]}@there.com",
                "subject": "Test email",
                "message": "Hello world!",
            },
        },
        {BROKER, MAIL},
    ),
}


async def traced(
    broker: httpx.AsyncClient,
    receiver: OtlpReceiver,
    path: str,
    body: dict[str, Any],
    services: set[str],
    **headers: str,
) -> Trace:
    resp = await broker.post(path, json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    trace_id = resp.headers["x-trace-id"]
    return await asyncio.to_thread(receiver.wait_for_trace, trace_id, services)


@pytest.mark.parametrize("path", list(PATHS))
async def test_each_call_is_one_connected_trace_across_every_hop(
    broker: httpx.AsyncClient, otlp_receiver: OtlpReceiver, broker_proc: ServiceProcess, path: str
) -> None:
    route, body, services = PATHS[path]
    trace = await traced(broker, otlp_receiver, route, body, services)
    assert trace.services == services, trace.spans
    # One root (the broker's server span); every other span's parent is in the trace.
    [root] = trace.roots()
    assert (root.service, root.name) == (BROKER, f"POST {route}")
    # The stores are traced too, where the instrumentation packages reach them.
    if LOGGER in services:
        assert any(s.attributes.get("db.system") == "mongodb" for s in trace.spans), trace.spans
    if AUTH in services:
        assert any(s.attributes.get("db.system") == "postgresql" for s in trace.spans)
    if MAIL in services:
        assert "smtp send" in trace.named(MAIL)


async def test_the_rpc_hop_carries_the_conventions_attributes(
    broker: httpx.AsyncClient, otlp_receiver: OtlpReceiver
) -> None:
    route, body, services = PATHS["log-rpc"]
    trace = await traced(broker, otlp_receiver, route, body, services)
    client = [s for s in trace.spans if s.service == BROKER and s.name == "RPCServer/LogInfo"]
    server = [s for s in trace.spans if s.service == LOGGER and s.name == "RPCServer/LogInfo"]
    assert len(client) == len(server) == 1
    assert server[0].parent_id == client[0].span_id
    assert client[0].attributes["rpc.system"] == server[0].attributes["rpc.system"]
    assert server[0].attributes["rpc.method"] == "LogInfo"


async def test_an_incoming_traceparent_is_continued(
    broker: httpx.AsyncClient, otlp_receiver: OtlpReceiver
) -> None:
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    route, body, services = PATHS["log-http"]
    trace = await traced(
        broker, otlp_receiver, route, body, services, traceparent=f"00-{trace_id}-{parent}-01"
    )
    assert {s.trace_id for s in trace.spans} == {trace_id}
    [root] = trace.roots()
    assert root.parent_id == parent

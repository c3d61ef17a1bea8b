"""The broker's JSON-RPC calls carry the trace context as extra top-level members
(`traceparent`, `tracestate`); Go's own net/rpc/jsonrpc server ignores them and answers.

A broker with `LOGGER_RPC_CODEC=jsonrpc` in front of the Go logger serving that codec, its
spans exported to the session's receiver, so each call does carry a context.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from broker_fixtures import TIMEOUTS
from devkit.golang import GoServer
from devkit.otlp import OtlpReceiver, tracing_env
from devkit.process import ServiceProcess


@pytest.fixture(scope="module")
def jsonrpc_broker(
    services: dict[str, ServiceProcess],
    go_jsonrpc_logger: GoServer,
    otlp_receiver: OtlpReceiver,
    logs_dir: Path,
) -> Iterator[ServiceProcess]:
    broker = ServiceProcess(
        "broker_service",
        {
            **tracing_env(otlp_receiver),
            "AUTH_URL": services["auth"].url,
            "MAIL_URL": services["mail"].url,
            "LOGGER_URL": services["logger"].url,
            "LOGGER_RPC_ADDR": go_jsonrpc_logger.addr,
            "LOGGER_RPC_CODEC": "jsonrpc",
            **TIMEOUTS,
        },
        log_dir=logs_dir,
        name="broker-before-go-jsonrpc",
        # Its gRPC door and RabbitMQ are not this module's business: alive is enough.
        ready_path="/ping",
    ).start()
    yield broker
    broker.stop()


async def test_go_jsonrpc_answers_calls_that_carry_trace_members(
    jsonrpc_broker: ServiceProcess, go_jsonrpc_logger: GoServer, otlp_receiver: OtlpReceiver
) -> None:
    async with httpx.AsyncClient(base_url=jsonrpc_broker.url, timeout=15) as client:
        resp = await client.post(
            "/handle", json={"action": "log", "log": {"name": "go-json", "data": "traced"}}
        )
    assert resp.status_code == 202, resp.text
    assert resp.json()["message"] == "Processed payload via RPC:go-json"
    go_jsonrpc_logger.has_received({"name": "go-json", "data": "traced"})
    # The call was traced (so its request carried the context), and Go answered it all the same.
    trace = otlp_receiver.wait_for_trace(resp.headers["x-trace-id"], {"broker-service"})
    [rpc] = [s for s in trace.spans if s.name == "RPCServer/LogInfo"]
    assert rpc.attributes["rpc.system"] == "jsonrpc"

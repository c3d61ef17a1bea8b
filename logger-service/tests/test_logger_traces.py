"""Each door continues the caller's trace: HTTP from its headers, both net/rpc codecs from the
request (members or header fields), gRPC from its metadata; the store's writes are spans under
it. This logger exports by OTLP over gRPC (the other services' tests use OTLP/HTTP)."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from devkit.net import free_port
from devkit.otlp import OtlpReceiver, Trace, tracing_env
from devkit.process import ServiceProcess
from logs_proto import logs_pb2, logs_pb2_grpc
from svckit.contract import LOG_INFO, RPC_PAYLOAD
from svckit.netrpc import Codec, Reply, client_codec


@pytest.fixture(scope="module")
def traced_logger(
    secantus_url: str, mongo_database: str, otlp_receiver: OtlpReceiver, logs_dir: Path
) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        "logger_service",
        {
            **tracing_env(otlp_receiver, "grpc"),
            "MONGO_URL": secantus_url,
            "MONGO_DATABASE": mongo_database,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
        },
        log_dir=logs_dir,
        name="logger-traced",
    ).start()
    yield svc
    svc.stop()


def caller() -> tuple[str, str, str]:
    """A trace of the test's own: its id, the caller's span id and the `traceparent`."""
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def continued(receiver: OtlpReceiver, trace_id: str, parent: str, server: str) -> Trace:
    trace = receiver.wait_for_trace(trace_id, {"logger-service"})
    [root] = trace.roots()
    assert (root.name, root.parent_id) == (server, parent), trace.spans
    writes = [s for s in trace.spans if s.attributes.get("db.system") == "mongodb"]
    assert writes, trace.spans
    assert all(w.parent_id == root.span_id for w in writes)
    return trace


async def test_the_http_door_continues_the_trace(
    traced_logger: ServiceProcess, otlp_receiver: OtlpReceiver
) -> None:
    trace_id, parent, traceparent = caller()
    async with httpx.AsyncClient(base_url=traced_logger.url) as client:
        resp = await client.post(
            "/log", json={"name": "traced", "data": "http"}, headers={"traceparent": traceparent}
        )
    assert resp.status_code == 202
    await asyncio.to_thread(continued, otlp_receiver, trace_id, parent, "POST /log")


@pytest.mark.parametrize("codec", ["jsonrpc", "gob"])
async def test_both_net_rpc_codecs_continue_the_trace(
    traced_logger: ServiceProcess, otlp_receiver: OtlpReceiver, codec: Codec
) -> None:
    trace_id, parent, traceparent = caller()
    client = client_codec(codec)
    reader, writer = await asyncio.open_connection("127.0.0.1", int(traced_logger.env["RPC_PORT"]))
    try:
        arg = {"Name": "traced", "Data": codec}
        writer.write(client.request(0, LOG_INFO, RPC_PAYLOAD, arg, {"traceparent": traceparent}))
        replies: list[Reply] = []
        while not replies:
            replies = list(client.feed(await asyncio.wait_for(reader.read(65536), 10)))
    finally:
        writer.close()
    assert (replies[0].error, replies[0].result) == (None, "Processed payload via RPC:traced")
    trace = await asyncio.to_thread(continued, otlp_receiver, trace_id, parent, "RPCServer/LogInfo")
    [server] = trace.roots()
    expected = "jsonrpc" if codec == "jsonrpc" else "go_net_rpc"
    assert server.attributes["rpc.system"] == expected


async def test_the_grpc_door_continues_the_trace(
    traced_logger: ServiceProcess, otlp_receiver: OtlpReceiver
) -> None:
    trace_id, parent, traceparent = caller()
    target = f"127.0.0.1:{traced_logger.env['GRPC_PORT']}"
    async with grpc.aio.insecure_channel(target) as channel:
        stub = logs_pb2_grpc.LogServiceStub(channel)
        request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name="traced", data="grpc"))
        reply = await stub.WriteLog(request, timeout=10, metadata=[("traceparent", traceparent)])
    assert reply.result == "logged!"
    await asyncio.to_thread(continued, otlp_receiver, trace_id, parent, "/logs.LogService/WriteLog")


async def test_each_entry_of_a_batch_is_a_span_in_its_own_trace(
    traced_logger: ServiceProcess, otlp_receiver: OtlpReceiver
) -> None:
    callers = [caller() for _ in range(3)]
    batch = [
        {"name": "traced", "data": "batch 0", "traceparent": callers[0][2]},
        {"name": "traced", "data": "batch 1", "traceparent": callers[1][2]},
        {"name": 1, "data": "refused", "traceparent": callers[2][2]},
    ]
    async with httpx.AsyncClient(base_url=traced_logger.url) as client:
        resp = await client.post("/logs", json=batch)
    assert resp.status_code == 200, resp.text
    for (trace_id, parent, _), outcome in zip(
        callers, ["stored", "stored", "refused"], strict=True
    ):
        trace = await asyncio.to_thread(otlp_receiver.wait_for_trace, trace_id, {"logger-service"})
        [entry] = trace.named("logger-service")
        assert entry == "log entry"
        [span] = trace.spans
        assert (span.parent_id, span.attributes["logger.outcome"]) == (parent, outcome)

"""Without spans to record, the gRPC door's own interceptor runs each call in its caller's trace:
the ids its log lines carry come from the call's `traceparent` metadata."""

import re
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from logger_service.grpc_server import TraceIds
from svckit.tracing import current_ids

METHOD = "/test.Ids/Current"


async def current(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    trace_id, span_id = current_ids()
    return f"{trace_id} {span_id}".encode()


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server(interceptors=[TraceIds()])
    handler: Any = grpc.unary_unary_rpc_method_handler(current)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("test.Ids", {"Current": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            yield ch
    finally:
        await server.stop(None)


async def ids(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> list[str]:
    call: Any = channel.unary_unary(METHOD)  # no serializers: bytes either way
    answer: bytes = await call(b"", metadata=metadata)
    return answer.decode().split()


async def test_a_call_runs_in_its_callers_trace_under_a_span_id_of_its_own(
    channel: grpc.aio.Channel,
) -> None:
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    traceparent = f"00-{caller_trace}-{caller_span}-01"
    first = await ids(channel, (("traceparent", traceparent),))
    second = await ids(channel, (("traceparent", traceparent),))
    assert first[0] == second[0] == caller_trace
    assert len({first[1], second[1], caller_span}) == 3


async def test_a_call_without_a_trace_starts_one(channel: grpc.aio.Channel) -> None:
    trace_id, _ = await ids(channel, ())
    assert re.fullmatch("[0-9a-f]{32}", trace_id)
    assert (await ids(channel, ()))[0] != trace_id

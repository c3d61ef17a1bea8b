"""The gRPC door: WriteLog, bad requests, the health service and reflection, over a real channel."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
from devkit.grpc_health import health_status
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from logs_proto import logs_pb2, logs_pb2_grpc
from pymongo.collection import Collection


@pytest.fixture
async def channel(grpc_target: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(grpc_target) as ch:
        yield ch


async def test_write_log_answers_logged_and_stores_both_dates(
    channel: grpc.aio.Channel, logs: Collection[dict[str, Any]]
) -> None:
    name = f"grpc-{uuid.uuid4().hex[:8]}"
    stub = logs_pb2_grpc.LogServiceStub(channel)
    request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name=name, data="over gRPC"))
    response = await stub.WriteLog(request, timeout=5)
    assert response.result == "logged!"
    doc = logs.find_one({"name": name})
    assert doc is not None
    assert doc["data"] == "over gRPC"
    assert doc["created_at"] == doc["updated_at"]
    assert doc["created_at"].utcoffset() == timedelta(0)


async def test_a_request_without_log_entry_is_invalid_argument(
    channel: grpc.aio.Channel,
) -> None:
    stub = logs_pb2_grpc.LogServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.WriteLog(logs_pb2.LogRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "logEntry" in (caught.value.details() or "")


async def test_bytes_that_are_not_a_log_request_are_refused_and_the_door_serves_on(
    channel: grpc.aio.Channel,
) -> None:
    call = channel.unary_unary(
        "/logs.LogService/WriteLog",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(b"\xff\xff\xff", timeout=5)
    # grpc.aio answers a request it cannot deserialize with UNKNOWN, naming the parse error.
    assert caught.value.code() == grpc.StatusCode.UNKNOWN
    assert "LogRequest" in (caught.value.details() or "")
    stub = logs_pb2_grpc.LogServiceStub(channel)
    request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name="after-garbage"))
    assert (await stub.WriteLog(request, timeout=5)).result == "logged!"


@pytest.mark.parametrize("service", ["", "logs.LogService"])
async def test_health_is_serving_while_mongodb_answers(
    channel: grpc.aio.Channel, service: str
) -> None:
    assert await health_status(channel, service) == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_log_service(channel: grpc.aio.Channel) -> None:
    # On the channel itself: typeshed's ServerReflectionStub takes only a blocking channel.
    info = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for reply in info(iter([request]), timeout=5):
        names = {s.name for s in reply.list_services_response.service}
        break
    assert {"logs.LogService", "grpc.health.v1.Health"} <= names

"""What one entry may be, on every door alike, and what one `GET /logs` answers: a real logger
process on SecantusDB, at the default caps (LOG_NAME_MAX 256, LOG_DATA_MAX 65536 characters,
LOGS_ANSWER_MAX 1 MiB)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import orjson
import pytest
from devkit.process import ServiceProcess
from grpc_reflection.v1alpha import reflection_pb2
from logger_service.grpc_server import GrpcServer
from logger_service.settings import LoggerSettings
from logger_service.store import LogStore
from logs_proto import logs_pb2, logs_pb2_grpc
from pydantic import ValidationError
from pymongo.collection import Collection
from svckit.contract import LOG_INFO, RPC_PAYLOAD
from svckit.netrpc import Codec, Reply, client_codec

NAME_MAX, DATA_MAX = 256, 64 * 1024
ANSWER_MAX = 1024 * 1024
DATA_REFUSED = f"String should have at most {DATA_MAX} characters"
NAME_REFUSED = f"String should have at most {NAME_MAX} characters"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def http(logger: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=logger.url, timeout=30) as client:
        yield client


async def test_post_log_takes_an_entry_at_the_caps_counted_in_characters(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    # Two bytes a character in UTF-8: the cap counts characters, not bytes.
    name, data = unique("é" * (NAME_MAX - 20)), "é" * DATA_MAX
    assert len(name) == NAME_MAX - 20 + 9
    r = await http.post("/log", json={"name": name, "data": data})
    assert r.status_code == 202, r.text
    assert len(logs.find_one({"name": name})["data"]) == DATA_MAX  # type: ignore[index]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("name", "n" * (NAME_MAX + 1), NAME_REFUSED), ("data", "d" * (DATA_MAX + 1), DATA_REFUSED)],
)
async def test_post_log_refuses_an_over_size_field_with_400_naming_it(
    http: httpx.AsyncClient,
    logs: Collection[dict[str, Any]],
    field: str,
    value: str,
    message: str,
) -> None:
    marker = unique("over")
    body = {"name": marker, "data": marker, field: value}
    r = await http.post("/log", json=body)
    assert (r.status_code, r.json()["message"]) == (400, f"{field}: {message}")
    assert logs.count_documents({"$or": [{"name": marker}, {"data": marker}]}) == 0


async def test_post_logs_refuses_only_the_over_size_entry(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name = unique("batch")
    entries = [
        {"name": name, "data": "fine"},
        {"name": name, "data": "d" * (DATA_MAX + 1)},
        {"name": "n" * (NAME_MAX + 1), "data": name},
    ]
    r = await http.post("/logs", json=entries)
    assert r.status_code == 200, r.text
    assert [(o["outcome"], o["status"], o["message"]) for o in r.json()["data"]] == [
        ("stored", 202, "logged"),
        ("refused", 400, f"data: {DATA_REFUSED}"),
        ("refused", 400, f"name: {NAME_REFUSED}"),
    ]
    assert [d["data"] for d in logs.find({"name": name})] == ["fine"]


async def rpc_call(port: int, codec: Codec, name: str, data: str, after: str) -> Reply:
    """One `RPCServer.LogInfo` call in `codec` on a connection of its own; then, on the same
    connection, a small call named `after` must still be answered (a refusal keeps the
    connection)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peer = client_codec(codec)
    try:
        writer.write(peer.request(0, LOG_INFO, RPC_PAYLOAD, {"Name": name, "Data": data}, {}))
        writer.write(peer.request(1, LOG_INFO, RPC_PAYLOAD, {"Name": after, "Data": "ok"}, {}))
        await writer.drain()
        replies: dict[Any, Reply] = {}
        async with asyncio.timeout(10):
            while len(replies) < 2:
                chunk = await reader.read(65536)
                assert chunk, "the logger closed the connection"
                replies.update((reply.seq, reply) for reply in peer.feed(chunk))
        assert replies[1].error is None
        return replies[0]
    finally:
        writer.close()


@pytest.mark.parametrize("codec", ["gob", "jsonrpc"])
async def test_rpc_refuses_an_over_size_entry_with_an_error_reply_naming_the_field(
    rpc_port: int, logs: Collection[dict[str, Any]], codec: Codec
) -> None:
    name = unique(f"rpc-{codec}")
    reply = await rpc_call(rpc_port, codec, name, "d" * (DATA_MAX + 1), name)
    assert (reply.result, reply.error) == (None, f"Data: {DATA_REFUSED}")
    reply = await rpc_call(rpc_port, codec, "n" * (NAME_MAX + 1), name, name)
    assert (reply.result, reply.error) == (None, f"Name: {NAME_REFUSED}")
    # Only the small calls that followed each refusal were stored.
    assert [d["data"] for d in logs.find({"name": name})] == ["ok", "ok"]
    reply = await rpc_call(rpc_port, codec, name, "é" * DATA_MAX, name)
    assert reply.error is None
    assert logs.count_documents({"name": name, "data": "é" * DATA_MAX}) == 1


@pytest.fixture
async def channel(grpc_target: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(grpc_target) as ch:
        yield ch


async def test_grpc_refuses_an_over_size_entry_with_invalid_argument_naming_the_field(
    channel: grpc.aio.Channel, logs: Collection[dict[str, Any]]
) -> None:
    stub = logs_pb2_grpc.LogServiceStub(channel)
    name = unique("grpc")
    for entry, message in [
        (logs_pb2.Log(name=name, data="d" * (DATA_MAX + 1)), f"logEntry.data: {DATA_REFUSED}"),
        (logs_pb2.Log(name="n" * (NAME_MAX + 1), data=name), f"logEntry.name: {NAME_REFUSED}"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.WriteLog(logs_pb2.LogRequest(logEntry=entry), timeout=5)
        assert (caught.value.code(), caught.value.details()) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            message,
        )
    at_cap = logs_pb2.Log(name=name, data="😀" * DATA_MAX)  # four bytes a character
    assert (await stub.WriteLog(logs_pb2.LogRequest(logEntry=at_cap), timeout=5)).result
    assert logs.count_documents({"name": name}) == 1


async def test_grpc_refuses_a_message_bigger_than_any_entry_unread(
    channel: grpc.aio.Channel,
) -> None:
    stub = logs_pb2_grpc.LogServiceStub(channel)
    huge = logs_pb2.Log(name="huge", data="d" * (2 * 1024 * 1024))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.WriteLog(logs_pb2.LogRequest(logEntry=huge), timeout=5)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The door serves on.
    small = logs_pb2.Log(name="after-huge", data="x")
    assert (await stub.WriteLog(logs_pb2.LogRequest(logEntry=small), timeout=5)).result


async def test_get_logs_of_500_large_entries_stops_within_the_byte_budget(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name = unique("large")
    start = datetime.now(UTC)
    logs.insert_many(
        {
            "name": name,
            "data": f"{i:04d}" + "x" * (32 * 1024),
            "created_at": start + timedelta(milliseconds=i),
            "updated_at": start + timedelta(milliseconds=i),
        }
        for i in range(500)
    )
    r = await http.get("/logs", params={"name": name, "limit": 500})
    assert r.status_code == 200
    assert len(r.content) <= ANSWER_MAX
    body = orjson.loads(r.content)
    entries = body["data"]
    # All it could hold: one more would not have fitted.
    assert len(r.content) + len(orjson.dumps(entries[0])) + 1 > ANSWER_MAX - 512
    assert 20 < len(entries) < 500
    assert [e["data"][:4] for e in entries] == [
        f"{i:04d}" for i in range(499, 499 - len(entries), -1)
    ]
    assert r.headers["X-Logs-Truncated"] == "true"
    assert body["message"] == (
        f"{len(entries)} entries: more match, but an answer stops at {ANSWER_MAX} bytes"
    )


async def test_get_logs_that_fit_say_nothing_of_a_budget(http: httpx.AsyncClient) -> None:
    name = unique("small")
    for i in range(3):
        assert (await http.post("/log", json={"name": name, "data": f"n{i}"})).status_code == 202
    r = await http.get("/logs", params={"name": name, "limit": 500})
    assert (r.status_code, r.json()["message"]) == (200, "3 entries")
    assert "X-Logs-Truncated" not in r.headers


@pytest.mark.parametrize("journal", [True, False])
async def test_writes_wait_for_the_journal_unless_told_not_to_and_secantusdb_takes_them(
    secantus_url: str, mongo_database: str, logs: Collection[dict[str, Any]], journal: bool
) -> None:
    store = LogStore(secantus_url, mongo_database, journal=journal)
    try:
        assert store.write_concern.document == ({"j": True} if journal else {})
        name = unique("journal")
        await store.write(name, "durable")
        assert [d["data"] for d in logs.find({"name": name})] == ["durable"]
    finally:
        await store.close()


def test_a_budget_too_small_for_the_largest_entry_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="LOGS_ANSWER_MAX must be at least"):
        LoggerSettings(logs_answer_max=128 * 1024)
    assert LoggerSettings().logs_answer_max == ANSWER_MAX


async def test_grpc_reflection_can_be_turned_off(secantus_url: str, mongo_database: str) -> None:
    store = LogStore(secantus_url, mongo_database)
    door = GrpcServer(store, "127.0.0.1", 0, reflection=False, max_concurrent_rpcs=4)
    await door.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{door.port}") as ch:
            call = ch.stream_stream(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            stream = call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                async for _ in stream:
                    pass
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
            stub = logs_pb2_grpc.LogServiceStub(ch)
            entry = logs_pb2.Log(name=unique("no-reflection"), data="x")
            assert (await stub.WriteLog(logs_pb2.LogRequest(logEntry=entry), timeout=5)).result
    finally:
        await door.stop()
        await store.close()

"""The RPC door speaks Go's net/rpc/jsonrpc: raw frames in, replies and stored documents out."""

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pymongo.collection import Collection

METHOD = "RPCServer.LogInfo"
Logs = Collection[dict[str, Any]]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def frame(call_id: Any, name: str, data: str = "d", method: str = METHOD) -> bytes:
    return (
        json.dumps({"method": method, "params": [{"Name": name, "Data": data}], "id": call_id})
        + "\n"
    ).encode()


async def test_a_call_is_answered_like_go_and_stores_both_dates(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    peer = await rpc_connect(rpc_port)
    name = unique("rpc")
    reply = await peer.call(METHOD, [{"Name": name, "Data": "payload"}], 0)
    assert reply == {"id": 0, "result": f"Processed payload via RPC:{name}", "error": None}
    doc = logs.find_one({"name": name})
    assert doc is not None
    assert doc["data"] == "payload"
    assert doc["created_at"] == doc["updated_at"]
    assert doc["updated_at"].utcoffset() == timedelta(0)


async def test_pipelined_calls_on_one_connection_each_get_their_own_id(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    peer = await rpc_connect(rpc_port)
    name = unique("pipe")
    ids: list[Any] = [*range(20), "text-id", {"n": 1}]
    await peer.send(b"".join(frame(i, f"{name}-{n}") for n, i in enumerate(ids)))
    replies = [await peer.reply() for _ in ids]
    by_id = {json.dumps(r["id"]): r for r in replies}
    assert set(by_id) == {json.dumps(i) for i in ids}
    for n, i in enumerate(ids):
        assert by_id[json.dumps(i)]["result"] == f"Processed payload via RPC:{name}-{n}"
    assert logs.count_documents({"name": {"$regex": f"^{name}-"}}) == len(ids)


async def test_param_names_match_case_insensitively(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    peer = await rpc_connect(rpc_port)
    name = unique("case")
    reply = await peer.call(METHOD, [{"name": name, "DATA": "lower and upper"}], 7)
    assert reply["result"] == f"Processed payload via RPC:{name}"
    assert logs.find_one({"name": name}, {"_id": 0, "data": 1}) == {"data": "lower and upper"}


async def test_a_frame_split_across_writes_is_answered_once_complete(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    peer = await rpc_connect(rpc_port)
    name = unique("split")
    raw = frame(3, name, data='é \\ " {}')
    for i in range(0, len(raw), 5):
        await peer.send(raw[i : i + 5])
    reply = await peer.reply()
    assert (reply["id"], reply["error"]) == (3, None)
    assert logs.find_one({"name": name})["data"] == 'é \\ " {}'  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("RPCServer.Foo", "rpc: can't find method RPCServer.Foo"),
        ("Foo.Bar", "rpc: can't find service Foo.Bar"),
        ("LogInfo", "rpc: service/method request ill-formed: LogInfo"),
    ],
)
async def test_an_unknown_method_gets_an_error_reply_and_the_connection_stays_open(
    rpc_connect: Any, rpc_port: int, method: str, error: str
) -> None:
    peer = await rpc_connect(rpc_port)
    assert await peer.call(method, [{"Name": "x"}], 1) == {"id": 1, "result": None, "error": error}
    name = unique("after")
    assert (await peer.call(METHOD, [{"Name": name}], 2))["result"].endswith(name)


async def test_missing_params_get_gos_error_and_store_nothing(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    peer = await rpc_connect(rpc_port)
    before = logs.count_documents({})
    await peer.send(b'{"method":"RPCServer.LogInfo","id":9}')
    reply = await peer.reply()
    assert reply == {"id": 9, "result": None, "error": "jsonrpc: request body missing params"}
    assert logs.count_documents({}) == before


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ([{"Name": 5}], "json: cannot unmarshal number into Go struct field RPCPayload.Name"),
        ([{"Data": True}], "json: cannot unmarshal bool into Go struct field RPCPayload.Data"),
        (["text"], "json: cannot unmarshal string into Go value of type main.RPCPayload"),
        ({"Name": "x"}, "json: cannot unmarshal object into Go value of type [1]interface {}"),
    ],
)
async def test_wrong_typed_params_get_an_error_reply(
    rpc_connect: Any, rpc_port: int, params: Any, error: str
) -> None:
    peer = await rpc_connect(rpc_port)
    reply = await peer.call(METHOD, params, "p")
    assert reply["result"] is None
    assert reply["error"].startswith(error)


async def test_garbage_closes_that_connection_only(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    bad, good = await rpc_connect(rpc_port), await rpc_connect(rpc_port)
    await bad.send(b"this is not json\n")
    assert await bad.closed_by_server()
    name = unique("other")
    assert (await good.call(METHOD, [{"Name": name}], 1))["error"] is None
    assert logs.count_documents({"name": name}) == 1


async def test_a_header_go_cannot_decode_closes_the_connection(
    rpc_connect: Any, rpc_port: int
) -> None:
    peer = await rpc_connect(rpc_port)
    await peer.send(b'{"method": 42, "params": [{}], "id": 1}')
    assert await peer.closed_by_server()


async def test_a_truncated_frame_then_hang_up_stores_nothing_and_the_server_serves_on(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    name = unique("cut")
    cut = await rpc_connect(rpc_port)
    await cut.send(frame(1, name)[:-10])
    await cut.close()
    peer = await rpc_connect(rpc_port)
    other = unique("next")
    assert (await peer.call(METHOD, [{"Name": other}], 1))["error"] is None
    assert logs.count_documents({"name": name}) == 0


async def test_many_connections_at_once_are_all_served(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    name = unique("fan")
    peers = [await rpc_connect(rpc_port) for _ in range(10)]
    replies = await asyncio.gather(
        *(p.call(METHOD, [{"Name": name, "Data": str(i)}], i) for i, p in enumerate(peers))
    )
    assert [r["id"] for r in replies] == list(range(10))
    assert logs.count_documents({"name": name}) == 10

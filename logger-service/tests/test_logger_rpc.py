"""The RPC door speaks Go's net/rpc, jsonrpc and gob: raw bytes in; replies, stored docs out."""

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from devkit.process import ServiceProcess
from pymongo.collection import Collection
from svckit.contract import RPC_PAYLOAD
from svckit.netrpc import Reply, client_codec

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


class GobPeer:
    """A raw gob peer: Go's `rpc.Dial` framing from svckit.netrpc, bytes sent as we choose."""

    def __init__(self, peer: Any) -> None:
        self.peer = peer
        self.codec = client_codec("gob")

    def request(self, seq: int, name: str, data: str = "d", method: str = METHOD) -> bytes:
        return self.codec.request(seq, method, RPC_PAYLOAD, {"Name": name, "Data": data})

    async def replies(self, count: int) -> list[Reply]:
        got: list[Reply] = []
        while len(got) < count:
            chunk = await asyncio.wait_for(self.peer.reader.read(65536), 5)
            assert chunk, "the server closed the connection"
            got += self.codec.feed(chunk)
        return got


def door_log(logger: ServiceProcess, since: int) -> str:
    return logger.log_path.read_text()[since:]


async def test_gob_calls_pipelined_on_one_connection_are_answered_by_seq_and_stored(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    gob = GobPeer(await rpc_connect(rpc_port))
    name = unique("gob")
    await gob.peer.send(b"".join(gob.request(seq, f"{name}-{seq}") for seq in range(20)))
    replies = await gob.replies(20)
    assert sorted(r.seq for r in replies) == list(range(20))
    for r in replies:
        assert (r.result, r.error) == (f"Processed payload via RPC:{name}-{r.seq}", None)
    docs = list(logs.find({"name": {"$regex": f"^{name}-"}}))
    assert len(docs) == 20
    assert all(d["created_at"] == d["updated_at"] for d in docs)


async def test_a_gob_message_over_the_bound_closes_that_connection_with_one_log_line(
    rpc_connect: Any, rpc_port: int, logs: Logs, logger: ServiceProcess
) -> None:
    since = len(logger.log_path.read_text())
    big, other = GobPeer(await rpc_connect(rpc_port)), GobPeer(await rpc_connect(rpc_port))
    name = unique("big")
    raw = big.request(0, name, "x" * (1024 * 1024))
    await big.peer.send(raw[: -1000 * 1024])  # the length says enough: the rest is not needed
    assert await big.peer.closed_by_server()
    await other.peer.send(other.request(0, name + "-other"))
    assert (await other.replies(1))[0].error is None
    assert logs.count_documents({"name": name}) == 0
    assert door_log(logger, since).count("larger than 1048576") == 1


async def test_a_gob_call_cut_short_stores_nothing_and_says_so_once(
    rpc_connect: Any, rpc_port: int, logs: Logs, logger: ServiceProcess
) -> None:
    since = len(logger.log_path.read_text())
    cut = GobPeer(await rpc_connect(rpc_port))
    name = unique("gob-cut")
    await cut.peer.send(cut.request(0, name)[:-4])
    cut.peer.writer.write_eof()
    assert await cut.peer.closed_by_server()
    assert logs.count_documents({"name": name}) == 0
    assert door_log(logger, since).count("ended inside a call") == 1


async def test_gob_and_jsonrpc_connections_at_once_share_the_port_and_the_store(
    rpc_connect: Any, rpc_port: int, logs: Logs
) -> None:
    name = unique("both")
    gobs = [GobPeer(await rpc_connect(rpc_port)) for _ in range(5)]
    jsons = [await rpc_connect(rpc_port) for _ in range(5)]
    for i, g in enumerate(gobs):
        await g.peer.send(g.request(i, name, f"gob {i}"))
    replies = await asyncio.gather(
        *(j.call(METHOD, [{"Name": name, "Data": f"json {i}"}], i) for i, j in enumerate(jsons)),
        *(g.replies(1) for g in gobs),
    )
    assert all(r["error"] is None for r in replies[:5])
    assert all(r[0].error is None for r in replies[5:])
    stored = {d["data"] for d in logs.find({"name": name})}
    assert stored == {f"gob {i}" for i in range(5)} | {f"json {i}" for i in range(5)}

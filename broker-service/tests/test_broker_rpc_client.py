"""The RPC pool against a real TCP server speaking Go's net/rpc, in each of its two codecs."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from broker_service.rpc_client import RpcPool
from broker_service.sinks import RpcSink
from devkit.net import free_port
from devkit.wait import await_for
from svckit.contract import LOG_INFO, RPC_PAYLOAD, Entry
from svckit.errors import DownstreamTimeout, DownstreamUnavailable
from svckit.netrpc import Call, Codec, ServerCodec, server_codec

CODECS: tuple[Codec, ...] = ("jsonrpc", "gob")
# Bytes each codec cannot read: not a JSON object; a gob length byte announcing 128 bytes.
GARBAGE = {"jsonrpc": b"this is not json\n", "gob": b"\x80"}


class Peer:
    """The server's side of one connection: the codec its first byte picks, calls, answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.codec: ServerCodec | None = None

    async def calls(self) -> AsyncIterator[Call]:
        while chunk := await self.reader.read(65536):
            if self.codec is None:
                self.codec = server_codec(chunk[0])
            for call in self.codec.feed(chunk):
                yield call

    def name(self, call: Call) -> str:
        assert self.codec is not None
        return self.codec.args(call, RPC_PAYLOAD)["Name"]

    def answer(self, call: Call, result: str | None = None, error: str | None = None) -> None:
        assert self.codec is not None
        self.writer.write(self.codec.reply(call, result, error))


Handler = Callable[[Peer], Awaitable[None]]


async def log_info(pool: RpcPool, name: str, data: str) -> str:
    """The `log` action's write through the pool: the logger's reply."""
    return (await RpcSink(pool).write(Entry(name=name, data=data))).message


class RpcServer:
    """A TCP server whose connection handler each test chooses; counts the connections."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.connections = 0
        self.peers: list[Peer] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        assert self.handler is not None
        peer = Peer(reader, writer)
        self.peers.append(peer)
        try:
            await self.handler(peer)
        finally:
            writer.close()

    @property
    def addr(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


async def echo_logger(peer: Peer) -> None:
    """Answers as the logger does, one reply per call."""
    async for call in peer.calls():
        peer.answer(call, f"Processed payload via RPC:{peer.name(call)}")


@pytest.fixture
async def rpc_server() -> AsyncIterator[RpcServer]:
    srv = RpcServer()
    srv.server = await asyncio.start_server(srv._serve, "127.0.0.1", 0)
    yield srv
    srv.server.close()


@pytest.fixture(params=CODECS)
def codec(request: pytest.FixtureRequest) -> Codec:
    value: Codec = request.param
    return value


async def test_pipelined_replies_out_of_order_reach_their_own_callers(
    rpc_server: RpcServer, codec: Codec
) -> None:
    async def reverse_order(peer: Peer) -> None:
        held: list[Call] = []
        async for call in peer.calls():
            held.append(call)
            if len(held) == 20:
                for c in reversed(held):
                    peer.answer(c, f"reply to {peer.name(c)}")
                held.clear()

    rpc_server.handler = reverse_order
    pool = RpcPool(rpc_server.addr, size=1, timeout=5, codec=codec)
    try:
        results = await asyncio.gather(
            *(pool.call(LOG_INFO, RPC_PAYLOAD, {"Name": f"n{i}", "Data": "d"}) for i in range(20))
        )
    finally:
        await pool.close()
    assert results == [f"reply to n{i}" for i in range(20)]
    assert rpc_server.connections == 1
    assert [p.codec.name for p in rpc_server.peers if p.codec is not None] == [codec]


async def test_a_hundred_calls_share_the_pool_s_few_connections(
    rpc_server: RpcServer, codec: Codec
) -> None:
    rpc_server.handler = echo_logger
    pool = RpcPool(rpc_server.addr, size=3, timeout=5, codec=codec)
    try:
        replies = await asyncio.gather(*(log_info(pool, f"e{i}", "x") for i in range(100)))
    finally:
        await pool.close()
    assert replies == [f"Processed payload via RPC:e{i}" for i in range(100)]
    assert rpc_server.connections == 3


async def test_a_dying_connection_fails_its_calls_with_502_and_the_next_call_redials(
    rpc_server: RpcServer, codec: Codec
) -> None:
    async def die_on_first_call(peer: Peer) -> None:
        if rpc_server.connections == 1:
            await peer.reader.read(1)  # a call arrived: drop the connection without answering
            return
        await echo_logger(peer)

    rpc_server.handler = die_on_first_call
    pool = RpcPool(rpc_server.addr, size=1, timeout=5, codec=codec)
    try:
        started = time.monotonic()
        with pytest.raises(DownstreamUnavailable) as failed:
            await log_info(pool, "event", "lost")
        assert time.monotonic() - started < 2, "a dead connection must fail at once"
        assert failed.value.status == 502
        assert "logger-rpc" in failed.value.message
        assert await log_info(pool, "event", "again") == "Processed payload via RPC:event"
    finally:
        await pool.close()
    assert rpc_server.connections == 2


async def test_garbage_from_the_server_is_502_and_the_next_call_redials(
    rpc_server: RpcServer, codec: Codec
) -> None:
    async def garbage_first(peer: Peer) -> None:
        if rpc_server.connections == 1:
            async for _ in peer.calls():
                peer.writer.write(GARBAGE[codec])
                await peer.reader.read()  # until the pool hangs up
            return
        await echo_logger(peer)

    rpc_server.handler = garbage_first
    pool = RpcPool(rpc_server.addr, size=1, timeout=5, codec=codec)
    try:
        with pytest.raises(DownstreamUnavailable, match="the connection was lost") as failed:
            await log_info(pool, "event", "garbled")
        assert failed.value.status == 502
        assert "bad reply" in failed.value.detail
        assert await log_info(pool, "event", "again") == "Processed payload via RPC:event"
    finally:
        await pool.close()


async def test_a_silent_server_is_504_at_the_deadline(rpc_server: RpcServer, codec: Codec) -> None:
    async def silent(peer: Peer) -> None:
        async for _ in peer.calls():
            pass

    rpc_server.handler = silent
    pool = RpcPool(rpc_server.addr, size=1, timeout=0.3, codec=codec)
    try:
        started = time.monotonic()
        with pytest.raises(DownstreamTimeout) as late:
            await log_info(pool, "event", "x")
        assert 0.25 < time.monotonic() - started < 1.5
    finally:
        await pool.close()
    assert late.value.status == 504


async def test_an_error_reply_is_502_with_the_logger_s_message_and_the_connection_serves_on(
    rpc_server: RpcServer, codec: Codec
) -> None:
    async def refuse_the_first(peer: Peer) -> None:
        async for call in peer.calls():
            if peer.name(call) == "refused":
                peer.answer(call, error="store unavailable")
            else:
                peer.answer(call, f"Processed payload via RPC:{peer.name(call)}")

    rpc_server.handler = refuse_the_first
    pool = RpcPool(rpc_server.addr, size=1, timeout=2, codec=codec)
    try:
        with pytest.raises(DownstreamUnavailable, match="store unavailable"):
            await log_info(pool, "refused", "x")
        assert await log_info(pool, "next", "x") == "Processed payload via RPC:next"
    finally:
        await pool.close()
    assert rpc_server.connections == 1


async def test_nothing_listening_is_502_at_once(codec: Codec) -> None:
    pool = RpcPool(f"127.0.0.1:{free_port()}", size=2, timeout=2, codec=codec)
    started = time.monotonic()
    with pytest.raises(DownstreamUnavailable):
        await log_info(pool, "event", "x")
    assert time.monotonic() - started < 1
    await pool.close()


async def test_a_connection_the_logger_closes_while_idle_is_dialled_again_without_failing_a_call(
    rpc_server: RpcServer, codec: Codec
) -> None:
    """As the logger's RPC_IDLE_TIMEOUT does: the pool notices the close and dials anew."""

    async def answer_once_then_close(peer: Peer) -> None:
        async for call in peer.calls():
            peer.answer(call, f"Processed payload via RPC:{peer.name(call)}")
            await peer.writer.drain()
            return

    rpc_server.handler = answer_once_then_close
    pool = RpcPool(rpc_server.addr, size=1, timeout=5, codec=codec)
    try:
        assert await log_info(pool, "event", "first") == "Processed payload via RPC:event"

        async def closed() -> bool:
            await asyncio.sleep(0)
            conn = pool._slots[0]
            return conn is not None and not conn.alive

        await await_for(closed, timeout=5, what="the pool seeing the close")
        assert await log_info(pool, "event", "after") == "Processed payload via RPC:event"
    finally:
        await pool.close()
    assert rpc_server.connections == 2

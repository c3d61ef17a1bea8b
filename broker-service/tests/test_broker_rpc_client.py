"""The JSON-RPC pool against a real TCP server speaking Go's jsonrpc framing."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from broker_service.rpc_client import RpcPool, log_info
from svckit.errors import DownstreamTimeout, DownstreamUnavailable
from svckit.jsonrpc import StreamDecoder, response

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RpcServer:
    """A TCP server whose connection handler each test chooses; counts the connections."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        assert self.handler is not None
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()

    @property
    def addr(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


async def frames(reader: asyncio.StreamReader) -> AsyncIterator[dict[str, Any]]:
    decoder = StreamDecoder()
    while chunk := await reader.read(65536):
        for frame in decoder.feed(chunk):
            yield frame


async def echo_logger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers as the logger does, one reply per call."""
    async for frame in frames(reader):
        name = frame["params"][0]["Name"]
        writer.write(response(frame["id"], f"Processed payload via RPC:{name}"))


@pytest.fixture
async def rpc_server() -> AsyncIterator[RpcServer]:
    srv = RpcServer()
    srv.server = await asyncio.start_server(srv._serve, "127.0.0.1", 0)
    yield srv
    srv.server.close()


async def test_pipelined_replies_out_of_order_reach_their_own_callers(
    rpc_server: RpcServer,
) -> None:
    async def reverse_order(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held: list[dict[str, Any]] = []
        async for frame in frames(reader):
            held.append(frame)
            if len(held) == 20:
                for f in reversed(held):
                    writer.write(response(f["id"], f"reply to {f['params'][0]['Name']}"))
                held.clear()

    rpc_server.handler = reverse_order
    pool = RpcPool(rpc_server.addr, size=1, timeout=5)
    try:
        results = await asyncio.gather(
            *(pool.call("RPCServer.LogInfo", {"Name": f"n{i}", "Data": "d"}) for i in range(20))
        )
    finally:
        await pool.close()
    assert results == [f"reply to n{i}" for i in range(20)]
    assert rpc_server.connections == 1


async def test_a_hundred_calls_share_the_pool_s_few_connections(rpc_server: RpcServer) -> None:
    rpc_server.handler = echo_logger
    pool = RpcPool(rpc_server.addr, size=3, timeout=5)
    try:
        replies = await asyncio.gather(*(log_info(pool, f"e{i}", "x") for i in range(100)))
    finally:
        await pool.close()
    assert replies == [f"Processed payload via RPC:e{i}" for i in range(100)]
    assert rpc_server.connections == 3


async def test_a_dying_connection_fails_its_calls_with_502_and_the_next_call_redials(
    rpc_server: RpcServer,
) -> None:
    async def die_on_first_call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if rpc_server.connections == 1:
            await reader.read(1)  # a call arrived: drop the connection without answering
            return
        await echo_logger(reader, writer)

    rpc_server.handler = die_on_first_call
    pool = RpcPool(rpc_server.addr, size=1, timeout=5)
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


async def test_a_silent_server_is_504_at_the_deadline(rpc_server: RpcServer) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in frames(reader):
            pass

    rpc_server.handler = silent
    pool = RpcPool(rpc_server.addr, size=1, timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(DownstreamTimeout) as late:
            await log_info(pool, "event", "x")
        assert 0.25 < time.monotonic() - started < 1.5
    finally:
        await pool.close()
    assert late.value.status == 504


async def test_an_error_reply_is_502_with_the_logger_s_message(rpc_server: RpcServer) -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for frame in frames(reader):
            writer.write(response(frame["id"], error="store unavailable"))

    rpc_server.handler = refuse
    pool = RpcPool(rpc_server.addr, size=1, timeout=2)
    try:
        with pytest.raises(DownstreamUnavailable, match="store unavailable"):
            await log_info(pool, "event", "x")
    finally:
        await pool.close()


async def test_nothing_listening_is_502_at_once() -> None:
    from devkit.net import free_port

    pool = RpcPool(f"127.0.0.1:{free_port()}", size=2, timeout=2)
    started = time.monotonic()
    with pytest.raises(DownstreamUnavailable):
        await log_info(pool, "event", "x")
    assert time.monotonic() - started < 1
    await pool.close()

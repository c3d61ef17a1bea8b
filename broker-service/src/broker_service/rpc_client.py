"""A small pool of persistent TCP connections to the logger's RPC door, in either Go codec.

`LOGGER_RPC_CODEC` picks gob (Go's `net/rpc` default, which the original logger served) or
Go's `net/rpc/jsonrpc`; the codec (`svckit.netrpc`) is all that differs. Calls are pipelined:
each connection writes requests as they come and one reader task per connection resolves the
waiting futures by the reply's `Seq` (or `id`). A connection that dies fails its in-flight
calls with 502 and is dialled again by the next call that picks it.
"""

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from svckit.contract import GoArgs
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, cannot_connect
from svckit.metrics import downstream_call
from svckit.netrpc import (
    ClientCodec,
    Codec,
    Reply,
    StreamError,
    rpc_attributes,
    span_name,
)
from svckit.netrpc import client_codec as new_codec
from svckit.tracing import client_span

log = logging.getLogger(__name__)

SERVICE = "logger-rpc"


class _Connection:
    """One TCP connection with its codec, its reader task and the calls waiting on it."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, codec: ClientCodec
    ) -> None:
        self.writer = writer
        self.codec = codec
        self.pending: dict[int, asyncio.Future[Reply]] = {}
        self._seqs = itertools.count()
        self._reader_task = asyncio.create_task(self._read(reader))

    @property
    def alive(self) -> bool:
        return not self._reader_task.done()

    async def call(
        self, method: str, arg_type: GoArgs, arg: dict[str, Any], context: dict[str, str]
    ) -> Reply:
        seq = next(self._seqs)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.pending[seq] = future
        try:
            # Encoding and write() are synchronous, so concurrent callers never interleave
            # their frames, and a gob type is defined on the stream before its first value.
            self.writer.write(self.codec.request(seq, method, arg_type, arg, context))
            await self.writer.drain()
            return await future
        except OSError as exc:
            raise DownstreamUnavailable(
                SERVICE, "the connection was lost", detail=repr(exc)
            ) from None
        finally:
            self.pending.pop(seq, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        detail = "the logger closed the connection"
        try:
            while chunk := await reader.read(65536):
                for reply in self.codec.feed(chunk):
                    seq = reply.seq
                    future = self.pending.get(seq) if isinstance(seq, int) else None
                    if future is not None and not future.done():
                        future.set_result(reply)
        except StreamError as exc:
            detail = f"bad reply: {exc}"
        except OSError as exc:
            detail = f"connection lost: {exc!r}"
        finally:
            self.writer.close()
        self._fail_pending(detail)

    def _fail_pending(self, detail: str) -> None:
        log.warning(
            "logger RPC connection ended, %d calls in flight: %s", len(self.pending), detail
        )
        for future in list(self.pending.values()):
            if not future.done():
                future.set_exception(
                    DownstreamUnavailable(SERVICE, "the connection was lost", detail=detail)
                )
        self.pending.clear()

    async def close(self) -> None:
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class RpcPool:
    """`size` lazily dialled connections to `host:port` speaking `codec`, picked round-robin."""

    def __init__(self, addr: str, size: int, timeout: float, codec: Codec) -> None:
        host, _, port = addr.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.timeout = timeout
        self.codec = codec
        self._slots: list[_Connection | None] = [None] * max(1, size)
        self._locks = [asyncio.Lock() for _ in self._slots]
        self._next = itertools.cycle(range(len(self._slots)))

    async def call(self, method: str, arg_type: GoArgs, arg: dict[str, Any]) -> Any:
        """The call's result; its deadline covers dialling, writing and the reply.

        A CLIENT span (no instrumentation package knows net/rpc) whose context travels in the
        request for the logger to continue; counted and timed by codec.
        """
        context: dict[str, str] = {}
        attributes = {
            **rpc_attributes(self.codec, method),
            "server.address": self.host,
            "server.port": self.port,
        }
        with (
            client_span(span_name(method), attributes, context),
            downstream_call(SERVICE, self.codec),
        ):
            try:
                async with asyncio.timeout(self.timeout):
                    conn = await self._connection(next(self._next))
                    reply = await conn.call(method, arg_type, arg, context)
            except TimeoutError:
                raise DownstreamTimeout(SERVICE, self.timeout) from None
            if reply.error is not None:
                raise DownstreamUnavailable(SERVICE, reply.error)
            return reply.result

    async def check(self) -> None:
        """For `/ready`: a connection is open (dialled now if none is)."""
        await self._connection(next(self._next))

    async def _connection(self, slot: int) -> _Connection:
        conn = self._slots[slot]
        if conn is not None and conn.alive:
            return conn
        async with self._locks[slot]:
            conn = self._slots[slot]
            if conn is None or not conn.alive:
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                except OSError as exc:
                    raise cannot_connect(SERVICE, f"{self.host}:{self.port}", exc) from None
                conn = self._slots[slot] = _Connection(reader, writer, new_codec(self.codec))
            return conn

    async def close(self) -> None:
        for conn in self._slots:
            if conn is not None:
                await conn.close()
        self._slots = [None] * len(self._slots)

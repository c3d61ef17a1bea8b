"""The RPC door: `RPCServer.LogInfo` over TCP as Go's `net/rpc` serves it, in either codec.

A connection's first byte picks its codec (`svckit.netrpc`): `{` starts Go's
`net/rpc/jsonrpc`, anything else is gob, the default codec of Go's `rpc.Dial` (what the
original broker spoke). Calls run concurrently (as Go's server runs each in its own
goroutine) and each reply carries its call's `Seq` or `id`, so a slow write does not hold up
the calls behind it. Error texts are Go's where a Go peer may match on them. Bytes the codec
cannot read on close that connection only, after the calls already read are answered. Each
call is a SERVER span continuing the trace its request carried (no instrumentation package
knows net/rpc).
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import StatusCode
from svckit.contract import LIMITS, RPC_METHOD, RPC_PAYLOAD, RPC_SERVICE, rpc_reply
from svckit.netrpc import (
    Call,
    CallError,
    ServerCodec,
    StreamError,
    rpc_attributes,
    span_name,
)
from svckit.netrpc import server_codec as codec_for
from svckit.tracing import server_span

from logger_service import writes
from logger_service.store import LogStore
from logger_service.writes import StoreOutage

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
# What a log line quotes of a client's text (names, ids, Go's errors naming its types).
LOG_TEXT = 200


def clip(text: object) -> str:
    text = str(text)
    return text if len(text) <= LOG_TEXT else f"{text[:LOG_TEXT]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may hold: connections, time idle or inside a request, unread replies."""

    max_connections: int = 1024
    # One address may not take every connection: the rest of the world still gets in.
    max_per_address: int = 64
    idle_timeout: float = 600.0
    read_timeout: float = 30.0
    max_buffered: int = 1024 * 1024
    write_timeout: float = 30.0


class RpcServer:
    def __init__(
        self,
        store: LogStore,
        host: str,
        port: int,
        *,
        max_in_flight: int = 64,
        grace: float = 10.0,
        limits: Limits | None = None,
    ) -> None:
        self._store = store
        self._host = host
        self._port = port
        self._max_in_flight = max_in_flight
        self._grace = grace
        self._limits = limits or Limits()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._per_address: Counter[str] = Counter()
        self._refused = 0  # connections closed at the cap since the last log line about it
        self._refused_logged = 0.0

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        log.info("RPC door (Go net/rpc: gob and jsonrpc) on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        """Stop accepting and reading; the calls already read are answered (within the grace)."""
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for task in connections:
            task.cancel()
        if connections:
            await asyncio.wait(connections, timeout=self._grace + 1)
        log.info("RPC door stopped")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        limits = self._limits
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if len(self._connections) >= limits.max_connections:
            writer.transport.abort()
            self._refuse(peer, "RPC_MAX_CONNECTIONS", limits.max_connections)
            return
        if self._per_address[address] >= limits.max_per_address:
            writer.transport.abort()
            self._refuse(peer, "RPC_MAX_CONNECTIONS_PER_ADDRESS", limits.max_per_address)
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._per_address[address] += 1
        # Replies wait (and so, once every slot waits, does reading) while this much is unsent.
        writer.transport.set_write_buffer_limits(high=limits.max_buffered)
        writing = asyncio.Lock()
        calls: set[asyncio.Task[None]] = set()
        # Bounds the calls in flight: when full we stop reading, and TCP pushes back.
        slots = asyncio.Semaphore(self._max_in_flight)
        codec: ServerCodec | None = None
        loop = asyncio.get_running_loop()
        # Idle: no request under way, and none complete for `idle_timeout`; once a request's
        # first bytes are in, all of it must be within `read_timeout`.
        deadline = loop.time() + limits.idle_timeout
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await reader.read(READ_CHUNK)
                except TimeoutError:
                    if codec is not None and codec.pending:
                        log.warning(
                            "closing the RPC connection from %s (%s): a request not complete "
                            "within %g s",
                            peer,
                            codec.name,
                            limits.read_timeout,
                        )
                    else:
                        log.info("closing the RPC connection from %s: idle", peer)
                    break
                if not chunk:
                    break
                if codec is None:
                    codec = codec_for(chunk[0])
                started_before, completed = codec.pending, False
                for call in codec.feed(chunk):
                    completed = True
                    await slots.acquire()
                    running = asyncio.create_task(self._answer(codec, call, writer, slots, writing))
                    calls.add(running)
                    running.add_done_callback(calls.discard)
                if not codec.pending:
                    deadline = loop.time() + limits.idle_timeout
                elif completed or not started_before:  # a request started in this chunk
                    deadline = loop.time() + limits.read_timeout
            if codec is not None and codec.pending:
                log.warning("RPC connection from %s (%s) ended inside a call", peer, codec.name)
        except StreamError as exc:
            name = codec.name if codec is not None else "?"
            log.warning("closing the RPC connection from %s (%s): %s", peer, name, clip(exc))
        except ConnectionError as exc:
            log.info("RPC connection from %s dropped: %s", peer, exc)
        finally:
            if calls:
                await asyncio.wait(calls, timeout=self._grace)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._connections.discard(task)
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]

    def _refuse(self, peer: Any, setting: str, most: int) -> None:
        """One log line at most every 10 s for the connections closed at a cap."""
        self._refused += 1
        now = time.monotonic()
        if now - self._refused_logged >= 10:
            log.warning(
                "RPC door: %d connection(s) closed at once (from %s, the last): %d open, "
                "the most (%s)",
                self._refused,
                peer,
                most,
                setting,
            )
            self._refused, self._refused_logged = 0, now

    async def _answer(
        self,
        codec: ServerCodec,
        call: Call,
        writer: asyncio.StreamWriter,
        slots: asyncio.Semaphore,
        writing: asyncio.Lock,
    ) -> None:
        try:
            attributes = rpc_attributes(codec.name, call.method, call.seq)
            with server_span(span_name(call.method), attributes, call.context) as span:
                try:
                    result: str | None = await self._dispatch(codec, call)
                    error = None
                except CallError as exc:
                    span.set_status(StatusCode.ERROR, clip(exc))
                    result, error = None, str(exc)
                except Exception:
                    log.exception("RPC call %s failed", clip(repr(call.seq)))
                    result, error = None, "internal error"
            # One reply at a time, once what is unsent is under the bound: a client that does
            # not read holds at most that and one reply. No await between encoding and writing:
            # a gob type goes out before its first use.
            async with writing:
                # `drain` waits only while what is unsent is over the low mark: the deadline
                # (a timer) is armed for such a client alone, not for every reply.
                transport = writer.transport
                unread = transport.get_write_buffer_size() > transport.get_write_buffer_limits()[0]
                try:
                    async with asyncio.timeout(self._limits.write_timeout if unread else None):
                        await writer.drain()
                except TimeoutError:
                    if not writer.is_closing():
                        log.warning(
                            "closing the RPC connection from %s: its replies unread for %g s",
                            writer.get_extra_info("peername"),
                            self._limits.write_timeout,
                        )
                    writer.transport.abort()
                    return
                if not writer.is_closing():
                    writer.write(codec.reply(call, result, error))
        except ConnectionError as exc:
            log.info("could not answer RPC call %s: %s", clip(repr(call.seq)), exc)
        finally:
            slots.release()

    async def _dispatch(self, codec: ServerCodec, call: Call) -> str:
        service, dot, method = call.method.rpartition(".")
        if not dot:
            raise CallError(f"rpc: service/method request ill-formed: {call.method}")
        if service != RPC_SERVICE:
            raise CallError(f"rpc: can't find service {call.method}")
        if method != RPC_METHOD:
            raise CallError(f"rpc: can't find method {call.method}")
        args = codec.args(call, RPC_PAYLOAD)
        name, data = (args[field] for field in RPC_PAYLOAD.fields)
        if (refusal := LIMITS.refusal(name, data, RPC_PAYLOAD.fields)) is not None:
            raise CallError(refusal)
        try:
            await writes.write(self._store, codec.name, name, data)
        except StoreOutage as exc:
            raise CallError(exc.message) from exc
        return rpc_reply(name)

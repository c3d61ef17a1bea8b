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
from typing import Any

from opentelemetry.trace import StatusCode
from svckit.entries import LIMITS
from svckit.netrpc import (
    LOG_INFO,
    RPC_PAYLOAD,
    Call,
    CallError,
    ServerCodec,
    StreamError,
    rpc_attributes,
    span_name,
)
from svckit.netrpc import server_codec as codec_for
from svckit.tracing import server_span

from logger_service.metrics import written
from logger_service.store import UNAVAILABLE, LogStore, StoreUnavailable

log = logging.getLogger(__name__)

REPLY_PREFIX = "Processed payload via RPC:"
READ_CHUNK = 64 * 1024
_SERVICE, _, _METHOD = LOG_INFO.rpartition(".")


class RpcServer:
    def __init__(
        self, store: LogStore, host: str, port: int, *, max_in_flight: int = 64, grace: float = 10.0
    ) -> None:
        self._store = store
        self._host = host
        self._port = port
        self._max_in_flight = max_in_flight
        self._grace = grace
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

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
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        calls: set[asyncio.Task[None]] = set()
        # Bounds the calls in flight: when full we stop reading, and TCP pushes back.
        slots = asyncio.Semaphore(self._max_in_flight)
        codec: ServerCodec | None = None
        try:
            while chunk := await reader.read(READ_CHUNK):
                if codec is None:
                    codec = codec_for(chunk[0])
                for call in codec.feed(chunk):
                    await slots.acquire()
                    running = asyncio.create_task(self._answer(codec, call, writer, slots))
                    calls.add(running)
                    running.add_done_callback(calls.discard)
            if codec is not None and codec.pending:
                log.warning("RPC connection from %s (%s) ended inside a call", peer, codec.name)
        except StreamError as exc:
            name = codec.name if codec is not None else "?"
            log.warning("closing the RPC connection from %s (%s): %s", peer, name, exc)
        except ConnectionError as exc:
            log.info("RPC connection from %s dropped: %s", peer, exc)
        finally:
            if calls:
                await asyncio.wait(calls, timeout=self._grace)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._connections.discard(task)

    async def _answer(
        self, codec: ServerCodec, call: Call, writer: asyncio.StreamWriter, slots: asyncio.Semaphore
    ) -> None:
        try:
            attributes = rpc_attributes(codec.name, call.method, call.seq)
            with server_span(span_name(call.method), attributes, call.context) as span:
                try:
                    result = await self._dispatch(codec, call)
                except CallError as exc:
                    span.set_status(StatusCode.ERROR, str(exc))
                    frame = codec.reply(call, None, str(exc))
                except Exception:
                    log.exception("RPC call %r failed", call.seq)
                    frame = codec.reply(call, None, "internal error")
                else:
                    frame = codec.reply(call, result, None)
            # No await between encoding and writing: a gob type goes out before its first use.
            if not writer.is_closing():
                writer.write(frame)
                await writer.drain()
        except ConnectionError as exc:
            log.info("could not answer RPC call %r: %s", call.seq, exc)
        finally:
            slots.release()

    async def _dispatch(self, codec: ServerCodec, call: Call) -> str:
        service, dot, method = call.method.rpartition(".")
        if not dot:
            raise CallError(f"rpc: service/method request ill-formed: {call.method}")
        if service != _SERVICE:
            raise CallError(f"rpc: can't find service {call.method}")
        if method != _METHOD:
            raise CallError(f"rpc: can't find method {call.method}")
        args = codec.args(call, RPC_PAYLOAD)
        name, data = args["Name"], args["Data"]
        if (refusal := LIMITS.refusal(name, data, ("Name", "Data"))) is not None:
            raise CallError(refusal)
        try:
            await self._store.write(name, data)
        except StoreUnavailable as exc:
            written(codec.name, ok=False)
            raise CallError(f"{UNAVAILABLE}: {exc}") from exc
        written(codec.name, ok=True)
        return REPLY_PREFIX + name

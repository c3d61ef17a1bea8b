"""The RPC door: `RPCServer.LogInfo` over TCP in the wire format of Go's `net/rpc/jsonrpc`.

Each connection is a stream of request objects. Calls run concurrently (as Go's server runs
each in its own goroutine) and each reply carries its call's `id`, so a slow write does not
hold up the calls behind it. Error texts are Go's where a Go peer may match on them. A stream
that is not JSON objects, or a request whose header Go could not decode, closes that
connection only, after the calls already read are answered.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from svckit.go_json import fold
from svckit.jsonrpc import FrameError, StreamDecoder, response

from logger_service.store import UNAVAILABLE, LogStore, StoreUnavailable

log = logging.getLogger(__name__)

SERVICE = "RPCServer"
METHOD = "LogInfo"
REPLY_PREFIX = "Processed payload via RPC:"
READ_CHUNK = 64 * 1024
_MISSING: Any = object()


@dataclass(frozen=True)
class Call:
    method: str
    params: Any
    id: Any


class CallError(Exception):
    """A call that gets an error reply; the connection stays open."""


def parse_call(frame: dict[str, Any]) -> Call:
    """The header as Go's `jsonrpc.serverRequest` decodes it; FrameError where Go gives up."""
    method = frame.get("method", "")
    if method is None:
        method = ""
    if not isinstance(method, str):
        raise FrameError(f"method must be a string, got {_json_kind(method)}")
    params = frame.get("params", _MISSING)
    return Call(method, None if params is _MISSING else params, frame.get("id"))


def _json_kind(value: Any) -> str:
    """The JSON type name Go's decoder uses in its messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def log_payload(params: Any) -> tuple[str, str]:
    """`{Name, Data}` from the params, keys matched to fields as Go's encoding/json matched them."""
    if params is None:
        raise CallError("jsonrpc: request body missing params")
    if not isinstance(params, list):
        raise CallError(
            f"json: cannot unmarshal {_json_kind(params)} into Go value of type [1]interface {{}}"
        )
    arg = params[0] if params else None
    if arg is None:
        return "", ""
    if not isinstance(arg, dict):
        raise CallError(
            f"json: cannot unmarshal {_json_kind(arg)} into Go value of type main.RPCPayload"
        )
    fields = {"name": "", "data": ""}
    for key, value in arg.items():
        field = fold(key)
        # A null leaves a Go string as it was; each later key for a field overwrites it.
        if field not in fields or value is None:
            continue
        if not isinstance(value, str):
            raise CallError(
                f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                f"RPCPayload.{field.capitalize()} of type string"
            )
        fields[field] = value
    return fields["name"], fields["data"]


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
        log.info("RPC door (Go net/rpc/jsonrpc) listening on %s:%d", self._host, self.port)

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
        decoder = StreamDecoder()
        try:
            while chunk := await reader.read(READ_CHUNK):
                for frame in decoder.feed(chunk):
                    call = parse_call(frame)
                    await slots.acquire()
                    running = asyncio.create_task(self._answer(call, writer, slots))
                    calls.add(running)
                    running.add_done_callback(calls.discard)
        except FrameError as exc:
            log.warning("closing the RPC connection from %s: %s", peer, exc)
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
        self, call: Call, writer: asyncio.StreamWriter, slots: asyncio.Semaphore
    ) -> None:
        try:
            try:
                result = await self._dispatch(call)
            except CallError as exc:
                frame = response(call.id, error=str(exc))
            except Exception:
                log.exception("RPC call %r failed", call.id)
                frame = response(call.id, error="internal error")
            else:
                frame = response(call.id, result)
            if not writer.is_closing():
                writer.write(frame)
                await writer.drain()
        except ConnectionError as exc:
            log.info("could not answer RPC call %r: %s", call.id, exc)
        finally:
            slots.release()

    async def _dispatch(self, call: Call) -> str:
        service, dot, method = call.method.rpartition(".")
        if not dot:
            raise CallError(f"rpc: service/method request ill-formed: {call.method}")
        if service != SERVICE:
            raise CallError(f"rpc: can't find service {call.method}")
        if method != METHOD:
            raise CallError(f"rpc: can't find method {call.method}")
        name, data = log_payload(call.params)
        try:
            await self._store.write(name, data)
        except StoreUnavailable as exc:
            log.warning("RPC call %r: %s: %s", call.id, UNAVAILABLE, exc)
            raise CallError(UNAVAILABLE) from exc
        return REPLY_PREFIX + name

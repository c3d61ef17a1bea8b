"""Go's `net/rpc` on both of its codecs; a codec object holds one connection's state.

- `gob`, the default of Go's `rpc.Dial` and `rpc.ServeConn` (what the original broker and
  logger spoke): a call is the header `rpc.Request{ServiceMethod, Seq}` and then the
  argument, a reply the header `rpc.Response{ServiceMethod, Seq, Error}` and then the result
  (an empty struct when `Error` is set), gob values on one stream (`svckit.gob`).
- `jsonrpc`, Go's `net/rpc/jsonrpc`: `{"method","params":[arg],"id"}` and
  `{"id","result","error"}` (`svckit.jsonrpc`).

Either side may pipeline: replies come back as calls finish, each with its call's `Seq` (or
`id`). A server tells the two apart by a connection's first byte: a JSON-RPC stream starts
with `{`, a gob stream with a message length. Error texts are Go's where a Go peer sees them.
"""

import functools
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from svckit import gob, jsonrpc
from svckit.contract import GoArgs
from svckit.go_json import fold, valid_text

Codec = Literal["jsonrpc", "gob"]

# The W3C trace context a call carries: extra top-level members of a JSON-RPC request, extra
# fields of gob's request header. Go's decoders skip what they do not know, so a Go peer is
# unaffected, and a Go client simply sends none.
TRACE_KEYS = ("traceparent", "tracestate")
REQUEST = gob.GoStruct(
    65,
    "Request",
    (
        ("ServiceMethod", gob.STRING),
        ("Seq", gob.UINT),
        ("Traceparent", gob.STRING),
        ("Tracestate", gob.STRING),
    ),
    "rpc.Request",
)
RESPONSE = gob.GoStruct(
    66,
    "Response",
    (("ServiceMethod", gob.STRING), ("Seq", gob.UINT), ("Error", gob.STRING)),
    "rpc.Response",
)
# The body Go's server sends with an error: `invalidRequest`, a `struct{}`.
INVALID_REQUEST = gob.GoStruct(67, "", (), "struct {}")

# Gob type ids of a stream are the sender's to choose; ours above are 65-67, and each argument
# type gets the next free one the first time it is used.
_ARG_TYPE_IDS = itertools.count(68)


@functools.cache
def gob_type(args: GoArgs) -> gob.GoStruct:
    """`args` as a gob struct type of string fields (one id per schema, for the process)."""
    return gob.GoStruct(
        next(_ARG_TYPE_IDS), args.name, tuple((f, gob.STRING) for f in args.fields), args.go_name
    )


class StreamError(ValueError):
    """The connection's bytes cannot be read on: close it (the calls already read finish)."""


class CallError(Exception):
    """A call that gets an error reply; the connection stays open."""


@dataclass(frozen=True, slots=True)
class Call:
    """A request read by a server: `body` is the codec's own, read with `codec.args`;
    `context` the trace context it carried (`traceparent`, `tracestate`), if any."""

    method: str
    seq: Any
    body: Any
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply read by a client: `error` is None when the call succeeded."""

    seq: Any
    result: Any
    error: str | None


class ServerCodec(Protocol):
    name: Codec

    @property
    def pending(self) -> bool:
        """Bytes of an unfinished call are buffered (a stream that ends now is truncated)."""
        ...

    def feed(self, data: bytes) -> Iterator[Call]:
        """Each call completed by `data`; StreamError once the stream cannot be read on."""
        ...

    def args(self, call: Call, target: GoArgs) -> dict[str, str]:
        """The argument as Go would decode it into `target` (string fields); CallError if not."""
        ...

    def reply(self, call: Call, result: str | None, error: str | None) -> bytes: ...


class ClientCodec(Protocol):
    def request(
        self,
        seq: int,
        method: str,
        arg_type: GoArgs,
        arg: dict[str, Any],
        context: Mapping[str, str] | None = None,
    ) -> bytes: ...

    def feed(self, data: bytes) -> Iterator[Reply]:
        """Each reply completed by `data`; StreamError once the stream cannot be read on."""
        ...


def span_name(method: str) -> str:
    """`RPCServer.LogInfo` → `RPCServer/LogInfo`, as OpenTelemetry's RPC conventions name spans."""
    return method.replace(".", "/")


def rpc_attributes(codec: Codec, method: str, seq: Any = None) -> dict[str, Any]:
    """A call's span attributes, as OpenTelemetry's RPC conventions name them (net/rpc's gob has
    no name there: `go_net_rpc`)."""
    service, _, name = method.rpartition(".")
    attributes: dict[str, Any] = {"rpc.service": service, "rpc.method": name}
    if codec == "jsonrpc":
        attributes |= {"rpc.system": "jsonrpc", "rpc.jsonrpc.version": "1.0"}
        if seq is not None:
            attributes["rpc.jsonrpc.request_id"] = str(seq)
    else:
        attributes["rpc.system"] = "go_net_rpc"
    return attributes


def server_codec(first_byte: int) -> ServerCodec:
    """The codec of a connection whose stream starts with `first_byte`."""
    if first_byte == ord("{"):
        return JsonServerCodec()
    return GobServerCodec()


def client_codec(codec: Codec) -> ClientCodec:
    if codec == "gob":
        return GobClientCodec()
    return JsonClientCodec()


class _GobStream:
    """One gob stream each way; what comes in is pairs of a header and the value after it."""

    def __init__(self, header_type: gob.GoStruct, header_error: str) -> None:
        self._decoder = gob.StreamDecoder()
        self._encoder = gob.Encoder()
        self._header_type = header_type
        self._header_error = header_error
        self._header: dict[str, Any] | None = None

    @property
    def pending(self) -> bool:
        return self._header is not None or self._decoder.pending

    def _pairs(self, data: bytes) -> Iterator[tuple[dict[str, Any], gob.Item]]:
        # The bytes are taken now; each pair is decoded as the caller asks for it (a plain
        # iterator over a method, not a generator: this runs for every call).
        return iter(functools.partial(self._pair, self._decoder.feed(data)), None)

    def _pair(self, items: Iterator[gob.Item]) -> tuple[dict[str, Any], gob.Item] | None:
        """The next header and the value after it; None when `items` ends first."""
        try:
            for item in items:
                if self._header is None:
                    try:
                        self._header = self._decoder.read_struct(item, self._header_type)
                    except gob.GobError as exc:
                        # As Go: a header that cannot be read ends the connection.
                        raise StreamError(f"{self._header_error}: {exc}") from None
                    continue
                header, self._header = self._header, None
                return header, item
        except gob.FrameError as exc:
            raise StreamError(str(exc)) from None
        return None


class GobServerCodec(_GobStream):
    name: Codec = "gob"

    def __init__(self) -> None:
        super().__init__(REQUEST, "rpc: server cannot decode request")

    def feed(self, data: bytes) -> Iterator[Call]:
        return itertools.starmap(_gob_call, self._pairs(data))

    def args(self, call: Call, target: GoArgs) -> dict[str, str]:
        try:
            return self._decoder.read_struct(call.body, gob_type(target))
        except gob.GobError as exc:
            raise CallError(str(exc)) from None

    def reply(self, call: Call, result: str | None, error: str | None) -> bytes:
        header = {"ServiceMethod": call.method, "Seq": call.seq, "Error": error or ""}
        if error:
            body = self._encoder.encode_struct(INVALID_REQUEST, {})
        else:
            body = self._encoder.encode_string(result or "")
        return self._encoder.encode_struct(RESPONSE, header) + body


def _gob_call(header: dict[str, Any], body: gob.Item) -> Call:
    context = _context_of(header, "Traceparent", "Tracestate")
    return Call(header["ServiceMethod"], header["Seq"], body, context)


class GobClientCodec(_GobStream):
    def __init__(self) -> None:
        super().__init__(RESPONSE, "bad reply header")

    def request(
        self,
        seq: int,
        method: str,
        arg_type: GoArgs,
        arg: dict[str, Any],
        context: Mapping[str, str] | None = None,
    ) -> bytes:
        context = context or {}
        header = {
            "ServiceMethod": method,
            "Seq": seq,
            "Traceparent": context.get("traceparent", ""),
            "Tracestate": context.get("tracestate", ""),
        }
        return self._encoder.encode_struct(REQUEST, header) + self._encoder.encode_struct(
            gob_type(arg_type), arg
        )

    def feed(self, data: bytes) -> Iterator[Reply]:
        return itertools.starmap(self._reply, self._pairs(data))

    def _reply(self, header: dict[str, Any], body: gob.Item) -> Reply:
        seq = header["Seq"]
        if header["Error"]:
            return Reply(seq, None, header["Error"])
        try:
            return Reply(seq, self._decoder.read_string(body), None)
        except gob.GobError as exc:
            # As Go's client: that call fails, the connection goes on.
            return Reply(seq, None, f"reading body {exc}")


_MISSING: Any = object()


class JsonServerCodec:
    name: Codec = "jsonrpc"

    def __init__(self) -> None:
        self._decoder = jsonrpc.StreamDecoder()

    @property
    def pending(self) -> bool:
        return self._decoder.pending

    def feed(self, data: bytes) -> Iterator[Call]:
        return (_json_call(frame) for frame in _json_frames(self._decoder, data))

    def args(self, call: Call, target: GoArgs) -> dict[str, str]:
        """`params[0]` into `target`, keys matched to fields as Go's encoding/json matched them."""
        params = call.body
        if params is None or params is _MISSING:
            raise CallError("jsonrpc: request body missing params")
        if not isinstance(params, list):
            raise CallError(
                f"json: cannot unmarshal {_json_kind(params)} into Go value of type "
                "[1]interface {}"
            )
        arg = params[0] if params else None
        fields = dict.fromkeys(target.fields, "")
        if arg is None:
            return fields
        if not isinstance(arg, dict):
            raise CallError(
                f"json: cannot unmarshal {_json_kind(arg)} into Go value of type {target.go_name}"
            )
        by_fold = {fold(name): name for name in fields}
        for key, value in arg.items():
            field = by_fold.get(fold(key))
            # A null leaves a Go string as it was; each later key for a field overwrites it.
            if field is None or value is None:
                continue
            if not isinstance(value, str):
                raise CallError(
                    f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                    f"{target.name}.{field} of type string"
                )
            fields[field] = valid_text(value)
        return fields

    def reply(self, call: Call, result: str | None, error: str | None) -> bytes:
        return jsonrpc.response(call.seq, result, error)


def _json_call(frame: dict[str, Any]) -> Call:
    """The header as Go's `jsonrpc.serverRequest` decodes it; StreamError where Go gives up."""
    method = frame.get("method", "")
    if method is None:
        method = ""
    if not isinstance(method, str):
        raise StreamError(f"method must be a string, got {_json_kind(method)}")
    return Call(
        method, frame.get("id"), frame.get("params", _MISSING), _context_of(frame, *TRACE_KEYS)
    )


def _context_of(found: Mapping[str, Any], parent_key: str, state_key: str) -> dict[str, str]:
    """The trace context among a request's members or header fields (strings only)."""
    context = {}
    for key, value in zip(TRACE_KEYS, (found.get(parent_key), found.get(state_key)), strict=True):
        if isinstance(value, str) and value:
            context[key] = value
    return context


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


class JsonClientCodec:
    def __init__(self) -> None:
        self._decoder = jsonrpc.StreamDecoder()

    def request(
        self,
        seq: int,
        method: str,
        arg_type: GoArgs,
        arg: dict[str, Any],
        context: Mapping[str, str] | None = None,
    ) -> bytes:
        return jsonrpc.request(method, arg, seq, context)

    def feed(self, data: bytes) -> Iterator[Reply]:
        return (
            Reply(f.get("id"), f.get("result"), None if f.get("error") is None else str(f["error"]))
            for f in _json_frames(self._decoder, data)
        )


def _json_frames(decoder: jsonrpc.StreamDecoder, data: bytes) -> Iterator[dict[str, Any]]:
    """The frames `data` completes; StreamError after those before bytes that cannot be read."""
    try:
        yield from decoder.feed(data)
    except jsonrpc.FrameError as exc:
        raise StreamError(str(exc)) from None

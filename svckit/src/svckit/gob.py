"""Go's `encoding/gob`, the part `net/rpc` uses, written from Go's own source (`encoding/gob`).

A stream is a sequence of messages, each `uint(length)` and that many bytes. A message is
either a type definition, `int(-id)` and a `wireType` value describing type `id`, or a
value, `int(id)` and the value. Each side defines a type once per stream, before its first
value, under an id of its choosing (64 and up; below are the basic types and the few that
describe types). Struct fields travel as (field number delta, value) pairs, zero values left
out, and the receiver matches them to its own fields by name: fields it lacks are skipped,
in any order. `StreamDecoder` does this on bytes as they arrive; `Encoder` writes our types.

Numbers: an unsigned integer below 128 is one byte, otherwise a byte holding minus its
length and the big-endian bytes; a signed one is shifted left a bit, complemented (bit 0
set) when negative. Strings and byte slices are a length and the bytes.
"""

import struct
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE = 1024 * 1024
# A stream may define this many types; Go sets no limit, a peer that needs more is not ours.
MAX_TYPES = 1024
# Values nested deeper than this are refused rather than recursed into.
MAX_DEPTH = 100
# Values (elements, fields, definitions' parts) decoded for one top-level value: a bound on the
# time one message can hold the event loop (about 1 µs each); LogInfo's argument is a handful.
MAX_VALUES = 50_000
# Messages one value may span (an interface's definitions may each come in a message of their
# own, and Go's decoder reads on). Go's encoder writes a value in one message, after its
# definitions; a stream whose value needs more is closed.
MAX_SPAN = 16
# A string or byte slice counts as one value per this many bytes as well: a value re-read
# from its first message is charged for its text again.
_BYTES_PER_VALUE = 64

# The ids every stream knows (encoding/gob/type.go).
BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE = range(1, 9)
_WIRE_TYPE, _ARRAY_TYPE, _COMMON_TYPE, _SLICE_TYPE = 16, 17, 18, 19
_STRUCT_TYPE, _FIELD_TYPE, _FIELD_SLICE, _MAP_TYPE, _ENCODER_TYPE = 20, 21, 22, 23, 24
FIRST_USER_ID = 64
_BASIC_NAMES = {
    BOOL: "bool",
    INT: "int",
    UINT: "uint",
    FLOAT: "float",
    BYTES: "bytes",
    STRING: "string",
    COMPLEX: "complex",
    INTERFACE: "interface",
}
_I64 = 1 << 63


class GobError(ValueError):
    """A value that did not decode (the text is Go's); the stream goes on at the next message."""


class FrameError(ValueError):
    """The stream cannot be read any further (bad length, a message too large): close it."""


class _NeedMore(Exception):
    """The value goes on in a message that has not arrived yet."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    id: int


@dataclass(frozen=True, slots=True)
class StructType:
    name: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class SliceType:
    name: str
    elem: int


@dataclass(frozen=True, slots=True)
class ArrayType:
    name: str
    elem: int
    length: int


@dataclass(frozen=True, slots=True)
class MapType:
    name: str
    key: int
    elem: int


@dataclass(frozen=True, slots=True)
class EncodedType:
    """A GobEncoder, BinaryMarshaler or TextMarshaler: a length and bytes the type reads itself."""

    name: str


WireType = StructType | SliceType | ArrayType | MapType | EncodedType

# How a wireType is itself encoded: the types Go's decoder knows before a stream starts.
_WIRE = StructType(
    "wireType",
    (
        Field("ArrayT", _ARRAY_TYPE),
        Field("SliceT", _SLICE_TYPE),
        Field("StructT", _STRUCT_TYPE),
        Field("MapT", _MAP_TYPE),
        Field("GobEncoderT", _ENCODER_TYPE),
        Field("BinaryMarshalerT", _ENCODER_TYPE),
        Field("TextMarshalerT", _ENCODER_TYPE),
    ),
)
_BOOTSTRAP: dict[int, WireType] = {
    _WIRE_TYPE: _WIRE,
    _ARRAY_TYPE: StructType(
        "arrayType",
        (Field("CommonType", _COMMON_TYPE), Field("Elem", INT), Field("Len", INT)),
    ),
    _COMMON_TYPE: StructType("CommonType", (Field("Name", STRING), Field("Id", INT))),
    _SLICE_TYPE: StructType("sliceType", (Field("CommonType", _COMMON_TYPE), Field("Elem", INT))),
    _STRUCT_TYPE: StructType(
        "structType", (Field("CommonType", _COMMON_TYPE), Field("Field", _FIELD_SLICE))
    ),
    _FIELD_TYPE: StructType("fieldType", (Field("Name", STRING), Field("Id", INT))),
    _FIELD_SLICE: SliceType("", _FIELD_TYPE),
    _MAP_TYPE: StructType(
        "mapType",
        (Field("CommonType", _COMMON_TYPE), Field("Key", INT), Field("Elem", INT)),
    ),
    _ENCODER_TYPE: StructType("gobEncoderType", (Field("CommonType", _COMMON_TYPE),)),
}


@dataclass(frozen=True, slots=True)
class GoStruct:
    """A struct type of ours: the id we define it under, gob's name for it, its fields.

    `fields` are (name, basic type id); `go_name` is how Go's messages name the type.
    """

    id: int
    name: str
    fields: tuple[tuple[str, int], ...]
    go_name: str

    def wire(self) -> StructType:
        return StructType(self.name, tuple(Field(name, tid) for name, tid in self.fields))


_GO_FIELD_TYPES = {BOOL: "bool", INT: "int64", UINT: "uint64", STRING: "string"}
_ZERO: dict[int, Any] = {BOOL: False, INT: 0, UINT: 0, STRING: ""}


@dataclass(frozen=True, slots=True)
class Item:
    """One top-level value off the stream: its type id and value, or why it did not decode.

    `type_id` is None when the type definitions before the value did not decode. Struct
    values are dicts by field name (fields left out were zero), strings are `str` (invalid
    UTF-8 replaced), interface values are skipped (None).
    """

    type_id: int | None
    value: Any = None
    error: str | None = None


class _Reader:
    """A cursor over the message being decoded; an interface value may move it to the next."""

    __slots__ = ("buf", "pos")

    def __init__(self) -> None:
        self.buf = b""
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def uint(self) -> int:
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            raise GobError("EOF")
        first = buf[pos]
        if first < 0x80:
            self.pos = pos + 1
            return first
        n = 256 - first
        if n > 8:
            raise GobError("gob: encoded unsigned integer out of range")
        if len(buf) - pos - 1 < n:
            raise GobError(
                f"gob: invalid uint data length {n}: exceeds input size {len(buf) - pos - 1}"
            )
        self.pos = pos + 1 + n
        return int.from_bytes(buf[pos + 1 : pos + 1 + n], "big")

    def sint(self) -> int:
        u = self.uint()
        return ~(u >> 1) if u & 1 else u >> 1

    def length(self, what: str) -> int:
        """A byte count that must fit in what is left of the message."""
        n = self.uint()
        if n > self.remaining:
            raise GobError(f"gob: {what} length {n} exceeds input size {self.remaining}")
        return n

    def take(self, n: int) -> bytes:
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return data


def _float(bits: int) -> float:
    # Go sends the float64's bits byte-reversed, so that the exponent comes first.
    value: float = struct.unpack(">d", bits.to_bytes(8, "little"))[0]
    return value


class StreamDecoder:
    """Incremental decoder of one stream: `feed(bytes)` yields each value as it completes.

    A value that does not decode comes out as an `Item` with its error, as Go's `Decode`
    returns one, and the stream goes on; bytes that cannot be framed raise `FrameError`
    after the values before them.
    """

    def __init__(self, max_message: int = MAX_MESSAGE, max_types: int = MAX_TYPES) -> None:
        self._max_message = max_message
        self._max_types = max_types
        self._buf = bytearray()
        self._messages: deque[bytes] = deque()
        self._queued = 0  # bytes in `_messages`: the messages of a value not complete yet
        self._types: dict[int, WireType | None] = {}
        self._checked: dict[tuple[int, GoStruct], str | None] = {}
        # The attempt at the current item: messages it used, types it defined.
        self._reader = _Reader()
        self._taken = 0
        self._defined: list[int] = []
        # Whether a value is started (its definitions taken), and what it may still decode:
        # the budget is not reset between attempts at one value.
        self._in_value = False
        self._budget = MAX_VALUES

    @property
    def pending(self) -> bool:
        """Bytes of an unfinished value are buffered (a stream that ends now is truncated)."""
        return bool(self._buf or self._messages)

    def feed(self, data: bytes) -> Iterator[Item]:
        self._buf += data
        return self._drain()

    def _drain(self) -> Iterator[Item]:
        start = 0
        try:
            while (message := self._frame(start)) is not None:
                body, start = message
                self._queue(body)
                # A value waiting for a message is tried again once every message here is.
                while self._in_value and (message := self._frame(start)) is not None:
                    body, start = message
                    self._queue(body)
                while self._messages and (item := self._item()) is not None:
                    yield item
            if not self._messages:
                self._check_start(start)
        finally:
            del self._buf[:start]

    def _frame(self, start: int) -> tuple[bytes, int] | None:
        """The message at `start` of the buffer and where the next begins, if it is all here."""
        buf = self._buf
        if start >= len(buf):
            return None
        first = buf[start]
        if first < 0x80:
            size, head = first, 1
        else:
            n = 256 - first
            if n > 8:
                raise FrameError("gob: encoded unsigned integer out of range")
            if len(buf) - start - 1 < n:
                return None
            size = int.from_bytes(buf[start + 1 : start + 1 + n], "big")
            head = 1 + n
        if size > self._max_message:
            raise FrameError(f"a message of {size} bytes is larger than {self._max_message}")
        end = start + head + size
        if end > len(buf):
            return None
        return bytes(buf[start + head : end]), end

    def _check_start(self, start: int) -> None:
        """Refuse a value whose first message is still arriving if its type id is already wrong.

        Every message Go writes starts with a type id it has defined (or defines in it); bytes
        that do not would be refused once complete, so a stream of junk is closed at once
        instead of waiting for a length it announced by accident.
        """
        r = _Reader()
        r.buf = bytes(self._buf[start : start + 20])
        try:
            r.uint()  # the length, of a message that has not all arrived
            tid = r.sint()
        except GobError:
            return
        if tid < 0 and (-tid < FIRST_USER_ID or -tid in self._types):
            raise FrameError("gob: duplicate type received")
        if tid >= 0 and tid not in _BASIC_NAMES and tid not in self._types:
            raise FrameError("gob: unknown type id or corrupted data")

    def _queue(self, body: bytes) -> None:
        if not body:  # Go's decoder skips an empty message wherever it reads one
            return
        self._queued += len(body)
        # A value may come with definitions (a few bytes each) and, in an interface, more.
        if self._queued > 2 * self._max_message:
            raise FrameError(f"a value spans more than {2 * self._max_message} bytes")
        self._messages.append(body)

    def _item(self) -> Item | None:
        """The next item if its messages are all here; None (and no change) if not.

        Definitions before a value are one whole message each (Go refuses extra data after
        one), so each is decoded once and kept. A value whose interface goes on in a message
        not yet here is decoded again from its first message when one arrives: at most
        MAX_SPAN messages, all attempts on one budget, so the work stays linear in the bytes.
        """
        r = self._reader
        while self._messages:
            if not self._in_value:  # the head message is a definition or a value's first
                r.buf, r.pos = self._messages[0], 0
                self._budget = MAX_VALUES
                try:
                    tid = r.sint()
                    if tid < 0:
                        self._define(-tid, r)
                        if r.remaining:
                            raise GobError("extra data in buffer")
                except GobError as exc:
                    self._pop(1)
                    return Item(None, error=str(exc))
                if tid < 0:
                    self._pop(1)
                    continue
                self._in_value = True
            self._taken = 0
            self._defined = []
            try:
                item = self._decode_value()
            except _NeedMore:
                for tid in self._defined:
                    del self._types[tid]
                return None
            self._in_value = False
            self._pop(self._taken)
            return item
        return None

    def _pop(self, count: int) -> None:
        for _ in range(count):
            self._queued -= len(self._messages.popleft())

    def _next_message(self) -> None:
        if self._taken >= MAX_SPAN:
            raise FrameError(f"a value spans more than {MAX_SPAN} messages")
        if self._taken >= len(self._messages):
            raise _NeedMore
        self._reader.buf = self._messages[self._taken]
        self._reader.pos = 0
        self._taken += 1

    def _decode_value(self) -> Item:
        """Go's `decodeValue`, its definitions already taken: the value's id, then the value."""
        r = self._reader
        self._next_message()
        tid = r.sint()
        try:
            return Item(tid, self._top(tid, r))
        except GobError as exc:
            return Item(tid, error=str(exc))

    def _define(self, tid: int, r: _Reader) -> None:
        if tid < FIRST_USER_ID or tid in self._types:
            raise GobError("gob: duplicate type received")
        if len(self._types) >= self._max_types:
            raise FrameError(f"the stream defines more than {self._max_types} types")
        tree = self._struct(_WIRE, r, _BOOTSTRAP, 0)
        self._types[tid] = _wire_type(tree)
        self._defined.append(tid)

    def _top(self, tid: int, r: _Reader) -> Any:
        wire = self._types.get(tid)
        if isinstance(wire, StructType):
            return self._struct(wire, r, self._types, 0)
        if wire is None and tid not in _BASIC_NAMES:
            raise GobError("gob: unknown type id or corrupted data")
        if r.uint() != 0:
            raise GobError("gob: decode: corrupted data: non-zero delta for singleton")
        return self._value(tid, r, self._types, 0)

    def _struct(
        self, st: StructType, r: _Reader, types: Mapping[int, WireType | None], depth: int
    ) -> dict[str, Any]:
        fields = st.fields
        out: dict[str, Any] = {}
        number = -1
        while r.remaining:
            delta = r.uint()
            if delta == 0:  # the end of the struct
                break
            if delta >= _I64:
                raise GobError("gob: decode: corrupted data: negative delta")
            number += delta
            if number >= len(fields):
                raise GobError("gob: bad data: field numbers out of bounds")
            field = fields[number]
            if not field.name:
                raise GobError(f"gob: empty name for remote field of type {st.name}")
            out[field.name] = self._value(field.id, r, types, depth + 1)
        return out

    def _value(self, tid: int, r: _Reader, types: Mapping[int, WireType | None], depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise GobError(f"gob: values nested deeper than {MAX_DEPTH}")
        self._budget -= 1
        if self._budget < 0:
            raise GobError(f"gob: a value made of more than {MAX_VALUES} values")
        if tid == STRING:
            n = r.length("string")
            self._budget -= n // _BYTES_PER_VALUE
            return r.take(n).decode("utf-8", "replace")
        if tid == UINT:
            return r.uint()
        if tid == INT:
            return r.sint()
        if tid == BOOL:
            return r.uint() != 0
        if tid == FLOAT:
            return _float(r.uint())
        if tid == BYTES:
            n = r.length("[]byte")
            self._budget -= n // _BYTES_PER_VALUE
            return r.take(n)
        if tid == COMPLEX:
            return complex(_float(r.uint()), _float(r.uint()))
        if tid == INTERFACE:
            self._skip_interface(r)
            return None
        wire = types.get(tid) if tid >= FIRST_USER_ID or types is _BOOTSTRAP else None
        if isinstance(wire, StructType):
            return self._struct(wire, r, types, depth)
        if isinstance(wire, SliceType):
            return self._elements(wire.elem, r.uint(), r, types, depth)
        if isinstance(wire, ArrayType):
            if r.uint() != wire.length:
                raise GobError("gob: length mismatch in ignoreArray")
            return self._elements(wire.elem, wire.length, r, types, depth)
        if isinstance(wire, MapType):
            pairs = []
            for _ in range(r.uint()):
                if not r.remaining:  # Go would spin on a map of empty structs; we stop
                    raise GobError("gob: decoding map: length exceeds input size")
                key = self._value(wire.key, r, types, depth + 1)
                pairs.append((key, self._value(wire.elem, r, types, depth + 1)))
            return pairs
        if isinstance(wire, EncodedType):
            n = r.length("GobDecoder: data")
            self._budget -= n // _BYTES_PER_VALUE
            return r.take(n)
        raise GobError("gob: bad data: undefined type <nil>")

    def _elements(
        self, elem: int, count: int, r: _Reader, types: Mapping[int, WireType | None], depth: int
    ) -> list[Any]:
        values = []
        for _ in range(count):
            if not r.remaining:
                raise GobError(
                    f"gob: decoding array or slice: length exceeds input size ({count} elements)"
                )
            values.append(self._value(elem, r, types, depth + 1))
        return values

    def _skip_interface(self, r: _Reader) -> None:
        """A concrete type's name, its definitions (they may end this message), id, value."""
        n = r.uint()
        if n > r.remaining:
            raise GobError("gob: bad interface encoding: name too large for buffer")
        if n == 0:  # a nil interface value: nothing follows
            return
        r.pos += n
        while True:
            if not r.remaining:
                self._next_message()
            tid = r.sint()
            if tid >= 0:
                break
            self._define(-tid, r)
            if r.remaining:  # a definition delimited inside this message: skip its count
                r.uint()
        size = r.length("bad interface encoding: data")
        r.pos += size

    def read_struct(self, item: Item, local: GoStruct) -> dict[str, Any]:
        """The item as a value of `local`, fields matched by name as Go's decoder matches them.

        GobError with Go's text when Go could not decode it into that type.
        """
        if item.type_id is not None:
            key = (item.type_id, local)
            if key not in self._checked:
                self._checked[key] = self._mismatch(item.type_id, local)
            if (mismatch := self._checked[key]) is not None:
                raise GobError(mismatch)
        if item.error is not None:
            raise GobError(item.error)
        value: dict[str, Any] = item.value
        return {name: value.get(name, _ZERO[tid]) for name, tid in local.fields}

    def _mismatch(self, tid: int, local: GoStruct) -> str | None:
        wire = self._types.get(tid)
        if not isinstance(wire, StructType):
            if wire is None and tid not in _BASIC_NAMES:
                return "gob: unknown type id or corrupted data"
            return (
                f"gob: type mismatch in decoder: want struct type {local.go_name}; got non-struct"
            )
        ours = dict(local.fields)
        matched = 0
        for field in wire.fields:
            if field.name in ours:
                if field.id != ours[field.name]:
                    return (
                        f"gob: wrong type ({_GO_FIELD_TYPES[ours[field.name]]}) for received "
                        f"field {wire.name}.{field.name}"
                    )
                matched += 1
        if not matched and local.fields and wire.fields:
            return f"gob: type mismatch: no fields matched compiling decoder for {local.name}"
        return None

    def read_string(self, item: Item) -> str:
        """The item as a Go `string`; GobError when it is not one."""
        if item.type_id is not None and item.type_id != STRING:
            remote = _BASIC_NAMES.get(item.type_id)
            if remote is None:
                wire = self._types.get(item.type_id)
                remote = wire.name if wire is not None else "<nil>"
            raise GobError(f"gob: decoding into local type *string, received remote type {remote}")
        if item.error is not None:
            raise GobError(item.error)
        text: str = item.value
        return text


def _wire_type(tree: dict[str, Any]) -> WireType | None:
    """A decoded wireType value as the type it describes (None: it describes none)."""

    def name(kind: dict[str, Any]) -> str:
        common: dict[str, Any] = kind.get("CommonType", {})
        return str(common.get("Name", ""))

    # The order Go's decoder tests them in.
    if (a := tree.get("ArrayT")) is not None:
        return ArrayType(name(a), a.get("Elem", 0), a.get("Len", 0))
    if (m := tree.get("MapT")) is not None:
        return MapType(name(m), m.get("Key", 0), m.get("Elem", 0))
    if (s := tree.get("SliceT")) is not None:
        return SliceType(name(s), s.get("Elem", 0))
    if (st := tree.get("StructT")) is not None:
        fields = tuple(Field(f.get("Name", ""), f.get("Id", 0)) for f in st.get("Field", []))
        return StructType(name(st), fields)
    for kind in ("GobEncoderT", "BinaryMarshalerT", "TextMarshalerT"):
        if (e := tree.get(kind)) is not None:
            return EncodedType(name(e))
    return None


def _put_uint(out: bytearray, u: int) -> None:
    if u < 0x80:
        out.append(u)
        return
    data = u.to_bytes((u.bit_length() + 7) // 8, "big")
    out.append(256 - len(data))
    out += data


def _put_int(out: bytearray, i: int) -> None:
    _put_uint(out, (~i << 1) | 1 if i < 0 else i << 1)


def _put_value(out: bytearray, tid: int, value: Any, types: Mapping[int, WireType]) -> None:
    if tid == STRING:
        data = value.encode()
        _put_uint(out, len(data))
        out += data
    elif tid == UINT:
        _put_uint(out, value)
    elif tid == INT:
        _put_int(out, value)
    elif tid == BOOL:
        _put_uint(out, 1 if value else 0)
    else:
        wire = types[tid]
        if isinstance(wire, StructType):
            _put_struct(out, wire, value, types)
        elif isinstance(wire, SliceType):
            _put_uint(out, len(value))
            for element in value:
                _put_value(out, wire.elem, element, types)
        else:
            raise TypeError(f"cannot encode a value of {wire}")


def _put_struct(
    out: bytearray, st: StructType, value: dict[str, Any], types: Mapping[int, WireType]
) -> None:
    last = -1
    for number, field in enumerate(st.fields):
        v = value.get(field.name)
        # Zero values are left out (a nested struct is always sent).
        if v is None or (not v and not isinstance(v, dict)):
            continue
        _put_uint(out, number - last)
        last = number
        _put_value(out, field.id, v, types)
    out.append(0)


def _message(out: bytearray, body: bytearray) -> None:
    _put_uint(out, len(body))
    out += body


class Encoder:
    """One stream's writer: each of our types is defined before its first value."""

    def __init__(self) -> None:
        self._sent: set[int] = set()

    def encode_struct(self, local: GoStruct, value: dict[str, Any]) -> bytes:
        out = bytearray()
        wire = local.wire()
        if local.id not in self._sent:
            definition = bytearray()
            _put_int(definition, -local.id)
            fields = [{"Name": f.name, "Id": f.id} for f in wire.fields]
            common = {"Name": wire.name, "Id": local.id}
            tree = {"StructT": {"CommonType": common, "Field": fields}}
            _put_struct(definition, _WIRE, tree, _BOOTSTRAP)
            _message(out, definition)
            self._sent.add(local.id)
        body = bytearray()
        _put_int(body, local.id)
        _put_struct(body, wire, value, _BOOTSTRAP)
        _message(out, body)
        return bytes(out)

    def encode_string(self, value: str) -> bytes:
        """A top-level string: not a struct, so a zero field delta comes before it."""
        body = bytearray()
        _put_int(body, STRING)
        body.append(0)
        _put_value(body, STRING, value, _BOOTSTRAP)
        out = bytearray()
        _message(out, body)
        return bytes(out)

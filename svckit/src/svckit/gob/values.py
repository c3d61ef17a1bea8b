"""One gob value of a given type id, decoded from a message in plain loops (no generators)."""

import struct
from collections.abc import Callable, Mapping
from typing import Any

from svckit.gob.wire import (
    BOOL,
    BOOTSTRAP,
    BYTES,
    BYTES_PER_VALUE,
    COMPLEX,
    FIRST_USER_ID,
    FLOAT,
    I64,
    INT,
    INTERFACE,
    MAX_DEPTH,
    MAX_VALUES,
    STRING,
    UINT,
    ArrayType,
    EncodedType,
    GobError,
    MapType,
    SliceType,
    StructType,
    WireType,
)

Types = Mapping[int, WireType | None]


def _float(bits: int) -> float:
    # Go sends the float64's bits byte-reversed, so that the exponent comes first.
    value: float = struct.unpack(">d", bits.to_bytes(8, "little"))[0]
    return value


class ValueDecoder:
    """A cursor over the message being decoded (`buf`, `pos`) and what one top-level value
    may still cost (`budget`).

    An interface value names its concrete type and may define it first, in this message or in
    the next ones: the stream that owns the types handles both (`next_message` moves the
    cursor to the next message; `define` reads a definition at the cursor).
    """

    __slots__ = ("budget", "buf", "define", "next_message", "pos")

    def __init__(self, next_message: Callable[[], None], define: Callable[[int], None]) -> None:
        self.buf = b""
        self.pos = 0
        self.budget = MAX_VALUES
        self.next_message = next_message
        self.define = define

    def start(self, message: bytes) -> None:
        self.buf, self.pos = message, 0

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
        if n > len(self.buf) - self.pos:
            raise GobError(f"gob: {what} length {n} exceeds input size {self.remaining}")
        return n

    def _bytes(self, what: str) -> bytes:
        """A length, then that many bytes (each BYTES_PER_VALUE of them cost a value)."""
        n = self.length(what)
        self.budget -= n // BYTES_PER_VALUE
        pos = self.pos
        self.pos = pos + n
        return self.buf[pos : pos + n]

    def struct(self, st: StructType, types: Types, depth: int) -> dict[str, Any]:
        fields = st.fields
        count = len(fields)
        out: dict[str, Any] = {}
        number = -1
        # A string field, the commonest, is read here rather than through `value`.
        strings = depth < MAX_DEPTH
        while (pos := self.pos) < len(buf := self.buf):  # an interface may move to a new message
            delta = buf[pos]
            if delta < 0x80:
                self.pos = pos + 1
            else:
                delta = self.uint()
            if delta == 0:  # the end of the struct
                break
            if delta >= I64:
                raise GobError("gob: decode: corrupted data: negative delta")
            number += delta
            if number >= count:
                raise GobError("gob: bad data: field numbers out of bounds")
            field = fields[number]
            if not field.name:
                raise GobError(f"gob: empty name for remote field of type {st.name}")
            if field.id == STRING and strings:
                self.budget -= 1
                if self.budget < 0:
                    raise GobError(f"gob: a value made of more than {MAX_VALUES} values")
                out[field.name] = self._bytes("string").decode("utf-8", "replace")
            else:
                out[field.name] = self.value(field.id, types, depth + 1)
        return out

    def value(self, tid: int, types: Types, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise GobError(f"gob: values nested deeper than {MAX_DEPTH}")
        self.budget -= 1
        if self.budget < 0:
            raise GobError(f"gob: a value made of more than {MAX_VALUES} values")
        # The basic types, the commonest first.
        if tid == STRING:
            return self._bytes("string").decode("utf-8", "replace")
        if tid == UINT:
            return self.uint()
        if tid == INT:
            return self.sint()
        if tid == BOOL:
            return self.uint() != 0
        if tid == FLOAT:
            return _float(self.uint())
        if tid == BYTES:
            return self._bytes("[]byte")
        if tid == COMPLEX:
            return complex(_float(self.uint()), _float(self.uint()))
        if tid == INTERFACE:
            self._skip_interface()
            return None
        wire = types.get(tid) if tid >= FIRST_USER_ID or types is BOOTSTRAP else None
        if isinstance(wire, StructType):
            return self.struct(wire, types, depth)
        if isinstance(wire, SliceType):
            return self._elements(wire.elem, self.uint(), types, depth)
        if isinstance(wire, ArrayType):
            if self.uint() != wire.length:
                raise GobError("gob: length mismatch in ignoreArray")
            return self._elements(wire.elem, wire.length, types, depth)
        if isinstance(wire, MapType):
            pairs = []
            for _ in range(self.uint()):
                if self.pos >= len(self.buf):  # Go would spin on a map of empty structs; we stop
                    raise GobError("gob: decoding map: length exceeds input size")
                key = self.value(wire.key, types, depth + 1)
                pairs.append((key, self.value(wire.elem, types, depth + 1)))
            return pairs
        if isinstance(wire, EncodedType):
            return self._bytes("GobDecoder: data")
        raise GobError("gob: bad data: undefined type <nil>")

    def _elements(self, elem: int, count: int, types: Types, depth: int) -> list[Any]:
        values = []
        for _ in range(count):
            if self.pos >= len(self.buf):
                raise GobError(
                    f"gob: decoding array or slice: length exceeds input size ({count} elements)"
                )
            values.append(self.value(elem, types, depth + 1))
        return values

    def _skip_interface(self) -> None:
        """A concrete type's name, its definitions (they may end this message), id, value."""
        n = self.uint()
        if n > self.remaining:
            raise GobError("gob: bad interface encoding: name too large for buffer")
        if n == 0:  # a nil interface value: nothing follows
            return
        self.pos += n
        while True:
            if not self.remaining:
                self.next_message()
            tid = self.sint()
            if tid >= 0:
                break
            self.define(-tid)
            if self.remaining:  # a definition delimited inside this message: skip its count
                self.uint()
        size = self.length("bad interface encoding: data")
        self.pos += size

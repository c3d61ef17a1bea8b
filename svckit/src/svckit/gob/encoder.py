"""Our types and values onto a gob stream: each type defined once, before its first value."""

from collections.abc import Mapping
from typing import Any

from svckit.gob.wire import (
    BOOL,
    BOOTSTRAP,
    INT,
    STRING,
    UINT,
    WIRE,
    GoStruct,
    SliceType,
    StructType,
    WireType,
)


def put_uint(out: bytearray, u: int) -> None:
    if u < 0x80:
        out.append(u)
        return
    data = u.to_bytes((u.bit_length() + 7) // 8, "big")
    out.append(256 - len(data))
    out += data


def put_int(out: bytearray, i: int) -> None:
    put_uint(out, (~i << 1) | 1 if i < 0 else i << 1)


def _put_value(out: bytearray, tid: int, value: Any, types: Mapping[int, WireType]) -> None:
    if tid == STRING:
        data = value.encode()
        put_uint(out, len(data))
        out += data
    elif tid == UINT:
        put_uint(out, value)
    elif tid == INT:
        put_int(out, value)
    elif tid == BOOL:
        put_uint(out, 1 if value else 0)
    else:
        wire = types[tid]
        if isinstance(wire, StructType):
            put_struct(out, wire, value, types)
        elif isinstance(wire, SliceType):
            put_uint(out, len(value))
            for element in value:
                _put_value(out, wire.elem, element, types)
        else:
            raise TypeError(f"cannot encode a value of {wire}")


def put_struct(
    out: bytearray, st: StructType, value: dict[str, Any], types: Mapping[int, WireType]
) -> None:
    last = -1
    for number, field in enumerate(st.fields):
        v = value.get(field.name)
        # Zero values are left out (a nested struct is always sent).
        if v is None or (not v and not isinstance(v, dict)):
            continue
        put_uint(out, number - last)
        last = number
        _put_value(out, field.id, v, types)
    out.append(0)


def message(out: bytearray, body: bytearray) -> None:
    put_uint(out, len(body))
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
            put_int(definition, -local.id)
            fields = [{"Name": f.name, "Id": f.id} for f in wire.fields]
            common = {"Name": wire.name, "Id": local.id}
            tree = {"StructT": {"CommonType": common, "Field": fields}}
            put_struct(definition, WIRE, tree, BOOTSTRAP)
            message(out, definition)
            self._sent.add(local.id)
        body = bytearray()
        put_int(body, local.id)
        put_struct(body, wire, value, BOOTSTRAP)
        message(out, body)
        return bytes(out)

    def encode_string(self, value: str) -> bytes:
        """A top-level string: not a struct, so a zero field delta comes before it."""
        body = bytearray()
        put_int(body, STRING)
        body.append(0)
        _put_value(body, STRING, value, BOOTSTRAP)
        out = bytearray()
        message(out, body)
        return bytes(out)

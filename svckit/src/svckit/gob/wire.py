"""What a gob stream is made of: type ids, the types it describes, its limits and errors."""

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
BYTES_PER_VALUE = 64

# The ids every stream knows (encoding/gob/type.go).
BOOL, INT, UINT, FLOAT, BYTES, STRING, COMPLEX, INTERFACE = range(1, 9)
WIRE_TYPE, _ARRAY_TYPE, _COMMON_TYPE, _SLICE_TYPE = 16, 17, 18, 19
_STRUCT_TYPE, _FIELD_TYPE, _FIELD_SLICE, _MAP_TYPE, _ENCODER_TYPE = 20, 21, 22, 23, 24
FIRST_USER_ID = 64
BASIC_NAMES = {
    BOOL: "bool",
    INT: "int",
    UINT: "uint",
    FLOAT: "float",
    BYTES: "bytes",
    STRING: "string",
    COMPLEX: "complex",
    INTERFACE: "interface",
}
I64 = 1 << 63


class GobError(ValueError):
    """A value that did not decode (the text is Go's); the stream goes on at the next message."""


class FrameError(ValueError):
    """The stream cannot be read any further (bad length, a message too large): close it."""


class NeedMore(Exception):
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
WIRE = StructType(
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
BOOTSTRAP: dict[int, WireType] = {
    WIRE_TYPE: WIRE,
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


GO_FIELD_TYPES = {BOOL: "bool", INT: "int64", UINT: "uint64", STRING: "string"}
ZERO: dict[int, Any] = {BOOL: False, INT: 0, UINT: 0, STRING: ""}


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


def wire_type(tree: dict[str, Any]) -> WireType | None:
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

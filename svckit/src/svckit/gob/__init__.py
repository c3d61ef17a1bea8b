"""Go's `encoding/gob`, the part `net/rpc` uses, written from Go's own source (`encoding/gob`).

A stream is a sequence of messages, each `uint(length)` and that many bytes. A message is
either a type definition, `int(-id)` and a `wireType` value describing type `id`, or a
value, `int(id)` and the value. Each side defines a type once per stream, before its first
value, under an id of its choosing (64 and up; below are the basic types and the few that
describe types). Struct fields travel as (field number delta, value) pairs, zero values left
out, and the receiver matches them to its own fields by name: fields it lacks are skipped,
in any order.

Numbers: an unsigned integer below 128 is one byte, otherwise a byte holding minus its
length and the big-endian bytes; a signed one is shifted left a bit, complemented (bit 0
set) when negative. Strings and byte slices are a length and the bytes.

The parts, each a module: `wire` (type ids, the types a stream describes, limits, errors),
`framer` (length-prefixed messages off the bytes), `values` (one value of a type id, decoded
in plain loops), `stream` (`StreamDecoder`: the types a stream defined so far, and its values
as they complete) and `encoder` (`Encoder`: our types and values).
"""

from svckit.gob.encoder import Encoder, message, put_int, put_struct, put_uint
from svckit.gob.stream import StreamDecoder
from svckit.gob.wire import (
    BOOL,
    BOOTSTRAP,
    BYTES,
    COMPLEX,
    FLOAT,
    INT,
    INTERFACE,
    MAX_DEPTH,
    MAX_MESSAGE,
    MAX_SPAN,
    MAX_TYPES,
    MAX_VALUES,
    STRING,
    UINT,
    WIRE,
    FrameError,
    GobError,
    GoStruct,
    Item,
)

__all__ = [
    "BOOL",
    "BOOTSTRAP",
    "BYTES",
    "COMPLEX",
    "FLOAT",
    "INT",
    "INTERFACE",
    "MAX_DEPTH",
    "MAX_MESSAGE",
    "MAX_SPAN",
    "MAX_TYPES",
    "MAX_VALUES",
    "STRING",
    "UINT",
    "WIRE",
    "Encoder",
    "FrameError",
    "GoStruct",
    "GobError",
    "Item",
    "StreamDecoder",
    "message",
    "put_int",
    "put_struct",
    "put_uint",
]

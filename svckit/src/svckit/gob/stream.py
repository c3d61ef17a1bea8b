"""One gob stream read as its bytes arrive: the types it defined so far, and its values."""

from collections import deque
from collections.abc import Iterator
from typing import Any

from svckit.gob.framer import Framer
from svckit.gob.values import ValueDecoder
from svckit.gob.wire import (
    BASIC_NAMES,
    BOOTSTRAP,
    FIRST_USER_ID,
    GO_FIELD_TYPES,
    MAX_MESSAGE,
    MAX_SPAN,
    MAX_TYPES,
    MAX_VALUES,
    STRING,
    WIRE,
    ZERO,
    FrameError,
    GobError,
    GoStruct,
    Item,
    NeedMore,
    StructType,
    WireType,
    wire_type,
)

# Bytes of a message still arriving that `_check_start` reads: its length and type id.
_HEAD = 20


class StreamDecoder:
    """Incremental decoder of one stream: `feed(bytes)` gives each value as it completes.

    A value that does not decode comes out as an `Item` with its error, as Go's `Decode`
    returns one, and the stream goes on; bytes that cannot be framed raise `FrameError`
    after the values before them.
    """

    def __init__(self, max_message: int = MAX_MESSAGE, max_types: int = MAX_TYPES) -> None:
        self._max_message = max_message
        self._max_types = max_types
        self._framer = Framer(max_message)
        self._messages: deque[bytes] = deque()
        self._queued = 0  # bytes in `_messages`: the messages of a value not complete yet
        self._types: dict[int, WireType | None] = {}
        self._checked: dict[tuple[int, GoStruct], str | None] = {}
        self._values = ValueDecoder(self._next_message, self._define)
        # The attempt at the current item: messages it used, types it defined.
        self._taken = 0
        self._defined: list[int] = []
        # Whether a value is started (its definitions taken); its attempts share one budget.
        self._in_value = False

    @property
    def pending(self) -> bool:
        """Bytes of an unfinished value are buffered (a stream that ends now is truncated)."""
        return self._framer.pending or bool(self._messages)

    def feed(self, data: bytes) -> Iterator[Item]:
        """The items `data` completes, each decoded as the caller asks for it."""
        self._framer.feed(data)
        return iter(self._next_item, None)

    def _next_item(self) -> Item | None:
        while True:
            if self._in_value:
                # A value waiting for a message is tried again once every message here is.
                while (body := self._framer.next()) is not None:
                    self._queue(body)
            if self._messages and (item := self._item()) is not None:
                return item
            body = self._framer.next()
            if body is None:
                if not self._messages:
                    self._check_start()
                return None
            self._queue(body)

    def _check_start(self) -> None:
        """Refuse a value whose first message is still arriving if its type id is already wrong.

        Every message Go writes starts with a type id it has defined (or defines in it); bytes
        that do not would be refused once complete, so a stream of junk is closed at once
        instead of waiting for a length it announced by accident.
        """
        if not self._framer.pending:
            return
        head = ValueDecoder(_no_more, _no_definition)
        head.start(self._framer.head(_HEAD))
        try:
            head.uint()  # the length, of a message that has not all arrived
            tid = head.sint()
        except GobError:
            return
        if tid < 0 and (-tid < FIRST_USER_ID or -tid in self._types):
            raise FrameError("gob: duplicate type received")
        if tid >= 0 and tid not in BASIC_NAMES and tid not in self._types:
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
        values = self._values
        while self._messages:
            if not self._in_value:  # the head message is a definition or a value's first
                values.start(self._messages[0])
                values.budget = MAX_VALUES
                try:
                    tid = values.sint()
                    if tid < 0:
                        self._define(-tid)
                        if values.remaining:
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
            except NeedMore:
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
        """The value decoder's cursor to the value's next message (NeedMore: not here yet)."""
        if self._taken >= MAX_SPAN:
            raise FrameError(f"a value spans more than {MAX_SPAN} messages")
        if self._taken >= len(self._messages):
            raise NeedMore
        self._values.start(self._messages[self._taken])
        self._taken += 1

    def _decode_value(self) -> Item:
        """Go's `decodeValue`, its definitions already taken: the value's id, then the value."""
        values = self._values
        self._next_message()
        tid = values.sint()
        try:
            return Item(tid, self._top(tid))
        except GobError as exc:
            return Item(tid, error=str(exc))

    def _define(self, tid: int) -> None:
        """The definition of type `tid` at the value decoder's cursor."""
        if tid < FIRST_USER_ID or tid in self._types:
            raise GobError("gob: duplicate type received")
        if len(self._types) >= self._max_types:
            raise FrameError(f"the stream defines more than {self._max_types} types")
        tree = self._values.struct(WIRE, BOOTSTRAP, 0)
        self._types[tid] = wire_type(tree)
        self._defined.append(tid)

    def _top(self, tid: int) -> Any:
        values = self._values
        wire = self._types.get(tid)
        if isinstance(wire, StructType):
            return values.struct(wire, self._types, 0)
        if wire is None and tid not in BASIC_NAMES:
            raise GobError("gob: unknown type id or corrupted data")
        if values.uint() != 0:
            raise GobError("gob: decode: corrupted data: non-zero delta for singleton")
        return values.value(tid, self._types, 0)

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
        return {name: value.get(name, ZERO[tid]) for name, tid in local.fields}

    def _mismatch(self, tid: int, local: GoStruct) -> str | None:
        wire = self._types.get(tid)
        if not isinstance(wire, StructType):
            if wire is None and tid not in BASIC_NAMES:
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
                        f"gob: wrong type ({GO_FIELD_TYPES[ours[field.name]]}) for received "
                        f"field {wire.name}.{field.name}"
                    )
                matched += 1
        if not matched and local.fields and wire.fields:
            return f"gob: type mismatch: no fields matched compiling decoder for {local.name}"
        return None

    def read_string(self, item: Item) -> str:
        """The item as a Go `string`; GobError when it is not one."""
        if item.type_id is not None and item.type_id != STRING:
            remote = BASIC_NAMES.get(item.type_id)
            if remote is None:
                wire = self._types.get(item.type_id)
                remote = wire.name if wire is not None else "<nil>"
            raise GobError(f"gob: decoding into local type *string, received remote type {remote}")
        if item.error is not None:
            raise GobError(item.error)
        text: str = item.value
        return text


def _no_more() -> None:
    raise NeedMore


def _no_definition(tid: int) -> None:
    raise GobError("gob: a definition where none is read")

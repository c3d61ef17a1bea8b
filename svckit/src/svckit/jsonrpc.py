"""The wire codec of Go's `net/rpc/jsonrpc`: a stream of JSON objects, no length prefix.

Go's client writes `{"method","params":[arg],"id"}` and a newline per call and may send
many calls on one connection before reading; the server answers `{"id","result","error"}`
per call, echoing `id`. Both sides read with `json.Decoder`, so objects may be split across
reads or share one, and whitespace between them is free. `StreamDecoder` does the same on
bytes as they arrive.
"""

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

MAX_FRAME = 1024 * 1024
# Objects and arrays nested deeper than this close the stream: Python's parser recurses, so
# the bound sits well inside its recursion limit (Go's decoder allows 10,000; a call needs 3).
MAX_NESTING = 256
_NOT_SPACE = re.compile(r"[^ \t\n\r]")
_STRUCTURE = re.compile(r'[{}\[\]"]')
_IN_STRING = re.compile(r'["\\\\]')


class FrameError(ValueError):
    """The stream is not a sequence of JSON objects (or a frame is too large): close it."""


class StreamDecoder:
    """Incremental decoder: `feed(bytes)` returns every complete JSON object so far.

    A small scanner finds where each top-level object ends (brackets outside strings),
    reading each byte once: a frame split across reads keeps its parts and is joined and
    parsed once, when complete.
    """

    def __init__(self, max_frame: int = MAX_FRAME, max_nesting: int = MAX_NESTING) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._max = max_frame
        self._max_nesting = max_nesting
        self._parts: list[str] = []  # the current frame's text from earlier reads
        self._size = 0  # characters in `_parts`
        self._in_frame = False
        self._depth = 0
        self._in_string = False
        self._escaped = False  # a read ended on a backslash inside a string

    @property
    def pending(self) -> bool:
        """Part of a frame is buffered (a stream that ends now is truncated)."""
        return self._in_frame

    def feed(self, data: bytes) -> Iterator[dict[str, Any]]:
        """Each object `data` completes, in order; FrameError after those before bad bytes.
        Iterate to the end: the bytes are read as it goes."""
        bad: UnicodeDecodeError | None = None
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:  # the objects before the bad bytes still count
            text, bad = exc.object[: exc.start].decode(), exc
        start = i = 0
        while True:
            if not self._in_frame:
                m = _NOT_SPACE.search(text, i)
                if m is None:
                    break
                if m.group() != "{":
                    raise FrameError(f"expected a JSON object, got {m.group()!r}")
                self._in_frame = True
                start = i = m.start()
            end = self._find_end(text, i)
            size = self._size + (len(text) if end < 0 else end) - start
            if size > self._max:
                raise FrameError(f"a frame is larger than {self._max} bytes")
            if end < 0:
                self._parts.append(text[start:])
                self._size = size
                break
            frame = "".join([*self._parts, text[start:end]])
            self._parts, self._size, self._in_frame = [], 0, False
            try:
                obj = json.loads(frame)
            except json.JSONDecodeError as exc:
                raise FrameError(f"malformed JSON: {exc.msg}") from exc
            yield obj
            i = end
        if bad is not None:
            raise FrameError(f"not UTF-8: {bad.reason}") from bad

    def _find_end(self, text: str, i: int) -> int:
        """Index in `text` just past the end of the current object, or -1 if not in it."""
        while True:
            if self._escaped:  # the character after a backslash that ended the last read
                if i >= len(text):
                    return -1
                self._escaped = False
                i += 1
            if self._in_string:
                m = _IN_STRING.search(text, i)
                if m is None:
                    return -1
                if m.group() == "\\":
                    if m.end() >= len(text):
                        self._escaped = True
                        return -1
                    i = m.end() + 1
                    continue
                self._in_string = False
                i = m.end()
                continue
            m = _STRUCTURE.search(text, i)
            if m is None:
                return -1
            ch = m.group()
            i = m.end()
            if ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
                if self._depth > self._max_nesting:
                    raise FrameError(f"objects or arrays nested deeper than {self._max_nesting}")
            else:
                self._depth -= 1
                if self._depth == 0:
                    return i


def encode(obj: dict[str, Any]) -> bytes:
    """One frame as Go's `json.Encoder` writes it: compact JSON and a newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def request(method: str, arg: Any, call_id: Any, members: Mapping[str, str] | None = None) -> bytes:
    """A call; `members` ride along at the top level (trace context: Go's server ignores any
    member it does not know)."""
    return encode({"method": method, "params": [arg], "id": call_id, **(members or {})})


def response(call_id: Any, result: Any = None, error: str | None = None) -> bytes:
    # Go's server always sends both keys; exactly one of them is null.
    return encode({"id": call_id, "result": None if error else result, "error": error})

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
from collections.abc import Mapping
from typing import Any

MAX_FRAME = 1024 * 1024
_WHITESPACE = " \t\n\r"
_STRUCTURE = re.compile(r'[{}"]')
_IN_STRING = re.compile(r'["\\\\]')


class FrameError(ValueError):
    """The stream is not a sequence of JSON objects (or a frame is too large): close it."""


class StreamDecoder:
    """Incremental decoder: `feed(bytes)` returns every complete JSON object so far.

    A small scanner finds where each top-level object ends (braces outside strings), so a
    frame split across reads waits for its rest and is parsed once, when complete.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._max = max_frame
        self._buf = ""
        self._scan = 0  # where scanning resumes within the current frame
        self._depth = 0
        self._in_string = False

    @property
    def pending(self) -> bool:
        """Part of a frame is buffered (a stream that ends now is truncated)."""
        return bool(self._buf)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        try:
            self._buf += self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise FrameError(f"not UTF-8: {exc.reason}") from exc
        frames: list[dict[str, Any]] = []
        while True:
            if self._depth == 0:
                stripped = self._buf.lstrip(_WHITESPACE)
                if not stripped:
                    self._buf = ""
                    break
                if stripped[0] != "{":
                    raise FrameError(f"expected a JSON object, got {stripped[0]!r}")
                self._buf = stripped
                self._scan = 0
            end = self._find_end()
            if end < 0:
                if len(self._buf) > self._max:
                    raise FrameError(f"a frame is larger than {self._max} bytes")
                break
            frame, self._buf = self._buf[:end], self._buf[end:]
            try:
                obj = json.loads(frame)
            except json.JSONDecodeError as exc:
                raise FrameError(f"malformed JSON: {exc.msg}") from exc
            frames.append(obj)
        return frames

    def _find_end(self) -> int:
        """Index just past the object that starts the buffer, or -1 if it is not complete."""
        buf = self._buf
        i = self._scan
        while True:
            if self._in_string:
                m = _IN_STRING.search(buf, i)
                if m is None:
                    self._scan = len(buf)
                    return -1
                if m.group() == "\\":
                    if m.end() >= len(buf):  # the escaped character has not arrived yet
                        self._scan = m.start()
                        return -1
                    i = m.end() + 1
                    continue
                self._in_string = False
                i = m.end()
                continue
            m = _STRUCTURE.search(buf, i)
            if m is None:
                self._scan = len(buf)
                return -1
            ch = m.group()
            i = m.end()
            if ch == '"':
                self._in_string = True
            elif ch == "{":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._scan = 0
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

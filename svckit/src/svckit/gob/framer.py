"""A gob stream's messages off its bytes: each a `uint(length)` and that many bytes."""

from svckit.gob.wire import FrameError


class Framer:
    """Bytes as they arrive in, whole messages out; a partial message stays buffered."""

    __slots__ = ("_buf", "_max_message")

    def __init__(self, max_message: int) -> None:
        self._max_message = max_message
        self._buf = bytearray()

    @property
    def pending(self) -> bool:
        """Bytes of a message not complete yet are buffered."""
        return bool(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next(self) -> bytes | None:
        """The next message if it is all here (and taken off the buffer); None if not.

        FrameError when its length cannot be read or is over the limit."""
        buf = self._buf
        if not buf:
            return None
        first = buf[0]
        if first < 0x80:
            size, head = first, 1
        else:
            n = 256 - first
            if n > 8:
                raise FrameError("gob: encoded unsigned integer out of range")
            if len(buf) - 1 < n:
                return None
            size = int.from_bytes(buf[1 : 1 + n], "big")
            head = 1 + n
        if size > self._max_message:
            raise FrameError(f"a message of {size} bytes is larger than {self._max_message}")
        end = head + size
        if end > len(buf):
            return None
        body = bytes(buf[head:end])
        del buf[:end]  # cheap: a bytearray drops its head by moving its start
        return body

    def head(self, size: int) -> bytes:
        """Up to `size` buffered bytes of the message still arriving, its length first."""
        return bytes(self._buf[:size])

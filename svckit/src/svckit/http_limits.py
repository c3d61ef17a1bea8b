"""The HTTP door's time and size bounds, which uvicorn's httptools protocol lacks.

uvicorn bounds idle keep-alive connections (`timeout_keep_alive`) and concurrency
(`limit_concurrency`, 503 beyond it), but neither the time a client may take to send its
headers or body nor the headers' size with httptools (h11 has `h11_max_incomplete_event_size`,
httptools nothing): one client trickling a byte a second, or ten megabytes of headers, held a
connection for as long as it liked (slowloris). This subclass adds, per request:

- a header deadline from the connection's start (or, on a kept-alive connection, the next
  request's first byte) to the end of its headers: past it the connection is closed, as Go's
  `ReadHeaderTimeout` does;
- a size bound on the request line and headers: past it, 431 and the connection is closed;
- a body deadline from the end of the headers to the body's last byte: past it, 408 and the
  connection is closed (the app reading the body sees the client gone).

These timers run only while a request is being received, and are armed only once a read of
the socket has left a request incomplete: a request that arrives whole in one read (nearly
every request) costs no timer. A slow answer is the app's to bound.
"""

import asyncio
import enum
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadersTooLarge(Exception):
    """Raised from the parser's callback; httptools stops parsing and uvicorn calls
    `send_400_response`, which answers 431 instead."""


def limited_protocol(
    *, max_header_bytes: int, header_timeout: float, body_timeout: float
) -> type[HttpToolsProtocol]:
    """The protocol class for uvicorn's `http=`, with these bounds."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "max_header_bytes": max_header_bytes,
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
        },
    )


class _Phase(enum.Enum):
    """Where the request being received stands, and so which deadline holds it."""

    HEADERS = "headers"
    BODY = "body"


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 64 * 1024
    header_timeout = 10.0
    body_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        # The phase the armed deadline is for, and the phase the parser stopped in.
        self._armed: _Phase | None = None
        self._phase: _Phase | None = None
        self._header_bytes = 0
        self._headers_too_large = False

    def _arm(self, phase: _Phase) -> None:
        self._disarm()
        if phase is _Phase.HEADERS:
            self._deadline = self.loop.call_later(self.header_timeout, self._headers_late)
        else:
            self._deadline = self.loop.call_later(self.body_timeout, self._body_late)
        self._armed = phase

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._armed = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that sends nothing is held to the header deadline too.
        self._arm(_Phase.HEADERS)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # The deadline of where this read left the request: none once it is whole. A deadline
        # already running for the same phase runs on (a trickle of bytes cannot extend it).
        # On a kept-alive connection uvicorn's keep-alive timer covered the wait for the next
        # request's first byte; its headers get their own deadline from here.
        if self._phase is not self._armed and not self.transport.is_closing():
            if self._phase is None:
                self._disarm()
            else:
                self._arm(self._phase)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._phase = _Phase.HEADERS

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._headers_too_large = True
            raise HeadersTooLarge

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = _Phase.BODY

    def on_message_complete(self) -> None:
        self._phase = None
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._headers_too_large:
            self._refuse(431, "Request Header Fields Too Large", self._too_large_message())
        else:
            super().send_400_response(msg)

    def _too_large_message(self) -> str:
        return f"request headers are larger than {self.max_header_bytes} bytes"

    def _headers_late(self) -> None:
        self._deadline, self._armed = None, None
        if not self.transport.is_closing():
            # DEBUG: a slowloris would otherwise write a line per connection it opens.
            self.logger.debug("headers took over %ss: closing", self.header_timeout)
            self.transport.close()

    def _body_late(self) -> None:
        self._deadline, self._armed = None, None
        if self.transport.is_closing():
            return
        message = f"request body not received within {self.body_timeout:g} s"
        if self.cycle is not None and not self.cycle.response_started:
            # The app may be waiting for the body: it is told the client left (closing below),
            # and the client is told why.
            self.cycle.response_started = True
            self._refuse(408, "Request Timeout", message)
        else:
            self.transport.close()

    def _refuse(self, status: int, reason: str, message: str) -> None:
        body = json.dumps({"error": True, "message": message}).encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason.encode(), len(body), body)
        )
        self.transport.close()

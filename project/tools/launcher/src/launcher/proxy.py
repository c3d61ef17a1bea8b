"""A TCP fault proxy: put it between the services and a shared server, then cut, stall or slow it.

The shared PostgreSQL and RabbitMQ must keep running for everyone else; cutting the proxy
gives the services behind it the outage without touching the server. The lab controls put one
in front of each (`launcher.lab`) and the tests use it the same way. It runs its own event loop
in a thread, so a caller that blocks its own loop (a sync fixture polling) never stalls the
traffic, and every method is a plain call that works from sync and async code alike.
"""

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from svckit import dsn

from launcher.ports import free_port


class TcpProxy:
    """Forwards `127.0.0.1:<port>` to the target.

    - `open()` listens (again) on the same port: the server is there;
    - `cut()` drops every connection and stops listening, so new ones are refused: it is gone;
    - `stall()` keeps connections open but passes no byte until `resume()`: it hangs;
    - `slow(seconds)` holds every chunk that long in each direction (0: no delay): it is far.

    With `source` (a loopback address such as `127.0.0.9`), the target sees the proxied
    connections come from there: a client of its own, for tests of per-client behaviour.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        port: int | None = None,
        *,
        source: str | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.source = None if source is None else (source, 0)
        self.port = port or free_port()
        self.delay = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"tcp-proxy-{self.port}", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._flowing = asyncio.Event()
        self._thread.start()
        self._loop.call_soon_threadsafe(self._flowing.set)

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def open(self) -> "TcpProxy":
        self._run(self._open())
        return self

    def cut(self) -> None:
        self._run(self._cut())

    def stall(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.set)

    def slow(self, seconds: float) -> None:
        self.delay = seconds

    @property
    def state(self) -> str:
        """`cut`, `stalled`, `slowed` or `open`, for whoever shows it."""
        if self._server is None:
            return "cut"
        if not self._flowing.is_set():
            return "stalled"
        return "slowed" if self.delay else "open"

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._connected, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def _connected(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                *self.target, local_addr=self.source
            )
        except OSError:
            client_writer.transport.abort()
            return
        self._transports |= {client_writer.transport, server_writer.transport}
        await asyncio.gather(
            self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._transports.discard(writer.transport)


def url_through(url: str, port: int) -> str:
    """`url` (RabbitMQ's) with its host and port replaced by 127.0.0.1:`port` (a proxy's)."""
    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{userinfo}{at}127.0.0.1:{port}").geturl()


def dsn_through(value: str, port: int) -> str:
    """A PostgreSQL DSN (keyword form or URI) sent to 127.0.0.1:`port` instead, in keyword form."""
    keywords = dsn.parse(value)
    keywords.update(host="127.0.0.1", port=str(port))
    return dsn.to_keyword_form(keywords)

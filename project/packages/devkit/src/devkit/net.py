"""Ports: a free one to listen on, whether something answers on one, and a stand-in HTTP
server on one."""

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts a connection there within `timeout` seconds.

    A `host` starting with `/` is a directory holding a Unix socket, as libpq names one
    (`/var/run/postgresql` and 5432 → `/var/run/postgresql/.s.PGSQL.5432`).
    """
    if host.startswith("/"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            try:
                s.connect(str(Path(host) / f".s.PGSQL.{port}"))
            except OSError:
                return False
            return True
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


@contextlib.asynccontextmanager
async def serving(app: web.Application, **runner_options: Any) -> AsyncIterator[str]:
    """`app` (a stand-in server that misbehaves on cue) on a free loopback port for the block;
    yields its base URL."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()

"""Ports: a free one to listen on, whether something answers on one, and a stand-in HTTP
server on one."""

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

# The probe lives in the launcher, which needs it and must not need devkit.
from launcher.probes import answers as answers


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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

"""Ports: a free one to listen on, whether something answers on one, and a stand-in HTTP
server on one."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

# The probe and the port allocator live in the launcher, which needs them and must not need
# devkit.
from launcher.ports import free_port as free_port
from launcher.probes import answers as answers


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

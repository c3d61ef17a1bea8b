"""Where MongoDB is: `MONGO_URL`, else a local mongod on 27017, else an embedded SecantusDB."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 27017


@dataclass(frozen=True)
class MongoTarget:
    url: str
    # The embedded server has no users, so configured credentials do not apply to it.
    embedded: bool = False


async def _answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _start_secantus(data: Path) -> tuple[Any, Path]:
    """Start the server on the calling thread (opening WiredTiger blocks)."""
    try:
        from secantus import SecantusDBServer
    except ImportError as exc:
        raise RuntimeError(
            "MONGO_URL is unset and nothing answers on 127.0.0.1:27017, and the embedded "
            "SecantusDB is not installed: set MONGO_URL, start MongoDB, or install the "
            "workspace's dev group (`uv sync`)"
        ) from exc
    data = data.absolute()
    data.mkdir(parents=True, exist_ok=True)
    # Port 0: the server is this process's own, so it must not clash with anything.
    # Standalone: the replica-set mode's oplog slows every insert as the collection grows.
    server = SecantusDBServer(
        host=LOCAL_HOST, port=0, storage_path=str(data), cache_size="256M", replica_set_name=None
    )
    server.start()
    return server, data


@contextlib.asynccontextmanager
async def mongo_target(url: str | None, embedded_data: str) -> AsyncIterator[MongoTarget]:
    """Yield the MongoDB to use; an embedded server lives exactly as long as the context."""
    if url:
        yield MongoTarget(url)
        return
    if await _answers(LOCAL_HOST, LOCAL_PORT):
        log.info("MONGO_URL is unset: using the MongoDB that answers on 127.0.0.1:27017")
        yield MongoTarget(f"mongodb://{LOCAL_HOST}:{LOCAL_PORT}/?directConnection=true")
        return
    server, data = await asyncio.to_thread(_start_secantus, Path(embedded_data))
    host, port = server.address
    log.info(
        "MONGO_URL is unset and nothing answers on 127.0.0.1:27017: started an embedded "
        "SecantusDB on %s:%d with its data in %s",
        host,
        port,
        data,
    )
    try:
        yield MongoTarget(f"mongodb://{host}:{port}/?directConnection=true", embedded=True)
    finally:
        await asyncio.to_thread(server.stop)

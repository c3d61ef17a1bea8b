"""One real logger process for the run (on the run's SecantusDB), a Mongo reader and an RPC peer."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from devkit.net import free_port
from devkit.process import ServiceProcess
from pymongo import MongoClient
from pymongo.collection import Collection

Doc = dict[str, Any]


@pytest.fixture(scope="session")
def logger(secantus_url: str, mongo_database: str, logs_dir: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": secantus_url,
            "MONGO_DATABASE": mongo_database,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
            "HEALTH_INTERVAL": "0.2",
        },
        log_dir=logs_dir,
        name="logger",
    )
    svc.start()  # returns once `/ready` answers 200: MongoDB is there
    yield svc
    # Uvicorn re-raises the SIGTERM it caught once shutdown is done, hence -15 as well as 0.
    assert svc.stop() in (0, -15), svc.output()
    assert "Application shutdown complete" in svc.output(), svc.output()


@pytest.fixture(scope="session")
def logs(secantus_url: str, mongo_database: str) -> Iterator[Collection[Doc]]:
    """The logger's collection, read directly (tz-aware, as BSON dates are UTC)."""
    client: MongoClient[Doc] = MongoClient(secantus_url, tz_aware=True)
    yield client[mongo_database]["logs"]
    client.close()


@pytest.fixture(scope="session")
def rpc_port(logger: ServiceProcess) -> int:
    return int(logger.env["RPC_PORT"])


@pytest.fixture(scope="session")
def grpc_target(logger: ServiceProcess) -> str:
    return f"127.0.0.1:{logger.env['GRPC_PORT']}"


class RpcPeer:
    """A raw TCP peer of the RPC door: writes frames as given, reads reply objects."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._decoder = json.JSONDecoder()
        self._buf = ""

    async def send(self, raw: bytes) -> None:
        self.writer.write(raw)
        await self.writer.drain()

    async def call(self, method: str, params: Any, call_id: Any) -> Doc:
        await self.send(
            json.dumps({"method": method, "params": params, "id": call_id}).encode() + b"\n"
        )
        return await self.reply()

    async def reply(self, timeout: float = 5.0) -> Doc:
        """The next reply object; AssertionError when the server closes the connection first."""
        while True:
            text = self._buf.lstrip()
            if text:
                with contextlib.suppress(json.JSONDecodeError):
                    obj, end = self._decoder.raw_decode(text)
                    self._buf = text[end:]
                    assert isinstance(obj, dict)
                    return obj
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
            assert chunk, "the server closed the connection"
            self._buf += chunk.decode()

    async def closed_by_server(self, timeout: float = 5.0) -> bool:
        """True once the server closes its side (EOF), having sent nothing more."""
        rest = await asyncio.wait_for(self.reader.read(), timeout)
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.fixture
async def rpc_connect() -> AsyncIterator[Callable[[int], Awaitable[RpcPeer]]]:
    """Factory: `await rpc_connect(port)` opens a connection; all close afterwards."""
    peers: list[RpcPeer] = []

    async def connect(port: int) -> RpcPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        peer = RpcPeer(reader, writer)
        peers.append(peer)
        return peer

    yield connect
    for peer in peers:
        await peer.close()

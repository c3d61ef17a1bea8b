"""Real parts for the authentication tests: the app on the run's own PostgreSQL database, a
logger of our own that records what it is sent, and a TCP proxy we can cut or stall between
the service and PostgreSQL (the shared server itself is never stopped)."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from authentication_service.app import build_app
from authentication_service.deps import Parts
from authentication_service.settings import AuthSettings
from devkit.net import free_port
from devkit.wait import await_for
from fastapi import FastAPI
from launcher.proxy import TcpProxy

PG_HOST, PG_PORT = "127.0.0.1", 5432


class LogReceiver:
    """A tiny logger: records each `POST /log` body, answers with `status` after `delay` s."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.status = 202
        self.delay = 0.0
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _log(self, request: web.Request) -> web.Response:
        self.entries.append(await request.json())
        await asyncio.sleep(self.delay)
        return web.json_response({"error": False, "message": "logged"}, status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/log", self._log)
        # A client that gave up (the service's deadline) ends the slow handler too.
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Running:
    """The service running in this process (lifespan included), as a test drives it."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    @property
    def parts(self) -> Parts:
        found: Parts = self.app.state.parts
        return found

    def checks(self) -> Counter[int]:
        """bcrypt checks made so far, by cost."""
        return Counter(self.parts.passwords.checks)

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """An HTTP client to the app, seen as coming from `address`."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://auth")

    async def login(self, email: str, password: str, address: str = "127.0.0.1") -> httpx.Response:
        async with self.client(address) as c:
            return await c.post("/authenticate", json={"email": email, "password": password})

    async def ready(self) -> bool:
        async with self.client() as c:
            return (await c.get("/ready")).status_code == 200


class UsersTable:
    """The `users` table read and written directly, as a second service sharing it would."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await conn.close()

    async def add(self, email: str, hashed: str) -> None:
        await self.fetch(
            "INSERT INTO users (email, first_name, last_name, password, user_active,"
            " created_at, updated_at) VALUES ($1, 'Test', 'User', $2, 1, now(), now())",
            email,
            hashed,
        )


StartApp = Callable[..., contextlib.AbstractAsyncContextManager[Running]]


@pytest.fixture(scope="session")
def auth_dsn(postgres_dsn: str) -> str:
    """The run's own database (the service creates it), as a postgresql:// URI."""
    return postgres_dsn


@pytest.fixture(scope="session")
def start_app(auth_dsn: str) -> StartApp:
    """`async with start_app(SETTING=value...) as svc:` runs the service here until ready."""

    @contextlib.asynccontextmanager
    async def start(
        dsn: str = auth_dsn, *, wait_ready: bool = True, **settings: Any
    ) -> AsyncIterator[Running]:
        settings.setdefault("logger_url", f"http://127.0.0.1:{free_port()}")
        app = build_app(AuthSettings(dsn=dsn, **settings))
        async with app.router.lifespan_context(app):
            running = Running(app)
            if wait_ready:
                await await_for(running.ready, 20, what="the service to be ready")
            yield running

    return start


@pytest.fixture(scope="session")
def users(auth_dsn: str) -> UsersTable:
    return UsersTable(auth_dsn)


@pytest.fixture(scope="module")
async def log_receiver() -> AsyncIterator[LogReceiver]:
    receiver = LogReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A proxy to PostgreSQL, not yet listening."""
    p = TcpProxy(PG_HOST, PG_PORT)
    yield p
    p.close()


@pytest.fixture(scope="module")
def pg_proxy() -> Iterator[TcpProxy]:
    """A proxy to PostgreSQL for a whole module, listening; each test leaves it so."""
    p = TcpProxy(PG_HOST, PG_PORT).open()
    yield p
    p.close()

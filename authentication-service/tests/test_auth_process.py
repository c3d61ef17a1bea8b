"""The service as a real process (`python -m authentication_service`) reaching PostgreSQL through
a proxy we cut, stall and restore: 503 within the deadline, never a hang, and it recovers."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import await_for
from svckit import dsn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from launcher.proxy import TcpProxy


ADMIN = {"email": "admin@example.com", "password": "verysecret"}


def keyword_dsn(port: int, database: str, app_name: str) -> str:
    """The original's DSN form, as its compose file wrote it (our proxy for its host)."""
    return dsn.to_keyword_form(
        {
            "host": "127.0.0.1",
            "port": str(port),
            "user": "postgres",
            "dbname": database,
            "sslmode": "disable",
            "timezone": "UTC",
            "connect_timeout": "2",
            "application_name": app_name,
        }
    )


def auth_process(dsn: str, logs_dir: Path) -> ServiceProcess:
    """The service on `dsn`; the logger's port answers nothing (a login never needs it)."""
    return ServiceProcess(
        "authentication_service",
        {
            "DSN": dsn,
            "DB_TIMEOUT": "1",
            "LOGGER_URL": f"http://127.0.0.1:{free_port()}",
            "LOGGER_TIMEOUT": "0.5",
        },
        log_dir=logs_dir,
        name="auth",
    )


@pytest.fixture(scope="module")
def app_name(run_id: str) -> str:
    return f"auth-{run_id}"


@pytest.fixture(scope="module")
def service(
    pg_proxy: TcpProxy, auth_dsn: str, app_name: str, logs_dir: Path
) -> Iterator[ServiceProcess]:
    """One process for the module, reaching PostgreSQL through `pg_proxy`, started ready."""
    svc = auth_process(
        keyword_dsn(pg_proxy.port, dsn.parse(auth_dsn)["dbname"], app_name), logs_dir
    )
    svc.start()
    svc.wait_ready(30, "/ready")
    yield svc
    # SIGTERM: in-flight work done, the pool closed, the process gone (uvicorn re-raises it).
    assert svc.stop() in (0, -15)
    assert "Application shutdown complete" in svc.output()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def timed(call: object) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await call  # type: ignore[misc]
    return response, time.perf_counter() - started


async def logs_in(http: httpx.AsyncClient, svc: ServiceProcess) -> bool:
    return (await http.post(svc.url + "/authenticate", json=ADMIN)).status_code == 202


async def test_it_starts_without_postgres_reports_503_and_gets_ready_alone(
    proxy: TcpProxy, auth_dsn: str, logs_dir: Path, http: httpx.AsyncClient
) -> None:
    svc = auth_process(
        keyword_dsn(proxy.port, dsn.parse(auth_dsn)["dbname"], "auth-late"), logs_dir
    )
    try:
        svc.start(wait=False)
        svc.wait_ready(30, "/ping")
        ready = await http.get(svc.url + "/ready")
        login = await http.post(svc.url + "/authenticate", json=ADMIN)
        assert ready.status_code == login.status_code == 503
        assert "not connected yet" in login.json()["message"]
        proxy.open()
        await await_for(lambda: logs_in(http, svc), 20, what="the login once PostgreSQL is up")
    finally:
        svc.kill()


async def test_postgres_cut_and_back_is_503_in_time_then_logins_recover(
    pg_proxy: TcpProxy, service: ServiceProcess, http: httpx.AsyncClient
) -> None:
    assert await logs_in(http, service)
    pg_proxy.cut()
    try:
        ready, ready_took = await timed(http.get(service.url + "/ready"))
        login, login_took = await timed(http.post(service.url + "/authenticate", json=ADMIN))
    finally:
        pg_proxy.open()
    assert (ready.status_code, login.status_code) == (503, 503)
    assert login.json()["message"] == "database is unavailable"
    # Deadlines: 1 s for /ready, DB_TIMEOUT=1 s for a lookup; the rest is slack for a busy CI.
    assert ready_took < 3
    assert login_took < 4
    await await_for(lambda: logs_in(http, service), 15, what="logins after PostgreSQL is back")
    assert (await http.get(service.url + "/ready")).status_code == 200


async def test_a_hung_postgres_is_503_within_the_deadline_never_a_hang(
    pg_proxy: TcpProxy, service: ServiceProcess, http: httpx.AsyncClient
) -> None:
    assert await logs_in(http, service)
    pg_proxy.stall()
    try:
        ready, ready_took = await timed(http.get(service.url + "/ready"))
        login, login_took = await timed(http.post(service.url + "/authenticate", json=ADMIN))
    finally:
        pg_proxy.resume()
    assert (ready.status_code, login.status_code) == (503, 503)
    # Readiness's 1 s and the service's own DB_TIMEOUT=1 s race; either names the deadline.
    assert ready.json()["data"]["postgres"].endswith("no answer within 1 s")
    assert login.json()["message"] == "database is unavailable: no answer within 1 s"
    assert ready_took < 3
    assert login_took < 4
    await await_for(lambda: logs_in(http, service), 15, what="logins after the stall")


async def test_connections_killed_by_postgres_are_replaced(
    service: ServiceProcess, http: httpx.AsyncClient, auth_dsn: str, app_name: str
) -> None:
    # Logins at once, so the pool holds several connections for PostgreSQL to end.
    assert all(await asyncio.gather(*(logs_in(http, service) for _ in range(4))))
    conn = await asyncpg.connect(auth_dsn)
    try:
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1",
            app_name,
        )
    finally:
        await conn.close()
    assert killed >= 2
    # At once, while the ended connections may still look open to the pool: none fails.
    assert all(await asyncio.gather(*(logs_in(http, service) for _ in range(4))))
    for _ in range(3):
        assert await logs_in(http, service)

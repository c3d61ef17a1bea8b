"""Pytest fixtures that start real servers on free ports (the `devkit` pytest plugin).

Every run isolates its data: its own PostgreSQL database, its own Mongo database on a
SecantusDB server the run starts, a per-run prefix for RabbitMQ names, and a mail catcher on
ports of its own.
"""

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from svckit import dsn

from devkit.docker import docker_engine  # noqa: F401  (a fixture of this plugin)
from devkit.golang import go_build
from devkit.mail import Catcher
from devkit.mongo import SecantusProcess
from devkit.net import answers
from devkit.otlp import OtlpReceiver
from devkit.process import ServiceProcess
from devkit.system import LocalSystem

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id unique to this test run; prefixes databases, queues and exchanges."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def secantus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusProcess]:
    """A real MongoDB-wire server (SecantusDB on WiredTiger) as a process, for the whole run."""
    server = SecantusProcess(tmp_path_factory.mktemp("secantus") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def secantus_url(secantus: SecantusProcess) -> str:
    return secantus.url


@pytest.fixture(scope="session")
def mongo_database(run_id: str) -> str:
    """The run's own Mongo database name (the logger's `MONGO_DATABASE`)."""
    return f"logs_{run_id}"


async def drop_database(admin: str, name: str) -> None:
    """`DROP DATABASE` through the maintenance connection `admin`, sessions still in it or not."""
    conn = await asyncpg.connect(dsn.to_uri(dsn.parse(admin)), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_dsn(run_id: str) -> Iterator[str]:
    """A database of this run's own on the real PostgreSQL (`TEST_PG_DSN`), dropped afterwards.

    The services create it when they first connect, as they would in a deployment.
    """
    admin = os.environ.get("TEST_PG_DSN", DEFAULT_PG)
    name = f"users_{run_id}"
    yield dsn.with_database(admin, name)
    asyncio.run(drop_database(admin, name))


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    url = os.environ.get("TEST_RABBIT_URL", DEFAULT_RABBIT)
    if not answers("127.0.0.1", 5672):
        pytest.fail(
            "RabbitMQ does not answer on 127.0.0.1:5672: start it with `rabbitmq-server -detached`"
        )
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis (`TEST_REDIS_URL`), where auth replicas share their failed-login counts."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if not answers(host, port):
        pytest.fail(f"Redis does not answer on {host}:{port}: start it with `{START_REDIS}`")
    return url


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[Catcher]:
    """A running catcher for the session: `.smtp_port`, `.http_url`, `.wait_for(to=...)`."""
    catcher = Catcher().start()
    try:
        yield catcher
    finally:
        catcher.stop()


@pytest.fixture(scope="session")
def go_program(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], Path]:
    """Factory: `go_program(module_dir, "client")` builds that Go command once for the run."""
    built: dict[tuple[Path, str], Path] = {}

    def build(module: Path, package: str) -> Path:
        key = (module.resolve(), package)
        if key not in built:
            built[key] = go_build(module, package, tmp_path_factory.mktemp("go"))
        return built[key]

    return build


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A real OTLP receiver (HTTP and gRPC) for the session; services export spans to it."""
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def local_system(
    run_id: str,
    postgres_dsn: str,
    mongo_database: str,
    rabbit_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., LocalSystem]]:
    """Factory: `local_system("e2e", faults=..., env=...)` is the whole system under the
    launcher with this run's data, not started yet; every one made stops after the module."""
    made: list[LocalSystem] = []

    def make(name: str, *, faults: bool = False, env: dict[str, str] | None = None) -> LocalSystem:
        system = LocalSystem(
            name=name,
            run_id=run_id,
            postgres_dsn=postgres_dsn,
            mongo_database=mongo_database,
            rabbit_url=rabbit_url,
            work=tmp_path_factory.mktemp(f"{name}-system"),
            faults=faults,
            env=env,
        )
        made.append(system)
        return system

    yield make
    for system in reversed(made):
        system.stop()


@pytest.fixture
def start_service(logs_dir: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Factory: `start_service("logger_service", {...})` starts a service; all stop afterwards."""
    started: list[ServiceProcess] = []

    def start(module: str, env: dict[str, str], **kwargs: Any) -> ServiceProcess:
        wait = kwargs.pop("wait", True)
        svc = ServiceProcess(module, env, log_dir=logs_dir, **kwargs)
        started.append(svc)
        return svc.start(wait=wait)

    yield start
    for svc in reversed(started):
        with contextlib.suppress(AssertionError):
            svc.stop()

"""Pytest fixtures that start real servers on free ports (registered as a pytest plugin).

Every run isolates its data: its own PostgreSQL database, its own Mongo database on a
SecantusDB server the run starts, and a per-run prefix for RabbitMQ names.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RABBIT = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"gave up after {timeout:g} s waiting for {what or predicate} (last: {last!r})"
    )


async def await_for(
    predicate: Callable[[], Awaitable[Any]],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "",
) -> Any:
    """`wait_for` for async predicates."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(
        f"gave up after {timeout:g} s waiting for {what or predicate} (last: {last!r})"
    )


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, TimeoutError):
        return None


class ServiceProcess:
    """One of our services as a real process (`python -m <module>`), as the launcher runs it."""

    def __init__(
        self,
        module: str,
        env: dict[str, str],
        *,
        port: int | None = None,
        ready_path: str = "/ping",
        log_dir: Path | None = None,
        name: str | None = None,
    ) -> None:
        self.module = module
        self.name = name or module
        self.port = port if port is not None else free_port()
        self.env = {**os.environ, "PORT": str(self.port), "LOG_FORMAT": "text", **env}
        self.ready_path = ready_path
        self.log_path = (log_dir or Path(tempfile.mkdtemp())) / f"{self.name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True, timeout: float = 30.0) -> "ServiceProcess":
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0, path: str | None = None) -> None:
        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.output()}"
                )
            return http_status(self.url + (path or self.ready_path)) == 200

        try:
            wait_for(up, timeout, what=f"{self.name} on {self.url}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- {self.name} output ---\n{self.output()}") from None

    def output(self, tail: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])
        return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait: the graceful path."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"{self.name} ignored SIGTERM for {timeout:g} s:\n{self.output()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL: the crash path."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, wait: bool = True) -> "ServiceProcess":
        self.stop()
        return self.start(wait)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id unique to this test run; prefixes databases, queues and exchanges."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def secantus_url() -> Iterator[str]:
    """A real MongoDB-wire server (SecantusDB on WiredTiger) for the whole run."""
    from secantus import SecantusDBServer

    data = tempfile.mkdtemp(prefix="secantus-")
    # Standalone: the replica-set mode's oplog slows every insert as the collection grows.
    server = SecantusDBServer(
        host="127.0.0.1", port=0, storage_path=data, cache_size="256M", replica_set_name=None
    )
    server.start()
    try:
        yield f"mongodb://127.0.0.1:{server.address[1]}/?directConnection=true"
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def mongo_database(run_id: str) -> str:
    """The run's own Mongo database name (the logger's `MONGO_DATABASE`)."""
    return f"logs_{run_id}"


@pytest.fixture(scope="session")
def postgres_dsn(run_id: str) -> Iterator[str]:
    """A database of this run's own on the real PostgreSQL, dropped afterwards."""
    import asyncpg  # only the services that need PostgreSQL install it

    admin = os.environ.get("TEST_PG_DSN", DEFAULT_PG)
    name = f"users_{run_id}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    dsn = admin.rsplit("/", 1)[0] + f"/{name}"
    yield dsn
    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    url = os.environ.get("TEST_RABBIT_URL", DEFAULT_RABBIT)
    if not port_open("127.0.0.1", 5672):
        pytest.fail(
            "RabbitMQ does not answer on 127.0.0.1:5672: start it with `rabbitmq-server -detached`"
        )
    return url


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

"""The whole system as `make -C project run` starts it, on ports and names of a run's own.

One launcher process (`python -m launcher`) runs every service. With `faults=True` the servers
a fault test must be able to take away are set up for it: PostgreSQL and RabbitMQ are reached
through `TcpProxy`s (cut or stalled; the shared servers themselves are never touched), and
SecantusDB and the mail catcher are processes of the caller's own, stopped and started again at
the same address, instead of the launcher's. The launcher's lab controls are off unless `env` turns
them on (`LAUNCHER_LAB=true`, as in `make -C project run`).
"""

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
from launcher.proxy import TcpProxy, dsn_through, url_through
from svckit import dsn

from devkit.mongo import SecantusProcess
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import wait_for

# Every port the launcher takes a `LAUNCHER_<NAME>_PORT` for.
PORTS = (
    "broker",
    "auth",
    "front_end",
    "mail",
    "logger",
    "logger_rpc",
    "logger_grpc",
    "listener",
    "catcher_smtp",
    "catcher_http",
    "mongo",
    "prometheus",
    "lab",
)
# Settings of the developer's shell that would point the system elsewhere.
_NOT_PASSED_ON = ("MAIL_HOST", "MAIL_PORT", "CORS_ORIGINS", "MONGO_URL")
_STARTED = re.compile(r"\| started (\S+) \(pid (\d+)\)")


@dataclass(frozen=True)
class RabbitNames:
    """A run's own exchange and queues on the shared RabbitMQ, as the services' settings."""

    exchange: str
    queue: str
    dead_exchange: str
    dead_queue: str

    @classmethod
    def for_run(cls, prefix: str) -> "RabbitNames":
        return cls(
            f"{prefix}.logs_topic",
            f"{prefix}.logs.listener",
            f"{prefix}.logs_topic.dlx",
            f"{prefix}.logs.dead",
        )

    def env(self) -> dict[str, str]:
        return {
            "EXCHANGE": self.exchange,
            "QUEUE": self.queue,
            "DEAD_EXCHANGE": self.dead_exchange,
            "DEAD_QUEUE": self.dead_queue,
        }

    async def delete(self, url: str) -> None:
        """Durable queues and exchanges would otherwise outlive the run on the shared server."""
        connection = await aio_pika.connect(url, timeout=5)
        async with connection:
            channel = await connection.channel()
            for queue in (self.queue, self.dead_queue):
                await channel.queue_delete(queue)
            for exchange in (self.exchange, self.dead_exchange):
                await channel.exchange_delete(exchange)


class LocalSystem:
    """The launcher and what it runs, started by `start()`, stopped (everything) by `stop()`.

    `name` tells the RabbitMQ names of two systems of one run apart.
    """

    def __init__(
        self,
        *,
        name: str,
        run_id: str,
        postgres_dsn: str,
        mongo_database: str,
        rabbit_url: str,
        work: Path,
        faults: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.work = work
        self.rabbit_url = rabbit_url
        self.mongo_database = mongo_database
        self.names = RabbitNames.for_run(f"{name}.{run_id}")
        self.ports = {port: free_port() for port in PORTS}
        self.log = work / f"launcher-{name}-{run_id}.log"
        self.launcher: subprocess.Popen[bytes] | None = None
        self.postgres: TcpProxy | None = None
        self.rabbit: TcpProxy | None = None
        self.mongo: SecantusProcess | None = None
        self.catcher: ServiceProcess | None = None
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in _NOT_PASSED_ON and not key.startswith("LAUNCHER_")
        }
        self.env.update({f"LAUNCHER_{name.upper()}_PORT": str(p) for name, p in self.ports.items()})
        self.env.update(
            {
                "LAUNCHER_DATA_DIR": str(work / "launcher-data"),
                "DSN": postgres_dsn,
                "MONGO_DATABASE": mongo_database,
                "RABBIT_URL": rabbit_url,
                # The lab's proxies and its polling would only add load where nobody clicks.
                "LAUNCHER_LAB": "false",
                **self.names.env(),
            }
        )
        if faults:
            self._own_the_servers(postgres_dsn)
            # Scraping every second would only add load to the measurements.
            self.env["LAUNCHER_PROMETHEUS"] = "false"
        self.env.update(env or {})

    def _own_the_servers(self, postgres_dsn: str) -> None:
        self.postgres = TcpProxy(*dsn.first_address(dsn.parse(postgres_dsn)))
        rabbit = urlsplit(self.rabbit_url)
        self.rabbit = TcpProxy(rabbit.hostname or "127.0.0.1", rabbit.port or 5672)
        self.mongo = SecantusProcess(self.work / "mongo", port=self.ports["mongo"])
        self.catcher = ServiceProcess(
            "mailcatcher",
            {
                "CATCHER_HOST": "127.0.0.1",
                "CATCHER_SMTP_PORT": str(self.ports["catcher_smtp"]),
                "CATCHER_HTTP_PORT": str(self.ports["catcher_http"]),
            },
            port=self.ports["catcher_http"],
            ready_path="/api/v2/messages",
            log_dir=self.work,
            name="mailcatcher",
        )
        self.env.update(
            {
                "DSN": dsn_through(postgres_dsn, self.postgres.port),
                "RABBIT_URL": url_through(self.rabbit_url, self.rabbit.port),
                "MONGO_URL": self.mongo.url,
                "MAIL_HOST": "127.0.0.1",
                "MAIL_PORT": str(self.ports["catcher_smtp"]),
            }
        )

    @property
    def mongo_url(self) -> str:
        """The MongoDB the logger writes to (ours, or the SecantusDB the launcher started)."""
        return self.env.get("MONGO_URL") or (
            f"mongodb://127.0.0.1:{self.ports['mongo']}/?directConnection=true"
        )

    def url(self, name: str) -> str:
        return f"http://localhost:{self.ports[name]}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pids(self) -> dict[str, int]:
        """Each service's current process, as the launcher's lines name it (restarts too)."""
        return {name: int(pid) for name, pid in _STARTED.findall(self.output())}

    def exits(self, service: str) -> int:
        """How often the launcher has seen `service` exit so far."""
        return self.output().count(f"| {service} exited (")

    async def back_again(self, service: str, exits: int, timeout: float = 90.0) -> None:
        """Until the launcher has seen more than `exits` exits of `service` and says it is ready
        again after the latest."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.output()
            if output.count(f"| {service} exited (") > exits:
                latest = output.rindex(f"| {service} exited (")
                if output.find(f"| {service} is ready again", latest) >= 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{service} was not ready again within {timeout:g} s")
            await asyncio.sleep(0.1)

    async def dead_letters(self) -> int:
        """Messages in the system's dead-letter queue now (0 while the listener never declared
        it)."""
        connection = await aio_pika.connect(self.rabbit_url, timeout=5)
        async with connection:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(self.names.dead_queue, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                return 0
            return queue.declaration_result.message_count or 0

    def start(self, timeout: float = 180.0) -> "LocalSystem":
        """Everything up; returns once the launcher says every service is ready."""
        for proxy in (self.postgres, self.rabbit):
            if proxy is not None:
                proxy.open()
        if self.mongo is not None:
            self.mongo.start()
        if self.catcher is not None:
            self.catcher.start()
        with self.log.open("wb") as out:
            self.launcher = subprocess.Popen(
                [sys.executable, "-m", "launcher"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.launcher is not None
            if self.launcher.poll() is not None:
                code = self.launcher.returncode
                raise AssertionError(f"the launcher exited with {code}:\n{self.output()}")
            return "| all services are ready:" in self.output()

        wait_for(ready, timeout, interval=0.2, what="the launcher's ready line")
        return self

    def stop(self) -> None:
        """SIGTERM to the launcher (it stops every service), then our own servers and names."""
        if self.launcher is not None and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            try:
                self.launcher.wait(60)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
                self.launcher.wait()
        if self.catcher is not None:
            with contextlib.suppress(AssertionError):
                self.catcher.stop()
        if self.mongo is not None:
            self.mongo.stop()
        for proxy in (self.postgres, self.rabbit):
            if proxy is not None:
                proxy.close()
        asyncio.run(self.names.delete(self.rabbit_url))

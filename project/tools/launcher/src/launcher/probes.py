"""Where the system's servers are: PostgreSQL and RabbitMQ must answer; MongoDB and mail have
stand-ins. Each missing one gives a single line saying where we looked and how to start it."""

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from svckit import dsn

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=users"
DEFAULT_RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
COMPOSE = "docker compose -f project/docker-compose.yml up -d"


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


@dataclass(frozen=True)
class Address:
    """A TCP host and port, or a Unix socket path when `host` is a directory (libpq's form)."""

    host: str
    port: int

    def __str__(self) -> str:
        if self.host.startswith("/"):
            return str(Path(self.host) / f".s.PGSQL.{self.port}")
        return f"{self.host}:{self.port}"

    async def answers(self, timeout: float = 2.0) -> bool:
        return await asyncio.to_thread(answers, self.host, self.port, timeout)


def postgres_address(value: str) -> Address:
    """Where libpq would connect first for a DSN, in keyword form or as a URI."""
    return Address(*dsn.first_address(dsn.parse(value)))


def rabbit_address(url: str) -> Address:
    parts = urlsplit(url)
    return Address(
        parts.hostname or "127.0.0.1", parts.port or (5671 if parts.scheme == "amqps" else 5672)
    )


def _pg_cluster_version() -> str:
    """The newest Debian cluster version installed here, for the hint's command."""
    installed = Path("/etc/postgresql")
    versions = sorted(p.name for p in installed.iterdir()) if installed.is_dir() else []
    return versions[-1] if versions else "<version>"


async def missing_servers(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per server the system cannot run without that does not answer."""
    env = os.environ if environ is None else environ
    pg = postgres_address(env.get("DSN") or DEFAULT_DSN)
    rabbit = rabbit_address(env.get("RABBIT_URL") or DEFAULT_RABBIT_URL)
    pg_up, rabbit_up = await asyncio.gather(pg.answers(), rabbit.answers())
    problems = []
    if not pg_up:
        where = "DSN" if env.get("DSN") else "the default DSN"
        problems.append(
            f"PostgreSQL does not answer on {pg} ({where}): start it with "
            f"`sudo pg_ctlcluster {_pg_cluster_version()} main start` or `{COMPOSE} postgres`, "
            "or set DSN."
        )
    if not rabbit_up:
        where = "RABBIT_URL" if env.get("RABBIT_URL") else "the default RABBIT_URL"
        problems.append(
            f"RabbitMQ does not answer on {rabbit} ({where}): start it with "
            f"`sudo rabbitmq-server -detached` or `{COMPOSE} rabbitmq`, or set RABBIT_URL."
        )
    return problems


async def mongo_answers(port: int, environ: Mapping[str, str] | None = None) -> bool:
    """True when MongoDB is set (`MONGO_URL`) or something answers on `port` locally."""
    env = os.environ if environ is None else environ
    if env.get("MONGO_URL"):
        return True
    return await Address("127.0.0.1", port).answers(0.5)


async def mail_server_answers(port: int, environ: Mapping[str, str] | None = None) -> bool:
    """True when a mail server is set (`MAIL_HOST`/`MAIL_PORT`) or answers on `port` locally."""
    env = os.environ if environ is None else environ
    if env.get("MAIL_HOST") or env.get("MAIL_PORT"):
        return True
    return await Address("127.0.0.1", port).answers()

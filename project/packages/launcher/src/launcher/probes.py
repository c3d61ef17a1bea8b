"""Where the system's servers are: PostgreSQL and RabbitMQ must answer; MongoDB and mail may be
embedded. Each missing one gives a single line saying where we looked and how to start it."""

import asyncio
import contextlib
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=users"
DEFAULT_RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
MONGO_ADDRESS = ("127.0.0.1", 27017)
COMPOSE = "docker compose -f project/docker-compose.yml up -d"


@dataclass(frozen=True)
class Address:
    """A TCP host and port, or a Unix socket path when `host` is a directory (libpq's form)."""

    host: str
    port: int

    def __str__(self) -> str:
        if self.host.startswith("/"):
            return str(Path(self.host) / f".s.PGSQL.{self.port}")
        return f"{self.host}:{self.port}"


async def answers(address: Address, timeout: float = 2.0) -> bool:
    """Whether something accepts a connection there within `timeout` seconds."""
    try:
        if address.host.startswith("/"):
            opening = asyncio.open_unix_connection(str(address))
        else:
            opening = asyncio.open_connection(address.host, address.port)
        _, writer = await asyncio.wait_for(opening, timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def postgres_address(dsn: str) -> Address:
    """Host and port of a libpq DSN, in keyword form (`host=... port=...`) or as a URI."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return Address(parts.hostname or "127.0.0.1", parts.port or 5432)
    words = dict(word.split("=", 1) for word in shlex.split(dsn) if "=" in word)
    host = words.get("host", "127.0.0.1").split(",")[0]
    return Address(host, int(words.get("port", "5432").split(",")[0]))


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
    dsn = env.get("DSN") or DEFAULT_DSN
    rabbit_url = env.get("RABBIT_URL") or DEFAULT_RABBIT_URL
    pg = postgres_address(dsn)
    rabbit = rabbit_address(rabbit_url)
    pg_up, rabbit_up = await asyncio.gather(answers(pg), answers(rabbit))
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


async def mongo_choice(environ: Mapping[str, str] | None = None) -> str:
    """How the logger will find MongoDB, for the start-up report."""
    env = os.environ if environ is None else environ
    if env.get("MONGO_URL"):
        return "MongoDB from MONGO_URL"
    if await answers(Address(*MONGO_ADDRESS)):
        return "MongoDB on 127.0.0.1:27017"
    return "no MongoDB answers on 127.0.0.1:27017: the logger runs an embedded SecantusDB"


async def mail_server_answers(port: int, environ: Mapping[str, str] | None = None) -> bool:
    """True when a mail server is set (`MAIL_HOST`/`MAIL_PORT`) or answers on `port` locally."""
    env = os.environ if environ is None else environ
    if env.get("MAIL_HOST") or env.get("MAIL_PORT"):
        return True
    return await answers(Address("127.0.0.1", port))

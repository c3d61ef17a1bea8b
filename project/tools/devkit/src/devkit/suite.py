"""One run of a suite against the whole system started for it: what `make -C project faults`
and `make -C project hostile` share (the scenarios and their reports are each suite's own)."""

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TypeVar

from svckit import dsn

from devkit.fixtures import DEFAULT_PG, DEFAULT_RABBIT, drop_database
from devkit.net import answers
from devkit.system import LocalSystem

T = TypeVar("T")


def run_suite(
    name: str,
    env: Mapping[str, str],
    progress: Callable[[str], None],
    run: Callable[[LocalSystem, str], Coroutine[object, object, T]],
) -> T | None:
    """`run(system, run_id)` against the system under the launcher, on ports, a database, a
    Mongo database and RabbitMQ names of its own (removed afterwards). None, said in one
    line, when PostgreSQL or RabbitMQ does not answer (`TEST_PG_DSN`, `TEST_RABBIT_URL`)."""
    admin = os.environ.get("TEST_PG_DSN", DEFAULT_PG)
    rabbit_url = os.environ.get("TEST_RABBIT_URL", DEFAULT_RABBIT)
    for what, (host, port) in {
        "PostgreSQL": dsn.first_address(dsn.parse(admin)),
        "RabbitMQ": ("127.0.0.1", 5672),
    }.items():
        if not answers(host, port):
            progress(f"{what} does not answer on {host}:{port}: start it first (see README.md)")
            return None
    run_id = uuid.uuid4().hex[:8]
    database = f"users_{name}_{run_id}"
    work = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    system = LocalSystem(
        name=name,
        run_id=run_id,
        postgres_dsn=dsn.with_database(admin, database),
        mongo_database=f"logs_{name}_{run_id}",
        rabbit_url=rabbit_url,
        work=work,
        faults=True,
        env=dict(env),
    )
    progress(f"starting the system (logs in {work})")
    began = time.monotonic()
    try:
        system.start()
        progress(f"the system is up ({time.monotonic() - began:.0f} s)")
        return asyncio.run(run(system, run_id))
    finally:
        system.stop()
        asyncio.run(drop_database(admin, database))

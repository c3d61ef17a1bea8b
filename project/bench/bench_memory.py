"""Memory: each service's resident set (RSS), idle and after a load through every path.

The whole system runs as `make -C project run` starts it (the launcher, `devkit.system`), on a
database, a MongoDB database and RabbitMQ names of the run's own. Each service's RSS is read
once it is ready and idle, then again after a closed loop of calls through the broker on every
path (`POST /`, the three log doors and RabbitMQ, a login, a mail). No goal:
the figures are for sizing containers (the k8s manifests' requests and limits).

    uv run --frozen python project/bench/bench_memory.py     # BENCH_QUICK=1: the smoke run
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import aiohttp
import benchkit
from devkit.fixtures import DEFAULT_PG, DEFAULT_RABBIT, drop_database
from devkit.system import LocalSystem
from devkit.wait import await_for
from svckit import dsn

SERVICES = ("broker", "auth", "logger", "mail", "listener", "front-end")
ENTRY = {"name": "bench-memory", "data": "Some kind of data"}
# One of each path per round; the login is one bcrypt check, the mail one SMTP send.
CALLS: list[tuple[str, dict[str, object]]] = [
    ("/", {}),
    ("/handle", {"action": "log", "log": ENTRY}),
    ("/log-grpc", {"log": ENTRY}),
    ("/log-http", {"log": ENTRY}),
    ("/log-rabbit", {"log": ENTRY}),
    (
        "/handle",
        {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}},
    ),
    (
        "/handle",
        {
            "action": "mail",
            "mail": {
                "from": "me@example.com",
                "to": "you@example.com",
                "subject": "Hi",
                "message": "Hello",
            },
        },
    ),
]


def rss_mib(pid: int) -> float | None:
    """The process's resident set in MiB (`ps` reads it on Linux and macOS alike)."""
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True)
    text = out.stdout.strip()
    return int(text) / 1024 if text.isdigit() else None


def snapshot(system: LocalSystem) -> dict[str, float | None]:
    pids = system.pids()
    return {name: rss_mib(pids[name]) if name in pids else None for name in SERVICES}


async def load(broker: str, seconds: float, concurrency: int) -> benchkit.Load:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        turn = 0

        async def call() -> None:
            nonlocal turn
            path, body = CALLS[turn % len(CALLS)]
            turn += 1
            async with session.post(broker + path, json=body) as resp:
                await resp.read()
                if resp.status >= 300:
                    raise RuntimeError(f"{path} answered {resp.status}")

        return await benchkit.closed_loop(call, concurrency, seconds)


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 2.0 if quick else 30.0
    run_id = uuid.uuid4().hex[:8]
    admin = os.environ.get("TEST_PG_DSN", DEFAULT_PG)
    database = f"users_bench_{run_id}"
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    system = LocalSystem(
        name="bench",
        run_id=run_id,
        postgres_dsn=dsn.with_database(admin, database),
        mongo_database=f"logs_bench_{run_id}",
        rabbit_url=os.environ.get("RABBIT_URL", DEFAULT_RABBIT),
        work=work,
        env={"LAUNCHER_PROMETHEUS": "false"},
    )
    try:
        await asyncio.to_thread(system.start)
        pids = system.pids()

        async def every_pid_known() -> bool:
            pids.update(system.pids())
            return all(name in pids for name in SERVICES)

        await await_for(every_pid_known, 10, what="every service's pid in the launcher's output")
        idle = snapshot(system)
        done = await load(system.url("broker"), seconds, concurrency=8)
        benchkit.progress(
            f"load through every path: {done.requests} calls, {done.errors} errors, "
            f"{done.rate:,.0f} calls/s"
        )
        loaded = snapshot(system)
    finally:
        await asyncio.to_thread(system.stop)
        await drop_database(admin, database)
        shutil.rmtree(work, ignore_errors=True)
    results = []
    for name in SERVICES:
        extra = {"calls": done.requests, "errors": done.errors}
        results.append(benchkit.Result(f"RSS {name}: idle", idle[name] or float("nan"), "MiB"))
        results.append(
            benchkit.Result(
                f"RSS {name}: after the load", loaded[name] or float("nan"), "MiB", extra=extra
            )
        )
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

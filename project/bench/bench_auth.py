"""Authentication: bcrypt capacity, login throughput as a share of it, `/ping` under login load.

1. The machine's bcrypt capacity at cost 12: checks per second with one thread per core,
   measured here with the seed hash (Go-made), no service involved.
2. The service's login throughput (`POST /authenticate`, the right password, so one cost-12
   check each) under a closed loop of concurrent clients, as a ratio of that capacity
   (goal ≥ 0.95: the HTTP, database and logger work around each check costs little).
3. `/ping` latency p99 from one client while those logins saturate every core (goal < 20 ms:
   bcrypt runs in worker threads, so the event loop keeps answering).

The service runs as a real process (`python -m authentication_service`) on a database of the
bench's own on the local PostgreSQL (dropped afterwards), with a small logger stand-in that
accepts the login records. Run alone: `uv run --frozen python project/bench/bench_auth.py`.
"""

import asyncio
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import bcrypt
import benchkit
import httpx
from aiohttp import web
from devkit.net import free_port
from devkit.process import ServiceProcess

PG_SERVER = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
# The original's seed hash (Go's bcrypt, cost 12) of `verysecret`.
SEED_HASH = b"$2a$12$1zGLuYDDNvATh4RA4avbKuheAMpb1svexSzrQm7up.bnpwQHs0jNe"
ADMIN = {"email": "admin@example.com", "password": "verysecret"}


def cores() -> int:
    return len(os.sched_getaffinity(0))


def bcrypt_capacity(seconds: float) -> float:
    """Cost-12 checks per second with one thread per core, each thread checking back to back."""
    stop_at = time.perf_counter() + seconds

    def worker() -> int:
        done = 0
        while time.perf_counter() < stop_at:
            bcrypt.checkpw(b"verysecret", SEED_HASH)
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(cores()) as pool:
        total = sum(pool.map(lambda _: worker(), range(cores())))
    return total / (time.perf_counter() - started)


async def logger_stand_in(port: int) -> web.AppRunner:
    async def log(_: web.Request) -> web.Response:
        return web.json_response({"error": False, "message": "logged"}, status=202)

    app = web.Application()
    app.router.add_post("/log", log)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_SERVER, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 1.5 if quick else 15.0
    benchkit.progress(f"bcrypt capacity at cost 12 on {cores()} threads ({seconds:g} s)")
    capacity = await asyncio.to_thread(bcrypt_capacity, seconds)

    database = f"users_bench_{uuid.uuid4().hex[:8]}"
    logger_port = free_port()
    runner = await logger_stand_in(logger_port)
    svc = ServiceProcess(
        "authentication_service",
        {
            "DSN": f"{PG_SERVER.rsplit('/', 1)[0]}/{database}",
            "LOGGER_URL": f"http://127.0.0.1:{logger_port}",
            "LOG_LEVEL": "WARNING",
        },
        name="auth-bench",
    )
    try:
        await asyncio.to_thread(svc.start)
        await asyncio.to_thread(svc.wait_ready, 60, "/ready")
        # Enough clients that a check is always queued behind each busy core.
        concurrency = cores() * 4
        async with httpx.AsyncClient(
            base_url=svc.url, timeout=30, limits=httpx.Limits(max_connections=concurrency + 4)
        ) as client:

            async def login() -> None:
                r = await client.post("/authenticate", json=ADMIN)
                if r.status_code != 202:
                    raise RuntimeError(f"login answered {r.status_code}: {r.text}")

            async def ping() -> None:
                r = await client.get("/ping")
                if r.status_code != 200:
                    raise RuntimeError(f"ping answered {r.status_code}")

            benchkit.progress(f"logins, {concurrency} clients ({seconds:g} s)")
            logins = await benchkit.closed_loop(login, concurrency, seconds, warmup=1.0)
            benchkit.progress(f"/ping from one client while logins saturate ({seconds:g} s)")
            loaded, pings = await asyncio.gather(
                benchkit.closed_loop(login, concurrency, seconds, warmup=1.0),
                benchkit.closed_loop(ping, 1, seconds, warmup=1.0),
            )
    finally:
        await asyncio.to_thread(svc.stop)
        await runner.cleanup()
        await drop_database(database)

    return [
        benchkit.Result(
            "bcrypt capacity, cost 12", capacity, "checks/s", extra={"threads": cores()}
        ),
        benchkit.Result(
            "login throughput",
            logins.rate,
            "logins/s",
            baseline=capacity,
            goal=0.95,
            extra={"concurrency": concurrency, "errors": logins.errors},
        ),
        benchkit.Result(
            "/ping p99 while logins saturate the CPU",
            pings.percentile(99) * 1000,
            "ms",
            goal=20,
            goal_kind="value<=",
            extra={
                "pings": pings.requests,
                "p50_ms": pings.percentile(50) * 1000,
                "logins_per_s": loaded.rate,
                "errors": pings.errors + loaded.errors,
            },
        ),
    ]


if __name__ == "__main__":
    results = asyncio.run(main(benchkit.QUICK))
    print(benchkit.table(results))
    sys.exit(0)

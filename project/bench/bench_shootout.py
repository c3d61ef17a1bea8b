"""The protocol shoot-out: the same log entry, end to end through the broker, over each door.

Doors: `/log-http` (broker → logger HTTP), `/handle` with action `log` (broker → logger
net/rpc, in the broker's default codec), `/log-grpc` (broker → logger gRPC) and `/log-rabbit`
(broker → RabbitMQ, answered after the publisher confirm; the listener then forwards to the
logger's HTTP door). Each runs at 1, 8, 32 and 128 requests in flight for a fixed time.
Figures: requests per second, latency p50/p95/p99, and the CPU seconds per 1000 requests of
each process involved, counted from the start of the load until every accepted entry is
stored in MongoDB.

The system runs as the tests run it: SecantusDB (MongoDB wire) in a process of its own,
the logger, listener and broker as real processes on free ports, the real RabbitMQ with this
run's own exchange and queue names. The load comes from wrk (pinned to its own core); without
wrk, from an aiohttp closed loop.
"""

import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import benchkit
from bench_auth import PG_SERVER, drop_database
from bench_mail import catcher_process
from devkit.mongo import secantus_argv
from devkit.net import answers, free_port
from devkit.process import ServiceProcess
from devkit.procfs import cpu_seconds
from devkit.wait import wait_for
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

DOORS = {"HTTP": "/log-http", "RPC": "/handle", "gRPC": "/log-grpc", "RabbitMQ": "/log-rabbit"}
# BENCH_DOORS=HTTP,gRPC measures only those doors (the listener starts only for RabbitMQ).
CHOSEN = [d for d in os.environ.get("BENCH_DOORS", ",".join(DOORS)).split(",") if d in DOORS]
RABBIT_URL = os.environ.get("RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")
WRK = shutil.which("wrk")
DATA = "Some kind of data, the same for every door"

Logs = AsyncCollection[dict[str, Any]]


@dataclass(frozen=True)
class Plan:
    """How long and how hard: the full run, or the quick smoke run."""

    levels: tuple[int, ...]
    seconds: int  # per door and level (wrk counts whole seconds)
    warmup: int  # per door, before its first level
    drain_limit: float  # how long the listener may take to store what RabbitMQ accepted
    samples: int  # single entries timed from POST until stored

    @classmethod
    def of(cls, quick: bool) -> "Plan":
        if quick:
            return cls(levels=(1, 32), seconds=1, warmup=0, drain_limit=20.0, samples=3)
        return cls(levels=(1, 8, 32, 128), seconds=10, warmup=2, drain_limit=120.0, samples=15)


@dataclass
class Figures:
    """What one load achieved: accepted requests, failures and latency percentiles (ms)."""

    accepted: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


@dataclass
class System:
    """The running system under test and where to find each process."""

    broker: ServiceProcess
    mongo_url: str
    database: str
    pids: dict[str, int]


def generator_cpu_seconds() -> float:
    """CPU of the reaped children: wrk (the services are still running, so not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rabbitmq_pid() -> int | None:
    """The shared RabbitMQ server's Erlang VM, to count its share too (read-only)."""
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if stat.read_text().strip() == "beam.smp":
                return int(stat.parent.name)
    return None


def split_cores() -> tuple[set[int], set[int]]:
    """(system, generator) cores: with BENCH_PIN, the last core drives the load, the rest serve.

    By default only from 4 cores up: wrk needs a few percent of a core, so on 2 cores giving
    it one of them would halve what the system can use and distort more than it protects.
    """
    cores = sorted(os.sched_getaffinity(0))
    pin = os.environ.get("BENCH_PIN", "auto")
    if len(cores) < 2 or pin == "0" or (pin == "auto" and len(cores) < 4):
        return set(cores), set(cores)
    return set(cores[:-1]), {cores[-1]}


# Each service process under its short name (the pids and the reports use these).
SHORT_NAMES = {
    "logger_service": "logger",
    "listener_service": "listener",
    "broker_service": "broker",
    "authentication_service": "auth",
    "mail_service": "mail",
    "mailcatcher": "catcher",
}


@contextlib.asynccontextmanager
async def running_system(
    system_cores: set[int], with_listener: bool, with_auth_mail: bool = False
) -> AsyncIterator[System]:
    """SecantusDB, logger, listener and broker on free ports, pinned to the system's cores;
    `with_auth_mail`: auth (on a database of its own, dropped after), mail and a mail catcher
    too, so that every path of the broker answers."""
    run = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix=f"shootout-{run}-"))
    exchange, queue = f"bench_{run}.logs_topic", f"bench_{run}.logs.listener"
    dead_exchange, dead_queue = f"{exchange}.dlx", f"bench_{run}.logs.dead"
    mongo_port = free_port()
    # Children inherit the affinity: everything started here runs on the system's cores.
    os.sched_setaffinity(0, system_cores)
    with (tmp / "secantus.log").open("wb") as log:
        mongo = await asyncio.create_subprocess_exec(
            *secantus_argv("127.0.0.1", mongo_port, tmp / "data", log_level="ERROR"),
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    services: list[ServiceProcess] = []
    try:
        mongo_url = f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true"
        rpc_port, grpc_port = free_port(), free_port()
        logger = ServiceProcess(
            "logger_service",
            {
                "RPC_PORT": str(rpc_port),
                "GRPC_PORT": str(grpc_port),
                "MONGO_URL": mongo_url,
                "MONGO_DATABASE": f"bench_{run}",
                "LOG_FORMAT": "json",
            },
            log_dir=tmp,
            ready_path="/ready",
        )
        listener = ServiceProcess(
            "listener_service",
            {
                "RABBIT_URL": RABBIT_URL,
                "LOGGER_URL": logger.url,
                "EXCHANGE": exchange,
                "QUEUE": queue,
                "DEAD_EXCHANGE": dead_exchange,
                "DEAD_QUEUE": dead_queue,
                "LOG_FORMAT": "json",
            },
            log_dir=tmp,
            ready_path="/ready",
        )
        nowhere = f"http://127.0.0.1:{free_port()}"
        auth_mail = auth_and_mail(run, logger.url, tmp) if with_auth_mail else []
        urls = {SHORT_NAMES[svc.module]: svc.url for svc in auth_mail}
        broker = ServiceProcess(
            "broker_service",
            {
                "AUTH_URL": urls.get("auth", nowhere),
                "MAIL_URL": urls.get("mail", nowhere),
                "LOGGER_URL": logger.url,
                "LOGGER_RPC_ADDR": f"127.0.0.1:{rpc_port}",
                "LOGGER_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
                "RABBIT_URL": RABBIT_URL,
                "EXCHANGE": exchange,
                "LOG_FORMAT": "json",
            },
            log_dir=tmp,
            # Auth and mail are nowhere (the shoot-out is about the logger's doors): never ready.
            ready_path="/ping",
        )
        # Started together, as the launcher does: each waits for its dependencies by itself.
        for svc in (logger, *([listener] if with_listener else []), *auth_mail, broker):
            services.append(svc.start(wait=False))
        await asyncio.gather(
            asyncio.to_thread(
                wait_for, lambda: answers("127.0.0.1", mongo_port), 60, what="SecantusDB"
            ),
            *(asyncio.to_thread(svc.wait_ready, 60.0) for svc in services),
        )
        pids = {"mongo": mongo.pid}
        for svc in services:
            assert svc.proc is not None
            pids[SHORT_NAMES[svc.module]] = svc.proc.pid
        if (beam := rabbitmq_pid()) is not None:
            pids["rabbitmq"] = beam
        benchkit.progress(f"shoot-out: system up (on cores {sorted(system_cores)})")
        yield System(broker, mongo_url, f"bench_{run}", pids)
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_quietly, svc) for svc in services))
        mongo.terminate()
        try:
            await asyncio.wait_for(mongo.wait(), 15)
        except TimeoutError:
            mongo.kill()
            await mongo.wait()
        await delete_rabbit_names([queue, dead_queue], [exchange, dead_exchange])
        if with_auth_mail:
            with contextlib.suppress(Exception):
                await drop_database(auth_database(run))
        shutil.rmtree(tmp, ignore_errors=True)


def auth_database(run: str) -> str:
    return f"users_bench_{run}"


def auth_and_mail(run: str, logger_url: str, log_dir: Path) -> list[ServiceProcess]:
    """The mail catcher, the mail service sending to it, and auth on a database of this run's
    (created by the service itself, with its seed user)."""
    catcher, smtp_port = catcher_process(log_dir)
    mail = ServiceProcess(
        "mail_service",
        {"MAIL_HOST": "127.0.0.1", "MAIL_PORT": str(smtp_port), "LOG_FORMAT": "json"},
        log_dir=log_dir,
    )
    auth = ServiceProcess(
        "authentication_service",
        {
            "DSN": f"{PG_SERVER.rsplit('/', 1)[0]}/{auth_database(run)}",
            "LOGGER_URL": logger_url,
            "LOG_FORMAT": "json",
        },
        log_dir=log_dir,
    )
    return [catcher, mail, auth]


def stop_quietly(svc: ServiceProcess) -> None:
    """SIGTERM and wait; one that ignores it is killed (and said so in its own log)."""
    with contextlib.suppress(AssertionError):
        svc.stop()


async def delete_rabbit_names(queues: list[str], exchanges: list[str]) -> None:
    """Leave nothing of this run on the shared RabbitMQ."""
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(RABBIT_URL, timeout=5)
        async with connection:
            channel = await connection.channel()
            for q in queues:
                await channel.queue_delete(q)
            for x in exchanges:
                await channel.exchange_delete(x)


def body(name: str) -> str:
    return json.dumps({"action": "log", "log": {"name": name, "data": DATA}})


async def first_answer(http: aiohttp.ClientSession, url: str, payload: str, limit: float) -> None:
    """Wait until the door accepts `payload` (the broker's clients connect in the background)."""
    deadline = time.monotonic() + limit
    last = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.post(url, data=payload) as resp:
                if resp.status < 300:
                    return
                last = f"{resp.status} {await resp.text()}"
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not accept {payload[:80]} within {limit:g} s (last: {last})")


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%%d,\\"us\\":%%d,\\"failed\\":%%d,\\"status\\":%%d," ..
    "\\"p50\\":%%d,\\"p95\\":%%d,\\"p99\\":%%d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


async def wrk_load(url: str, payload: str, level: int, seconds: int, cores: set[int]) -> Figures:
    """`level` connections, each with one request in flight, for `seconds` (wrk on `cores`)."""
    assert WRK is not None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % payload)
    threads = max(1, min(level, len(cores)))
    try:
        proc = await asyncio.create_subprocess_exec(
            WRK,
            *("-t", str(threads), "-c", str(level), "-d", f"{seconds}s", "--timeout", "10s"),
            *("-s", script.name, url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, cores),
        )
        out, _ = await asyncio.wait_for(proc.communicate(), seconds + 30)
    finally:
        os.unlink(script.name)
    line = next((x for x in out.decode().splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary: {out.decode()[-500:]}")
    w = json.loads(line.removeprefix("WRKJSON "))
    return Figures(
        accepted=w["requests"] - w["status"],
        errors=w["status"] + w["failed"],
        seconds=w["us"] / 1e6,
        p50=w["p50"] / 1000,
        p95=w["p95"] / 1000,
        p99=w["p99"] / 1000,
    )


async def aiohttp_load(
    http: aiohttp.ClientSession, url: str, payload: str, level: int, seconds: int
) -> Figures:
    """The fallback generator: a closed loop of aiohttp calls (no warm-up, to count them all)."""

    async def call() -> None:
        async with http.post(url, data=payload) as resp:
            await resp.read()
            if resp.status != 202:
                raise RuntimeError(f"{resp.status}")

    load = await benchkit.closed_loop(call, level, seconds, warmup=0)
    return Figures(
        accepted=load.requests,
        errors=load.errors,
        seconds=load.seconds,
        p50=load.percentile(50) * 1000,
        p95=load.percentile(95) * 1000,
        p99=load.percentile(99) * 1000,
    )


async def stored_after(logs: Logs, name: str, accepted: int, limit: float) -> float:
    """Seconds until MongoDB holds every accepted entry named `name` (NaN past the limit)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await logs.count_documents({"name": name}) >= accepted:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return float("nan")


async def publish_to_stored(
    http: aiohttp.ClientSession, url: str, logs: Logs, run: str, plan: Plan
) -> list[benchkit.Result]:
    """One entry at a time through RabbitMQ: ms to the 202 after the confirm, ms until stored."""
    confirms: list[float] = []
    stored: list[float] = []
    for i in range(plan.samples):
        name = f"sample-{run}-{i}"
        started = time.perf_counter()
        async with http.post(url, data=body(name)) as resp:
            await resp.read()
            confirmed = time.perf_counter()
            if resp.status != 202:
                raise RuntimeError(f"{url} answered {resp.status}")
        deadline = started + plan.drain_limit
        while await logs.find_one({"name": name}) is None:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{name} was not stored within {plan.drain_limit:g} s")
            await asyncio.sleep(0.002)
        confirms.append((confirmed - started) * 1000)
        stored.append((time.perf_counter() - started) * 1000)
    extra = {"door": "RabbitMQ", "samples": len(stored)}
    return [
        benchkit.Result(
            "shoot-out RabbitMQ: one entry, POST to 202 after the publisher confirm (median)",
            statistics.median(confirms),
            "ms",
            extra={**extra, "all": confirms},
        ),
        benchkit.Result(
            "shoot-out RabbitMQ: one entry, POST until stored in MongoDB (median)",
            statistics.median(stored),
            "ms",
            extra={**extra, "all": stored},
        ),
    ]


async def main(quick: bool) -> list[benchkit.Result]:
    plan = Plan.of(quick)
    system_cores, generator_cores = split_cores()
    original = os.sched_getaffinity(0)
    generator = "wrk" if WRK else "aiohttp"
    setup = {
        "generator": generator,
        "system_cores": sorted(system_cores),
        "generator_cores": sorted(generator_cores),
    }
    results: list[benchkit.Result] = []
    try:
        async with (
            running_system(system_cores, "RabbitMQ" in CHOSEN) as system,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
            AsyncMongoClient[dict[str, Any]](
                system.mongo_url, serverSelectionTimeoutMS=5000
            ) as mongo,
        ):
            http.headers["Content-Type"] = "application/json"
            logs = mongo[system.database]["logs"]
            run = uuid.uuid4().hex[:6]
            for label in CHOSEN:
                path = DOORS[label]
                url = system.broker.url + path
                await first_answer(http, url, body(f"probe-{run}"), 30)
                if plan.warmup and WRK:
                    await wrk_load(url, body(f"warmup-{run}"), 8, plan.warmup, generator_cores)
                for level in plan.levels:
                    name = f"{label}-{level}-{run}"
                    payload = body(name)
                    cpu_before = {p: cpu_seconds(pid) for p, pid in system.pids.items()}
                    gen_before = generator_cpu_seconds()
                    if WRK:
                        figures = await wrk_load(url, payload, level, plan.seconds, generator_cores)
                    else:
                        figures = await aiohttp_load(http, url, payload, level, plan.seconds)
                    gen_cpu = generator_cpu_seconds() - gen_before
                    drain = await stored_after(logs, name, figures.accepted, plan.drain_limit)
                    cpu = {p: cpu_seconds(pid) - cpu_before[p] for p, pid in system.pids.items()}
                    cpu[generator] = gen_cpu
                    results += figures_of(label, path, level, figures, cpu, drain, setup)
                    benchkit.progress(
                        f"shoot-out {label:8} ×{level:<3} {figures.rate:8,.0f} req/s  "
                        f"p99 {figures.p99:7.1f} ms  errors {figures.errors}"
                    )
            if "RabbitMQ" in CHOSEN:
                url = system.broker.url + DOORS["RabbitMQ"]
                results += await publish_to_stored(http, url, logs, run, plan)
    finally:
        os.sched_setaffinity(0, original)
    return results


def figures_of(
    label: str,
    path: str,
    level: int,
    f: Figures,
    cpu: dict[str, float],
    drain: float,
    setup: dict[str, Any],
) -> list[benchkit.Result]:
    tag = {"door": label, "path": path, "concurrency": level}
    head = f"shoot-out {label} ×{level}"
    per_1k = 1000 / f.accepted if f.accepted else float("nan")
    return [
        benchkit.Result(
            f"{head}: throughput",
            f.rate,
            "req/s",
            extra={
                **tag,
                "metric": "throughput",
                "accepted": f.accepted,
                "errors": f.errors,
                "seconds": f.seconds,
                **setup,
            },
        ),
        *(
            benchkit.Result(f"{head}: latency {m}", getattr(f, m), "ms", extra={**tag, "metric": m})
            for m in ("p50", "p95", "p99")
        ),
        benchkit.Result(
            f"{head}: every accepted entry stored, after the load ended",
            drain,
            "s",
            extra={**tag, "metric": "stored_after"},
        ),
        benchkit.Result(
            f"{head}: CPU of the system (every process but the generator)",
            sum(v for proc, v in cpu.items() if proc != setup["generator"]) * per_1k,
            "CPU s/1k req",
            extra={**tag, "metric": "cpu_system"},
        ),
        *(
            benchkit.Result(
                f"{head}: CPU of {proc}",
                seconds * per_1k,
                "CPU s/1k req",
                extra={**tag, "metric": "cpu", "process": proc},
            )
            for proc, seconds in cpu.items()
        ),
    ]


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

"""The RabbitMQ path: raw publish-with-confirm, publish → stored through the listener, and loss.

0. The logger alone: `POST /log` at the listener's concurrency, the ceiling behind the queue.
1. Raw aio-pika publish with publisher confirms into a quorum queue like the listener's, one
   at a time and 100 in flight: the ceiling for anything that goes through RabbitMQ.
2. Events per second from publish to stored document through the listener and the logger
   (100 publishes in flight, the clock stops when the last document is in MongoDB). Goal: at
   least 0.8 of the raw rate at 100 in flight.
3. Publish-to-stored lag p50/p99 at half the rate of 2 (paced publishes; the lag is the
   document's `created_at` minus the publish time). Goal: p99 < 100 ms.
4. Zero loss: 10,000 events (1,000 in quick mode) while the listener is killed with SIGKILL
   twice and the logger is restarted once → exactly as many unique documents.

Everything runs as the tests run it: SecantusDB in a process of its own, the logger and the
listener as real processes, the real RabbitMQ with this run's own names (deleted afterwards).
"""

import asyncio
import contextlib
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import benchkit
from devkit.mongo import secantus_argv
from devkit.net import answers, free_port
from devkit.process import ServiceProcess
from devkit.wait import wait_for
from listener_service.logger_client import LoggerClient, Verdict
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from svckit.amqp import Publisher, declare_logs_exchange, json_message

RABBIT_URL = os.environ.get("RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")
# The listener's default prefetch: how many POSTs it keeps in flight.
PREFETCH = 32
Logs = AsyncCollection[dict[str, Any]]


@dataclass(frozen=True)
class Plan:
    seconds: float  # per closed-loop measurement
    through: int  # events for the publish → stored rate
    lag_seconds: float  # paced run for the lag
    zero_loss: int  # events for the zero-loss run


FULL = Plan(seconds=10, through=20_000, lag_seconds=20, zero_loss=10_000)
QUICK = Plan(seconds=1.0, through=300, lag_seconds=1.5, zero_loss=300)


@dataclass
class System:
    run: str
    exchange: str
    queue: str
    logger: ServiceProcess
    listener: ServiceProcess
    logs: Logs


@contextlib.asynccontextmanager
async def running_system() -> AsyncIterator[System]:
    run = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-listener-{run}-"))
    names = {
        "EXCHANGE": f"bench_{run}.logs_topic",
        "QUEUE": f"bench_{run}.logs.listener",
        "DEAD_EXCHANGE": f"bench_{run}.logs_topic.dlx",
        "DEAD_QUEUE": f"bench_{run}.logs.dead",
    }
    mongo_port = free_port()
    with (tmp / "secantus.log").open("wb") as log:
        mongo = await asyncio.create_subprocess_exec(
            *secantus_argv("127.0.0.1", mongo_port, tmp / "data", log_level="ERROR"),
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    mongo_url = f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    logger = ServiceProcess(
        "logger_service",
        {
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
            "MONGO_URL": mongo_url,
            "MONGO_DATABASE": f"bench_{run}",
            "LOG_FORMAT": "json",
        },
        log_dir=tmp,
        ready_path="/ready",
        name="logger",
    )
    listener = ServiceProcess(
        "listener_service",
        {"RABBIT_URL": RABBIT_URL, "LOGGER_URL": logger.url, "LOG_FORMAT": "json", **names},
        log_dir=tmp,
        ready_path="/ready",
        name="listener",
    )
    try:
        await asyncio.to_thread(
            wait_for, lambda: answers("127.0.0.1", mongo_port), 30, what="SecantusDB"
        )
        await asyncio.to_thread(logger.start, True, 60)
        await asyncio.to_thread(listener.start, True, 60)
        yield System(
            run,
            names["EXCHANGE"],
            names["QUEUE"],
            logger,
            listener,
            client[f"bench_{run}"]["logs"],
        )
    finally:
        # Quick steps first, as a bench stopped by its time limit gets little grace: the
        # listener goes (it would redeclare a deleted queue), then this run's names.
        listener.kill()
        with contextlib.suppress(Exception):
            await delete_names(run, names)
        with contextlib.suppress(AssertionError):
            await asyncio.to_thread(logger.stop)
        await client.close()
        mongo.terminate()
        await mongo.wait()


async def delete_names(run: str, names: dict[str, str]) -> None:
    connection = await aio_pika.connect(RABBIT_URL, timeout=5)
    channel = await connection.channel()
    for queue in (names["QUEUE"], names["DEAD_QUEUE"], f"bench_{run}.raw"):
        await channel.queue_delete(queue)
    for exchange in (names["EXCHANGE"], names["DEAD_EXCHANGE"], f"bench_{run}.raw"):
        await channel.exchange_delete(exchange)
    await connection.close()


async def raw_publish_rates(run: str, seconds: float) -> tuple[benchkit.Load, benchkit.Load]:
    """Plain aio-pika, publisher confirms, into a quorum queue nobody consumes."""
    connection = await aio_pika.connect(RABBIT_URL)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await declare_logs_exchange(channel, f"bench_{run}.raw")
    queue = await channel.declare_queue(
        f"bench_{run}.raw", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await queue.bind(exchange, "log.INFO")

    async def publish() -> None:
        message = json_message({"name": "raw", "data": "x"}, str(uuid.uuid4()))
        await exchange.publish(message, "log.INFO", mandatory=True)

    serial = await benchkit.closed_loop(publish, 1, seconds)
    await queue.purge()
    parallel = await benchkit.closed_loop(publish, 100, seconds)
    await queue.purge()
    await connection.close()
    return serial, parallel


async def logger_alone(system: System, concurrency: int, seconds: float) -> benchkit.Load:
    """POST /log straight to the logger with the listener's client: the ceiling behind the queue."""
    client = LoggerClient(system.logger.url, timeout=5, max_connections=concurrency)

    async def post() -> None:
        entry = {"name": f"direct-{system.run}", "data": "x", "event_id": str(uuid.uuid4())}
        answer = await client.write(entry)
        if answer.verdict is not Verdict.STORED:
            raise RuntimeError(answer.detail)

    try:
        return await benchkit.closed_loop(post, concurrency, seconds)
    finally:
        await client.close()


async def publish_all(publisher: Publisher, name: str, n: int, in_flight: int = 100) -> None:
    pending = iter(range(n))

    async def worker() -> None:
        for i in pending:
            await publisher.publish("log.INFO", {"name": name, "data": f"event {i}"})

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def wait_stored(logs: Logs, name: str, n: int, limit: float) -> int:
    """Polls until n documents named `name` are stored (or the limit passes); returns the count.

    Polls the collection's size, which costs nothing, and counts by name (a scan that, every
    20 ms over tens of thousands of documents, took the CPU the pipeline being measured needed)
    only once the size says the documents may all be there.
    """
    deadline = time.monotonic() + limit
    others = await logs.estimated_document_count() - await logs.count_documents({"name": name})
    while time.monotonic() < deadline:
        if await logs.estimated_document_count() - others >= n:
            count = await logs.count_documents({"name": name})
            if count >= n:
                return count
        await asyncio.sleep(0.02)
    return await logs.count_documents({"name": name})


async def through_listener(system: System, publisher: Publisher, n: int) -> float:
    """Events per second from the first publish to the last stored document."""
    name = f"through-{system.run}"
    started = time.perf_counter()
    await publish_all(publisher, name, n)
    stored = await wait_stored(system.logs, name, n, 300)
    elapsed = time.perf_counter() - started
    if stored < n:
        benchkit.progress(f"only {stored} of {n} stored within the limit")
    return stored / elapsed


async def lag_at(system: System, publisher: Publisher, rate: float, seconds: float) -> list[float]:
    """Publishes paced at `rate`; each event's lag is its document's created_at minus send time."""
    name = f"lag-{system.run}"
    n = max(1, int(rate * seconds))
    sent: dict[str, float] = {}
    start = time.perf_counter()

    async def one(i: int) -> None:
        sent_at = datetime.now(UTC).timestamp()
        event_id = await publisher.publish("log.INFO", {"name": name, "data": f"lag {i}"})
        sent[event_id] = sent_at

    tasks = []
    for i in range(n):
        # Open-loop pacing: the i-th publish leaves at start + i / rate, whatever came before.
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    await wait_stored(system.logs, name, n, 60)
    lags = []
    async for doc in system.logs.find({"name": name}, {"event_id": 1, "created_at": 1}):
        lags.append(doc["created_at"].timestamp() - sent[doc["event_id"]])
    return lags


async def zero_loss(system: System, publisher: Publisher, n: int) -> tuple[int, int]:
    """n events while the listener dies twice (SIGKILL) and the logger restarts once."""
    name = f"loss-{system.run}"
    publishing = asyncio.create_task(publish_all(publisher, name, n, in_flight=20))
    for fraction, act in ((0.2, "kill"), (0.45, "logger"), (0.7, "kill")):
        await wait_stored(system.logs, name, int(n * fraction), 120)
        if act == "kill":
            benchkit.progress("SIGKILL to the listener")
            system.listener.kill()
            await asyncio.to_thread(system.listener.start, True, 60)
        else:
            benchkit.progress("restarting the logger")
            await asyncio.to_thread(system.logger.restart)
    await publishing
    await wait_stored(system.logs, name, n, 180)
    documents = await system.logs.count_documents({"name": name})
    unique = len(await system.logs.distinct("event_id", {"name": name}))
    return documents, unique


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def main(quick: bool) -> list[benchkit.Result]:
    plan = QUICK if quick else FULL
    results: list[benchkit.Result] = []
    async with running_system() as system:
        benchkit.progress("raw publish with confirms")
        serial, parallel = await raw_publish_rates(system.run, plan.seconds)
        results.append(benchkit.Result("raw publish+confirm, serial", serial.rate, "msg/s"))
        results.append(
            benchkit.Result("raw publish+confirm, 100 in flight", parallel.rate, "msg/s")
        )

        benchkit.progress("the logger alone")
        direct = await logger_alone(system, PREFETCH, plan.seconds)
        results.append(
            benchkit.Result(f"logger POST /log alone, {PREFETCH} in flight", direct.rate, "req/s")
        )

        publisher = Publisher(RABBIT_URL, system.exchange)
        await publisher.start()
        await asyncio.to_thread(wait_for, lambda: publisher.connected, 30, what="publisher")
        try:
            benchkit.progress(f"{plan.through} events through the listener")
            rate = await through_listener(system, publisher, plan.through)
            results.append(
                benchkit.Result(
                    "publish → stored via listener",
                    rate,
                    "events/s",
                    baseline=parallel.rate,
                    goal=0.8,
                    extra={"of_logger_alone": rate / direct.rate if direct.rate else None},
                )
            )
            benchkit.progress(f"lag at {rate / 2:.0f} events/s")
            lags = await lag_at(system, publisher, rate / 2, plan.lag_seconds)
            for p in (50, 99):
                results.append(
                    benchkit.Result(
                        f"publish → stored lag p{p} at half rate",
                        percentile(lags, p) * 1000,
                        "ms",
                        goal=100 if p == 99 else None,
                        goal_kind="value<=",
                        extra={"events": len(lags), "rate": rate / 2},
                    )
                )
            benchkit.progress(f"zero-loss run, {plan.zero_loss} events")
            documents, unique = await zero_loss(system, publisher, plan.zero_loss)
            results.append(
                benchkit.Result(
                    f"zero loss: unique documents of {plan.zero_loss}",
                    unique,
                    "docs",
                    goal=plan.zero_loss,
                    goal_kind="value>=",
                    extra={"documents": documents},
                )
            )
            results.append(
                benchkit.Result(
                    "zero loss: duplicate documents",
                    documents - unique,
                    "docs",
                    goal=0,
                    goal_kind="value<=",
                )
            )
        finally:
            await publisher.close()
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

"""The RabbitMQ path: the listener draining a backlog, publish → stored lag, and loss.

0. The floor: raw PyMongo `insert_one`, 32 in flight, into the logger's own collection (its
   three indexes) on the same SecantusDB. The logger's `POST /log` alone at 32 in flight for
   comparison.
1. Raw aio-pika publish with publisher confirms into a quorum queue like the listener's, one
   at a time and 100 in flight: the ceiling for anything that goes through RabbitMQ.
2. The sustained drain: a backlog of 20,000 events (1,000 in quick mode) published while the
   listener is stopped; then the listener starts and the rate is taken from the tenth of the
   backlog stored to the last document in MongoDB (start-up and the first deliveries left
   out). Goal: at least 2.0 × the floor.
3. Publish-to-stored lag p50/p99 at half the drain rate (at most half the raw publish rate;
   paced publishes; the lag is the document's `created_at` minus the publish time).
   Goal: p99 < 100 ms.
4. Zero loss: 10,000 events (1,000 in quick mode) while the listener is killed with SIGKILL
   twice and the logger is restarted once → exactly as many unique documents.

Everything runs as the tests run it: SecantusDB in a process of its own, the logger and the
listener as real processes, the real RabbitMQ with this run's own names (deleted afterwards).
"""

import asyncio
import contextlib
import json
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
from devkit.wait import await_for, wait_for
from listener_service.logger_client import LoggerClient, Verdict
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from svckit.amqp import Publisher, declare_logs_exchange, json_message

RABBIT_URL = os.environ.get("RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")
# The logger's callers in flight for the floor and the logger alone.
CONCURRENCY = 32
GOAL = 2.0
Logs = AsyncCollection[dict[str, Any]]


@dataclass(frozen=True)
class Plan:
    seconds: float  # per closed-loop measurement
    backlog: int  # events drained for the sustained rate
    lag_seconds: float  # paced run for the lag
    zero_loss: int  # events for the zero-loss run


FULL = Plan(seconds=10, backlog=20_000, lag_seconds=20, zero_loss=10_000)
QUICK = Plan(seconds=1.0, backlog=1_000, lag_seconds=1.5, zero_loss=300)


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
        answer = await client.write(json.dumps(entry).encode())
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

    Counting is a scan on SecantusDB (its `estimated_document_count` too: 140 ms at 25,000
    documents), which takes the store's CPU from the pipeline being measured; so this polls
    only every quarter second. Where a moment matters, `wait_marker` watches for one event.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        count = await logs.count_documents({"name": name})
        if count >= n:
            return count
        await asyncio.sleep(0.25)
    return await logs.count_documents({"name": name})


async def wait_marker(logs: Logs, marker: str, limit: float) -> bool:
    """Polls for the one document named `marker` (an index lookup, cheap on SecantusDB)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await logs.find_one({"name": marker}, {"_id": 1}) is not None:
            return True
        await asyncio.sleep(0.01)
    return False


async def raw_floor(logs: Logs, seconds: float) -> benchkit.Load:
    """Raw `insert_one` into the logger's collection once its indexes exist: the same work."""

    async def indexed() -> bool:
        return len(await logs.index_information()) > 1

    async def raw() -> None:
        now = datetime.now(UTC)
        await logs.insert_one({"name": "raw", "data": "x", "created_at": now, "updated_at": now})

    await await_for(indexed, 30, what="the logger's indexes")
    return await benchkit.closed_loop(raw, CONCURRENCY, seconds)


async def drain_backlog(system: System, publisher: Publisher, n: int) -> float:
    """Events per second stored while the listener drains a backlog of n, once it is going:
    from the event a tenth of the way in (a marker of its own name) to the last one
    published, a marker too (the queue is FIFO, so by then the rest are stored: checked)."""
    name = f"backlog-{system.run}"
    head = max(1, n // 10)
    system.listener.kill()
    await publish_all(publisher, name, head - 1)
    await publisher.publish("log.INFO", {"name": f"{name}-head", "data": "marker"})
    await publish_all(publisher, name, n - head - 1)
    await publisher.publish("log.INFO", {"name": f"{name}-tail", "data": "marker"})
    await asyncio.to_thread(system.listener.start, True, 60)
    await wait_marker(system.logs, f"{name}-head", 120)
    started = time.perf_counter()
    if not await wait_marker(system.logs, f"{name}-tail", 600):
        benchkit.progress("the backlog was not drained within the limit")
    elapsed = time.perf_counter() - started
    stored = await wait_stored(system.logs, name, n - 2, 60) + 2
    if stored < n:
        benchkit.progress(f"only {stored} of {n} stored")
    return (n - head) / elapsed if elapsed else 0.0


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
        benchkit.progress(f"the floor: raw insert_one, {CONCURRENCY} in flight")
        floor = await raw_floor(system.logs, plan.seconds)
        results.append(
            benchkit.Result(
                f"raw insert_one (PyMongo), {CONCURRENCY} in flight", floor.rate, "writes/s"
            )
        )
        benchkit.progress("the logger alone")
        direct = await logger_alone(system, CONCURRENCY, plan.seconds)
        results.append(
            benchkit.Result(
                f"logger POST /log alone, {CONCURRENCY} in flight",
                direct.rate,
                "req/s",
                baseline=floor.rate,
            )
        )
        benchkit.progress("raw publish with confirms")
        serial, parallel = await raw_publish_rates(system.run, plan.seconds)
        results.append(benchkit.Result("raw publish+confirm, serial", serial.rate, "msg/s"))
        results.append(
            benchkit.Result("raw publish+confirm, 100 in flight", parallel.rate, "msg/s")
        )

        publisher = Publisher(RABBIT_URL, system.exchange)
        await publisher.start()
        await asyncio.to_thread(wait_for, lambda: publisher.connected, 30, what="publisher")
        try:
            benchkit.progress(f"a backlog of {plan.backlog} events drained by the listener")
            rate = await drain_backlog(system, publisher, plan.backlog)
            results.append(
                benchkit.Result(
                    f"listener drain of a {plan.backlog}-event backlog (stored)",
                    rate,
                    "events/s",
                    baseline=floor.rate,
                    goal=GOAL,
                    extra={"of_logger_alone": rate / direct.rate if direct.rate else None},
                )
            )
            rate = min(rate, parallel.rate)
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

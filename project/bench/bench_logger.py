"""The logger: each door's write rate as a multiple of what PyMongo alone gets from the store.

One SecantusDB (a process of its own, so the load generator does not share its interpreter)
and two logger processes on it: one as shipped (group commit: writes that arrive while one is
in flight share the next `insert_many`), one with `WRITE_BATCH_MAX=1` (every write its own
command, as before group commit). The floor: raw `insert_one` of the logger's documents into
the logger's own collection (the same indexes), 32 in flight. Then the same writes
through each door of the shipped logger at 32 in flight: HTTP `POST /log` (aiohttp), RPC
`RPCServer.LogInfo` in each of Go's two net/rpc codecs on the same port, gob and jsonrpc (one
connection each, calls pipelined as Go's rpc.Client does, through the broker's pool), and
gRPC `WriteLog`. Goal: every door at least 2.0 × the floor. Then each door at 1 in flight on
both loggers: grouping must not cost a lone writer more than 0.2 ms at p50.
"""

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import benchkit
import grpc
from broker_service.rpc_client import RpcPool
from broker_service.sinks import RpcSink
from devkit.mongo import SecantusProcess
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import await_for
from logs_proto import logs_pb2, logs_pb2_grpc
from pymongo import AsyncMongoClient
from svckit.contract import Entry

GOAL = 2.0
CONCURRENCY = 32
# p50 at 1 in flight may grow by at most this much with grouping on.
LONE_SLACK_MS = 0.2
DATABASE = "bench_logs"
DATA = "x" * 64


async def measure(
    what: str, call: Callable[[], Awaitable[Any]], concurrency: int, seconds: float
) -> benchkit.Load:
    benchkit.progress(f"logger {what}, {concurrency} in flight, {seconds:g} s")
    return await benchkit.closed_loop(call, concurrency, seconds)


def figure(what: str, load: benchkit.Load, concurrency: int, raw: float | None) -> benchkit.Result:
    return benchkit.Result(
        f"logger {what}, {concurrency} in flight",
        load.rate,
        "writes/s",
        baseline=raw,
        goal=None if raw is None else GOAL,
        extra={
            "errors": load.errors,
            "p50_ms": load.percentile(50) * 1000,
            "p99_ms": load.percentile(99) * 1000,
        },
    )


def logger_process(url: str, database: str, scratch: Path, **env: str) -> ServiceProcess:
    return ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": url,
            "MONGO_DATABASE": database,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            **env,
        },
        log_dir=scratch,
        name=f"logger-{database}",
    )


@contextlib.asynccontextmanager
async def doors(svc: ServiceProcess) -> AsyncIterator[dict[str, Callable[[], Awaitable[Any]]]]:
    """One write through each door of `svc`, by door name; clients close afterwards."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    rpc_addr = f"127.0.0.1:{svc.env['RPC_PORT']}"
    gob_rpc = RpcPool(rpc_addr, size=1, timeout=10, codec="gob")
    json_rpc = RpcPool(rpc_addr, size=1, timeout=10, codec="jsonrpc")
    async with (
        aiohttp.ClientSession(base_url=svc.url, connector=connector) as http,
        grpc.aio.insecure_channel(f"127.0.0.1:{svc.env['GRPC_PORT']}") as channel,
    ):
        stub = logs_pb2_grpc.LogServiceStub(channel)
        grpc_request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name="grpc", data=DATA))

        async def via_http() -> None:
            async with http.post("/log", json={"name": "http", "data": DATA}) as r:
                if r.status != 202:
                    raise RuntimeError(f"HTTP {r.status}")
                await r.read()

        gob_sink, gob_entry = RpcSink(gob_rpc), Entry(name="rpc-gob", data=DATA)
        json_sink, json_entry = RpcSink(json_rpc), Entry(name="rpc-jsonrpc", data=DATA)

        async def via_gob() -> None:
            await gob_sink.write(gob_entry)

        async def via_jsonrpc() -> None:
            await json_sink.write(json_entry)

        async def via_grpc() -> None:
            await stub.WriteLog(grpc_request, timeout=10)

        try:
            yield {
                "HTTP POST /log": via_http,
                "RPC LogInfo (gob)": via_gob,
                "RPC LogInfo (jsonrpc)": via_jsonrpc,
                "gRPC WriteLog": via_grpc,
            }
        finally:
            await gob_rpc.close()
            await json_rpc.close()


async def raw_floor(url: str, database: str, seconds: float) -> benchkit.Load:
    """Raw `insert_one` at CONCURRENCY in flight into a logger's collection (its indexes made)."""
    store: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    logs = store[database]["logs"]

    async def indexed() -> bool:
        return len(await logs.index_information()) > 1

    async def raw() -> None:
        now = datetime.now(UTC)
        doc = {"name": "raw", "data": DATA, "created_at": now, "updated_at": now}
        await logs.insert_one(doc)

    try:
        # Raw writes go to the logger's collection once its indexes exist: the same work.
        await await_for(indexed, 30, what="the logger's indexes")
        return await measure("raw insert_one", raw, CONCURRENCY, seconds)
    finally:
        await store.close()


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 0.8 if quick else 10.0
    scratch = Path(tempfile.mkdtemp(prefix="bench-logger-"))
    mongo = SecantusProcess(scratch / "mongo").start(60)
    url = mongo.url
    grouped = logger_process(url, DATABASE, scratch)
    single = logger_process(url, f"{DATABASE}_single", scratch, WRITE_BATCH_MAX="1")
    results: list[benchkit.Result] = []
    try:
        for svc in (grouped, single):
            # `start` returns once `/ready` answers 200: the store is there.
            svc.start(timeout=60)
        floor = await raw_floor(url, DATABASE, seconds)
        results.append(figure("raw insert_one (PyMongo)", floor, CONCURRENCY, None))

        lone: dict[str, dict[str, benchkit.Load]] = {}
        async with doors(grouped) as calls:
            for door, call in calls.items():
                load = await measure(door, call, CONCURRENCY, seconds)
                results.append(figure(door, load, CONCURRENCY, floor.rate))
            for door, call in calls.items():
                lone.setdefault(door, {})["on"] = await measure(
                    f"{door} (grouping)", call, 1, seconds
                )
        async with doors(single) as calls:
            for door, call in calls.items():
                lone[door]["off"] = await measure(f"{door} (WRITE_BATCH_MAX=1)", call, 1, seconds)
        for door, loads in lone.items():
            on, off = (loads[k].percentile(50) * 1000 for k in ("on", "off"))
            results.append(
                benchkit.Result(
                    f"logger {door}, 1 in flight, p50 (grouping on)",
                    on,
                    "ms",
                    goal=off + LONE_SLACK_MS,
                    goal_kind="value<=",
                    extra={
                        "p50_grouping_off_ms": off,
                        "rate_on": loads["on"].rate,
                        "rate_off": loads["off"].rate,
                        "errors": loads["on"].errors + loads["off"].errors,
                    },
                )
            )
    finally:
        for svc in (grouped, single):
            with contextlib.suppress(AssertionError):
                svc.stop()
        mongo.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

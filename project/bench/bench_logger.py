"""The logger: each door's write rate as a share of what PyMongo alone gets from the same store.

One SecantusDB (a process of its own, so the load generator does not share its interpreter)
and one logger process on it. First the floor: raw `insert_one` of the logger's documents
into the logger's own collection (same indexes), serial and 32 in flight. Then the same
writes through each door: HTTP `POST /log` (aiohttp), RPC `RPCServer.LogInfo` in each of Go's
two net/rpc codecs on the same port, gob and jsonrpc (one connection each, calls pipelined as
Go's rpc.Client does, through the broker's pool), and gRPC `WriteLog`. Goal: every door at
least 0.8 of raw at the same concurrency.
"""

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import benchkit
import grpc
from broker_service.rpc_client import RpcPool, log_info
from devkit.mongo import secantus_argv
from devkit.net import answers, free_port
from devkit.process import ServiceProcess
from devkit.wait import await_for, http_status, wait_for
from logs_proto import logs_pb2, logs_pb2_grpc
from pymongo import AsyncMongoClient

GOAL = 0.8
CONCURRENCY = (1, 32)
DATABASE = "bench_logs"
DATA = "x" * 64


def start_secantus(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        secantus_argv("127.0.0.1", port, data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: answers("127.0.0.1", port), 60, what="SecantusDB")
    return proc, f"mongodb://127.0.0.1:{port}/?directConnection=true"


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


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 0.8 if quick else 10.0
    scratch = Path(tempfile.mkdtemp(prefix="bench-logger-"))
    mongo, url = start_secantus(scratch / "mongo")
    svc = ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": url,
            "MONGO_DATABASE": DATABASE,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
        },
        log_dir=scratch,
        name="logger",
    )
    results: list[benchkit.Result] = []
    try:
        svc.start(timeout=60)
        wait_for(lambda: http_status(svc.url + "/ready") == 200, 30, what="logger ready")
        store: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
        logs = store[DATABASE]["logs"]

        async def indexed() -> bool:
            return len(await logs.index_information()) > 1

        # Raw writes go to the logger's collection once its indexes exist: the same work.
        await await_for(indexed, 30, what="the logger's indexes")

        async def raw() -> None:
            now = datetime.now(UTC)
            doc = {"name": "raw", "data": DATA, "created_at": now, "updated_at": now}
            await logs.insert_one(doc)

        floor: dict[int, float] = {}
        for n in CONCURRENCY:
            load = await measure("raw insert_one", raw, n, seconds)
            floor[n] = load.rate
            results.append(figure("raw insert_one (PyMongo)", load, n, None))

        connector = aiohttp.TCPConnector(limit=max(CONCURRENCY))
        async with (
            aiohttp.ClientSession(base_url=svc.url, connector=connector) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{svc.env['GRPC_PORT']}") as channel,
        ):
            rpc_addr = f"127.0.0.1:{svc.env['RPC_PORT']}"
            gob_rpc = RpcPool(rpc_addr, size=1, timeout=10, codec="gob")
            json_rpc = RpcPool(rpc_addr, size=1, timeout=10, codec="jsonrpc")
            stub = logs_pb2_grpc.LogServiceStub(channel)
            grpc_request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name="grpc", data=DATA))

            async def via_http() -> None:
                async with http.post("/log", json={"name": "http", "data": DATA}) as r:
                    if r.status != 202:
                        raise RuntimeError(f"HTTP {r.status}")
                    await r.read()

            async def via_gob() -> None:
                await log_info(gob_rpc, "rpc-gob", DATA)

            async def via_jsonrpc() -> None:
                await log_info(json_rpc, "rpc-jsonrpc", DATA)

            async def via_grpc() -> None:
                await stub.WriteLog(grpc_request, timeout=10)

            doors = {
                "HTTP POST /log": via_http,
                "RPC LogInfo (gob)": via_gob,
                "RPC LogInfo (jsonrpc)": via_jsonrpc,
                "gRPC WriteLog": via_grpc,
            }
            try:
                for door, call in doors.items():
                    for n in CONCURRENCY:
                        load = await measure(door, call, n, seconds)
                        results.append(figure(door, load, n, floor[n]))
            finally:
                await gob_rpc.close()
                await json_rpc.close()
        await store.close()
    finally:
        with contextlib.suppress(AssertionError):
            svc.stop()
        mongo.terminate()
        try:
            mongo.wait(15)
        except subprocess.TimeoutExpired:
            mongo.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

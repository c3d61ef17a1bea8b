"""The broker's overhead: what it costs on top of the server stack and of each logger door.

- `POST /` of the broker against a bare FastAPI hello-world served the same way (svckit's
  uvicorn settings, one process each): goal ≥ 0.9; and the same without the access line
  (`LOG_LEVEL=ERROR`), which is most of what the broker adds.
- Each logging route end to end (`/log-rpc`, `/log-grpc`, `/log-http`) against the direct call
  to the logger door it uses, made from this process with the same client the broker uses
  (goal: RPC and gRPC ≥ 0.8, HTTP ≥ 0.5).
- The broker's HTTP client choice: httpx against aiohttp at 100 requests in flight, against
  the same hello-world server.

SecantusDB (the logger's store) runs in a process of its own; the load comes from this process
through aiohttp, which is not the bottleneck (see the client comparison).

    uv run --frozen python project/bench/bench_broker.py     # BENCH_QUICK=1: the smoke run
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import benchkit
import httpx
from broker_service.grpc_client import GrpcLogger
from broker_service.rpc_client import RpcPool
from broker_service.sinks import RpcSink
from devkit.mongo import secantus_argv
from devkit.net import answers, free_port
from devkit.process import ServiceProcess
from devkit.wait import wait_for
from svckit.contract import Entry
from svckit.netrpc import Codec

CONCURRENCY = 32
CLIENTS_IN_FLIGHT = 100
# The broker's default; the direct calls it is compared with use the same.
RPC_CODEC: Codec = "gob"
ENTRY = {"name": "bench", "data": "Some kind of data"}

# The hello-world: the same FastAPI, uvicorn and logging set-up as every service (svckit.serve),
# and nothing else.
HELLO = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from svckit.serve import run
from svckit.settings import ServiceSettings

app = FastAPI()

@app.post("/")
async def hello() -> JSONResponse:
    return JSONResponse({"error": False, "message": "Hit the broker"})

@app.get("/ping")
async def ping() -> str:
    return "."

run(lambda: app, ServiceSettings(), "hello")
"""

Call = Callable[[], Awaitable[None]]


def start_process(
    args: list[str], env: dict[str, str], log: Path, port: int
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    wait_for(lambda: answers("127.0.0.1", port), 60, what=" ".join(args[:3]))
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def rate(name: str, call: Call, concurrency: int, seconds: float) -> float:
    load = await benchkit.closed_loop(call, concurrency, seconds)
    benchkit.progress(
        f"{name}: {load.rate:,.0f} req/s, p50 {load.percentile(50) * 1000:.1f} ms, "
        f"{load.errors} errors"
    )
    if load.errors and not load.requests:
        raise RuntimeError(f"{name}: every call failed")
    return load.rate


def post_call(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Call:
    async def call() -> None:
        async with session.post(url, json=body) as resp:
            await resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"{url} answered {resp.status}")

    return call


async def client_comparison(url: str, seconds: float) -> list[benchkit.Result]:
    """httpx and aiohttp, each with a pool of 100, keeping 100 requests in flight."""
    limits = httpx.Limits(max_connections=CLIENTS_IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def with_httpx() -> None:
            (await client.post(url, json=ENTRY)).raise_for_status()

        httpx_rate = await rate("httpx at 100 in flight", with_httpx, CLIENTS_IN_FLIGHT, seconds)
    connector = aiohttp.TCPConnector(limit=CLIENTS_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:
        aiohttp_rate = await rate(
            "aiohttp at 100 in flight", post_call(session, url, ENTRY), CLIENTS_IN_FLIGHT, seconds
        )
    return [
        benchkit.Result("HTTP client at 100 in flight: httpx", httpx_rate, "req/s"),
        benchkit.Result(
            "HTTP client at 100 in flight: aiohttp (vs httpx)",
            aiohttp_rate,
            "req/s",
            baseline=httpx_rate,
        ),
    ]


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 0.8 if quick else 10.0
    scratch = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    procs: list[subprocess.Popen[bytes]] = []
    services: list[ServiceProcess] = []
    results: list[benchkit.Result] = []
    try:
        mongo_port, hello_port = free_port(), free_port()
        procs.append(
            start_process(
                secantus_argv("127.0.0.1", mongo_port, scratch / "mongo"),
                {},
                scratch / "secantus.log",
                mongo_port,
            )
        )
        procs.append(
            start_process(
                [sys.executable, "-c", HELLO],
                {"PORT": str(hello_port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"},
                scratch / "hello.log",
                hello_port,
            )
        )
        rpc_addr, grpc_addr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        logger = ServiceProcess(
            "logger_service",
            {
                "MONGO_URL": f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true",
                "MONGO_DATABASE": "bench_broker",
                "RPC_PORT": rpc_addr.rsplit(":", 1)[1],
                "GRPC_PORT": grpc_addr.rsplit(":", 1)[1],
                "LOG_LEVEL": "WARNING",
            },
            log_dir=scratch,
            name="logger",
        )
        services.append(logger)
        logger.start(timeout=60)
        brokers = {}
        # As deployed (an access line a request), and without the access line: what the
        # line costs is most of the difference from the hello-world.
        for name, level in (("broker", "INFO"), ("broker-quiet", "ERROR")):
            brokers[name] = ServiceProcess(
                "broker_service",
                {
                    "LOGGER_URL": logger.url,
                    "LOGGER_RPC_ADDR": rpc_addr,
                    "LOGGER_GRPC_ADDR": grpc_addr,
                    "LOGGER_RPC_CODEC": RPC_CODEC,
                    "LOG_LEVEL": level,
                },
                log_dir=scratch,
                name=name,
                ready_path="/ping",  # never ready: auth, mail and RabbitMQ are not started
            )
            services.append(brokers[name])
            brokers[name].start(timeout=60)
        broker = brokers["broker"]

        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            hello = await rate(
                "hello-world POST /",
                post_call(session, f"http://127.0.0.1:{hello_port}/", {}),
                CONCURRENCY,
                seconds,
            )
            hit = await rate(
                "broker POST /", post_call(session, broker.url + "/", {}), CONCURRENCY, seconds
            )
            results.append(
                benchkit.Result("broker POST / (vs hello-world)", hit, "req/s", hello, 0.9)
            )
            quiet = await rate(
                "broker POST /, no access line",
                post_call(session, brokers["broker-quiet"].url + "/", {}),
                CONCURRENCY,
                seconds,
            )
            results.append(
                benchkit.Result(
                    "broker POST / without the access line (vs hello-world)",
                    quiet,
                    "req/s",
                    hello,
                )
            )

            pool = RpcPool(rpc_addr, size=4, timeout=10, codec=RPC_CODEC)
            rpc_sink, entry = RpcSink(pool), Entry.model_validate(ENTRY)

            async def direct_rpc() -> None:
                await rpc_sink.write(entry)

            grpc_logger = GrpcLogger(grpc_addr, timeout=10)
            grpc_logger.start()

            async def direct_grpc() -> None:
                await grpc_logger.write_log(ENTRY["name"], ENTRY["data"])

            doors: list[tuple[str, str, Call, float]] = [
                ("RPC", "/log-rpc", direct_rpc, 0.8),
                ("gRPC", "/log-grpc", direct_grpc, 0.8),
                ("HTTP", "/log-http", post_call(session, logger.url + "/log", ENTRY), 0.5),
            ]
            try:
                for door, route, direct, goal in doors:
                    floor = await rate(f"direct {door}", direct, CONCURRENCY, seconds)
                    via = await rate(
                        f"broker {route}",
                        post_call(session, broker.url + route, {"log": ENTRY}),
                        CONCURRENCY,
                        seconds,
                    )
                    results.append(
                        benchkit.Result(
                            f"broker {route} (vs direct {door})", via, "req/s", floor, goal
                        )
                    )
            finally:
                await pool.close()
                await grpc_logger.close()

        results += await client_comparison(f"http://127.0.0.1:{hello_port}/", seconds)
    finally:
        for svc in reversed(services):
            with contextlib.suppress(AssertionError):
                svc.stop()
        for proc in reversed(procs):
            stop_process(proc)
        shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

"""The broker's world for the tests: every real service as a process on ports of its own.

`services` starts the logger (on the run's SecantusDB), auth (on the run's PostgreSQL
database), mail (to the session's mail catcher), the listener (on RabbitMQ, with a per-run
exchange and queues) and the broker, whose RabbitMQ connection goes through a proxy the
outage tests can cut. Fixtures hand each part out by name.

The original Go logger, for a broker in front of it: its RPC door is `go_logger` (Go's
net/rpc with gob, `logger-service/tests/gopeer/logger`), and its gRPC door, which has no
health service, is `grpc_without_health` (a grpc.aio server with the LogService only).
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import grpc
import httpx
import pytest
from devkit.golang import GoServer
from devkit.mail import Catcher
from devkit.net import free_port
from devkit.otlp import OtlpReceiver, tracing_env
from devkit.process import ServiceProcess
from devkit.system import RabbitNames
from devkit.wait import http_status, wait_for
from launcher.proxy import TcpProxy
from logs_proto import logs_pb2, logs_pb2_grpc
from pymongo import MongoClient
from pymongo.collection import Collection

Doc = dict[str, Any]
GOPEER = Path(__file__).resolve().parents[2] / "logger-service" / "tests" / "gopeer"

# What a public answer must never carry: an address, a port, a URL.
_INTERNAL = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b|://|\blocalhost\b|:\d{2,5}\b|\[::")


def internals_in(text: str) -> list[str]:
    """The internal addresses `text` gives away (none, in a public answer)."""
    return [m.group(0) for m in _INTERNAL.finditer(text)]


# Seconds the broker waits on each downstream: short, so the outage tests are quick.
TIMEOUTS = {
    "LOGGER_TIMEOUT": "1.5",
    "AUTH_TIMEOUT": "3",
    "MAIL_TIMEOUT": "3",
    "RABBIT_TIMEOUT": "2",
}


@pytest.fixture(scope="session")
def rabbit_names(run_id: str) -> RabbitNames:
    return RabbitNames.for_run(f"test.broker.{run_id}")


@pytest.fixture(scope="session")
def rabbit_proxy(rabbit_url: str) -> Iterator[TcpProxy]:
    """Between the broker and RabbitMQ: cutting it is the broker's RabbitMQ outage."""
    proxy = TcpProxy("127.0.0.1", 5672).open()
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def services(
    secantus_url: str,
    mongo_database: str,
    postgres_dsn: str,
    rabbit_url: str,
    rabbit_names: RabbitNames,
    rabbit_proxy: TcpProxy,
    mail_catcher: Catcher,
    otlp_receiver: OtlpReceiver,
    logs_dir: Path,
) -> Iterator[dict[str, ServiceProcess]]:
    started: dict[str, ServiceProcess] = {}
    # Every service exports its spans to the session's receiver (test_broker_traces.py).
    tracing = tracing_env(otlp_receiver)

    def start(name: str, module: str, env: dict[str, str]) -> ServiceProcess:
        env = {**tracing, **env}
        svc = ServiceProcess(module, env, log_dir=logs_dir, name=f"broker-test-{name}")
        started[name] = svc.start(wait=False)
        return svc

    rpc_port, grpc_port = free_port(), free_port()
    try:
        logger = start(
            "logger",
            "logger_service",
            {
                "MONGO_URL": secantus_url,
                "MONGO_DATABASE": mongo_database,
                "RPC_PORT": str(rpc_port),
                "GRPC_PORT": str(grpc_port),
                "HEALTH_INTERVAL": "0.2",
            },
        )
        auth = start(
            "auth", "authentication_service", {"DSN": postgres_dsn, "LOGGER_URL": logger.url}
        )
        mail = start(
            "mail",
            "mail_service",
            {"MAIL_HOST": "127.0.0.1", "MAIL_PORT": str(mail_catcher.smtp_port)},
        )
        start(
            "listener",
            "listener_service",
            {"RABBIT_URL": rabbit_url, "LOGGER_URL": logger.url, **rabbit_names.env()},
        )
        start(
            "broker",
            "broker_service",
            {
                "AUTH_URL": auth.url,
                "MAIL_URL": mail.url,
                "LOGGER_URL": logger.url,
                "LOGGER_RPC_ADDR": f"127.0.0.1:{rpc_port}",
                "LOGGER_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
                "RABBIT_URL": f"amqp://guest:guest@127.0.0.1:{rabbit_proxy.port}/",
                "EXCHANGE": rabbit_names.exchange,
                "CORS_ORIGINS": "http://front.test:8082, http://localhost:8082",
                **TIMEOUTS,
            },
        )
        # Every one on `/ready`: auth with its database, the listener with its queue bound (the
        # broker publishes `mandatory`), the broker with every downstream answering.
        for svc in started.values():
            svc.wait_ready(90)
        yield started
    finally:
        for svc in reversed(started.values()):
            with contextlib.suppress(AssertionError):
                svc.stop()
        with contextlib.suppress(Exception):
            asyncio.run(rabbit_names.delete(rabbit_url))


@pytest.fixture(scope="session")
def broker_proc(services: dict[str, ServiceProcess]) -> ServiceProcess:
    return services["broker"]


@pytest.fixture(scope="session")
def logger_proc(services: dict[str, ServiceProcess]) -> ServiceProcess:
    return services["logger"]


@pytest.fixture(scope="session")
def auth_proc(services: dict[str, ServiceProcess]) -> ServiceProcess:
    return services["auth"]


@pytest.fixture(scope="session")
def mail_proc(services: dict[str, ServiceProcess]) -> ServiceProcess:
    return services["mail"]


@pytest.fixture(scope="session")
def listener_proc(services: dict[str, ServiceProcess]) -> ServiceProcess:
    return services["listener"]


@pytest.fixture(scope="session")
def logs(secantus_url: str, mongo_database: str) -> Iterator[Collection[Doc]]:
    """The logger's collection, read directly."""
    client: MongoClient[Doc] = MongoClient(secantus_url, tz_aware=True)
    yield client[mongo_database]["logs"]
    client.close()


@pytest.fixture
async def probe(
    broker_proc: ServiceProcess, rabbit_url: str
) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A private queue bound to every `log.*` key of the run's exchange."""
    connection = await aio_pika.connect(rabbit_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(broker_proc.env["EXCHANGE"], "log.*")
    yield queue
    await connection.close()


@pytest.fixture
async def broker(broker_proc: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=broker_proc.url, timeout=15) as client:
        yield client


@pytest.fixture
def broker_ready(broker_proc: ServiceProcess) -> Iterator[None]:
    """After an outage test: the whole system answers again before the next test starts."""
    yield
    wait_for(lambda: http_status(broker_proc.url + "/ready") == 200, 30, what="broker ready")


@pytest.fixture(scope="session")
def go_logger(go_program: Callable[[Path, str], Path]) -> Iterator[GoServer]:
    """The original logger's RPC door in Go; `.received` lists the payloads it got."""
    server = GoServer(go_program(GOPEER, "logger")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def go_jsonrpc_logger(go_program: Callable[[Path, str], Path]) -> Iterator[GoServer]:
    """The same Go door serving Go's net/rpc/jsonrpc codec."""
    server = GoServer(go_program(GOPEER, "logger"), "127.0.0.1:0", "jsonrpc").start()
    yield server
    server.stop()


@dataclass
class LogServiceOnly(logs_pb2_grpc.LogServiceServicer):
    """WriteLog as the original answered it, and nothing else: no health service."""

    received: list[tuple[str, str]] = field(default_factory=list)

    async def WriteLog(
        self, request: logs_pb2.LogRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> logs_pb2.LogResponse:
        self.received.append((request.logEntry.name, request.logEntry.data))
        return logs_pb2.LogResponse(result="logged!")


@dataclass(frozen=True)
class GrpcStandIn:
    target: str
    service: LogServiceOnly


@pytest.fixture(scope="session")
async def grpc_without_health() -> AsyncIterator[GrpcStandIn]:
    server = grpc.aio.server()
    service = LogServiceOnly()
    logs_pb2_grpc.add_LogServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield GrpcStandIn(f"127.0.0.1:{port}", service)
    await server.stop(grace=1)

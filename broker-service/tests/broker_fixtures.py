"""The broker's world for the tests: every real service as a process on ports of its own.

`services` starts the logger (on the run's SecantusDB), auth (on the run's PostgreSQL
database), mail (to the session's mail catcher), the listener (on RabbitMQ, with a per-run
exchange and queues) and the broker, whose RabbitMQ connection goes through a proxy the
outage tests can cut. Fixtures hand each part out by name.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.mail import Catcher
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.proxy import TcpProxy
from devkit.system import RabbitNames
from devkit.wait import http_status, wait_for
from pymongo import MongoClient
from pymongo.collection import Collection

Doc = dict[str, Any]

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
    logs_dir: Path,
) -> Iterator[dict[str, ServiceProcess]]:
    started: dict[str, ServiceProcess] = {}

    def start(name: str, module: str, env: dict[str, str]) -> ServiceProcess:
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
async def broker(broker_proc: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=broker_proc.url, timeout=15) as client:
        yield client


@pytest.fixture
def broker_ready(broker_proc: ServiceProcess) -> Iterator[None]:
    """After an outage test: the whole system answers again before the next test starts."""
    yield
    wait_for(lambda: http_status(broker_proc.url + "/ready") == 200, 30, what="broker ready")

"""Every downstream client of the broker, created once per process in the lifespan."""

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from svckit.amqp import Publisher
from svckit.readiness import Readiness

from broker_service.grpc_client import GrpcLogger
from broker_service.http_clients import Downstream, HttpPool
from broker_service.rpc_client import RpcPool
from broker_service.settings import BrokerSettings
from broker_service.sinks import Door, GrpcSink, HttpSink, LogSink, RabbitSink, RpcSink


@dataclass(frozen=True)
class Clients:
    auth: Downstream
    mail: Downstream
    # The logger's HTTP door, for `GET /logs`; writes go through `sinks`.
    logger: Downstream
    # The logger's four doors by name (`sinks.DOORS`).
    sinks: Mapping[Door, LogSink]


@contextlib.asynccontextmanager
async def open_clients(settings: BrokerSettings, readiness: Readiness) -> AsyncIterator[Clients]:
    """Open every client (none blocks on its downstream), register its `/ready` check, close all."""
    http = HttpPool(settings.http_max_connections, settings.downstream_answer_max)
    await http.start()
    grpc_logger = GrpcLogger(
        settings.logger_grpc_addr, settings.logger_timeout, settings.downstream_answer_max
    )
    grpc_logger.start()
    publisher = Publisher(
        settings.rabbit_url,
        settings.exchange,
        confirm_timeout=settings.rabbit_timeout,
        connection_name="broker-service",
    )
    await publisher.start()
    rpc = RpcPool(
        settings.logger_rpc_addr,
        settings.rpc_pool_size,
        settings.logger_timeout,
        settings.logger_rpc_codec,
    )
    logger = Downstream(http, "logger-service", settings.logger_url, settings.logger_timeout)
    sinks: list[LogSink] = [
        GrpcSink(grpc_logger),
        HttpSink(logger),
        RpcSink(rpc),
        RabbitSink(publisher),
    ]
    clients = Clients(
        auth=Downstream(http, "authentication-service", settings.auth_url, settings.auth_timeout),
        mail=Downstream(http, "mail-service", settings.mail_url, settings.mail_timeout),
        logger=logger,
        sinks={sink.door: sink for sink in sinks},
    )
    readiness.add("authentication-service", clients.auth.ping)
    readiness.add("mail-service", clients.mail.ping)
    readiness.add("logger-service", logger.ping)
    readiness.add("logger-rpc", rpc.check)
    readiness.add("logger-grpc", grpc_logger.check)
    readiness.add("rabbitmq", publisher.check)
    try:
        yield clients
    finally:
        await publisher.close()
        await rpc.close()
        await grpc_logger.close()
        await http.close()

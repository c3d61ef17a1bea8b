"""Every downstream client of the broker, created once per process in the lifespan."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from svckit.amqp import Publisher
from svckit.readiness import Readiness

from broker_service.grpc_client import GrpcLogger
from broker_service.http_clients import Downstream, HttpPool
from broker_service.rpc_client import RpcPool
from broker_service.settings import BrokerSettings


@dataclass(frozen=True)
class Clients:
    auth: Downstream
    mail: Downstream
    logger: Downstream
    rpc: RpcPool
    grpc: GrpcLogger
    rabbit: Publisher


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
    clients = Clients(
        auth=Downstream(http, "authentication-service", settings.auth_url, settings.auth_timeout),
        mail=Downstream(http, "mail-service", settings.mail_url, settings.mail_timeout),
        logger=Downstream(http, "logger-service", settings.logger_url, settings.logger_timeout),
        rpc=RpcPool(
            settings.logger_rpc_addr,
            settings.rpc_pool_size,
            settings.logger_timeout,
            settings.logger_rpc_codec,
        ),
        grpc=grpc_logger,
        rabbit=publisher,
    )
    readiness.add("authentication-service", clients.auth.ping)
    readiness.add("mail-service", clients.mail.ping)
    readiness.add("logger-service", clients.logger.ping)
    readiness.add("logger-rpc", clients.rpc.check)
    readiness.add("logger-grpc", clients.grpc.check)
    readiness.add("rabbitmq", clients.rabbit.check)
    try:
        yield clients
    finally:
        await publisher.close()
        await clients.rpc.close()
        await grpc_logger.close()
        await http.close()

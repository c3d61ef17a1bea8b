"""The logger's four doors as one kind of thing: a sink that writes an entry.

Each sink's `write(entry, level)` answers what the broker tells its caller (`Logged`) or raises
`ServiceError`, mapped the same way on every door: 502 when the door refused or failed, 503
when it is busy, 504 when it did not answer in time, each naming the failing service. The
`/log-{door}` routes are made from `DOORS`, a sink's docstring being its route's description;
the `log` action of `/handle` writes through the `rpc` sink, as the original did.
"""

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from svckit.amqp import Publisher
from svckit.contract import LOG_INFO, RPC_PAYLOAD, Entry, Level, routing_key
from svckit.errors import ServiceError

from broker_service.grpc_client import GrpcLogger
from broker_service.http_clients import Downstream
from broker_service.rpc_client import SERVICE as RPC_SERVICE
from broker_service.rpc_client import RpcPool

Door = Literal["grpc", "http", "rpc", "rabbit"]


@dataclass(frozen=True, slots=True)
class Logged:
    """A write the door accepted: the answer's message, and its data if it has any."""

    message: str
    data: dict[str, Any] | None = None


class LogSink(Protocol):
    door: ClassVar[Door]

    async def write(self, entry: Entry, level: Level = "INFO") -> Logged:
        """Write `entry` (`level`: RabbitMQ's routing key; the other doors have none)."""
        ...


class GrpcSink:
    """Write `log` through the logger's gRPC door."""

    door: ClassVar[Door] = "grpc"

    def __init__(self, client: GrpcLogger) -> None:
        self._client = client

    async def write(self, entry: Entry, level: Level = "INFO") -> Logged:
        await self._client.write_log(entry.name, entry.data)
        return Logged("logged")


class HttpSink:
    """Write `log` through the logger's HTTP `/log`."""

    door: ClassVar[Door] = "http"

    def __init__(self, logger: Downstream) -> None:
        self._logger = logger

    async def write(self, entry: Entry, level: Level = "INFO") -> Logged:
        await self._logger.post("/log", entry.body())
        return Logged("logged")


class RpcSink:
    """Write `log` through the logger's Go `net/rpc` door, as the `log` action does."""

    door: ClassVar[Door] = "rpc"

    def __init__(self, pool: RpcPool) -> None:
        self._pool = pool

    async def write(self, entry: Entry, level: Level = "INFO") -> Logged:
        result = await self._pool.call(LOG_INFO, RPC_PAYLOAD, entry.rpc_args())
        if not isinstance(result, str):
            raise ServiceError(502, f"{RPC_SERVICE} answered {result!r} instead of a string")
        return Logged(result)


class RabbitSink:
    """Publish `log` to RabbitMQ as `log.<level>`; answers once RabbitMQ confirmed it."""

    door: ClassVar[Door] = "rabbit"

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def write(self, entry: Entry, level: Level = "INFO") -> Logged:
        message_id = await self._publisher.publish(routing_key(level), entry.body())
        return Logged("logged via RabbitMQ", {"message_id": message_id})


# The `/log-{door}` routes, in the order the API lists them.
DOORS: tuple[type[LogSink], ...] = (GrpcSink, HttpSink, RpcSink, RabbitSink)

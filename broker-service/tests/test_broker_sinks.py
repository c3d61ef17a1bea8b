"""The logger's doors as one table: a route and a sink per door, and no dependency to resolve
on the hot routes."""

from broker_service.clients import open_clients
from broker_service.http_api import router
from broker_service.settings import BrokerSettings
from broker_service.sinks import DOORS
from devkit.net import free_port
from fastapi.routing import APIRoute
from svckit.readiness import Readiness

HOT = {"/", "/handle", *(f"/log-{sink.door}" for sink in DOORS)}


def test_every_door_has_its_route_and_the_hot_routes_resolve_no_dependency() -> None:
    routes = {r.path: r for r in router.routes if isinstance(r, APIRoute)}
    assert set(routes) >= HOT
    assert [path for path in HOT if routes[path].dependant.dependencies] == []


async def test_the_clients_hold_one_sink_per_door() -> None:
    # Nothing listens on these ports: opening the clients waits on none of them.
    nowhere = f"127.0.0.1:{free_port()}"
    settings = BrokerSettings(
        logger_rpc_addr=nowhere,
        logger_grpc_addr=nowhere,
        rabbit_url=f"amqp://guest:guest@{nowhere}/",
    )
    async with open_clients(settings, Readiness()) as clients:
        assert {door: type(sink) for door, sink in clients.sinks.items()} == {
            sink.door: sink for sink in DOORS
        }

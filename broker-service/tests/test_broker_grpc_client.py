"""The gRPC client's readiness against a server without the standard health service."""

import pytest
from broker_fixtures import GrpcStandIn
from broker_service.grpc_client import GrpcLogger
from devkit.net import free_port


async def test_a_server_without_health_is_ready_once_connected_and_takes_writes(
    grpc_without_health: GrpcStandIn,
) -> None:
    client = GrpcLogger(grpc_without_health.target, timeout=2)
    client.start()
    try:
        await client.check()
        assert await client.write_log("no-health", "still logged") == "logged!"
    finally:
        await client.close()
    assert ("no-health", "still logged") in grpc_without_health.service.received


async def test_nothing_listening_is_not_ready() -> None:
    client = GrpcLogger(f"127.0.0.1:{free_port()}", timeout=2)
    client.start()
    try:
        with pytest.raises(RuntimeError, match="UNAVAILABLE"):
            await client.check()
    finally:
        await client.close()

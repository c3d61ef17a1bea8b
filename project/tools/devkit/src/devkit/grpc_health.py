"""The standard gRPC health check, called as a peer would (typeshed's `HealthStub` types none
of its methods, so the call is made on the channel itself)."""

import grpc
from grpc_health.v1 import health_pb2

CHECK = "/grpc.health.v1.Health/Check"


async def health_status(channel: grpc.aio.Channel, service: str = "", timeout: float = 5) -> int:
    """The `ServingStatus` the server reports for `service` (`""`: the server as a whole)."""
    check = channel.unary_unary(
        CHECK,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    reply = await check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    status: int = reply.status
    return status

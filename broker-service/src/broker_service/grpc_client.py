"""The logger's gRPC door through one long-lived `grpc.aio` channel, a deadline on every call."""

import re

import grpc
from grpc_health.v1 import health_pb2
from logs_proto import logs_pb2, logs_pb2_grpc
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, ServiceError
from svckit.metrics import downstream_call

from broker_service.settings import DOWNSTREAM_ANSWER_MAX

SERVICE = "logger-grpc"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
# gRPC's own account of a connection it could not make: it names the addresses it tried.
_CANNOT_CONNECT = re.compile(r"failed to connect|backends failing|ipv[46]:|unix:|:\d+\b")

# A failed channel redials on gRPC's back-off schedule (up to 120 s by default); a short
# cap lets the broker recover within a second or two of the logger coming back.
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.keepalive_time_ms", 30_000),
]


class GrpcLogger:
    def __init__(
        self, target: str, timeout: float, answer_max: int = DOWNSTREAM_ANSWER_MAX
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.answer_max = answer_max
        self._channel: grpc.aio.Channel | None = None
        self._logs: logs_pb2_grpc.LogServiceAsyncStub | None = None
        self._health: (
            grpc.aio.UnaryUnaryMultiCallable[
                health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
            ]
            | None
        ) = None

    def start(self) -> None:
        # A bigger answer is refused unread (RESOURCE_EXHAUSTED): 502 naming the logger.
        options = [*_CHANNEL_OPTIONS, ("grpc.max_receive_message_length", self.answer_max)]
        self._channel = grpc.aio.insecure_channel(self.target, options=options)
        self._logs = logs_pb2_grpc.LogServiceStub(self._channel)
        # The method itself: typeshed's HealthStub declares none of its calls.
        self._health = self._channel.unary_unary(
            HEALTH_CHECK,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=1.0)

    async def write_log(self, name: str, data: str) -> str:
        assert self._logs is not None, "start() first"
        request = logs_pb2.LogRequest(logEntry=logs_pb2.Log(name=name, data=data))
        with downstream_call(SERVICE, "grpc"):
            try:
                response = await self._logs.WriteLog(request, timeout=self.timeout)
            except grpc.aio.AioRpcError as exc:
                raise _mapped(exc, self.timeout) from None
        result: str = response.result
        return result

    async def check(self) -> None:
        """For `/ready`: the standard health service reports SERVING.

        A server without that service (the original Go logger has none) answers UNIMPLEMENTED;
        then the channel being connected is all there is to know.
        """
        assert self._health is not None, "start() first"
        assert self._channel is not None
        try:
            reply = await self._health(health_pb2.HealthCheckRequest(), timeout=1.0)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                state = self._channel.get_state(try_to_connect=True)
                if state != grpc.ChannelConnectivity.READY:
                    raise RuntimeError(
                        f"no health service, and the channel is {state.name}"
                    ) from None
                return
            raise RuntimeError(f"{exc.code().name}: {exc.details()}") from None
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def _mapped(exc: grpc.aio.AioRpcError, timeout: float) -> ServiceError:
    code = exc.code()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DownstreamTimeout(SERVICE, timeout)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return ServiceError(400, f"{SERVICE}: {exc.details()}")
    details = exc.details() or ""
    # gRPC's own text when it cannot connect names addresses ("ipv4:10.0.0.5:50001: ..."):
    # the log has it. The logger's own (the log store is unavailable) is for the caller.
    if _CANNOT_CONNECT.search(details):
        return DownstreamUnavailable(SERVICE, f"{code.name}: cannot connect", detail=details)
    return DownstreamUnavailable(SERVICE, f"{code.name}: {details}" if details else code.name)

"""The gRPC door: `logs.LogService/WriteLog`, the standard health service and (a setting)
reflection."""

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from logs_proto import logs_pb2, logs_pb2_grpc
from opentelemetry import context as otel_context
from svckit import tracing
from svckit.contract import GRPC_RESULT, LIMITS

from logger_service import writes
from logger_service.store import LogStore, StoreUnavailable
from logger_service.writes import StoreOutage

log = logging.getLogger(__name__)

LOG_SERVICE = logs_pb2.DESCRIPTOR.services_by_name["LogService"].full_name
# Room beyond one entry's name and data for the request's own framing (tags, lengths).
MESSAGE_OVERHEAD = 1024


class TraceIds(grpc.aio.ServerInterceptor):
    """Where spans are not recorded (`tracing.Mode.IDS`), in place of OpenTelemetry's gRPC
    instrumentation (`__main__`): each unary call runs in the caller's trace, from its
    metadata, with ids alone (`tracing.ids_context`), so its log lines carry them."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
        ],
        details: grpc.HandlerCallDetails,
    ) -> "grpc.RpcMethodHandler[Any, Any] | None":  # generic in the stubs only
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary
        carrier = {
            key: value
            for key, value in details.invocation_metadata or ()
            if key in tracing.PROPAGATION_HEADERS and isinstance(value, str)
        }

        async def traced(request: Any, call: Any) -> Any:
            token = otel_context.attach(tracing.ids_context(carrier)[0])
            try:
                answer = behaviour(request, call)
                return await answer if inspect.isawaitable(answer) else answer
            finally:
                otel_context.detach(token)

        return handler._replace(unary_unary=traced)  # type: ignore[attr-defined, no-any-return]


class LogService(logs_pb2_grpc.LogServiceServicer):
    def __init__(self, store: LogStore) -> None:
        self._store = store

    async def WriteLog(
        self, request: logs_pb2.LogRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> logs_pb2.LogResponse:
        if not request.HasField("logEntry"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "logEntry is required")
        entry = request.logEntry
        if (refusal := LIMITS.refusal(entry.name, entry.data)) is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"logEntry.{refusal}")
        try:
            await writes.write(self._store, "grpc", entry.name, entry.data)
        except StoreOutage as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.message)
        return logs_pb2.LogResponse(result=GRPC_RESULT)


class GrpcServer:
    def __init__(
        self,
        store: LogStore,
        host: str,
        port: int,
        *,
        health_interval: float = 1.0,
        grace: float = 10.0,
        max_concurrent_rpcs: int | None = None,
        reflection: bool = True,
    ) -> None:
        self._store = store
        self._address = f"{host}:{port}"
        self._health_interval = health_interval
        self._grace = grace
        self._reflection = reflection
        self._server = grpc.aio.server(
            # Just above what the largest entry needs: a bigger message is refused unread.
            options=[("grpc.max_receive_message_length", LIMITS.utf8_max + MESSAGE_OVERHEAD)],
            maximum_concurrent_rpcs=max_concurrent_rpcs,
            interceptors=[TraceIds()] if tracing.mode() is tracing.Mode.IDS else None,
        )
        # The asyncio servicer: the one grpc.aio needs.
        self._health = health.aio.HealthServicer()
        self._watch: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        logs_pb2_grpc.add_LogServiceServicer_to_server(LogService(self._store), self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        if self._reflection:
            reflection.enable_server_reflection(
                [LOG_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server
            )
        self.port = self._server.add_insecure_port(self._address)
        # NOT_SERVING until the first ping proves the store answers.
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._server.start()
        self._watch = asyncio.create_task(self._watch_store())
        log.info("gRPC door listening on %s", self._address)

    async def stop(self) -> None:
        """Health says NOT_SERVING, new calls are refused, calls in flight get the grace."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._health.enter_graceful_shutdown()
        await self._server.stop(self._grace)
        log.info("gRPC door stopped")

    async def _set(self, status: int) -> None:
        for service in ("", LOG_SERVICE):
            await self._health.set(service, status)

    async def _watch_store(self) -> None:
        """Health follows the store: SERVING only while MongoDB answers a ping."""
        serving: bool | None = None
        while True:
            try:
                await asyncio.wait_for(self._store.ping(), self._health_interval + 1)
                up = True
            except (StoreUnavailable, TimeoutError) as exc:
                up = False
                if serving is not False:
                    log.warning("gRPC health: NOT_SERVING, the store does not answer: %s", exc)
            if up != serving:
                if up:
                    log.info("gRPC health: SERVING, the store answers")
                serving = up
                await self._set(
                    health_pb2.HealthCheckResponse.SERVING
                    if up
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
            await asyncio.sleep(self._health_interval)

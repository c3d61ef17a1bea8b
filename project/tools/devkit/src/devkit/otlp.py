"""An OTLP trace receiver for tests: real OTLP over HTTP (protobuf) and over gRPC.

It runs in a thread of its own (its own event loop) and keeps every span it is sent, so a
test can start services with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing here, make a call, and
look at the trace: which services it crossed, and whether it is one connected tree.
"""

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from devkit.net import free_port
from devkit.wait import wait_for


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    service: str
    attributes: dict[str, Any] = field(hash=False, compare=False)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def spans_of(request: trace_service_pb2.ExportTraceServiceRequest) -> list[Span]:
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=span.kind,
                        service=str(resource.get("service.name", "")),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                    )
                )
    return found


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: "OtlpReceiver") -> None:
        self._receiver = receiver

    async def Export(
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self._receiver.keep(spans_of(request))
        return trace_service_pb2.ExportTraceServiceResponse()


class Trace:
    """The spans of one trace, as received so far."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = list(spans)

    @property
    def services(self) -> set[str]:
        return {s.service for s in self.spans}

    def roots(self) -> list[Span]:
        """Spans whose parent is not in the trace: one, when the trace is connected."""
        ids = {s.span_id for s in self.spans}
        return [s for s in self.spans if s.parent_id not in ids]

    def named(self, service: str) -> list[str]:
        return sorted(s.name for s in self.spans if s.service == service)


class OtlpReceiver:
    """`http_endpoint` (OTLP/HTTP, `/v1/traces`) and `grpc_endpoint` (OTLP/gRPC)."""

    def __init__(self) -> None:
        self.http_port = free_port()
        self.grpc_port = free_port()
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="otlp-receiver", daemon=True)

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def keep(self, spans: list[Span]) -> None:
        with self._lock:
            self._spans.extend(spans)

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> Trace:
        return Trace(s for s in self.spans() if s.trace_id == trace_id)

    def wait_for_trace(
        self, trace_id: str, services: set[str], timeout: float = 15.0, settle: float = 0.5
    ) -> Trace:
        """The trace once spans of all `services` arrived and no more came for `settle` s."""

        def complete() -> Trace | None:
            found = self.trace(trace_id)
            return found if services <= found.services else None

        wait_for(complete, timeout, what=f"trace {trace_id} across {sorted(services)}")
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < settle:
            count = len(self.trace(trace_id).spans)
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            time.sleep(0.05)
        return self.trace(trace_id)

    def start(self) -> "OtlpReceiver":
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the OTLP receiver did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/traces", self._http_export)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.http_port).start()
        server = grpc.aio.server()
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        server.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        await server.start()
        self._started.set()
        await self._stop.wait()
        await server.stop(0)
        await runner.cleanup()

    async def _http_export(self, request: web.Request) -> web.Response:
        message = trace_service_pb2.ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        self.keep(spans_of(message))
        body = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")


def tracing_env(receiver: OtlpReceiver, protocol: str = "http/protobuf") -> dict[str, str]:
    """The standard variables that send a service's spans to `receiver`, without delay."""
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }

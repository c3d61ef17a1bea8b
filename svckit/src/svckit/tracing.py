"""OpenTelemetry traces, configured by the standard `OTEL_*` variables and nothing else.

- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) unset: spans are not recorded nor
  exported, but every request still gets a trace id, which travels downstream and into every
  log line (a sampler of ALWAYS_OFF keeps ids and drops the cost).
- Set: spans go there by OTLP, `OTEL_EXPORTER_OTLP_PROTOCOL` = `http/protobuf` (the
  specification's default) or `grpc`, batched as the `OTEL_BSP_*` variables say, sampled as
  `OTEL_TRACES_SAMPLER`/`_ARG` say. Our default is `always_on`, not the SDK's
  `parentbased_always_on`: a caller's `traceparent` is continued (same trace id) but its
  sampled flag decides nothing, so no caller can force recording (under a ratio) nor hide its
  requests from the traces (flag 00). `parentbased_always_on` or `parentbased_traceidratio`
  honour the caller's flag; `traceidratio` samples by trace id alone, so every service set to
  the same ratio keeps or drops a whole trace, whatever a caller claims.
- `OTEL_SERVICE_NAME` defaults to the service's compose name; `OTEL_SDK_DISABLED=true` leaves
  the API's no-op tracer in place (no ids at all).

The instrumentation packages do the framework work; `client_span`/`server_span` cover the
hops none of them knows (Go's net/rpc in both codecs, SMTP).
"""

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler
from opentelemetry.trace import Span, SpanKind

log = logging.getLogger(__name__)

TRACER = trace.get_tracer("svckit")


class Instrumentor(Protocol):
    """What every OpenTelemetry instrumentation package's instrumentor does."""

    def instrument(self, **kwargs: Any) -> None: ...


def _env(*names: str) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


def _exporter() -> SpanExporter | None:
    if not _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    protocol = _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    protocol = protocol or "http/protobuf"
    # Each exporter reads the endpoint, headers, timeout and compression variables itself.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter()
    raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, not {protocol!r}")


def configure_tracing(service: str, instrumentors: Iterable[Instrumentor] = ()) -> None:
    """Once per process, before any client or server is made: the provider, the exporter (if
    an endpoint is set) and the instrumentation packages given."""
    if _env("OTEL_SDK_DISABLED").lower() == "true":
        return
    exporter = _exporter()
    # Without an exporter there is nobody to record for; ids still flow (ALWAYS_OFF). With one,
    # our own sampler unless OTEL_TRACES_SAMPLER names another (None: the SDK reads it).
    own: Sampler = ALWAYS_ON if exporter else ALWAYS_OFF
    sampler = None if _env("OTEL_TRACES_SAMPLER") else own
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: _env("OTEL_SERVICE_NAME") or service}),
        sampler=sampler,
    )
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
        log.info(
            "exporting traces to %s",
            _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        )
    trace.set_tracer_provider(provider)
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)


def current_ids() -> tuple[str, str]:
    """The current trace and span ids in hex, or `-` where there is no span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "-", "-"
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@contextlib.contextmanager
def client_span(
    name: str, attributes: Mapping[str, Any], carrier: dict[str, Any] | None = None
) -> Iterator[Span]:
    """A CLIENT span around a call no instrumentation covers; its context is injected into
    `carrier` (a net/rpc request's header, say) for the server to continue."""
    with TRACER.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        if carrier is not None:
            propagate.inject(carrier)
        yield span


@contextlib.contextmanager
def server_span(
    name: str, attributes: Mapping[str, Any], carrier: Mapping[str, Any]
) -> Iterator[Span]:
    """A SERVER span continuing the trace whose context `carrier` holds (if any)."""
    context = propagate.extract(carrier)
    with TRACER.start_as_current_span(
        name, context=context, kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        yield span

"""OpenTelemetry traces, configured by the standard `OTEL_*` variables and nothing else.

- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) unset: spans are not recorded nor
  exported, but every request still gets a trace id, which travels downstream and into every
  log line. Our doors then make no span at all (`ids_context`: a caller's trace id, or a new
  one, and a new span id), and the instrumentation packages' spans are ALWAYS_OFF's
  non-recording ones.
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
import enum
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

TRACER = trace.get_tracer("svckit")


class Mode(enum.Enum):
    """What this process does about traces, as `configure_tracing` decided."""

    OFF = "off"  # not configured, or OTEL_SDK_DISABLED: no ids at all
    IDS = "ids"  # ids made and propagated, no span objects on our doors
    SPANS = "spans"  # spans recorded (an exporter or a sampler is named)


_mode = Mode.OFF
_ids = RandomIdGenerator()
# The W3C rule, as the SDK's own propagator reads `traceparent`.
_TRACEPARENT = TraceContextTextMapPropagator._TRACEPARENT_HEADER_FORMAT_RE
# The trace context's headers (W3C trace context and baggage, the default propagators').
PROPAGATION_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})
# Those only the configured propagators read in full (rare: the cheap path skips them).
_OTHER_PROPAGATION_HEADERS = ("tracestate", "baggage")


def mode() -> Mode:
    return _mode


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
    global _mode
    if _env("OTEL_SDK_DISABLED").lower() == "true":
        return
    exporter = _exporter()
    # Spans only where something would record them; a propagator other than the default
    # (tracecontext and baggage) is the SDK's to read, so it keeps the spans too.
    default_propagation = _env("OTEL_PROPAGATORS") in ("", "tracecontext,baggage", "tracecontext")
    idle = exporter is None and not _env("OTEL_TRACES_SAMPLER") and default_propagation
    _mode = Mode.IDS if idle else Mode.SPANS
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


def _caller_trace_id(traceparent: str) -> int:
    """The trace id of a valid `traceparent` (W3C, as the SDK's propagator reads it), or 0."""
    match = _TRACEPARENT.search(traceparent)
    if match is None:
        return 0
    version, trace_hex, span_hex, _, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or int(span_hex, 16) == 0:
        return 0
    return int(trace_hex, 16)


def ids_context(carrier: Mapping[str, str]) -> tuple[Context, int]:
    """In `Mode.IDS`, the context a request is served in, and its trace id: the caller's trace
    (from `carrier`'s `traceparent`) or a new one, a new span id, and no span object beyond
    the API's non-recording one, so log lines and downstream calls carry the ids as before.
    A `tracestate` or `baggage` (rare) is read by the configured propagators, in full."""
    parent: Context | None = None
    if any(name in carrier for name in _OTHER_PROPAGATION_HEADERS):
        parent = propagate.extract(carrier)
        caller = trace.get_current_span(parent).get_span_context()
        trace_id, state = caller.trace_id, caller.trace_state
    else:
        traceparent = carrier.get("traceparent")
        trace_id, state = (_caller_trace_id(traceparent) if traceparent else 0), None
    trace_id = trace_id or _ids.generate_trace_id()
    span = NonRecordingSpan(SpanContext(trace_id, _ids.generate_span_id(), False, None, state))
    return trace.set_span_in_context(span, parent), trace_id


@contextlib.contextmanager
def client_span(
    name: str, attributes: Mapping[str, Any], carrier: dict[str, Any] | None = None
) -> Iterator[Span]:
    """A CLIENT span around a call no instrumentation covers; its context is injected into
    `carrier` (a net/rpc request's header, say) for the server to continue. In `Mode.IDS`
    only its ids: the caller's trace and a new span id, as the SDK would make them unsampled."""
    if _mode is Mode.IDS:
        caller = trace.get_current_span().get_span_context()
        ids: Span = NonRecordingSpan(
            SpanContext(
                caller.trace_id or _ids.generate_trace_id(),
                _ids.generate_span_id(),
                False,
                None,
                caller.trace_state,
            )
        )
        if carrier is not None:
            propagate.inject(carrier, context=trace.set_span_in_context(ids))
        yield ids
        return
    with TRACER.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        if carrier is not None:
            propagate.inject(carrier)
        yield span


@contextlib.contextmanager
def server_span(
    name: str, attributes: Mapping[str, Any], carrier: Mapping[str, Any]
) -> Iterator[Span]:
    """A SERVER span continuing the trace whose context `carrier` holds (if any); in
    `Mode.IDS` only its ids (`ids_context`)."""
    if _mode is Mode.IDS:
        served, _ = ids_context(carrier)
        token = context.attach(served)
        try:
            yield trace.get_current_span(served)
        finally:
            context.detach(token)
        return
    with TRACER.start_as_current_span(
        name, context=propagate.extract(carrier), kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        yield span

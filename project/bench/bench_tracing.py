"""What tracing costs: each logger door's write rate with every span exported, against the same
logger with no exporter (trace ids still made and logged, nothing recorded).

Two runs of one logger process on one SecantusDB: first with no OTLP endpoint, then with
`OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a real OTLP/HTTP receiver (devkit.otlp, in this
process's threads) and our default sampler (always on: 100 %). Per door, at 32 in
flight: the throughput lost to tracing in per cent (goal: at most 15 %, i.e. at least 0.85 of
the rate without it) and the logger's CPU per write from /proc (utime + stime), off and on, with
what tracing adds in per cent.

Beside them, the floor any exported span costs in this process, whatever the door: the
OpenTelemetry SDK's CPU to start and end one server span (with the attributes FastAPI's sets)
and the OTLP exporter's to encode it, in the batches the BatchSpanProcessor sends. Set against
the logger's CPU per write with tracing off (same table), it says how much one span per write
must add at the least, whatever the doors do: what bounds the throughput lost.
"""

import asyncio
import contextlib
import shutil
import tempfile
import time
from pathlib import Path

import benchkit
from bench_logger import doors, logger_process
from devkit.mongo import SecantusProcess
from devkit.otlp import OtlpReceiver, tracing_env
from devkit.process import ServiceProcess
from devkit.procfs import cpu_seconds
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

GOAL = 0.85
CONCURRENCY = 32
# The BatchSpanProcessor's default batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).
EXPORT_BATCH = 512
# A server span as FastAPI's telemetry starts and ends it on the logger's POST /log.
START_ATTRIBUTES: dict[str, AttributeValue] = {
    "url.scheme": "http",
    "http.request.method": "POST",
    "network.protocol.version": "1.1",
    "server.address": "127.0.0.1",
    "server.port": 8084,
    "url.path": "/log",
}
END_ATTRIBUTES: dict[str, AttributeValue] = {"http.route": "/log", "http.response.status_code": 202}


class _Kept(SpanProcessor):
    """Keeps every ended span, as a BatchSpanProcessor's queue would, for the encoder."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def span_floor(count: int) -> list[benchkit.Result]:
    """The SDK's and the OTLP encoder's CPU per span, in this process, nothing else running."""
    kept = _Kept()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "bench"}), sampler=ALWAYS_ON)
    provider.add_span_processor(kept)
    tracer = provider.get_tracer("fastapi")
    started = time.process_time()
    for _ in range(count):
        span = tracer.start_span("POST", kind=SpanKind.SERVER, attributes=START_ATTRIBUTES)
        span.set_attributes(END_ATTRIBUTES)
        span.end()
    made = time.process_time() - started
    started = time.process_time()
    for first in range(0, count, EXPORT_BATCH):
        encode_spans(kept.spans[first : first + EXPORT_BATCH]).SerializeToString()
    encoded = time.process_time() - started
    head = "tracing: one server span"
    return [
        benchkit.Result(f"{head}, the SDK's CPU to start and end it", made * 1e6 / count, "CPU µs"),
        benchkit.Result(f"{head}, the OTLP encoder's CPU", encoded * 1e6 / count, "CPU µs"),
    ]


async def door_rates(
    svc: ServiceProcess, seconds: float, label: str
) -> dict[str, tuple[float, float]]:
    """Each door's write rate at CONCURRENCY in flight (the doors of the logger's own bench)
    and the logger's CPU µs per write meanwhile."""
    assert svc.proc is not None
    rates = {}
    async with doors(svc) as calls:
        for door, call in calls.items():
            benchkit.progress(f"tracing: {door}, {label}, {CONCURRENCY} in flight")
            await benchkit.closed_loop(call, CONCURRENCY, 0.3, warmup=0)  # warm up, uncounted
            before = cpu_seconds(svc.proc.pid)
            load = await benchkit.closed_loop(call, CONCURRENCY, seconds, warmup=0)
            cpu_us = (cpu_seconds(svc.proc.pid) - before) * 1e6 / max(load.requests, 1)
            rates[door] = (load.rate, cpu_us)
    return rates


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 0.8 if quick else 8.0
    # First, before any process or thread of the bench is started.
    results = span_floor(2_000 if quick else 20_000)
    scratch = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    mongo = SecantusProcess(scratch / "mongo").start(60)
    receiver = OtlpReceiver().start()
    try:
        rates = {}
        for label, extra in (("tracing off", {}), ("every span exported", tracing_env(receiver))):
            svc = logger_process(
                mongo.url, f"bench_tracing_{label.replace(' ', '_')}", scratch, **extra
            )
            try:
                await asyncio.to_thread(svc.start, True, 60)
                rates[label] = await door_rates(svc, seconds, label)
            finally:
                with contextlib.suppress(AssertionError):
                    await asyncio.to_thread(svc.stop)
        exported = len(receiver.spans())
        for door, (off, off_cpu) in rates["tracing off"].items():
            on, on_cpu = rates["every span exported"][door]
            head = f"tracing: {door} with 100 % of spans exported, {CONCURRENCY} in flight"
            results += [
                benchkit.Result(
                    f"{head}: throughput",
                    on,
                    "writes/s",
                    baseline=off,
                    goal=GOAL,
                    extra={"spans_received": exported},
                ),
                benchkit.Result(
                    f"{head}: throughput lost",
                    (1 - on / off) * 100 if off else float("nan"),
                    "%",
                    goal=(1 - GOAL) * 100,
                    goal_kind="value<=",
                ),
                benchkit.Result(
                    f"{head}: logger CPU per write (baseline: tracing off)",
                    on_cpu,
                    "CPU µs/write",
                    baseline=off_cpu,
                ),
                benchkit.Result(
                    f"{head}: logger CPU per write added",
                    (on_cpu / off_cpu - 1) * 100 if off_cpu else float("nan"),
                    "%",
                ),
            ]
    finally:
        receiver.stop()
        mongo.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

"""What tracing costs: each logger door's write rate with every span exported, against the same
logger with no exporter (trace ids still made and logged, nothing recorded).

Two runs of one logger process on one SecantusDB: first with no OTLP endpoint, then with
`OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a real OTLP/HTTP receiver (devkit.otlp, in this
process's threads) and the default sampler (parent-based, always on: 100 %). Goal: every door
at least 0.85 of its rate without tracing, at 32 in flight.
"""

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path

import benchkit
from bench_logger import doors, logger_process
from devkit.mongo import SecantusProcess
from devkit.otlp import OtlpReceiver, tracing_env
from devkit.process import ServiceProcess

GOAL = 0.85
CONCURRENCY = 32


async def door_rates(svc: ServiceProcess, seconds: float, label: str) -> dict[str, float]:
    """Each door's write rate at CONCURRENCY in flight (the doors of the logger's own bench)."""
    rates = {}
    async with doors(svc) as calls:
        for door, call in calls.items():
            benchkit.progress(f"tracing: {door}, {label}, {CONCURRENCY} in flight")
            rates[door] = (await benchkit.closed_loop(call, CONCURRENCY, seconds)).rate
    return rates


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 0.8 if quick else 8.0
    scratch = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    mongo = SecantusProcess(scratch / "mongo").start(60)
    receiver = OtlpReceiver().start()
    results: list[benchkit.Result] = []
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
        for door, off in rates["tracing off"].items():
            results.append(
                benchkit.Result(
                    f"tracing: {door} with 100 % of spans exported, {CONCURRENCY} in flight",
                    rates["every span exported"][door],
                    "writes/s",
                    baseline=off,
                    goal=GOAL,
                    extra={"spans_received": exported},
                )
            )
    finally:
        receiver.stop()
        mongo.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

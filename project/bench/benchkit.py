"""What every benchmark repeats: a bounded closed-loop load, percentiles, and a ratio table.

A benchmark module `bench_<part>.py` defines `async def main(quick: bool) -> list[Result]`;
`run.py` runs them all. Every loop is bounded in time; nothing here asserts a speed.
"""

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

QUICK = os.environ.get("BENCH_QUICK") == "1"


@dataclass
class Load:
    """What a closed loop of `concurrency` workers achieved in `seconds`."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Result:
    """One measured figure, its unit, and (where there is one) its floor and goal."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    goal: float | None = None  # the goal for value/baseline (a ratio) or for the value itself
    goal_kind: str = "ratio>="  # "ratio>=", "value<=", "value>="
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.goal_kind == "ratio>=":
            return self.ratio is not None and self.ratio >= self.goal
        if self.goal_kind == "value<=":
            return self.value <= self.goal
        return self.value >= self.goal

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


async def closed_loop(
    call: Callable[[], Awaitable[Any]], concurrency: int, seconds: float, warmup: float = 0.3
) -> Load:
    """`concurrency` workers call `call` back to back for `seconds` (after a short warm-up)."""
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds
    start_at = time.perf_counter() + warmup

    async def worker() -> None:
        nonlocal errors, measuring
        while (now := time.perf_counter()) < stop_at:
            try:
                await call()
            except Exception:
                errors += 1
                continue
            end = time.perf_counter()
            if now >= start_at:
                latencies.append(end - now)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(len(latencies), errors, seconds, latencies)


def number(value: float) -> str:
    """A figure with the digits its goal needs: with one decimal, a CPU figure of 0.2504 ms
    showed as 0.3 beside its goal of 0.25; under 1 it gets three."""
    if abs(value) < 1:
        return f"{value:.3f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:,.1f}"


def table(results: list[Result]) -> str:
    """A Markdown table: figure, baseline, ratio, goal, met."""
    lines = [
        "| measurement | value | baseline | ratio | goal | met |",
        "|---|---:|---:|---:|---:|:-:|",
    ]
    for r in results:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        base = f"{number(r.baseline)} {r.unit}" if r.baseline is not None else ""
        goal = (
            ""
            if r.goal is None
            else f"{r.goal_kind.replace('>=', ' ≥ ').replace('<=', ' ≤ ')} {r.goal:g}"
        )
        met = {True: "yes", False: "no", None: ""}[r.met]
        lines.append(
            f"| {r.name} | {number(r.value)} {r.unit} | {base} | {ratio} | {goal} | {met} |"
        )
    return "\n".join(lines)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")

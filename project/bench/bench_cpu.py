"""CPU per request, process by process, on every path of the broker (issue 25's measure).

The whole system as the shoot-out runs it (`bench_shootout.running_system`: SecantusDB,
logger, listener, auth on its own PostgreSQL database, mail, a mail catcher and the broker,
real processes on free ports), loaded by wrk (an aiohttp closed loop without it) on each
path at 1 and 32 in flight. Each process's utime + stime from /proc is read before the load
and again once the work it caused is done (every accepted log entry stored, then no process
still busy), and divided by the requests answered: CPU milliseconds per request. The goals
are issue 25's, checked on the figures of this run only.
"""

import asyncio
import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import benchkit
import report
from bench_auth import ADMIN
from bench_shootout import (
    WRK,
    Figures,
    aiohttp_load,
    body,
    first_answer,
    running_system,
    split_cores,
    stored_after,
    wrk_load,
)
from devkit.procfs import TICKS, cpu_seconds
from pymongo import AsyncMongoClient

LEVELS = (1, 32)
MAIL = {"from": "me@example.com", "to": "you@there.com", "subject": "Bench", "message": "Hi"}
# How the reports name the processes (the shoot-out's short names, SecantusDB by its own).
SHOWN = {"mongo": "SecantusDB"}


@dataclass(frozen=True)
class Route:
    """One path of the broker: its URL path, a request body, whether it stores a log entry,
    and the least time to load it (a login is a bcrypt check of about 0.25 s)."""

    path: str
    payload: str
    logs: bool
    min_seconds: int = 1


def paths(run: str) -> dict[str, Route]:
    """Every path of the broker, its log entries named by path and run."""

    def log(label: str) -> str:
        return f"cpu-{label.strip('/').replace(' ', '-')}-{run}"

    handle = {"auth": {"action": "auth", "auth": ADMIN}, "mail": {"action": "mail", "mail": MAIL}}
    found = {
        "POST /": Route("/", "{}", False),
        "/handle auth": Route("/handle", json.dumps(handle["auth"]), False, min_seconds=2),
        "/handle log": Route("/handle", body(log("/handle log")), True),
        "/handle mail": Route("/handle", json.dumps(handle["mail"]), False),
    }
    for door in ("grpc", "http", "rpc", "rabbit"):
        label = f"/log-{door}"
        found[label] = Route(label, body(log(label)), True)
    return found


@dataclass(frozen=True)
class Plan:
    seconds: int  # per path and level (wrk counts whole seconds)
    drain_limit: float  # how long the system may take to finish what it accepted
    # How long to wait for every process to go quiet (32 logins queued behind bcrypt: ~5 s).
    settle_limit: float

    @classmethod
    def of(cls, quick: bool) -> "Plan":
        return cls(1, 20.0, 10.0) if quick else cls(8, 120.0, 60.0)


async def quiet(pids: dict[str, int], limit: float) -> None:
    """Until no process gained a clock tick over 0.2 s (the work a load left is done)."""
    deadline = time.monotonic() + limit
    last = {p: cpu_seconds(pid) for p, pid in pids.items()}
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = {p: cpu_seconds(pid) for p, pid in pids.items()}
        if all(now[p] - last[p] < 1.5 / TICKS for p in pids):
            return
        last = now


def figures_of(
    label: str, level: int, f: Figures, cpu: dict[str, float], setup: dict[str, Any]
) -> list[benchkit.Result]:
    tag = {"path": label, "concurrency": level}
    # Every answered request counts: auth answers logins beyond its queue with 503 at once,
    # and those cost CPU too (elsewhere nothing fails).
    answered = f.accepted + f.errors
    per_request = 1000 / answered if answered else float("nan")
    head = f"cpu {label} ×{level}"
    results = [
        benchkit.Result(
            f"{head}: throughput",
            f.rate,
            "req/s",
            extra={
                **tag,
                "metric": "throughput",
                "accepted": f.accepted,
                "errors": f.errors,
                "p50_ms": f.p50,
                **setup,
            },
        ),
        benchkit.Result(
            f"{head}: CPU of the system",
            sum(cpu.values()) * per_request,
            "CPU ms/req",
            extra={**tag, "metric": "cpu_per_request", "process": "all"},
        ),
    ]
    for process, seconds in cpu.items():
        goal = GOALS.get((label, level, process))
        results.append(
            benchkit.Result(
                f"{head}: CPU of {process}",
                seconds * per_request,
                "CPU ms/req",
                goal=goal,
                goal_kind="value<=",
                extra={**tag, "metric": "cpu_per_request", "process": process},
            )
        )
    if (goal := GOALS.get((label, level, "p50"))) is not None:
        results.append(
            benchkit.Result(
                f"{head}: latency p50", f.p50, "ms", goal=goal, goal_kind="value<=", extra=tag
            )
        )
    return results


def chosen(found: dict[str, Route]) -> dict[str, Route]:
    """The paths `BENCH_CPU_PATHS` names (comma-separated labels), else all of them: one path
    measured alone while working on it."""
    wanted = [w.strip() for w in os.environ.get("BENCH_CPU_PATHS", "").split(",") if w.strip()]
    if unknown := set(wanted) - found.keys():
        raise SystemExit(f"BENCH_CPU_PATHS: no such path {sorted(unknown)}; paths: {list(found)}")
    return {label: found[label] for label in wanted} if wanted else found


# Issue 25's goals: (path, in flight, process or "p50") -> at most this many ms.
GOALS: dict[tuple[str, int, str], float] = {
    ("/handle log", 32, "broker"): 0.40,
    ("POST /", 32, "broker"): 0.25,
    ("/handle log", 1, "p50"): 2.0,
    ("/handle mail", 32, "mail"): 1.0,
    ("/handle mail", 1, "mail"): 1.0,
    **{
        (door, level, "logger"): 0.25 if level == 32 else 0.6
        for door in ("/handle log", "/log-grpc", "/log-http", "/log-rpc", "/log-rabbit")
        for level in LEVELS
    },
}


async def main(quick: bool) -> list[benchkit.Result]:
    plan = Plan.of(quick)
    system_cores, generator_cores = split_cores()
    original = os.sched_getaffinity(0)
    setup = {"generator": "wrk" if WRK else "aiohttp", "seconds": plan.seconds}
    results: list[benchkit.Result] = []
    run = uuid.uuid4().hex[:6]
    try:
        async with (
            running_system(system_cores, with_listener=True, with_auth_mail=True) as system,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
            AsyncMongoClient[dict[str, Any]](system.mongo_url) as mongo,
        ):
            http.headers["Content-Type"] = "application/json"
            logs = mongo[system.database]["logs"]
            # RabbitMQ's server is shared with the rest of the machine: not ours to charge.
            pids = {SHOWN.get(p, p): pid for p, pid in system.pids.items() if p != "rabbitmq"}
            for label, target in chosen(paths(run)).items():
                url = system.broker.url + target.path
                await first_answer(http, url, target.payload, 30)
                for level in LEVELS:
                    name = json.loads(target.payload)["log"]["name"] if target.logs else ""
                    stored = await logs.count_documents({"name": name}) if target.logs else 0
                    await quiet(pids, plan.settle_limit)
                    before = {p: cpu_seconds(pid) for p, pid in pids.items()}
                    seconds = max(plan.seconds, target.min_seconds)
                    if WRK:
                        f = await wrk_load(url, target.payload, level, seconds, generator_cores)
                    else:
                        f = await aiohttp_load(http, url, target.payload, level, seconds)
                    if target.logs:
                        await stored_after(logs, name, stored + f.accepted, plan.drain_limit)
                    await quiet(pids, plan.settle_limit)
                    cpu = {p: cpu_seconds(pid) - before[p] for p, pid in pids.items()}
                    figures = figures_of(label, level, f, cpu, setup)
                    results += figures
                    benchkit.progress(
                        f"cpu {label:13} ×{level:<2} {f.rate:7,.0f} req/s  "
                        f"{figures[1].value:6.2f} CPU ms/req  p50 {f.p50:.1f} ms  errors {f.errors}"
                    )
    finally:
        os.sched_setaffinity(0, original)
    return results


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        figures = asyncio.run(main(benchkit.QUICK))
        print(report.cpu_table(figures))
        print(report.headline(figures))

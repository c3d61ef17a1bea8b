"""`docs/reliability/report.md`: one row per scenario, from the outcomes the suite measured."""

import datetime
import os
import platform
from collections import Counter
from pathlib import Path

from callers import CALLER_GRACE, DEADLINES, LOGGER_TIMEOUT
from outcome import DRAIN, DRAIN_LIMIT, RECOVERY, SLACK, Outcome


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _statuses(counts: Counter[str]) -> str:
    return ", ".join(f"{status} ×{n}" for status, n in sorted(counts.items()))


def _restarted(outcome: Outcome) -> str:
    names = sorted(set().union(*(w.restarted() for w in outcome.windows)))
    return ", ".join(names) or "none"


def row(outcome: Outcome) -> str:
    lasted = sum(w.lasted for w in outcome.windows)
    events = f"{len(outcome.accepted)} / {len(outcome.stored)} / {outcome.lost}"
    drained = "—" if outcome.drained_in is None else f"{outcome.drained_in:.1f} s"
    verdict = "✓" if not outcome.problems else f"✗ {len(outcome.problems)}"
    cells = [
        outcome.scenario.name,
        f"{lasted:.1f} s",
        str(len(outcome.calls)),
        f"{outcome.answered_in_time}",
        f"{outcome.slowest:.2f} s",
        _statuses(outcome.statuses),
        f"{outcome.recovery:.2f} s",
        _restarted(outcome),
        events,
        drained,
        verdict,
    ]
    return "| " + " | ".join(cells) + " |"


def headline(outcomes: list[Outcome]) -> dict[str, float]:
    """The figures the README quotes."""
    calls = [c for o in outcomes for c in o.calls]
    return {
        "scenarios": len(outcomes),
        "calls": len(calls),
        "in_time": sum(o.answered_in_time for o in outcomes),
        "missed_at_the_edge": sum(o.missed_at_the_edge for o in outcomes),
        "slowest": max(o.slowest for o in outcomes),
        "recovery": max(o.recovery for o in outcomes),
        "accepted": sum(len(o.accepted) for o in outcomes),
        "stored": sum(len(o.stored) for o in outcomes),
        "lost": sum(o.lost for o in outcomes),
        "duplicates": sum(o.duplicates for o in outcomes),
        "dead_lettered": sum(o.dead_lettered for o in outcomes),
        "drained_in": max((o.drained_in or 0.0) for o in outcomes),
        "problems": sum(len(o.problems) for o in outcomes),
    }


def render(outcomes: list[Outcome], took: float) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    h = headline(outcomes)
    deadlines = ", ".join(f"`{k}={v:g}`" for k, v in DEADLINES.items())
    lines = [
        "# Reliability: faults injected into the running system",
        "",
        f"Written by `make -C project faults` (`project/faults/run_faults.py`) on {now}, "
        f"{os.cpu_count()} cores ({_cpu()}), in {took / 60:.1f} minutes. The scenarios are the "
        "ones `project/tests/test_faults.py` asserts in `make -C project test`; this is what "
        "they measured in one run.",
        "",
        "## How",
        "",
        "The launcher runs every service as in `make -C project run`, on ports of its own. "
        "PostgreSQL and RabbitMQ are reached through TCP proxies (`launcher.proxy`), which the "
        "suite cuts (connections dropped, new ones refused) or stalls (connections kept, no "
        "byte passed); the shared servers themselves are never touched. SecantusDB (MongoDB) "
        "and the mail catcher (the SMTP server) run as processes of the suite's own and are "
        "really stopped (SIGTERM) and started again. Each service is SIGKILLed (the launcher "
        "restarts it) and SIGSTOPped (hung, not dead; SIGCONT ends it) in turn.",
        "",
        "While a fault is on, a caller per route calls it every 0.3 s through the broker "
        "(`POST /`, `/handle` auth, mail and log (net/rpc), `/log-http`, `/log-grpc`, "
        "`/log-rabbit`, `GET /logs`) and the front-end's page. A call is *in time* when it got "
        f"an HTTP answer within its deadline plus {SLACK:g} s; the broker's deadlines here: "
        f"{deadlines}, `LOGGER_TIMEOUT={LOGGER_TIMEOUT:g}` (the defaults are longer; mail's "
        f"is 25 s). A caller gives up {CALLER_GRACE:g} s after the deadline. A dependency or a "
        "SIGSTOP is held one second longer than the longest deadline it touches, so every "
        "route it touches sees whole calls fail.",
        "",
        "Each row is judged (✓, or ✗ with the number of problems): a route the fault touches "
        "may fail only with a 502, 503 or 504 envelope naming the failing part, in time, with "
        "no internal address or stack trace; when the failing part is the edge callers talk "
        "to (the broker, the page), they may find it refused at once or, hung, silent; every "
        f"other route answers 2xx in time throughout; every route succeeds again within "
        f"{RECOVERY:g} s of the fault's end and no service restarts but the one killed; every "
        "event accepted (202) on `/log-rabbit` is stored exactly once (missing ones are "
        f"waited for while others keep arriving, one at least every {DRAIN:g} s, for "
        f"{DRAIN_LIMIT:g} s at most), and none is dead-lettered.",
        "",
        "## Headline",
        "",
        f"- {h['scenarios']} scenarios, {h['calls']} calls; {h['in_time']} answered in time "
        f"({100 * h['in_time'] / max(1, h['calls']):.1f} %). Of the "
        f"{h['calls'] - h['in_time']} others, {h['missed_at_the_edge']} called the broker or "
        "the page while it was dead or hung: nothing stands in front of either locally, so a "
        "dead one refuses at once and a hung one answers once it runs again (compose and "
        "Kubernetes put a proxy and replicas there).",
        f"- Slowest answer {h['slowest']:.2f} s; every route succeeded again at most "
        f"{h['recovery']:.2f} s after a fault ended.",
        f"- `/log-rabbit`: {h['accepted']} events accepted, {h['stored']} stored, "
        f"{h['lost']} lost, {h['duplicates']} stored twice, {h['dead_lettered']} dead-lettered; "
        f"the last one stored at most {h['drained_in']:.1f} s after its scenario's last fault.",
        f"- Problems: {h['problems']}.",
        "",
        "## The faults",
        "",
        "*Lasted*: from the injection to the end (SIGCONT, the proxy open again, the server "
        "started again; for a SIGKILL, until the launcher had the new process ready). "
        "*Recovered in*: from that end until every route had succeeded again. *Restarted*: "
        "the services whose pid changed. *All stored*: from the last fault's end until the "
        "last accepted event was stored.",
        "",
        "| fault | lasted | calls | in time | slowest | statuses | recovered in | restarted "
        "| events accepted / stored / lost | all stored | |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(row(o) for o in outcomes),
        "",
    ]
    lines += [
        "## What the callers read",
        "",
        "Every distinct failure each scenario's callers got, with how often.",
        "",
    ]
    for o in outcomes:
        seen = Counter(
            f"{c.outcome} {c.message!r}" if c.message else c.outcome
            for c in o.calls
            if c.status is None or c.status >= 300
        )
        lines.append(
            f"- {o.scenario.name}: "
            + ("; ".join(f"{what} ×{n}" for what, n in seen.most_common()) or "no failure")
        )
    lines.append("")
    problems = [(o.scenario.name, p) for o in outcomes for p in o.problems]
    lines += ["## Problems", ""]
    lines += [f"- {name}: {p}" for name, p in problems] or ["None."]
    return "\n".join(lines) + "\n"


def write(path: Path, outcomes: list[Outcome], took: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(outcomes, took))

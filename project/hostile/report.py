"""`docs/reliability/hostile.md`: one row per attack, from the outcomes the suite measured."""

import datetime
import os
from pathlib import Path

from hostile.doors import DEADLINE
from hostile.outcome import SETTLE, Outcome
from hostile.scenarios import HEADER_TIMEOUT, SYSTEM_ENV


def _bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} B"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(outcome: Outcome) -> str:
    usage = outcome.usage
    cpu = ", ".join(f"{name} {u.cpu:.2f} s" for name, u in usage.items()) or "—"
    rss = ", ".join(
        f"{name} {u.rss_peak / 1024 / 1024:.0f} MiB (+{u.growth / 1024 / 1024:.0f})"
        for name, u in usage.items()
    )
    door, worst = outcome.worst()
    verdict = "pass" if not outcome.problems else "**fail**: " + "; ".join(outcome.problems)
    cells = [
        outcome.attack.name,
        _bytes(outcome.hit.sent),
        cpu,
        rss or "—",
        f"{worst:.2f} s ({door})" if door else "—",
        verdict,
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render(outcomes: list[Outcome], took: float) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    passed = sum(1 for o in outcomes if not o.problems)
    settings = ", ".join(f"`{k}={v}`" for k, v in SYSTEM_ENV.items())
    lines = [
        "# Reliability: hostile input",
        "",
        f"Written by `make -C project hostile` (`project/hostile/run_hostile.py`) on {now}, "
        f"{os.cpu_count()} cores, in {took / 60:.1f} minutes. The attacks are the ones "
        "`project/tests/test_hostile.py` asserts; this is what they measured in one run.",
        "",
        "## How",
        "",
        "The whole system runs under the launcher on ports of its own (as for the fault "
        f"suite), with {settings} (the header deadline is {HEADER_TIMEOUT:g} s so that the "
        "slowloris attack is short). Each attack (one per finding of issue 24) sends its bytes "
        "to 127.0.0.1 only. Meanwhile an honest client calls every other door every 0.2 s: "
        "the logger's `/ping` and a real write on its HTTP, gRPC and net/rpc doors, the "
        "broker's `/ping`, and another user's login at the authentication service (from "
        "another address). *CPU* and *peak RSS* are the target's (the launcher's child, from "
        "/proc) while the attack ran, with the growth over its RSS before. *Worst door* is the "
        "slowest honest call begun during the attack.",
        "",
        f"An attack passes when every honest call begun during it answered within "
        f"{DEADLINE:g} s, every write a door acknowledged is stored, no service restarted or "
        "logged a traceback, the doors answer again within "
        f"{SETTLE:g} s of its end, and what the attack itself expects holds (the refusal the "
        "door owes it: 400, 403, 431, an RPC error, INVALID_ARGUMENT, a dead letter; no mail "
        "sent; memory within its bound). A target still wedged after that is SIGKILLed, so "
        "the next attack meets a working system.",
        "",
        "## Headline",
        "",
        f"{passed} of {len(outcomes)} attacks pass; "
        f"{sum(o.written for o in outcomes)} honest writes acknowledged, "
        f"{sum(o.lost for o in outcomes)} lost.",
        "",
        "## The attacks",
        "",
        "| attack | bytes sent | CPU of the target | peak RSS of the target | worst door "
        "| outcome |",
        "| --- | --- | --- | --- | --- | --- |",
        *(row(o) for o in outcomes),
        "",
        "## What each found",
        "",
    ]
    for o in outcomes:
        notes = "; ".join(o.hit.notes) or "nothing to add"
        lines.append(f"- {_cell(o.attack.name)} ({o.attack.finding}): {_cell(notes)}.")
    return "\n".join(lines) + "\n"


def write(path: Path, outcomes: list[Outcome], took: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(outcomes, took))

"""One attack run against the system, measured and judged.

While it runs, every door is called by an honest client (`doors.Doors`) and the target's
CPU and resident memory are read from /proc (the launcher's child). A problem is any of:
- a door call begun during the attack failing or taking over `DEADLINE` (1 s);
- a write a door acknowledged (before or during the attack) not stored;
- a service restarted, a new traceback in the services' output;
- the targets' memory growing more than the attack allows;
- what the attack itself checks (`Hit.problems`).
After it, the doors must answer again within `SETTLE` seconds; a target still wedged then is
SIGKILLed (the launcher restarts it) so that the next attack meets a working system.
"""

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field

from devkit.callers import Call, succeeded
from devkit.procfs import cpu_seconds, rss_bytes
from devkit.system import LocalSystem

from hostile.doors import DEADLINE, Doors, stored
from hostile.scenarios import Attack, Hit

# Every door must have answered before the attack begins, within this long.
WARM_UP = 20.0
# The doors are still measured this long after the attack's code returned (a decode it set off
# may still be running).
TAIL = 1.0
# No attack may run longer than this.
ATTACK_LIMIT = 90.0
# Once the attack is over, every door answers within `DEADLINE` again within this long.
SETTLE = 20.0


@dataclass
class Usage:
    """One target's figures while the attack ran: CPU seconds, resident memory before and at
    its peak."""

    cpu: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0

    @property
    def growth(self) -> int:
        return max(0, self.rss_peak - self.rss_before)


@dataclass
class Outcome:
    attack: Attack
    hit: Hit
    calls: list[Call] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)
    seconds: float = 0.0
    written: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    def worst(self) -> tuple[str, float]:
        """The door that took longest during the attack, and how long (a failure counts as
        the time it took to fail)."""
        worst = max(self.calls, key=lambda c: c.seconds, default=None)
        return ("", 0.0) if worst is None else (worst.route, worst.seconds)


async def _sample(pids: dict[str, int], usage: dict[str, Usage], stop: asyncio.Event) -> None:
    first: dict[str, float] = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            first[name] = cpu_seconds(pid)
            usage[name] = Usage(rss_before=rss_bytes(pid), rss_peak=rss_bytes(pid))
    while True:
        for name in list(first):
            try:
                usage[name].cpu = cpu_seconds(pids[name]) - first[name]
                usage[name].rss_peak = max(usage[name].rss_peak, rss_bytes(pids[name]))
            except OSError:  # the process is gone: judged as a restart
                del first[name]
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def _all_answer(doors: Doors, timeout: float) -> bool:
    """Until one round of calls to every door all succeed within `DEADLINE`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = await doors.once()
        if all(succeeded(c) and c.seconds <= DEADLINE for c in calls):
            return True
        await asyncio.sleep(0.2)
    return False


async def run(system: LocalSystem, attack: Attack) -> Outcome:
    outcome = Outcome(attack, Hit())
    hit = outcome.hit
    pids = system.pids()
    tracebacks = system.output().count("Traceback")
    doors = Doors(system)
    try:
        if not await _all_answer(doors, WARM_UP):
            outcome.problems.append(f"the doors did not all answer within {WARM_UP:g} s before it")
        doors.start()
        stop = asyncio.Event()
        targets = {t: pids[t] for t in attack.targets if t in pids}
        sampler = asyncio.create_task(_sample(targets, outcome.usage, stop))
        began = time.monotonic()
        try:
            # The attacker runs on a loop of its own (a thread), so its work never delays the
            # honest clients' measurements.
            await asyncio.wait_for(
                asyncio.to_thread(asyncio.run, attack.run(system, hit)), ATTACK_LIMIT
            )
        except TimeoutError:
            hit.problems.append(f"the attack did not end within {ATTACK_LIMIT:g} s")
        except Exception as exc:  # an attack's own failure is this scenario's, not the suite's
            hit.problems.append(f"the attack failed: {type(exc).__name__}: {exc}"[:300])
        await asyncio.sleep(TAIL)
        ended = time.monotonic()
        stop.set()
        await sampler
        await doors.stop()
        outcome.seconds = ended - began
        outcome.calls = [c for c in doors.calls if began <= c.started <= ended]
        settled = await _all_answer(doors, SETTLE)
    finally:
        await doors.aclose()
    outcome.problems += judge(outcome)
    if not settled:
        outcome.problems.append(f"the doors did not all answer again within {SETTLE:g} s")
        await _restart(system, attack.targets)
    outcome.written = len(doors.written)
    outcome.lost = len(set(doors.written) - await stored(system, doors.written))
    if outcome.lost:
        outcome.problems.append(f"{outcome.lost} of {outcome.written} acknowledged writes lost")
    restarted = sorted(n for n, pid in pids.items() if system.pids().get(n) != pid)
    if restarted and settled:
        outcome.problems.append(f"restarted: {', '.join(restarted)}")
    if (new := system.output().count("Traceback") - tracebacks) > 0:
        outcome.problems.append(f"{new} new tracebacks in the services' output")
    return outcome


def judge(outcome: Outcome) -> list[str]:
    problems = list(outcome.hit.problems)
    by_door: dict[str, list[Call]] = {}
    for call in outcome.calls:
        if not succeeded(call) or call.seconds > DEADLINE:
            by_door.setdefault(call.route, []).append(call)
    for door, bad in by_door.items():
        slowest = max(bad, key=lambda c: c.seconds)
        what = "answered" if succeeded(slowest) else f"{slowest.outcome} {slowest.message!r}"
        problems.append(
            f"{door}: {len(bad)} calls failed or over {DEADLINE:g} s "
            f"(worst {what} after {slowest.seconds:.2f} s)"
        )
    if outcome.attack.max_rss_growth is not None:
        for name, usage in outcome.usage.items():
            if usage.growth > outcome.attack.max_rss_growth:
                mib = usage.growth / 1024 / 1024
                limit = outcome.attack.max_rss_growth / 1024 / 1024
                problems.append(f"{name} grew by {mib:.0f} MiB (at most {limit:.0f} MiB)")
    return problems


async def _restart(system: LocalSystem, targets: tuple[str, ...]) -> None:
    """A wedged target SIGKILLed; the launcher starts it again."""
    pids = system.pids()
    for name in targets:
        exits = system.exits(name)
        with contextlib.suppress(ProcessLookupError, KeyError):
            os.kill(pids[name], signal.SIGKILL)
            await system.back_again(name, exits)

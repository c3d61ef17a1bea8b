"""One scenario run against the system, measured and judged: the callers going, each fault in
turn, then what was stored; every broken expectation becomes a sentence in `problems`.

What a fault may do to a call (anything else is a problem):
- a route the fault touches may fail while the fault lasts and until that route recovers, with a
  502, 503 or 504 envelope naming the failing part, within the route's deadline (plus `SLACK`),
  never with an internal address or a stack trace; when the failing part is the edge callers
  talk to (the broker, the front-end), they may find it gone: refused at once, or, hung, silent;
- every other route keeps answering 2xx within its deadline throughout;
- once the fault is over every route succeeds again within `RECOVERY` seconds and stays so;
- no service restarts but the one the fault killed (its pid alone changes);
- every event accepted (202) on `/log-rabbit` is stored exactly once (waited for while they
  keep arriving), none is dead-lettered.
"""

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from callers import Callers, routes
from devkit.callers import Call, succeeded
from devkit.system import LocalSystem
from pymongo import AsyncMongoClient
from scenarios import Fault, Scenario

# What a call may take beyond its deadline (the broker's own work, a loaded machine).
SLACK = 1.0
# Calls succeed again within this long once the fault is over.
RECOVERY = 5.0
# Every route must have succeeded within this long before the first fault.
WARM_UP = 30.0
# Accepted events still missing are waited for while they keep arriving (one at least every
# `DRAIN` seconds), up to `DRAIN_LIMIT`: a backlog behind a slow store is late, not lost.
DRAIN = 15.0
DRAIN_LIMIT = 120.0
# An internal address (host:port, a URL) or a stack trace in a public message is a leak.
LEAK = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}:\d+|\blocalhost:\d+|\[[0-9a-fA-F:]+\]:\d+|://|Traceback|File \""
)


@dataclass
class FaultWindow:
    fault: Fault
    began: float
    ended: float = 0.0
    # Per route: when its first success after the fault's end came back.
    recovered: dict[str, float] = field(default_factory=dict)
    pids_before: dict[str, int] = field(default_factory=dict)
    pids_after: dict[str, int] = field(default_factory=dict)

    @property
    def lasted(self) -> float:
        return self.ended - self.began

    @property
    def recovery(self) -> float:
        return max([0.0, *(t - self.ended for t in self.recovered.values())])

    def restarted(self) -> set[str]:
        names = self.pids_before.keys() | self.pids_after.keys()
        return {n for n in names if self.pids_before.get(n) != self.pids_after.get(n)}


@dataclass
class Outcome:
    scenario: Scenario
    calls: list[Call]
    windows: list[FaultWindow]
    deadlines: dict[str, float]
    accepted: set[str] = field(default_factory=set)
    stored: Counter[str] = field(default_factory=Counter)
    # Seconds from the end of the last fault until the last accepted event was stored.
    drained_in: float | None = None
    dead_lettered: int = 0
    problems: list[str] = field(default_factory=list)

    def in_time(self, call: Call) -> bool:
        return call.status is not None and call.seconds <= self.deadlines[call.route] + SLACK

    @property
    def answered_in_time(self) -> int:
        return sum(map(self.in_time, self.calls))

    @property
    def slowest(self) -> float:
        return max((c.seconds for c in self.calls if c.status is not None), default=0.0)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(c.outcome for c in self.calls)

    @property
    def recovery(self) -> float:
        return max((w.recovery for w in self.windows), default=0.0)

    @property
    def lost(self) -> int:
        return sum(1 for event in self.accepted if not self.stored[event])

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.stored.values() if n > 1)

    def excusing(self, call: Call) -> list[FaultWindow]:
        """The faults that may fail this call: it overlaps their time (from their start until
        its route recovered) and they touch its route."""
        return [
            w
            for w in self.windows
            if call.route in w.fault.affected
            and call.ended >= w.began
            and call.started < w.recovered.get(call.route, float("inf"))
        ]

    @property
    def missed_at_the_edge(self) -> int:
        """Calls not answered in time because what they called (broker, page) was dead or hung."""
        return sum(
            1
            for c in self.calls
            if not self.in_time(c) and any(w.fault.at_edge for w in self.excusing(c))
        )


async def run(system: LocalSystem, scenario: Scenario, run_id: str) -> Outcome:
    every = routes(run_id)
    chosen = [r for r in every if not scenario.only or r.name in scenario.only]
    names = [r.name for r in chosen]
    callers = Callers(system, chosen, callers=scenario.callers, pace=scenario.pace)
    outcome = Outcome(scenario, callers.calls, [], {r.name: r.deadline for r in every})
    dead_before = await system.dead_letters()
    began = time.monotonic()
    callers.start()
    try:
        if not await _all_succeed_after(callers, names, began, WARM_UP):
            outcome.problems.append(f"not every route answered within {WARM_UP:g} s at first")
        for fault in scenario.faults:
            window = FaultWindow(fault, time.monotonic(), pids_before=system.pids())
            outcome.windows.append(window)
            await fault.inject(system)
            try:
                if fault.during is not None:
                    await fault.during(system)
                else:
                    await asyncio.sleep(fault.hold)
                    if not fault.at_edge:
                        touched = [r for r in names if r in fault.affected]
                        await _each_failed_after(callers, touched, window.began, outcome.deadlines)
            finally:
                # Whatever went wrong, the next scenario gets the system back.
                await fault.end(system)
            window.ended = time.monotonic()
            await _all_succeed_after(callers, names, window.ended, RECOVERY + 10, window)
            window.pids_after = system.pids()
    finally:
        await callers.stop()
    outcome.accepted = {c.event_id for c in callers.calls if c.event_id and c.status == 202}
    outcome.stored = await stored_events(system, outcome.accepted)
    if len(outcome.stored) == len(outcome.accepted):
        last_end = outcome.windows[-1].ended if outcome.windows else began
        outcome.drained_in = max(0.0, time.monotonic() - last_end)
    outcome.dead_lettered = await system.dead_letters() - dead_before
    outcome.problems += judge(outcome, names)
    return outcome


async def _all_succeed_after(
    callers: Callers,
    names: list[str],
    since: float,
    timeout: float,
    window: FaultWindow | None = None,
) -> bool:
    """Until each route has a success that came back after `since` (noted in `window`)."""
    deadline = time.monotonic() + timeout
    while True:
        firsts: dict[str, float] = {}
        for call in list(callers.calls):
            if call.route not in firsts and succeeded(call) and call.ended > since:
                firsts[call.route] = call.ended
        if window is not None:
            window.recovered = firsts
        if set(firsts) >= set(names):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


async def _each_failed_after(
    callers: Callers, touched: list[str], since: float, deadlines: dict[str, float]
) -> None:
    """Until each route in `touched` has had a call that began after `since` fail, or for as
    long as the longest of their deadlines allows (a call may also get through: a stall lets
    a call queued before it pass, a stopped server one already answered)."""
    if not touched:
        return
    deadline = time.monotonic() + max(deadlines[r] for r in touched) + SLACK
    while time.monotonic() < deadline:
        failed = {c.route for c in list(callers.calls) if c.started > since and not succeeded(c)}
        if failed >= set(touched):
            return
        await asyncio.sleep(0.05)


def judge(outcome: Outcome, names: list[str]) -> list[str]:
    problems: list[str] = []
    for window in outcome.windows:
        fault = window.fault
        if set(window.recovered) < set(names):
            missing = ", ".join(sorted(set(names) - set(window.recovered)))
            problems.append(f"{fault.name}: {missing} never succeeded again")
        elif window.recovery > RECOVERY:
            problems.append(
                f"{fault.name}: calls succeeded again only {window.recovery:.1f} s after it ended"
            )
        expected = {fault.killed} if fault.killed else set()
        if window.restarted() != expected:
            changed = ", ".join(sorted(window.restarted())) or "nothing"
            problems.append(f"{fault.name}: restarted {changed}; expected {expected or 'nothing'}")
    for call in outcome.calls:
        problems += _judge_call(outcome, call)
    for event in sorted(outcome.accepted):
        if not outcome.stored[event]:
            problems.append(f"event {event} was accepted (202) but never stored")
        elif outcome.stored[event] > 1:
            problems.append(f"event {event} was stored {outcome.stored[event]} times")
    if outcome.dead_lettered:
        problems.append(f"{outcome.dead_lettered} events were dead-lettered")
    return problems


def _judge_call(outcome: Outcome, call: Call) -> list[str]:
    excusing = outcome.excusing(call)
    earlier = [w for w in outcome.windows if w.began <= call.ended]
    at = (
        f"{earlier[-1].fault.name}: {call.route} at +{call.started - earlier[-1].began:.1f} s"
        if earlier
        else f"before the fault: {call.route}"
    )
    deadline = outcome.deadlines[call.route]
    late = f"{at} took {call.seconds:.1f} s, over its {deadline:g} s deadline"
    if succeeded(call):
        if outcome.in_time(call) or any(w.fault.at_edge for w in excusing):
            return []
        return [late]
    if not excusing:
        return [f"{at} failed ({call.outcome} {call.message!r}) though the fault does not touch it"]
    fault = excusing[0].fault
    if fault.at_edge:
        if call.outcome == "refused" and call.seconds > SLACK:
            return [f"{at} was refused only after {call.seconds:.1f} s"]
        return []
    problems = []
    if call.status not in (502, 503, 504):
        problems.append(f"{at} got {call.outcome} {call.message!r}, not a 502, 503 or 504")
    elif fault.affected[call.route].lower() not in call.message.lower():
        word = fault.affected[call.route]
        problems.append(f"{at}: {call.message!r} does not name {word}")
    # Only a service's answer can leak; a dropped call's message is the client's own error.
    if call.status is not None and LEAK.search(call.message):
        problems.append(f"{at}: {call.message!r} shows an internal address or a stack trace")
    if not outcome.in_time(call):
        problems.append(late)
    return problems


async def stored_events(system: LocalSystem, events: set[str]) -> Counter[str]:
    """How often each event is stored, once every one is there, or once none has come for
    `DRAIN` seconds, or after `DRAIN_LIMIT`."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_url)
    logs = client[system.mongo_database]["logs"]
    began = time.monotonic()
    progress, seen = began, -1
    try:
        while True:
            docs = await logs.find({"event_id": {"$in": sorted(events)}}, {"event_id": 1}).to_list()
            found = Counter(str(d["event_id"]) for d in docs)
            now = time.monotonic()
            if len(found) > seen:
                progress, seen = now, len(found)
            if len(found) == len(events) or now - progress > DRAIN or now - began > DRAIN_LIMIT:
                return found
            await asyncio.sleep(0.2)
    finally:
        await client.close()

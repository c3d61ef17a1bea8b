"""The faults: how each is injected into the running system, how long it lasts, how it ends,
and which routes may fail meanwhile, naming what.

The system is a `devkit.system.LocalSystem` with `faults=True`: the launcher runs the
services; PostgreSQL and RabbitMQ are behind proxies (cut, stalled; the shared servers are
never touched); SecantusDB and the mail catcher are processes of ours, really stopped. Every
service is SIGKILLed (the launcher restarts it) and SIGSTOPped (hung, not dead) in turn.
"""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callers import DEADLINES
from devkit.mongo import SecantusProcess
from devkit.process import ServiceProcess
from devkit.system import LocalSystem
from launcher.proxy import TcpProxy

# The system's settings for the suite, on top of LocalSystem's.
SYSTEM_ENV = {
    **{name: f"{seconds:g}" for name, seconds in DEADLINES.items()},
    # A scenario that kills one service again and again waits 2 s of readiness between kills,
    # so that it measures the service and not the launcher's growing back-off.
    "LAUNCHER_RESTART_RESET": "2",
}
LOGGER_DOORS = {
    "log-rpc": "logger-rpc",
    "log-http": "logger-service",
    "log-grpc": "logger-grpc",
    "logs": "logger-service",
}
BROKER_ROUTES = ("hit", "auth", "mail", "log-rpc", "log-http", "log-grpc", "log-rabbit", "logs")


Step = Callable[[LocalSystem], Awaitable[None]]
# Seconds a fault lasts at least (a SIGKILL: until the launcher has restarted the service).
HOLD = 3.0


@dataclass(frozen=True)
class Fault:
    """One fault: `inject` starts it; it lasts `hold` seconds at least and until each route it
    affects has seen a whole call fail (or `during` runs instead); `end` ends it (for a kill:
    waits until the launcher has the service ready again).

    `affected` maps each route that may fail meanwhile to the word its answer must name;
    `at_edge`: the failing part is what callers talk to, so they find it gone (refused, no
    answer) rather than an envelope; `killed`: the one service whose pid may change."""

    name: str
    inject: Step
    end: Step
    affected: dict[str, str]
    hold: float = 0.0
    at_edge: bool = False
    killed: str | None = None
    during: Step | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: list[Fault]
    # The routes called throughout (all of them by default) and how many callers each gets.
    only: tuple[str, ...] = ()
    callers: int = 1
    pace: float = 0.3


# --- the faults ------------------------------------------------------------------------------


def _proxy(system: LocalSystem, server: str) -> TcpProxy:
    proxy = system.postgres if server == "postgres" else system.rabbit
    assert proxy is not None, "the system was not started with faults=True"
    return proxy


def cut(server: str) -> tuple[Step, Step]:
    async def inject(system: LocalSystem) -> None:
        await asyncio.to_thread(_proxy(system, server).cut)

    async def end(system: LocalSystem) -> None:
        await asyncio.to_thread(_proxy(system, server).open)

    return inject, end


def stall(server: str) -> tuple[Step, Step]:
    async def inject(system: LocalSystem) -> None:
        _proxy(system, server).stall()

    async def end(system: LocalSystem) -> None:
        _proxy(system, server).resume()

    return inject, end


def _stand_in(system: LocalSystem, server: str) -> SecantusProcess | ServiceProcess:
    process = system.mongo if server == "mongo" else system.catcher
    assert process is not None, "the system was not started with faults=True"
    return process


def stopped(server: str) -> tuple[Step, Step]:
    """SIGTERM to our SecantusDB (`mongo`) or mail catcher (`smtp`), then started again."""

    async def stop(system: LocalSystem) -> None:
        await asyncio.to_thread(_stand_in(system, server).stop)

    async def start(system: LocalSystem) -> None:
        await asyncio.to_thread(_stand_in(system, server).start)

    return stop, start


def signalled(service: str, signum: signal.Signals) -> Step:
    async def send(system: LocalSystem) -> None:
        os.kill(system.pids()[service], signum)

    return send


def killed(service: str, affected: dict[str, str], at_edge: bool = False) -> Fault:
    exits: list[int] = []

    async def kill(system: LocalSystem) -> None:
        exits.append(system.exits(service))
        os.kill(system.pids()[service], signal.SIGKILL)

    async def restarted(system: LocalSystem) -> None:
        await system.back_again(service, exits.pop())

    return Fault(
        f"{service} SIGKILLed",
        kill,
        restarted,
        affected,
        at_edge=at_edge,
        killed=service,
    )


def frozen(service: str, affected: dict[str, str], at_edge: bool = False) -> Fault:
    return Fault(
        f"{service} SIGSTOPped (hung)",
        signalled(service, signal.SIGSTOP),
        signalled(service, signal.SIGCONT),
        affected,
        hold=HOLD,
        at_edge=at_edge,
    )


def listener_restarted(times: int) -> Step:
    """Kill the listener `times` times, each once it is ready again and has held the events it
    was handed for a while (longer than the launcher's back-off reset)."""

    async def restarts(system: LocalSystem) -> None:
        for _ in range(times):
            await asyncio.sleep(2.5)
            exits = system.exits("listener")
            os.kill(system.pids()["listener"], signal.SIGKILL)
            await system.back_again("listener", exits)

    return restarts


def scenarios() -> list[Scenario]:
    broker_down = {route: "broker-service" for route in BROKER_ROUTES}

    def one(fault: Fault) -> Scenario:
        return Scenario(fault.name, [fault])

    def dependency(name: str, steps: tuple[Step, Step], affected: dict[str, str]) -> Fault:
        return Fault(name, *steps, affected, hold=HOLD)

    mongo = {route: "MongoDB" for route in LOGGER_DOORS}
    found = [
        one(dependency("PostgreSQL cut", cut("postgres"), {"auth": "database"})),
        one(dependency("PostgreSQL stalled", stall("postgres"), {"auth": "database"})),
        one(dependency("RabbitMQ cut", cut("rabbit"), {"log-rabbit": "rabbitmq"})),
        one(dependency("RabbitMQ stalled", stall("rabbit"), {"log-rabbit": "rabbitmq"})),
        one(dependency("MongoDB stopped", stopped("mongo"), mongo)),
        one(dependency("SMTP server stopped", stopped("smtp"), {"mail": "mail"})),
    ]
    per_service: dict[str, tuple[dict[str, str], bool]] = {
        "logger": (LOGGER_DOORS, False),
        "auth": ({"auth": "authentication-service"}, False),
        "mail": ({"mail": "mail-service"}, False),
        "listener": ({}, False),
        "broker": (broker_down, True),
        "front-end": ({"page": "front-end"}, True),
    }
    for service, (affected, edge) in per_service.items():
        found.append(one(killed(service, affected, edge)))
        found.append(one(frozen(service, affected, edge)))
    found.append(
        Scenario(
            "/log-rabbit stream through listener and logger SIGKILL, MongoDB stopped, AMQP cut",
            [
                killed("listener", {}),
                killed("logger", {}),
                Fault("MongoDB stopped", *stopped("mongo"), {}, hold=3.0),
                Fault("RabbitMQ cut", *cut("rabbit"), {"log-rabbit": "rabbitmq"}, hold=2.0),
            ],
            only=("log-rabbit",),
            callers=3,
            pace=0.05,
        )
    )
    found.append(
        Scenario(
            "logger hung while the listener is SIGKILLed 6 times",
            [
                Fault(
                    "logger hung, listener SIGKILLed 6 times",
                    signalled("logger", signal.SIGSTOP),
                    signalled("logger", signal.SIGCONT),
                    {},
                    killed="listener",
                    during=listener_restarted(6),
                )
            ],
            only=("log-rabbit",),
            pace=0.1,
        )
    )
    return found

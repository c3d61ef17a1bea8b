"""`python -m launcher`: check PostgreSQL and RabbitMQ, start every service in readiness order,
print where they are, restart any that exits, and stop them all on Ctrl-C or SIGTERM."""

import asyncio
import os
import signal
import sys
import time

from launcher import prometheus
from launcher.lab import Lab, LabPlan
from launcher.plan import Plan, build_plan
from launcher.probes import (
    DEFAULT_DSN,
    DEFAULT_RABBIT_URL,
    Address,
    mail_server_answers,
    missing_servers,
    mongo_answers,
    postgres_address,
    rabbit_address,
)
from launcher.proxy import TcpProxy, dsn_through, url_through
from launcher.runner import Console, Restarts, Runner
from launcher.settings import LauncherSettings

# `uv run` forwards the terminal's Ctrl-C to us as well: a repeat this soon is the same one.
SAME_CTRL_C = 1.0


async def launch() -> int:
    settings = LauncherSettings()
    problems = await missing_servers()
    if problems:
        for problem in problems:
            print(f"launcher: {problem}", file=sys.stderr)
        return 1
    start_catcher = not await mail_server_answers(settings.port("catcher_smtp", 1025))
    mongo_port = settings.port("mongo", 27017)
    start_mongo = not await mongo_answers(mongo_port)
    program, notes = await _prometheus(settings)
    rabbit_plugin = Address("127.0.0.1", 15692)
    rabbitmq_metrics = str(rabbit_plugin) if program and await rabbit_plugin.answers(0.5) else None
    proxies, through = _lab_proxies(settings)
    plan = build_plan(
        settings,
        start_catcher=start_catcher,
        start_mongo=start_mongo,
        prometheus=program,
        rabbitmq_metrics=rabbitmq_metrics,
        through=through,
    )
    console = Console(s.name for s in plan.services)
    for note in notes:
        console.say(note)
    if start_mongo:
        console.say(
            f"no MongoDB answers on 127.0.0.1:{mongo_port} and MONGO_URL is unset: starting "
            f"SecantusDB there, data in {settings.data_dir / 'mongo'}"
        )
    else:
        console.say(
            "MongoDB from MONGO_URL"
            if os.environ.get("MONGO_URL")
            else f"MongoDB answers on 127.0.0.1:{mongo_port}"
        )
    if not start_catcher:
        console.say("a mail server is set or answers: the mail catcher is not started")
    runner = Runner(
        console,
        ready_timeout=settings.ready_timeout,
        stop_grace=settings.stop_grace,
        restarts=Restarts(
            settings.restart_delay, settings.restart_max_delay, settings.restart_reset
        ),
    )
    lab = Lab(_lab_plan(settings, plan), runner, proxies) if settings.lab else None
    if lab is not None:
        await lab.start()
        console.say(
            "lab controls on: PostgreSQL and RabbitMQ are reached through fault proxies "
            f"(127.0.0.1:{proxies['postgres'].port}, 127.0.0.1:{proxies['rabbitmq'].port})"
        )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    first_signal_at: float | None = None

    def on_signal(signum: int) -> None:
        nonlocal first_signal_at
        now = time.monotonic()
        if first_signal_at is None:
            first_signal_at = now
            console.say(f"{signal.Signals(signum).name}: stopping every service")
            stop.set()
        elif now - first_signal_at > SAME_CTRL_C:
            console.say("second signal: killing everything now")
            runner.kill_all()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    code = 0
    starting = asyncio.create_task(runner.start_all(plan.services))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
        elif (failure := starting.exception()) is not None:
            console.say(f"cannot start the system: {failure}")
            code = 1
        else:
            console.say("all services are ready:")
            width = max(len(what) for what, _ in plan.addresses)
            for what, address in plan.addresses:
                console.say(f"  {what.ljust(width)}  {address}")
            console.say("A service that exits is started again; Ctrl-C stops them all.")
            await stopping
    finally:
        stopping.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await runner.stop_all()
        if lab is not None:
            await lab.stop()
        console.say("everything stopped")
    return code


def _lab_proxies(settings: LauncherSettings) -> tuple[dict[str, TcpProxy], dict[str, str]]:
    """With lab controls on, a fault proxy in front of PostgreSQL and of RabbitMQ, listening, and
    the `DSN` and `RABBIT_URL` that send every service through them."""
    if not settings.lab:
        return {}, {}
    postgres_dsn = os.environ.get("DSN") or DEFAULT_DSN
    rabbit_url = os.environ.get("RABBIT_URL") or DEFAULT_RABBIT_URL
    pg, rabbit = postgres_address(postgres_dsn), rabbit_address(rabbit_url)
    proxies = {
        "postgres": TcpProxy(pg.host, pg.port).open(),
        "rabbitmq": TcpProxy(rabbit.host, rabbit.port).open(),
    }
    through = {
        "DSN": dsn_through(postgres_dsn, proxies["postgres"].port),
        "RABBIT_URL": url_through(rabbit_url, proxies["rabbitmq"].port),
    }
    return proxies, through


def _lab_plan(settings: LauncherSettings, plan: Plan) -> LabPlan:
    return LabPlan(
        port=settings.port("lab", 8086),
        page_origins=plan.page_origins,
        broker_url=plan.urls["broker"],
        logger_url=plan.urls["logger"],
        metrics={name: url for name, url in plan.urls.items() if name != "front-end"},
        # The real server, not the proxy: a cut must not blind the panel.
        rabbit_url=os.environ.get("RABBIT_URL") or DEFAULT_RABBIT_URL,
        queue=os.environ.get("QUEUE") or "logs.listener",
        dead_queue=os.environ.get("DEAD_QUEUE") or "logs.dead",
        delay=settings.lab_delay,
    )


async def _prometheus(settings: LauncherSettings) -> tuple[str | None, list[str]]:
    """Debian's Prometheus, if it is installed, wanted, and its port is free; and why not."""
    if not settings.prometheus:
        return None, []
    program = prometheus.binary()
    if program is None:
        return None, [prometheus.INSTALL_HINT]
    port = settings.port("prometheus", 9090)
    if await Address("127.0.0.1", port).answers(0.5):
        return None, [f"something answers on 127.0.0.1:{port}: not starting Prometheus there"]
    return program, []


def main() -> None:
    sys.exit(asyncio.run(launch()))


if __name__ == "__main__":
    main()

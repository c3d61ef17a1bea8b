"""The mail-service: `/send` per second as a share of what raw aiosmtplib gets from one catcher.

One mail catcher (a process of its own, so the load generator does not share its interpreter)
and two mail-service processes sending to it, one with pooled connections (the default), one
with `MAIL_CONNECTION=per-message`; serial and 16 in flight. Two floors, both sending the
message the service builds (built once, so they pay only the send):

- `aiosmtplib.send`: a connection per message, as the Go original sent (connect, EHLO, MAIL,
  RCPT, DATA, QUIT). The goal is against this one: pooled `/send` at 16 in flight at least 1.5
  of it; per-message `/send` is reported against it, no goal.
- kept-open connections (one per request in flight): the least an SMTP client can do. `/send`
  adds HTTP, validation and building the MIME message to it; its share is reported, no goal.

All are measured in turn, round after round, and each figure is the median round, so a
machine whose load drifts treats them alike.
"""

import asyncio
import contextlib
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import benchkit
from devkit.net import free_port
from devkit.process import ServiceProcess
from mail_service.composer import Composer

GOAL = 1.5
GOAL_AT = 16
CONCURRENCY = (1, 16)
SEND = {
    "from": "me@example.com",
    "to": "you@there.com",
    "subject": "Test email",
    "message": "Hello world! " * 20,
}
BUILT = Composer("localhost", "John Smith").compose(
    SEND["from"], SEND["to"], SEND["subject"], SEND["message"]
)
ONE_SHOT = "raw aiosmtplib.send (a connection each)"
KEPT_OPEN = "raw aiosmtplib, kept-open connections"
SERVICE = "POST /send"
PER_MESSAGE = "POST /send, MAIL_CONNECTION=per-message"

Call = Callable[[], Awaitable[Any]]


class KeptOpen:
    """`n` SMTP connections kept open; each send borrows one."""

    def __init__(self) -> None:
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()

    async def open(self, smtp_port: int, n: int) -> "KeptOpen":
        for _ in range(n):
            client = aiosmtplib.SMTP(
                hostname="127.0.0.1", port=smtp_port, start_tls=False, local_hostname="localhost"
            )
            await client.connect()
            self._idle.put_nowait(client)
        return self

    async def send(self) -> None:
        client = await self._idle.get()
        try:
            await client.sendmail(SEND["from"], [SEND["to"]], BUILT)
        finally:
            self._idle.put_nowait(client)

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


def figure(
    name: str,
    loads: list[benchkit.Load],
    concurrency: int,
    baseline: float | None = None,
    goal: float | None = None,
) -> benchkit.Result:
    median = sorted(loads, key=lambda load: load.rate)[len(loads) // 2]
    return benchkit.Result(
        f"mail {name}, {concurrency} in flight",
        median.rate,
        "mails/s",
        baseline=baseline,
        goal=goal,
        extra={
            "rounds": [round(load.rate, 1) for load in loads],
            "errors": sum(load.errors for load in loads),
            "p50_ms": median.percentile(50) * 1000,
            "p99_ms": median.percentile(99) * 1000,
        },
    )


def catcher_process(log_dir: Path) -> tuple[ServiceProcess, int]:
    """The mail catcher (not started) and its SMTP port, on free ports."""
    smtp_port, catcher_http = free_port(), free_port()
    catcher = ServiceProcess(
        "mailcatcher",
        {"CATCHER_SMTP_PORT": str(smtp_port), "CATCHER_HTTP_PORT": str(catcher_http)},
        port=catcher_http,
        ready_path="/api/v2/messages",
        log_dir=log_dir,
        name="mailcatcher",
    )
    return catcher, smtp_port


async def main(quick: bool) -> list[benchkit.Result]:
    seconds, rounds = (0.8, 1) if quick else (5.0, 3)
    scratch = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    catcher, smtp_port = catcher_process(scratch)
    env = {"MAIL_HOST": "127.0.0.1", "MAIL_PORT": str(smtp_port), "LOG_LEVEL": "WARNING"}
    services = {
        SERVICE: ServiceProcess("mail_service", env, log_dir=scratch, name="mail-service"),
        PER_MESSAGE: ServiceProcess(
            "mail_service",
            {**env, "MAIL_CONNECTION": "per-message"},
            log_dir=scratch,
            name="mail-service-per-message",
        ),
    }
    pools: dict[int, KeptOpen] = {}
    loads: dict[tuple[str, int], list[benchkit.Load]] = defaultdict(list)
    try:
        catcher.start(timeout=60)
        for svc in services.values():
            svc.start(timeout=60)  # waits for its /ready: the catcher answers
        for n in CONCURRENCY:
            pools[n] = await KeptOpen().open(smtp_port, n)

        async def one_shot() -> None:
            await aiosmtplib.send(
                BUILT,
                sender=SEND["from"],
                recipients=[SEND["to"]],
                hostname="127.0.0.1",
                port=smtp_port,
                start_tls=False,
                timeout=10,
            )

        connector = aiohttp.TCPConnector(limit=max(CONCURRENCY))
        async with aiohttp.ClientSession(connector=connector) as http:

            def via(url: str) -> Call:
                async def call() -> None:
                    async with http.post(url, json=SEND) as r:
                        if r.status != 202:
                            raise RuntimeError(f"HTTP {r.status}: {await r.text()}")
                        await r.read()

                return call

            for round_no in range(1, rounds + 1):
                for n in CONCURRENCY:
                    calls: dict[str, Call] = {
                        ONE_SHOT: one_shot,
                        KEPT_OPEN: pools[n].send,
                        **{name: via(f"{svc.url}/send") for name, svc in services.items()},
                    }
                    for name, call in calls.items():
                        benchkit.progress(f"mail round {round_no}: {name}, {n} in flight")
                        loads[name, n].append(await benchkit.closed_loop(call, n, seconds))
    finally:
        for pool in pools.values():
            pool.close()
        for process in (*services.values(), catcher):
            with contextlib.suppress(AssertionError):
                process.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    results: list[benchkit.Result] = []
    for n in CONCURRENCY:
        one_shot_rate = figure(ONE_SHOT, loads[ONE_SHOT, n], n)
        kept_open_rate = figure(KEPT_OPEN, loads[KEPT_OPEN, n], n)
        results += [one_shot_rate, kept_open_rate]
        goal = GOAL if n == GOAL_AT else None
        results.append(figure(SERVICE, loads[SERVICE, n], n, one_shot_rate.value, goal))
        results.append(figure(PER_MESSAGE, loads[PER_MESSAGE, n], n, one_shot_rate.value))
        results.append(
            figure(f"{SERVICE} against kept-open", loads[SERVICE, n], n, kept_open_rate.value)
        )
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))

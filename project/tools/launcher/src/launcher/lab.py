"""The lab controls: break the running system on purpose and watch what it does, from the page.

- Each process the launcher runs (services, SecantusDB, the mail catcher) can be killed
  (SIGKILL; the runner holds it down until the lab restarts it), hung (SIGSTOP), resumed
  (SIGCONT) and restarted (a killed one starts at once; a running one gets SIGTERM, stops
  cleanly and the runner starts it again as after any exit).
- PostgreSQL and RabbitMQ are not ours to stop: the services reach them through a fault proxy
  each (`launcher.proxy`), which can be cut, hung (stalled), delayed, and restored.
- The live state, at most once a second however many pages ask: each target's state, pid,
  restarts and the last failure it reported (its `/ready` answer, or the newest failed call to a
  downstream in its `/metrics`), the depth of the listener's queue and of the dead-letter queue
  (RabbitMQ's management API where it answers, else a passive declare over AMQP), and the
  trickle's counts (`launcher.trickle`).

The control API binds 127.0.0.1 only; a request whose Host is not the loopback's (DNS
rebinding) or whose Origin is not the page's is refused with 403 before it does anything.
"""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import httpx
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from launcher.proxy import TcpProxy
from launcher.runner import READY, Runner
from launcher.trickle import DOORS, Trickle

PROCESS_ACTIONS = ("kill", "hang", "resume", "restart")
PROXY_ACTIONS = ("cut", "hang", "delay", "restore")
# A state older than this is gathered again when a page asks.
FRESH = 0.8
_DOWNSTREAM = "downstream_requests"


@dataclass(frozen=True)
class LabPlan:
    """What the lab needs to know of the system the launcher runs."""

    port: int
    page_origins: tuple[str, ...]
    broker_url: str
    logger_url: str
    # Service name → its base URL, for those with `/metrics`.
    metrics: Mapping[str, str]
    rabbit_url: str
    queue: str
    dead_queue: str
    delay: float


def _process_state(pid: int) -> str:
    """The kernel's word for the process: `T` (stopped) is a hung one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "exited"
    code = stat.rsplit(")", 1)[1].split()[0]
    return "hung" if code in "Tt" else "exited" if code in "ZX" else "running"


def _signal_group(pid: int, *signums: signal.Signals) -> None:
    for signum in signums:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)


class Lab:
    def __init__(self, plan: LabPlan, runner: Runner, proxies: Mapping[str, TcpProxy]) -> None:
        self.plan = plan
        self.runner = runner
        self.proxies = proxies
        self.trickle = Trickle(plan.broker_url, plan.logger_url)
        self._http = httpx.AsyncClient(timeout=0.9, trust_env=False)
        self._state: dict[str, Any] = {}
        self._state_at = 0.0
        self._gathering = asyncio.Lock()
        # Per service: the failed downstream calls counted so far, by (target, protocol, outcome).
        self._failed_calls: dict[str, dict[tuple[str, str, str], float]] = {}
        self._failures: dict[str, str] = {}
        self._management: bool | None = None
        self._amqp: aio_pika.abc.AbstractConnection | None = None
        self._site: web.TCPSite | None = None
        self._app_runner: web.AppRunner | None = None

    # --- actions ---------------------------------------------------------------------------

    def act(self, target: str, action: str) -> str:
        """Do `action` to `target`; what was done, in a line. KeyError/ValueError: no such."""
        if target in self.proxies:
            return self._act_on_proxy(target, self.proxies[target], action)
        running = self.runner.running[target]
        pid = running.proc.pid
        if action == "kill":
            # Down until the lab restarts it, so the learner sees what its absence does.
            self.runner.hold(target)
            _signal_group(pid, signal.SIGKILL)
        elif action == "hang":
            _signal_group(pid, signal.SIGSTOP)
        elif action == "resume":
            _signal_group(pid, signal.SIGCONT)
        elif action == "restart":
            # A killed one starts now; a running one stops cleanly and the runner starts it
            # again (a hung one takes the SIGTERM once it runs again).
            if not self.runner.release(target):
                _signal_group(pid, signal.SIGTERM, signal.SIGCONT)
        else:
            raise ValueError(f"{action!r}: a process can be {', '.join(PROCESS_ACTIONS)}")
        self.runner.console.say(f"lab: {action} {target} (pid {pid})")
        self._state_at = 0.0
        return f"{action} {target} (pid {pid})"

    def _act_on_proxy(self, target: str, proxy: TcpProxy, action: str) -> str:
        if action == "cut":
            proxy.cut()
        elif action == "hang":
            proxy.stall()
        elif action == "delay":
            proxy.slow(self.plan.delay)
        elif action == "restore":
            proxy.open()
            proxy.slow(0)
            proxy.resume()
        else:
            raise ValueError(f"{action!r}: a server's proxy can be {', '.join(PROXY_ACTIONS)}")
        self.runner.console.say(f"lab: {action} the proxy to {target}")
        self._state_at = 0.0
        return f"{action} {target}"

    # --- state -----------------------------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        async with self._gathering:
            if time.monotonic() - self._state_at > FRESH:
                self._state = await self._gather()
                self._state_at = time.monotonic()
            return self._state

    async def _gather(self) -> dict[str, Any]:
        names = list(self.runner.running)
        ready, queues, _, _ = await asyncio.gather(
            asyncio.gather(*(self._ready(n) for n in names)),
            self._queues(),
            asyncio.gather(*(self._scan_metrics(n, url) for n, url in self.plan.metrics.items())),
            self.trickle.count_stored(),
        )
        targets = []
        for name, answer in zip(names, ready, strict=True):
            running = self.runner.running[name]
            state = _process_state(running.proc.pid)
            if state == "exited" and self.runner.held(name):
                state = "killed"
            elif state == "running":
                state = "ready" if answer == READY else "not ready"
            # What a running service answers instead of ready; a starting one says nothing yet.
            if state == "not ready" and answer != "not listening yet":
                self._failures[name] = answer
            targets.append(
                {
                    "name": name,
                    "kind": "process",
                    "state": state,
                    "pid": running.proc.pid,
                    "restarts": running.restarts,
                    "failure": self._failures.get(name, ""),
                    "actions": PROCESS_ACTIONS,
                }
            )
        for name, proxy in self.proxies.items():
            state = proxy.state
            if state == "slowed":
                state = f"delayed {proxy.delay:g} s"
            targets.append(
                {
                    "name": name,
                    "kind": "proxy",
                    "state": state,
                    "pid": None,
                    "restarts": None,
                    "failure": "",
                    "actions": PROXY_ACTIONS,
                }
            )
        return {
            "time": time.time(),
            "targets": targets,
            "queues": queues,
            "trickle": self.trickle.snapshot(),
            "doors": list(DOORS),
        }

    async def _ready(self, name: str) -> str:
        if _process_state(self.runner.running[name].proc.pid) != "running":
            return "not running"
        return await self.runner.probe(self.runner.running[name].service.ready_url)

    async def _scan_metrics(self, name: str, url: str) -> None:
        """The newest failed downstream call in `name`'s /metrics becomes its last failure."""
        try:
            resp = await self._http.get(url + "/metrics")
        except httpx.HTTPError:
            return
        if resp.status_code != 200:
            return
        # Only the downstream lines: a full parse of every histogram each second is waste.
        text = "\n".join(
            line for line in resp.text.splitlines() if line.startswith(f"{_DOWNSTREAM}_total{{")
        )
        counts: dict[tuple[str, str, str], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = sample.labels
                if labels.get("outcome", "ok") != "ok":
                    key = (labels["target"], labels["protocol"], labels["outcome"])
                    counts[key] = sample.value
        before = self._failed_calls.get(name)
        self._failed_calls[name] = counts
        grown = [k for k, v in counts.items() if v > (before or {}).get(k, 0)]
        if grown and (before is not None or name not in self._failures):
            target, protocol, outcome = max(
                grown, key=lambda k: counts[k] - (before or {}).get(k, 0)
            )
            when = time.strftime("%H:%M:%S")
            self._failures[name] = f"{when} call to {target} ({protocol}): {outcome}"

    async def _queues(self) -> dict[str, Any]:
        names = {"listener": self.plan.queue, "dead": self.plan.dead_queue}
        if self._management is not False:
            depths = await self._management_depths(names)
            if depths is not None:
                self._management = True
                return {**depths, "source": "RabbitMQ management API"}
            if self._management is None:
                self._management = False
        return {**await self._amqp_depths(names), "source": "AMQP (passive declare)"}

    async def _management_depths(self, names: dict[str, str]) -> dict[str, int | None] | None:
        parts = urlsplit(self.plan.rabbit_url)
        vhost = quote(unquote(parts.path[1:]) or "/", safe="")
        base = f"http://{parts.hostname or '127.0.0.1'}:15672/api/queues/{vhost}/"
        auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
        depths: dict[str, int | None] = {}
        for key, queue in names.items():
            try:
                resp = await self._http.get(base + quote(queue, safe=""), auth=auth)
            except httpx.HTTPError:
                return None
            if resp.status_code == 404:
                depths[key] = None
            elif resp.status_code != 200:
                return None
            else:
                depths[key] = int(resp.json().get("messages", 0))
        return depths

    async def _amqp_depths(self, names: dict[str, str]) -> dict[str, int | None]:
        """Messages ready in each queue (None: not declared yet, or RabbitMQ does not answer);
        straight to the server, so a cut proxy does not blind the panel. One connection, kept."""
        depths: dict[str, int | None] = dict.fromkeys(names)
        try:
            if self._amqp is None or self._amqp.is_closed:
                self._amqp = await aio_pika.connect(self.plan.rabbit_url, timeout=1)
            for key, queue in names.items():
                # A passive declare of a missing queue closes its channel: one channel each.
                async with self._amqp.channel() as channel:
                    try:
                        declared = await channel.declare_queue(queue, passive=True)
                    except aio_pika.exceptions.ChannelClosed:
                        continue
                    depths[key] = declared.declaration_result.message_count or 0
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
            pass
        return depths

    # --- the control API -------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/lab/state", self._get_state)
        app.router.add_post("/lab/trickle", self._start_trickle)
        app.router.add_post("/lab/trickle/stop", self._stop_trickle)
        app.router.add_post("/lab/{target}/{action}", self._act)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        port = self.plan.port
        if request.host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return web.json_response({"error": True, "message": "wrong Host"}, status=403)
        origin = request.headers.get("Origin")
        # A browser names the page that calls on every POST and cross-origin GET; a request
        # without Origin comes from a program on this machine (curl, the tests).
        if origin is not None and origin not in self.plan.page_origins:
            return web.json_response(
                {"error": True, "message": "only the test page may use the lab controls"},
                status=403,
            )
        if request.method == "OPTIONS":
            resp: web.StreamResponse = web.Response(status=204)
        else:
            try:
                resp = await handler(request)
            except web.HTTPException as exc:
                resp = web.json_response({"error": True, "message": exc.reason}, status=exc.status)
        if origin is not None:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST"
            resp.headers["Vary"] = "Origin"
        return resp

    async def _get_state(self, request: web.Request) -> web.Response:
        return web.json_response({"error": False, "message": "lab", "data": await self.state()})

    async def _act(self, request: web.Request) -> web.Response:
        target, action = request.match_info["target"], request.match_info["action"]
        try:
            done = self.act(target, action)
        except KeyError:
            return web.json_response(
                {"error": True, "message": f"no target {target!r}"}, status=404
            )
        except ValueError as exc:
            return web.json_response({"error": True, "message": str(exc)}, status=400)
        return web.json_response({"error": False, "message": done})

    async def _start_trickle(self, request: web.Request) -> web.Response:
        door = request.query.get("door", "/log-rabbit")
        try:
            self.trickle.start(door, float(request.query.get("rate", "5")))
        except ValueError as exc:
            return web.json_response({"error": True, "message": str(exc)}, status=400)
        self.runner.console.say(f"lab: trickle of {self.trickle.rate:g}/s on {door}")
        return web.json_response({"error": False, "message": f"trickle on {door}"})

    async def _stop_trickle(self, request: web.Request) -> web.Response:
        self.trickle.stop()
        return web.json_response({"error": False, "message": "trickle stopped"})

    async def start(self) -> None:
        self._app_runner = web.AppRunner(self.app(), access_log=None)
        await self._app_runner.setup()
        self._site = web.TCPSite(self._app_runner, "127.0.0.1", self.plan.port)
        await self._site.start()

    async def stop(self) -> None:
        await self.trickle.close()
        if self._app_runner is not None:
            await self._app_runner.cleanup()
        await self._http.aclose()
        if self._amqp is not None:
            await self._amqp.close()
        for proxy in self.proxies.values():
            await asyncio.to_thread(proxy.close)

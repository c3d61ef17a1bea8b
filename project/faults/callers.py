"""The clients of the system under a fault: each route called again and again through the
broker (and the page from the front-end), every answer recorded as a `Call`."""

import functools
import time
from dataclasses import dataclass
from typing import Any

import devkit.callers
import httpx
from devkit.callers import Call, failure
from devkit.system import LocalSystem

# The broker's deadline for each downstream, set for the system under test: its defaults, but
# mail's 25 s (over the mail service's own 10 s SMTP connect and 10 s send) shortened with
# those, so that a hung mail service costs a scenario seconds. The broker's LOGGER_TIMEOUT is
# left at its default, 5 s: the auth service reads the same name for its own (1 s).
DEADLINES = {
    "AUTH_TIMEOUT": 5.0,
    "MAIL_TIMEOUT": 5.0,
    "MAIL_CONNECT_TIMEOUT": 2.0,
    "MAIL_SEND_TIMEOUT": 2.0,
    "RABBIT_TIMEOUT": 5.0,
}
LOGGER_TIMEOUT = 5.0
# A caller gives up this long after the route's deadline.
CALLER_GRACE = 3.0


@dataclass(frozen=True)
class Route:
    """One call a client makes; `deadline` is what the system may take to answer it: the
    broker's deadline for the downstream it needs, or 2 s where none is involved."""

    name: str
    method: str
    door: str
    path: str
    deadline: float
    body: dict[str, Any] | None = None


def routes(run_id: str) -> list[Route]:
    name = f"fault-{run_id}"
    log = {"action": "log", "log": {"name": name, "data": "a fault-suite entry"}}
    mail = {
        "action": "mail",
        "mail": {
            "from": "faults@example.com",
            "to": f"{name}@example.com",
            "subject": "fault suite",
            "message": "Hello from the fault suite",
        },
    }
    auth = {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}}
    return [
        Route("hit", "POST", "broker", "/", 2.0),
        Route("auth", "POST", "broker", "/handle", DEADLINES["AUTH_TIMEOUT"], auth),
        Route("mail", "POST", "broker", "/handle", DEADLINES["MAIL_TIMEOUT"], mail),
        Route("log-rpc", "POST", "broker", "/handle", LOGGER_TIMEOUT, log),
        Route("log-http", "POST", "broker", "/log-http", LOGGER_TIMEOUT, log),
        Route("log-grpc", "POST", "broker", "/log-grpc", LOGGER_TIMEOUT, log),
        Route("log-rabbit", "POST", "broker", "/log-rabbit", DEADLINES["RABBIT_TIMEOUT"], log),
        Route("logs", "GET", "broker", f"/logs?name={name}&limit=5", LOGGER_TIMEOUT),
        Route("page", "GET", "front_end", "/", 2.0),
    ]


class Callers(devkit.callers.Callers):
    """`callers` tasks per route, each calling it every `pace` seconds until `stop()`."""

    def __init__(
        self, system: LocalSystem, chosen: list[Route], *, callers: int, pace: float
    ) -> None:
        probes = {route.name: functools.partial(self._call, route) for route in chosen}
        super().__init__(probes, callers=callers, pace=pace)
        self.system = system
        # Idle connections are dropped well before uvicorn's 5 s keep-alive, so no call goes out
        # on one the server is closing (a caller's own race, not the system's).
        self._http = httpx.AsyncClient(trust_env=False, limits=httpx.Limits(keepalive_expiry=1.0))

    async def stop(self) -> None:
        await super().stop()
        await self._http.aclose()

    async def _call(self, route: Route) -> Call:
        began = time.monotonic()
        try:
            resp = await self._http.request(
                route.method,
                self.system.url(route.door).replace("localhost", "127.0.0.1") + route.path,
                json=route.body,
                timeout=route.deadline + CALLER_GRACE,
            )
        except httpx.ConnectError:
            return Call(route.name, began, time.monotonic() - began, None, "refused")
        except httpx.TimeoutException:
            return Call(route.name, began, time.monotonic() - began, None, "no answer")
        except httpx.TransportError as exc:
            took = time.monotonic() - began
            return Call(route.name, began, took, None, "dropped", failure(exc)[:300])
        took = time.monotonic() - began
        message, event_id = _read(resp)
        return Call(
            route.name, began, took, resp.status_code, str(resp.status_code), message, event_id
        )


def _read(resp: httpx.Response) -> tuple[str, str | None]:
    """The envelope's message (or the raw start of a body that is not one) and, for an accepted
    `/log-rabbit`, the event's id."""
    try:
        body: Any = resp.json()
    except ValueError:
        return resp.text[:300], None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return resp.text[:300], None
    data = body.get("data")
    event_id = data.get("message_id") if isinstance(data, dict) else None
    return body["message"], event_id if isinstance(event_id, str) else None

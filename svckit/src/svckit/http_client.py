"""The one HTTP client every service calls its HTTP downstreams with (broker, listener, auth).

aiohttp, not httpx: httpx's pool spends several ms of CPU per request once it holds tens of
connections; at 100 requests in flight it was the broker's bottleneck and at 32 it cost the
listener ~8 ms per event where aiohttp costs ~1 (project/bench: bench_broker, bench_listener).

- `HttpClient`: one long-lived aiohttp session, made in the lifespan and closed at shutdown;
  its pool keeps up to `max_connections` connections per downstream host.
- `Downstream`: one service behind it (its name, base URL and deadlines). Every call has a
  deadline. A failure is an envelope error naming the service, never its address (that goes
  to `detail`, which is logged only): cannot connect → 502, no answer in time → 504, the
  connection lost or an answer over `answer_max` bytes → 502.
- `Downstream.post`/`get` read the service's envelope: its success, or its error passed on.
- W3C `traceparent`/`tracestate` leave with every call: the session carries OpenTelemetry's
  aiohttp trace config (a CLIENT span per call, under the current one).
"""

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from opentelemetry.instrumentation.aiohttp_client import create_trace_config

from svckit.errors import (
    CannotConnect,
    ConnectionLost,
    DownstreamTimeout,
    DownstreamUnavailable,
    ServiceError,
)
from svckit.metrics import downstream_call

log = logging.getLogger(__name__)

# Below uvicorn's 5 s keep-alive, so we never reuse a connection the server is closing: a
# POST on such a connection fails and aiohttp only retries idempotent methods.
KEEPALIVE_SECONDS = 3.0
READ_CHUNK = 64 * 1024
# Most bytes of an answer read, unless the client is told otherwise (the broker's
# DOWNSTREAM_ANSWER_MAX, so the logger's `GET /logs` fits).
ANSWER_MAX = 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """What a downstream answered: its status, headers, and at most `answer_max` bytes of body
    (`whole` is False when there was more)."""

    status: int
    body: bytes
    whole: bool
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    """A downstream's successful envelope."""

    status: int
    message: str
    data: Any = None


class HttpClient:
    """The process's one aiohttp session and its pool; make it in the lifespan (it needs the
    running loop) and close it at shutdown."""

    def __init__(self, max_connections: int, *, answer_max: int = ANSWER_MAX) -> None:
        self.answer_max = answer_max
        connector = aiohttp.TCPConnector(
            limit=0,  # the per-host limit below is the one that matters
            limit_per_host=max_connections,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ttl_dns_cache=60,
        )
        self.session = aiohttp.ClientSession(
            connector=connector, raise_for_status=False, trace_configs=[create_trace_config()]
        )

    async def close(self) -> None:
        await self.session.close()


class Downstream:
    """One HTTP service: its name (for messages and metrics), base URL and deadlines.

    `timeout` bounds a whole call; `connect_timeout`, when given, the connect alone, and a
    connection not made within it is `CannotConnect` (else it is the call's 504)."""

    def __init__(
        self,
        client: HttpClient,
        name: str,
        base_url: str,
        timeout: float,
        *,
        connect_timeout: float | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._deadlines = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Answer:
        """POST `body` as JSON; the downstream's success envelope, or its error raised."""
        return self._interpret(await self.send("POST", path, json_body=body, headers=headers))

    async def get(self, path: str, params: dict[str, str]) -> Answer:
        return self._interpret(await self.send("GET", path, params=params))

    async def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One call, counted and timed; whatever status came back, or the failure raised."""
        try:
            with downstream_call(self.name, "http") as call:
                async with self.client.session.request(
                    method,
                    self.base_url + path,
                    json=json_body,
                    data=data,
                    params=params,
                    headers=headers,
                    timeout=self._deadlines,
                ) as resp:
                    body, whole = await _read_at_most(resp, self.client.answer_max)
                    reply = Reply(resp.status, body, whole, resp.headers)
                # A 4xx is the caller's mistake, judged by a working downstream.
                if reply.status >= 500 or not whole:
                    call.failed()
        except aiohttp.ConnectionTimeoutError:
            if self.connect_timeout is None:
                raise DownstreamTimeout(self.name, self.timeout) from None
            late = f"no connection within {self.connect_timeout:g} s"
            raise CannotConnect(self.name, self.base_url, late) from None
        except TimeoutError:
            raise DownstreamTimeout(self.name, self.timeout) from None
        except aiohttp.ClientConnectorError as exc:
            raise CannotConnect.from_os_error(self.name, self.base_url, exc.os_error) from None
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            raise ConnectionLost(self.name, self.base_url, exc) from None
        return reply

    async def ping(self, timeout: float = 1.0) -> None:
        """For `/ready`: the downstream's `/ping` answers 200."""
        try:
            async with self.client.session.get(
                self.base_url + "/ping", timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                _, whole = await _read_at_most(resp, self.client.answer_max)
                if not whole:
                    raise RuntimeError("/ping answered too much")
                if resp.status != 200:
                    raise RuntimeError(f"/ping answered {resp.status}")
        except aiohttp.ClientConnectorError as exc:
            raise CannotConnect.from_os_error(self.name, self.base_url, exc.os_error) from None

    async def answers_ping(self, timeout: float) -> bool:
        """Whether the downstream's `/ping` answers 200 within `timeout`."""
        try:
            await self.ping(timeout)
        except (ServiceError, RuntimeError, aiohttp.ClientError, OSError, TimeoutError):
            return False
        return True

    def _interpret(self, reply: Reply) -> Answer:
        if not reply.whole:
            raise DownstreamUnavailable(
                self.name,
                f"its answer is over {self.client.answer_max} bytes",
                detail=self.base_url,
            )
        status = reply.status
        envelope = _envelope(reply.body)
        if envelope is None:
            log.warning("%s answered %d without an envelope: %.200r", self.name, status, reply.body)
            raise DownstreamUnavailable(self.name, f"answered {status} without a JSON envelope")
        message = envelope["message"]
        if status < 400:
            return Answer(status, message, envelope.get("data"))
        retry_after = reply.headers.get("Retry-After")
        if status < 500:
            # The caller's own mistake as the downstream judged it (bad credentials stay 401);
            # a 429's wait travels with it.
            headers = {"Retry-After": retry_after} if retry_after else None
            raise ServiceError(status, message, headers)
        if status == 503 and retry_after:
            # Busy, not broken (auth's bcrypt line is full, say): the wait travels with it.
            raise ServiceError(503, f"{self.name}: {message}", {"Retry-After": retry_after})
        # A failure further down the chain: keep the class, name who said it.
        raise ServiceError(504 if status == 504 else 502, f"{self.name}: {message}")


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body's first `limit` bytes, and whether that was all of it (the rest is left unread)."""
    if resp.content_length is not None and resp.content_length > limit:
        return b"", False
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(READ_CHUNK):
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), False
        size += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks), True


def _envelope(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("message"), str) and "error" in body:
        return body
    return None

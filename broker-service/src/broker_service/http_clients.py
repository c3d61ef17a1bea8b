"""One pooled aiohttp session for every HTTP downstream (auth, mail, the logger's HTTP door).

aiohttp rather than httpx: at 100 requests in flight httpx's pool was the broker's bottleneck
(see README, "Why aiohttp"). Every call has its own deadline; failures map onto the envelope:
refused → 502, late → 504, the downstream's own error envelope → its status and message.
An answer over `answer_max` bytes is not read on: 502 naming the downstream.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, ServiceError, cannot_connect
from svckit.metrics import downstream_call

from broker_service.settings import DOWNSTREAM_ANSWER_MAX

log = logging.getLogger(__name__)

# Below uvicorn's 5 s keep-alive, so we never reuse a connection the server is closing: a
# POST on such a connection fails and aiohttp only retries idempotent methods.
KEEPALIVE_SECONDS = 3.0
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """A downstream's successful envelope."""

    status: int
    message: str
    data: Any = None


class HttpPool:
    """The process's one aiohttp session; created in the lifespan, closed at shutdown."""

    def __init__(self, max_connections: int, answer_max: int = DOWNSTREAM_ANSWER_MAX) -> None:
        self._max_connections = max_connections
        self.answer_max = answer_max
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,  # the per-host limit below is the one that matters
            limit_per_host=self._max_connections,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the HTTP pool is not started")
        return self._session


class Downstream:
    """One HTTP service behind the broker: its name (for messages), base URL and deadline."""

    def __init__(self, pool: HttpPool, name: str, base_url: str, timeout: float) -> None:
        self.pool = pool
        self.name = name
        self.base_url = base_url
        self.timeout = timeout

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Answer:
        return await self._call("POST", path, json_body=body, headers=headers)

    async def get(self, path: str, params: dict[str, str]) -> Answer:
        return await self._call("GET", path, params=params)

    async def ping(self) -> None:
        """For `/ready`: the downstream's `/ping` answers 200."""
        try:
            async with self.pool.session.get(
                self.base_url + "/ping", timeout=aiohttp.ClientTimeout(total=1.0)
            ) as resp:
                if await _read_at_most(resp, self.pool.answer_max) is None:
                    raise RuntimeError("/ping answered too much")
                if resp.status != 200:
                    raise RuntimeError(f"/ping answered {resp.status}")
        except aiohttp.ClientConnectorError as exc:
            raise cannot_connect(self.name, self.base_url, exc.os_error) from None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        try:
            with downstream_call(self.name, "http") as call:
                async with self.pool.session.request(
                    method,
                    self.base_url + path,
                    json=json_body,
                    params=params,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as resp:
                    raw = await _read_at_most(resp, self.pool.answer_max)
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
                # A 4xx is the caller's mistake, judged by a working downstream.
                if status >= 500 or raw is None:
                    call.failed()
        except TimeoutError:
            raise DownstreamTimeout(self.name, self.timeout) from None
        except aiohttp.ClientConnectorError as exc:
            raise cannot_connect(self.name, self.base_url, exc.os_error) from None
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            raise DownstreamUnavailable(
                self.name, "the connection was lost", detail=f"{exc!r} ({self.base_url})"
            ) from None
        if raw is None:
            raise DownstreamUnavailable(
                self.name, f"its answer is over {self.pool.answer_max} bytes", detail=self.base_url
            )
        return self._interpret(status, raw, retry_after)

    def _interpret(self, status: int, raw: bytes, retry_after: str | None = None) -> Answer:
        envelope = _envelope(raw)
        if envelope is None:
            log.warning("%s answered %d without an envelope: %.200r", self.name, status, raw)
            raise DownstreamUnavailable(self.name, f"answered {status} without a JSON envelope")
        message = envelope["message"]
        if status < 400:
            return Answer(status, message, envelope.get("data"))
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


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None once it proves longer than `limit` (the rest is left unread)."""
    if resp.content_length is not None and resp.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("message"), str) and "error" in body:
        return body
    return None

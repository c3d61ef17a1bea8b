"""The logger's `POST /log`, with each answer sorted by what the listener must do about it."""

import enum
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


class Verdict(enum.Enum):
    STORED = "stored"
    # 4xx: the entry itself is bad; retrying cannot help.
    REFUSED = "refused"
    # 500 (and other 5xx), or no answer (in time, or a broken exchange) twice in a row from a
    # logger that answers `/ping`: the logger failed on this entry, so the try counts against it.
    FAILED = "failed"
    # Refused connection, 502/503/504 (the logger's store is away), or no answer from a logger
    # that does not answer `/ping` either (gone, or hung): the logger cannot take anything right
    # now; the message is not at fault.
    UNAVAILABLE = "unavailable"


CONNECT_TIMEOUT = 2.0
# Deadline of the `/ping` that tells a failed entry from a logger that is away.
PING_TIMEOUT = 1.0

# "Try later" answers: a gateway without its logger, or a logger without its store.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    detail: str = ""


def _message(text: str) -> str:
    """The envelope's message when the logger sent one, else the start of the body."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return text[:200]
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else text[:200]


class LoggerClient:
    """One long-lived HTTP client per process; every call has a deadline.

    aiohttp rather than httpx: httpx's pool spends several ms of CPU per request once it
    holds tens of connections (measured: ~8 ms per event at 32), more than the logger's work.
    """

    def __init__(self, base_url: str, *, timeout: float, max_connections: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections),
            timeout=aiohttp.ClientTimeout(total=timeout, connect=CONNECT_TIMEOUT),
            raise_for_status=False,
        )

    async def write(self, entry: dict[str, Any]) -> Answer:
        answer = await self._post(entry)
        if isinstance(answer, Answer):
            return answer
        # No answer. The entry is at fault only if the logger answers others and this entry
        # goes unanswered a second time: the first try may have met a logger just resuming, or
        # a connection it had dropped.
        if await self._answers_ping():
            answer = await self._post(entry)
            if isinstance(answer, Answer):
                return answer
            if await self._answers_ping():
                return Answer(Verdict.FAILED, answer)
        return Answer(Verdict.UNAVAILABLE, f"{answer}, nor to /ping")

    async def _post(self, entry: dict[str, Any]) -> Answer | str:
        """The logger's answer, sorted; or, when none came, what happened instead."""
        try:
            async with self._http.post(f"{self.base_url}/log", json=entry) as response:
                status = response.status
                text = await response.text(errors="replace")
        except aiohttp.ClientConnectorError as exc:
            return Answer(Verdict.UNAVAILABLE, f"{self.base_url}: {exc.strerror or exc}")
        except aiohttp.ConnectionTimeoutError:
            late = f"{self.base_url}: no connection within {CONNECT_TIMEOUT:g} s"
            return Answer(Verdict.UNAVAILABLE, late)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except aiohttp.ClientError as exc:
            return str(exc) or type(exc).__name__
        if status == 202:
            return Answer(Verdict.STORED)
        detail = f"{status} {_message(text)}"
        if 400 <= status < 500:
            return Answer(Verdict.REFUSED, detail)
        if status in UNAVAILABLE_STATUSES:
            return Answer(Verdict.UNAVAILABLE, detail)
        return Answer(Verdict.FAILED, detail)

    async def _answers_ping(self) -> bool:
        try:
            async with self._http.get(
                f"{self.base_url}/ping", timeout=aiohttp.ClientTimeout(total=PING_TIMEOUT)
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def close(self) -> None:
        await self._http.close()

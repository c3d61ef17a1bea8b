"""The logger's `POST /log` and `POST /logs` (a batch), with each entry's answer sorted by what
the listener must do about it."""

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from svckit.errors import CannotConnect, ConnectionLost, DownstreamTimeout
from svckit.http_client import Downstream, HttpClient

log = logging.getLogger(__name__)


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

# A logger that has no `POST /logs` (the original Go one answers 404 or 405) is sent entries
# one by one for this long before a batch is tried again (it may have been replaced by ours).
NO_BATCHES_FOR = 60.0

# A batch's body stays under the logger's 1 MiB body limit (a 413 would send it one by one):
# entries of up to 64 KiB of data make a 100-entry batch up to ~6.5 MB.
BATCH_BYTES = 768 * 1024
JSON = {"Content-Type": "application/json"}

# "Try later" answers: a gateway without its logger, or a logger without its store.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    detail: str = ""


def _within(entries: list[bytes], most: int) -> list[list[bytes]]:
    """The entries in order, in groups of at most `most` bytes (an entry larger alone)."""
    groups: list[list[bytes]] = [[]]
    size = 0
    for entry in entries:
        if groups[-1] and size + len(entry) + 1 > most:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += len(entry) + 1
    return groups


def _sorted(status: int, message: str) -> Answer:
    """What one entry's status (from `POST /log`, or an entry of `POST /logs`) means here."""
    if status == 202:
        return Answer(Verdict.STORED)
    detail = f"{status} {message}"
    if 400 <= status < 500:
        return Answer(Verdict.REFUSED, detail)
    if status in UNAVAILABLE_STATUSES:
        return Answer(Verdict.UNAVAILABLE, detail)
    return Answer(Verdict.FAILED, detail)


# Each entry's answer; or, when none came, what happened instead.
Exchange = list[Answer] | str


def _message(text: str) -> str:
    """The envelope's message when the logger sent one, else the start of the body."""
    try:
        # orjson: a body nested deeper than 1024 is refused, not a RecursionError.
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text[:200]
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else text[:200]


class LoggerClient:
    """The logger on the kit's HTTP client (pool, deadlines, answer cap, trace context), made
    in the lifespan; what is the listener's own is here: batches split under the logger's body
    limit, one by one where a batch is refused, and each answer sorted into a `Verdict`."""

    def __init__(self, base_url: str, *, timeout: float, max_connections: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Until when batches go one entry at a time (a logger without `POST /logs`).
        self._no_batches_until = 0.0
        # The kit's answer cap (1 MiB) is ten times a 1000-entry `POST /logs` answer.
        self._client = HttpClient(max_connections)
        self._logger = Downstream(
            self._client, "logger-service", base_url, timeout, connect_timeout=CONNECT_TIMEOUT
        )

    async def write(self, entry: bytes) -> Answer:
        """`POST /log` of one entry (a JSON object, encoded)."""
        [answer] = await self._exchange(lambda: self._post(entry), 1)
        return answer

    async def write_batch(self, entries: list[bytes]) -> list[Answer]:
        """Each entry's answer, in order: one `POST /logs` for them all (a lone entry goes by
        `POST /log`, as ever); if the logger refuses the batch as a whole, each goes alone.
        Entries come encoded, so one that cannot be encoded never fails the others."""
        if len(entries) == 1:
            return [await self.write(entries[0])]
        groups = _within(entries, BATCH_BYTES)
        if len(groups) > 1:
            answers = await asyncio.gather(*(self.write_batch(group) for group in groups))
            return [answer for group in answers for answer in group]
        if time.monotonic() < self._no_batches_until:
            return await self._one_by_one(entries)
        return await self._exchange(lambda: self._post_batch(entries), len(entries))

    async def _exchange(self, post: Callable[[], Awaitable[Exchange]], n: int) -> list[Answer]:
        answer = await post()
        if isinstance(answer, str):
            # No answer. The entries are at fault only if the logger answers others and they go
            # unanswered a second time: the first try may have met a logger just resuming, or
            # a connection it had dropped.
            if not await self._answers_ping():
                return [Answer(Verdict.UNAVAILABLE, f"{answer}, nor to /ping")] * n
            answer = await post()
            if isinstance(answer, str):
                if await self._answers_ping():
                    return [Answer(Verdict.FAILED, answer)] * n
                return [Answer(Verdict.UNAVAILABLE, f"{answer}, nor to /ping")] * n
        return answer

    async def _post(self, entry: bytes) -> Exchange:
        """The logger's answer, sorted; or, when none came, what happened instead."""
        answer = await self._send("/log", entry, 1)
        if isinstance(answer, tuple):
            status, text = answer
            return [_sorted(status, _message(text))]
        return answer

    async def _post_batch(self, entries: list[bytes]) -> Exchange:
        answer = await self._send("/logs", b"[" + b",".join(entries) + b"]", len(entries))
        if not isinstance(answer, tuple):
            return answer
        status, text = answer
        if status == 200:
            outcomes = _outcomes(text, len(entries))
            if outcomes is not None:
                return outcomes
            return [Answer(Verdict.FAILED, f"200 {text[:200]}")] * len(entries)
        if status in (404, 405):
            if not self._no_batches_until:
                log.info("the logger has no POST /logs (an original?): entries go one by one")
            self._no_batches_until = time.monotonic() + NO_BATCHES_FOR
        if 400 <= status < 500:
            # Refused as a whole (too large, say, or a logger without `POST /logs`): each
            # entry goes alone, so only its own answer decides its fate.
            return await self._one_by_one(entries)
        return [_sorted(status, _message(text))] * len(entries)

    async def _one_by_one(self, entries: list[bytes]) -> list[Answer]:
        return list(await asyncio.gather(*(self.write(entry) for entry in entries)))

    async def _send(self, path: str, body: bytes, n: int) -> tuple[int, str] | list[Answer] | str:
        """The status and text of the logger's answer; a sorted answer for each of the `n`
        entries when the logger cannot be reached; or, when no answer came, what happened."""
        try:
            # A body cut at the kit's answer cap is then not understood.
            reply = await self._logger.send("POST", path, data=body, headers=JSON)
        except CannotConnect as exc:
            return [Answer(Verdict.UNAVAILABLE, f"{self.base_url}: {exc.cause}")] * n
        except DownstreamTimeout:
            return f"no answer within {self.timeout:g} s"
        except ConnectionLost as exc:
            return exc.cause
        return reply.status, reply.body.decode(errors="replace")

    async def _answers_ping(self) -> bool:
        return await self._logger.answers_ping(PING_TIMEOUT)

    async def close(self) -> None:
        await self._client.close()


def _outcomes(text: str, n: int) -> list[Answer] | None:
    """Each entry's answer from a `POST /logs` 200, or None if the body is not one."""
    try:
        data = orjson.loads(text).get("data")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if not isinstance(data, list) or len(data) != n:
        return None
    answers = []
    for outcome in data:
        if not isinstance(outcome, dict) or not isinstance(outcome.get("status"), int):
            return None
        answers.append(_sorted(outcome["status"], str(outcome.get("message", ""))))
    return answers

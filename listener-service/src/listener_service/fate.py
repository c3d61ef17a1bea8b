"""The fate of a message, decided: pure functions of what the logger answered and what the
message carries, no I/O (`settling` carries the fate out; the README's table says the same).

- the logger answered 202 → ack;
- the body is not a JSON object, or the logger answered 4xx → dead-letter at once;
- the logger failed on this message (500, or no answer twice while it answers `/ping`) → back
  off, then a copy carrying the failure count goes back to the queue and the original is acked;
  the try that reaches `max_deliveries` failures is dead-lettered;
- the logger is unavailable (refused, 502/503/504, or silent on `/ping` too) → the message is
  held and retried in place with capped back-off for as long as the outage lasts; it spends
  nothing, and the rest wait in the queue.
Dead-lettered messages carry the reason in the `x-death-reason` header.

Why the listener counts failures itself: RabbitMQ 3.10's quorum queues add one to a message's
`x-delivery-count` on every return, a nack with requeue as much as the unacked messages of a
channel or connection that closed, and `x-delivery-limit` dead-letters on that count. A
listener restarted a few times during a logger outage would then dead-letter every event it
held, though none of them ever failed. So the queue has no delivery limit, and the budget is
spent only where a failure is the message's own.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from svckit.amqp import REASON_HEADER

from listener_service.logger_client import Answer, Verdict

# Failures of the logger on this message so far, on the copy that goes back to the queue.
FAILURES_HEADER = "x-listener-failures"
# RabbitMQ's count of returns: it describes the original, not a copy.
DELIVERY_COUNT = "x-delivery-count"
ORIGINAL_EXCHANGE = "x-original-exchange"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"
# An AMQP short string (a routing key) holds at most 255 bytes.
SHORTSTR_MAX = 255
# Longest `x-death-reason` we write (an exception's text may be anything).
REASON_MAX = 1000

Headers = Mapping[str, Any]


class Poison(Exception):
    """A message no logger can ever accept; `kind` labels the dead-letter metric."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class Ack:
    """Stored: acknowledge it."""


@dataclass(frozen=True)
class DeadLetter:
    """To the dead-letter exchange with `reason`; `kind` labels the metric."""

    reason: str
    kind: str
    failures: int


@dataclass(frozen=True)
class Hold:
    """The logger is away: wait (`Backoff.holds`) and forward it again, spending nothing."""


@dataclass(frozen=True)
class RetryLater:
    """The logger failed on it: after `Backoff.after`, a copy carrying `failures` goes to the
    back of the queue."""

    failures: int


Fate = Ack | DeadLetter | Hold | RetryLater


def decide(answer: Answer, failures: int, max_deliveries: int) -> Fate:
    """What the logger's answer means for a message it had failed `failures` times before."""
    if answer.verdict is Verdict.STORED:
        return Ack()
    if answer.verdict is Verdict.REFUSED:
        return DeadLetter(f"the logger refused it: {answer.detail}", "refused", failures)
    if answer.verdict is Verdict.UNAVAILABLE:
        return Hold()
    failures += 1
    if failures >= max_deliveries:
        reason = f"the logger failed it {failures} times, last: {answer.detail}"
        return DeadLetter(reason, "failed", failures)
    return RetryLater(failures)


def poisoned(poison: Poison, failures: int) -> DeadLetter:
    """A message no logger can accept: dead-lettered with its own reason."""
    return DeadLetter(str(poison), poison.kind, failures)


def unforeseen(exc: Exception, failures: int) -> DeadLetter:
    """An error nothing foresaw while handling it: it still gets a fate."""
    return DeadLetter(f"the listener failed on it: {type(exc).__name__}: {exc}", "error", failures)


@dataclass(frozen=True)
class Backoff:
    """The waits: `first` seconds, doubled per step up to `cap`."""

    first: float
    cap: float

    def holds(self) -> Iterator[float]:
        """The waits before each forward again during an outage, for as long as it lasts."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.cap)

    def after(self, failures: int) -> float:
        """The wait before a copy goes back to the queue: later tries wait longer, so a sick
        logger is not hammered."""
        return min(self.first * 2.0 ** (failures - 1), self.cap)


def failures_so_far(headers: Headers) -> int:
    """How often the logger failed on this message before (0 on its first try)."""
    count = headers.get(FAILURES_HEADER)
    return count if isinstance(count, int) and count > 0 else 0


def origin(headers: Headers, exchange: str | None, routing_key: str | None) -> dict[str, str]:
    """Where the message was first published: kept on every copy (a retried copy comes back
    through the default exchange, keyed by the queue's name). A header of another type than a
    string is not ours, so the delivery's own `exchange` and `routing_key` stand instead."""
    first_exchange = headers.get(ORIGINAL_EXCHANGE)
    first_key = headers.get(ORIGINAL_ROUTING_KEY)
    return {
        ORIGINAL_EXCHANGE: first_exchange if isinstance(first_exchange, str) else exchange or "",
        ORIGINAL_ROUTING_KEY: first_key if isinstance(first_key, str) else routing_key or "",
    }


def retry_headers(first: dict[str, str], failures: int) -> dict[str, Any]:
    """What a copy sent to the back of the queue adds: where it came from, its failures."""
    return {**first, FAILURES_HEADER: failures}


def dead_letter_headers(first: dict[str, str], fate: DeadLetter) -> dict[str, Any]:
    """What a dead-lettered copy adds: where it came from, why (cut), its failures."""
    return {
        **first,
        REASON_HEADER: fate.reason[:REASON_MAX],
        FAILURES_HEADER: fate.failures,
    }


def copy_headers(theirs: Headers, ours: dict[str, Any], keep: bool) -> dict[str, Any]:
    """A copy's headers: the message's own (without RabbitMQ's count of returns) with `ours`
    over them; or, not `keep`ing those, `ours` alone."""
    kept = {k: v for k, v in theirs.items() if k != DELIVERY_COUNT} if keep else {}
    return {**kept, **ours}


def shortstr(text: str) -> str:
    """At most `SHORTSTR_MAX` bytes of UTF-8, cut at a character's boundary."""
    return text.encode()[:SHORTSTR_MAX].decode(errors="ignore")

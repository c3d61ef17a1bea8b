"""The fate rules on their own, as pure functions: what each answer of the logger means for a
message, how long it waits, and what its copies carry. The same rules through RabbitMQ and a
real logger are `test_listener_delivery.py`'s."""

import itertools

import pytest
from listener_service.fate import (
    DELIVERY_COUNT,
    FAILURES_HEADER,
    ORIGINAL_EXCHANGE,
    ORIGINAL_ROUTING_KEY,
    REASON_MAX,
    SHORTSTR_MAX,
    Ack,
    Backoff,
    DeadLetter,
    Hold,
    Poison,
    RetryLater,
    copy_headers,
    dead_letter_headers,
    decide,
    failures_so_far,
    origin,
    poisoned,
    retry_headers,
    shortstr,
    unforeseen,
)
from listener_service.logger_client import Answer, Verdict
from svckit.amqp import REASON_HEADER

STORED = Answer(Verdict.STORED)
REFUSED = Answer(Verdict.REFUSED, "400 name must be a string")
FAILED = Answer(Verdict.FAILED, "500 boom")
UNAVAILABLE = Answer(Verdict.UNAVAILABLE, "503 the store is away")


@pytest.mark.parametrize("failures", [0, 4, 99])
def test_a_stored_entry_is_acked_whatever_failed_before(failures: int) -> None:
    assert decide(STORED, failures, max_deliveries=5) == Ack()


def test_a_refusal_dead_letters_at_once_with_the_logger_s_words() -> None:
    assert decide(REFUSED, 2, max_deliveries=5) == DeadLetter(
        "the logger refused it: 400 name must be a string", "refused", 2
    )


@pytest.mark.parametrize("failures", [0, 4])
def test_an_outage_holds_the_message_and_spends_none_of_its_budget(failures: int) -> None:
    # Even one failure short of the budget: the logger being away is not the message's fault.
    assert decide(UNAVAILABLE, failures, max_deliveries=5) == Hold()


def test_a_failure_below_the_budget_sends_it_back_carrying_the_new_count() -> None:
    assert decide(FAILED, 0, max_deliveries=5) == RetryLater(1)
    assert decide(FAILED, 3, max_deliveries=5) == RetryLater(4)


def test_the_try_that_reaches_the_budget_dead_letters_with_the_last_answer() -> None:
    assert decide(FAILED, 4, max_deliveries=5) == DeadLetter(
        "the logger failed it 5 times, last: 500 boom", "failed", 5
    )


def test_a_budget_of_one_dead_letters_on_the_first_failure() -> None:
    assert decide(FAILED, 0, max_deliveries=1) == DeadLetter(
        "the logger failed it 1 times, last: 500 boom", "failed", 1
    )


def test_poison_and_unforeseen_errors_dead_letter_with_their_own_reason_and_kind() -> None:
    assert poisoned(Poison("the body is not a JSON object", "not_json"), 2) == DeadLetter(
        "the body is not a JSON object", "not_json", 2
    )
    assert unforeseen(ZeroDivisionError("a bug"), 0) == DeadLetter(
        "the listener failed on it: ZeroDivisionError: a bug", "error", 0
    )


def test_holds_double_from_the_first_delay_up_to_the_cap_and_stay_there() -> None:
    holds = Backoff(first=0.5, cap=10.0).holds()
    assert list(itertools.islice(holds, 8)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_an_outage_of_any_length_yields_a_wait_for_every_hold() -> None:
    # Thousands of holds (hours at the cap) never overflow nor end.
    holds = Backoff(first=0.5, cap=10.0).holds()
    assert list(itertools.islice(holds, 5000))[-1] == 10.0


def test_each_failure_waits_longer_before_its_copy_goes_back() -> None:
    backoff = Backoff(first=0.5, cap=3.0)
    assert [backoff.after(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("header", "count"),
    [(None, 0), (3, 3), (0, 0), (-2, 0), ("3", 0), (2.0, 0)],
)
def test_only_a_positive_integer_header_counts_as_earlier_failures(
    header: object, count: int
) -> None:
    headers = {} if header is None else {FAILURES_HEADER: header}
    assert failures_so_far(headers) == count


def test_the_first_publish_is_kept_across_copies_and_a_foreign_header_is_not_believed() -> None:
    # A copy back from the queue arrives through the default exchange, keyed by the queue.
    retried = {ORIGINAL_EXCHANGE: "logs_topic", ORIGINAL_ROUTING_KEY: "log.ERROR"}
    assert origin(retried, "", "logs.listener") == retried
    assert origin({}, "logs_topic", "log.INFO") == {
        ORIGINAL_EXCHANGE: "logs_topic",
        ORIGINAL_ROUTING_KEY: "log.INFO",
    }
    foreign = {ORIGINAL_EXCHANGE: 7, ORIGINAL_ROUTING_KEY: b"log.x"}
    assert origin(foreign, None, None) == {ORIGINAL_EXCHANGE: "", ORIGINAL_ROUTING_KEY: ""}


def test_a_dead_letter_carries_its_origin_a_cut_reason_and_its_failures() -> None:
    first = {ORIGINAL_EXCHANGE: "logs_topic", ORIGINAL_ROUTING_KEY: "log.INFO"}
    headers = dead_letter_headers(first, DeadLetter("é" * 3000, "error", 3))
    assert headers == {**first, REASON_HEADER: "é" * REASON_MAX, FAILURES_HEADER: 3}
    assert retry_headers(first, 2) == {**first, FAILURES_HEADER: 2}


def test_a_copy_keeps_the_message_s_headers_but_not_rabbitmq_s_count_of_returns() -> None:
    theirs = {"traceparent": "00-abc", DELIVERY_COUNT: 4, FAILURES_HEADER: 1}
    ours = {FAILURES_HEADER: 2}
    assert copy_headers(theirs, ours, keep=True) == {"traceparent": "00-abc", FAILURES_HEADER: 2}
    assert copy_headers(theirs, ours, keep=False) == ours


def test_a_routing_key_is_cut_to_255_bytes_on_a_character_boundary() -> None:
    assert shortstr("log.INFO") == "log.INFO"
    cut = shortstr("a" + "€" * 100)  # 1 + 300 bytes; a whole € would end at byte 256
    assert cut == "a" + "€" * 84
    assert len(cut.encode()) <= SHORTSTR_MAX
